/**
 * The layer rules of eslint.config.js actually fire: small in-memory files, linted as if they sat in each layer
 * (ESLint's Node API, `lintText` with a `filePath`; nothing is written), must get the layer error, and their
 * allowed twins must lint clean. If a rule's pattern or file glob stops matching, this fails, not just the lint.
 */
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LAYER_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT });
});

/** The layer-rule messages ESLint reports for `code` placed at `filePath` (relative to the repo root). */
async function layerErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath, warnIgnored: true });
  const fatal = result.messages.filter((m) => m.fatal || m.ruleId === null);
  expect(fatal, `${filePath} did not lint: ${fatal.map((m) => m.message).join('; ')}`).toEqual([]);
  return result.messages.filter((m) => m.ruleId !== null && LAYER_RULES.has(m.ruleId)).map((m) => m.message);
}

/** [where the file sits, its code, a fragment the error message must contain] */
const broken: Array<[string, string, string]> = [
  // src/schedulers imports nothing outside itself
  ['src/schedulers/probe.ts', "import type { GenerateParams } from '../engine/protocol';\nexport type P = GenerateParams;\n", 'nothing outside src/schedulers'],
  ['src/schedulers/probe.ts', "export { encodePng } from '../export/png';\n", 'nothing outside src/schedulers'],
  ['src/schedulers/probe.ts', "import { create } from 'zustand';\nexport const c = create;\n", 'imports no package'],
  ['src/schedulers/sub/probe.ts', "import { x } from '../../engine/io';\nexport const y = x;\n", 'nothing outside src/schedulers'],
  ['src/schedulers/probe.test.ts', "import { Pipeline } from '../engine/pipeline';\nexport const p = Pipeline;\n", 'nothing outside src/schedulers'],
  // only src/engine/ort.ts imports onnxruntime-web
  ['src/engine/pipelineProbe.ts', "import * as ort from 'onnxruntime-web';\nexport const o = ort;\n", 'Only src/engine/ort.ts'],
  ['src/engine/gpu/probe.ts', "import { Tensor } from 'onnxruntime-web/webgpu';\nexport const t = Tensor;\n", 'Only src/engine/ort.ts'],
  ['src/engine/probe.ts', "import u from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';\nexport const w = u;\n", 'Only src/engine/ort.ts'],
  ['src/app/probe.ts', "export const load = () => import('onnxruntime-web');\n", 'Only src/engine/ort.ts'],
  ['tests/probe.test.ts', "import * as ort from 'onnxruntime-web';\nexport const o = ort;\n", 'Only src/engine/ort.ts'],
  // src/app imports the engine only through its public entry point
  ['src/app/probe.ts', "import { Pipeline } from '../engine/pipeline';\nexport const p = Pipeline;\n", 'public entry point'],
  ['src/app/compare/probe.ts', "import type { Provider } from '../../engine/ort';\nexport type P = Provider;\n", 'public entry point'],
  ['src/app/compare/probe.ts', "export type P = import('../../engine/ort').Provider;\n", 'public entry point'],
  ['src/app/probe.ts', "export const h = () => import('../engine/handler');\n", 'public entry point'],
  ['src/app/probe.ts', "export * from '../engine/layout';\n", 'public entry point'],
  ['src/app/components/probe.tsx', "import { ddim } from '../../schedulers/ddim';\nexport const d = ddim;\n", 'public index'],
  // src/export and src/engine import no app code
  ['src/export/probe.ts', "import { useAppStore } from '../app/store';\nexport const s = useAppStore;\n", 'imports no app code'],
  ['src/engine/probe.ts', "import { useAppStore } from '../app/store';\nexport const s = useAppStore;\n", 'imports no app code'],
  ['src/engine/download/probe.ts', "import type { AppState } from '../../app/store';\nexport type S = AppState;\n", 'imports no app code'],
];

const allowed: Array<[string, string]> = [
  ['src/schedulers/probe.ts', "import type { Scheduler } from './types';\nexport type S = Scheduler;\n"],
  ['src/schedulers/probe.test.ts', "import { readFileSync } from 'node:fs';\nimport { it } from 'vitest';\nit('reads', () => void readFileSync);\n"],
  ['src/engine/ort.ts', "import * as ort from 'onnxruntime-web/webgpu';\nexport const o = ort;\n"],
  ['src/engine/worker.ts', "import u from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';\nexport const w = u;\n"],
  ['src/engine/probe.ts', "import { schedulerFromConfig } from '../schedulers';\nexport const s = schedulerFromConfig;\n"],
  ['src/app/compare/probe.ts', "import { isCancelled, type Engine } from '../../engine';\nexport type E = Engine;\nexport const c = isCancelled;\n"],
  ['src/app/probe.ts', "import { samplerLabel } from '../schedulers';\nexport const l = samplerLabel;\n"],
  ['tests/probe.test.ts', "import { Pipeline } from '../src/engine/pipeline';\nexport const p = Pipeline;\n"],
];

describe('ESLint layer rules (eslint.config.js)', () => {
  it.each(broken)('%s: a layer-breaking import fails the lint (%#)', async (filePath, code, expected) => {
    const errors = await layerErrors(filePath, code);
    expect(errors.length, `${filePath}:\n${code}`).toBeGreaterThan(0);
    expect(errors.join('\n')).toContain(expected);
  });

  it.each(allowed)('%s: an allowed import lints clean (%#)', async (filePath, code) => {
    expect(await layerErrors(filePath, code)).toEqual([]);
  });
});
