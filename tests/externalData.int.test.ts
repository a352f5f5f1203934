/**
 * External data (`model.onnx_data`, what exports over 2 GB use): a copy of the fixture whose UNet weights were
 * moved out of the protobuf by the onnx Python package loads through Pipeline.load and gives the same image as
 * the original. Skipped when no Python with `onnx` is available (PYTHON, else /usr/bin/python3).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineHandler } from '../src/engine/handler';
import { configureOrt } from '../src/engine/ort';
import type { EngineEvent, Request } from '../src/engine/protocol';
import { filesOf, fixtureDir } from './modelDirs';

const PY = process.env.PYTHON || '/usr/bin/python3';
const src = fixtureDir('tiny');
const hasOnnx = !!src && existsSync(PY) && spawnSync(PY, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;
let dir = '';


beforeAll(() => {
  configureOrt({ numThreads: 1 });
  if (!hasOnnx) return;
  dir = mkdtempSync(join(tmpdir(), 'fewstep-extdata-'));
  cpSync(src!, dir, { recursive: true });
  const script = [
    'import onnx, sys',
    'p = sys.argv[1]',
    'm = onnx.load(p)',
    "onnx.save_model(m, p, save_as_external_data=True, all_tensors_to_one_file=True, location='model.onnx_data', size_threshold=0)",
  ].join('\n');
  const r = spawnSync(PY, ['-c', script, join(dir, 'unet/model.onnx')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`onnx external-data conversion failed: ${r.stderr}`);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function generate(files: Array<{ path: string; blob: Blob }>): Promise<{ loaded: EngineEvent | undefined; data: Uint8ClampedArray | null }> {
  const events: EngineEvent[] = [];
  const h = new EngineHandler((ev) => events.push(ev));
  await h.handle({ id: 'L', type: 'load', provider: 'wasm', model: { id: 'x', name: 'x', kind: 'files', files } } as Request);
  const loaded = events.find((e) => e.id === 'L' && e.type !== 'load-progress');
  if (loaded?.type !== 'loaded') return { loaded, data: null };
  await h.handle({ id: 'G', type: 'generate', params: { prompt: 'a red circle', seed: 5, steps: 2, guidanceScale: 0 } } as Request);
  const res = events.find((e) => e.id === 'G' && e.type === 'result');
  return { loaded, data: res?.type === 'result' ? new Uint8ClampedArray(res.result.image.data) : null };
}

describe.skipIf(!hasOnnx)('external data', () => {
  it('a UNet with model.onnx_data loads and matches the single-file original', async () => {
    // the weights moved out: the graph keeps only structure (node names are long: diffusers module paths)
    expect(statSync(join(dir, 'unet/model.onnx')).size).toBeLessThan(statSync(join(src!, 'unet/model.onnx')).size / 2);
    expect(existsSync(join(dir, 'unet/model.onnx_data'))).toBe(true);
    const ext = await generate(filesOf(dir));
    expect(ext.loaded?.type, JSON.stringify(ext.loaded)).toBe('loaded');
    const orig = await generate(filesOf(src!));
    expect(ext.data).not.toBeNull();
    expect(ext.data).toEqual(orig.data);
  });

  it('without its model.onnx_data the UNet fails to load with an error naming it', async () => {
    const files = filesOf(dir).filter((f) => f.path !== 'unet/model.onnx_data');
    const r = await generate(files);
    expect(r.loaded?.type).toBe('error');
    // The graph names its sidecar, so the error names the missing file itself (sources/externalData.ts).
    if (r.loaded?.type === 'error') {
      expect(r.loaded.error.code).toBe('MODEL_FILE_MISSING');
      expect(r.loaded.error.file).toBe('unet/model.onnx_data');
    }
  });
});
