/**
 * The CLI's parts without running a model: flag checks and their messages, the generate params and PNG record
 * against the app's own functions (src/app/runs.ts, src/app/compare/records.ts), the disk download cache
 * (FsModelStore) under the engine's downloader, the in-process engine client, and the CLI's lint layer rule.
 */
import { testCatalogEntry } from './catalogEntry';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateParams } from '../src/app/runs';
import { toGenerationRecord } from '../src/app/compare/records';
import { DEFAULT_SETTINGS, type RunResult, type Settings } from '../src/app/store';
import { generateOptions, infoOptions, parseArgv, type GenerateOptions } from '../src/cli/args';
import { UsageError } from '../src/cli/errors';
import { loraNameOf, loraSummary, paramsFor, withLoraPaths } from '../src/cli/generate';
import { main } from '../src/cli/main';
import { slugId } from '../src/cli/models';
import { generationRecord } from '../src/cli/record';
import type { CatalogEntry } from '../src/engine/catalog/schema';
import { downloadModel } from '../src/engine/download/downloadModel';
import type { FileManifest } from '../src/engine/download/chunks';
import { EngineError } from '../src/engine/errors';
import { createNodeEngine, FsModelStore } from '../src/engine/node';
import type { GenerateResult, LoadedModel } from '../src/engine/protocol';
import { startHub, type Hub } from '../e2e/hub/server.mjs';
import { filesOf, ROOT } from './modelDirs';

/** generateOptions of an argv for `generate` (the model, prompt and out flags added). */
const gen = (...args: string[]): GenerateOptions =>
  generateOptions(parseArgv(['generate', '--model', 'm', '--prompt', 'p', '--out', 'o.png', ...args]).values);

const usage = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('no UsageError');
};

describe('flags', () => {
  it('reads --name value and --name=value, repeats only --lora, defaults seed 42 and rng fewstep', () => {
    expect(gen('--steps=4', '--seed', '7', '--guidance', '7.5')).toMatchObject({ steps: 4, seed: 7, guidance: 7.5, rng: 'fewstep', prompt: 'p' });
    expect(gen()).toMatchObject({ seed: 42, rng: 'fewstep' });
    expect(gen()).not.toHaveProperty('steps');
    expect(usage(() => gen('--seed', '1', '--seed', '2'))).toBe('--seed is given twice');
  });

  it('names the flag and what it accepts', () => {
    expect(usage(() => parseArgv(['draw']))).toMatch(/^unknown command "draw"/);
    expect(usage(() => parseArgv(['generate', '--bogus', '1']))).toMatch(/^generate: unknown flag --bogus \(flags: --model, /);
    expect(usage(() => parseArgv(['generate', '--steps']))).toBe('--steps needs a value, e.g. --steps 4');
    expect(usage(() => parseArgv(['generate', '--prompt', '--steps', '4']))).toBe('--prompt needs a value, e.g. --prompt "a red circle"');
    expect(usage(() => parseArgv(['generate', 'stray']))).toMatch(/^unexpected argument "stray"/);
    expect(usage(() => gen('--steps', '0'))).toBe('--steps must be a whole number from 1 to 1000, got "0"');
    expect(usage(() => gen('--steps', '2.5'))).toBe('--steps must be a whole number from 1 to 1000, got "2.5"');
    expect(usage(() => gen('--seed', '-1'))).toBe('--seed must be a whole number from 0 to 4294967295, got "-1"');
    expect(usage(() => gen('--guidance', 'high'))).toBe('--guidance must be a number from 0 to 30, got "high"');
    expect(usage(() => gen('--gamma', '2'))).toBe('--gamma must be a number from 0 to 1, got "2"');
    expect(usage(() => gen('--rng', 'numpy'))).toBe('--rng must be fewstep or torch, got "numpy"');
    expect(usage(() => gen('--sampler', 'heun'))).toMatch(/^unknown sampler "heun"; known: DDPMScheduler \(ddpm\), .*TCDScheduler \(tcd\)/);
    expect(usage(() => gen('--timesteps', '999,999'))).toMatch(/^--timesteps "999,999": .*descending/);
    expect(usage(() => gen('--timesteps', '999,499', '--steps', '4'))).toBe('--steps 4 disagrees with --timesteps 999,499 (2 timesteps); leave --steps out');
    expect(usage(() => generateOptions(parseArgv(['generate', '--model', 'm', '--out', 'o.png']).values))).toMatch(/^--prompt is required/);
    expect(usage(() => generateOptions(parseArgv(['generate', '--model', 'm', '--prompt', 'x'.repeat(1001), '--out', 'o']).values))).toBe(
      '--prompt has 1001 characters; the limit is 1000',
    );
    expect(usage(() => generateOptions(parseArgv(['generate', '--prompt', 'p', '--out', 'o']).values))).toMatch(/^--model is required/);
    expect(usage(() => generateOptions(parseArgv(['generate', '--model', 'm', '--prompt', 'p']).values))).toMatch(/^--out is required/);
  });

  it('--lora file[:strength], repeatable, strength 1 by default; paths with ":" (Windows drives) stay whole', () => {
    expect(gen().loras).toEqual([]);
    expect(gen('--lora', 'a.safetensors:0.5', '--lora', 'dir/b.safetensors', '--lora=c.safetensors:-1.25').loras).toEqual([
      { file: 'a.safetensors', scale: 0.5 },
      { file: 'dir/b.safetensors', scale: 1 },
      { file: 'c.safetensors', scale: -1.25 },
    ]);
    expect(gen('--lora', 'C:\\loras\\a.safetensors').loras).toEqual([{ file: 'C:\\loras\\a.safetensors', scale: 1 }]);
    expect(gen('--lora', 'C:\\loras\\a.safetensors:0.8').loras).toEqual([{ file: 'C:\\loras\\a.safetensors', scale: 0.8 }]);
    expect(usage(() => gen('--lora', 'a.safetensors:strong'))).toBe('--lora a.safetensors:strong: the strength after \':\' must be a number from -2 to 2, got "strong"');
    expect(usage(() => gen('--lora', 'a.safetensors:2.5'))).toBe('--lora a.safetensors:2.5: the strength after \':\' must be a number from -2 to 2, got "2.5"');
    expect(usage(() => gen('--lora', 'a.safetensors:'))).toBe('--lora a.safetensors:: the strength after \':\' must be a number from -2 to 2, got ""');
    expect(usage(() => gen('--lora', ':0.5'))).toBe('--lora ":0.5": give a .safetensors file, e.g. --lora adapter.safetensors:0.8');
    // a ':' inside the file name stays in it unless a number or a .safetensors name frames it
    expect(gen('--lora', 'my:lora.safetensors').loras).toEqual([{ file: 'my:lora.safetensors', scale: 1 }]);
    expect(gen('--lora', 'my:lora.safetensors:0.25').loras).toEqual([{ file: 'my:lora.safetensors', scale: 0.25 }]);
    expect(loraNameOf('models/loras/fewstep-lcm-lora.safetensors')).toBe('fewstep-lcm-lora');
    const err = withLoraPaths(new EngineError('LORA_INVALID', 'LoRA "ink": header is not JSON.'), [{ file: 'dl/ink.safetensors', scale: 1 }]) as Error;
    expect(err.message).toBe('LoRA "dl/ink.safetensors": header is not JSON.');
    expect((err as EngineError).code).toBe('LORA_INVALID');
    expect(loraSummary(undefined)).toBe('');
    expect(
      loraSummary({
        adapters: [
          { name: 'a', scale: 1, format: 'peft', rank: 8, alpha: 8, matched: 10, unmatched: 0, textEncoderKeys: 0 },
          { name: 'b', scale: 0.8, format: 'kohya', rank: 4, alpha: 1, matched: 6, unmatched: 3, textEncoderKeys: 2, firstUnmatched: 'x' },
        ],
        weightsChanged: 5,
        ms: 12.4,
      }),
    ).toBe(', LoRA a:1 + b:0.8 (merged in 12 ms; 3 keys unmatched; 2 text-encoder keys not applied)');
  });

  it('info takes --lora files to check, repeatable, with the same file[:strength] form', () => {
    const info = (...a: string[]) => infoOptions(parseArgv(['info', '--model', 'm', ...a]).values);
    expect(info()).toEqual({ model: 'm', loras: [] });
    expect(info('--lora', 'a.safetensors', '--lora', 'b.safetensors:0.5').loras).toEqual([{ file: 'a.safetensors', scale: 1 }, { file: 'b.safetensors', scale: 0.5 }]);
    expect(usage(() => info('--lora', 'a.safetensors:9'))).toMatch(/^--lora a\.safetensors:9: the strength/);
    expect(usage(() => parseArgv(['info', '--model', 'm', '--prompt', 'x']))).toMatch(/^info: unknown flag --prompt/);
  });

  it('takes the sampler as a class name or a registry alias', () => {
    expect(gen('--sampler', 'euler_a').sampler).toBe('EulerAncestralDiscreteScheduler');
    expect(gen('--sampler', 'DPM++ 2M').sampler).toBe('DPMSolverMultistepScheduler');
    expect(gen('--sampler', 'ddimscheduler').sampler).toBe('DDIMScheduler');
  });

  it('main: help and version on stdout with status 0; a usage error is one stderr line with status 2', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const env = { root: ROOT, env: {}, stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t), stderrIsTTY: false };
    expect(await main(['--help'], env)).toBe(0);
    expect(out.join('')).toMatch(/usage: fewstep generate --model/);
    expect(await main(['--version'], env)).toBe(0);
    expect(out.at(-1)).toMatch(/^fewstep \d+\.\d+\.\d+\n$/);
    expect(await main(['generate', '--model', 'm', '--prompt', 'p', '--out', 'o.png', '--steps', '0'], env)).toBe(2);
    expect(err).toEqual(['fewstep: --steps must be a whole number from 1 to 1000, got "0"\n']);
  });
});

describe('the same params and metadata as the app', () => {
  const loaded = (schedulerClass: string, steps = 4, guidanceScale = 1): Pick<LoadedModel, 'defaults' | 'schedulerClass'> => ({
    schedulerClass,
    defaults: { steps, guidanceScale, sampler: schedulerClass, allowedSteps: null, description: '' },
  });
  /** The app's settings for the same choices: its defaults, the model's steps and guidance, then the flags. */
  const settingsFor = (o: GenerateOptions, m: Pick<LoadedModel, 'defaults'>): Settings => ({
    ...DEFAULT_SETTINGS,
    prompt: o.prompt,
    negativePrompt: o.negativePrompt ?? '',
    seed: o.seed,
    steps: o.steps ?? m.defaults.steps,
    guidanceScale: o.guidance ?? m.defaults.guidanceScale,
    sampler: o.sampler ?? '',
    timesteps: o.timesteps ? o.timesteps.join(',') : '',
    ...(o.eta !== undefined ? { eta: o.eta } : {}),
    ...(o.gamma !== undefined ? { gamma: o.gamma } : {}),
    rng: o.rng,
    loras: o.loras.map((l) => ({ id: loraNameOf(l.file), scale: l.scale })),
  });
  const cases: Array<[string, string[], string]> = [
    ['model defaults', [], 'EulerDiscreteScheduler'],
    ['steps, guidance, negative prompt', ['--steps', '3', '--guidance', '5', '--negative-prompt', 'blurry'], 'DDIMScheduler'],
    ['sampler override with eta', ['--sampler', 'ddim', '--eta', '0.5'], 'EulerDiscreteScheduler'],
    ['TCD: its eta is gamma (default 0.3)', ['--sampler', 'tcd'], 'DDIMScheduler'],
    ['TCD with --gamma', ['--sampler', 'tcd', '--gamma', '0.7'], 'DDIMScheduler'],
    ['the model is TCD', ['--gamma', '0.1'], 'TCDScheduler'],
    ['custom timesteps', ['--timesteps', '999,749,499,249'], 'EulerDiscreteScheduler'],
    ['torch rng', ['--rng', 'torch', '--seed', '0'], 'LCMScheduler'],
    ['LoRAs (record field loras: name and strength)', ['--lora', 'models/loras/fewstep-lcm-lora.safetensors', '--lora', 'ink.safetensors:0.8', '--sampler', 'lcm'], 'DDIMScheduler'],
  ];
  it.each(cases)('%s', (_name, args, modelClass) => {
    const o = gen(...args);
    const m = loaded(modelClass);
    const s = settingsFor(o, m);
    const app = generateParams(s, { schedulerClass: s.sampler || m.schedulerClass });
    const mine = paramsFor(o, m);
    expect(mine).toEqual(app);

    const cls = o.sampler ?? modelClass;
    const result: GenerateResult = {
      image: { width: 2, height: 1, data: new Uint8ClampedArray(8).fill(200) },
      latents: new Float32Array(4),
      timesteps: o.timesteps ?? [999, 499, 1].slice(0, mine.steps),
      schedulerClass: cls,
      guidanceMode: 'none',
      timings: { tokenizeMs: 1, textEncoderMs: 2, embeddingCached: false, unetMs: [3, 4], schedulerMs: [0.5, 0.5], vaeMs: 5, readbackMs: 0, previewMs: 0, totalMs: 20 },
    };
    const model = { id: 'fewstep-turbo', name: 'Fewstep turbo' };
    const at = new Date('2026-12-01T00:00:00Z');
    const run: RunResult = { requestId: 'r', modelId: model.id, modelName: model.name, provider: 'wasm', params: s, result, finishedAt: at.getTime(), source: 'single' };
    const loras = o.loras.map((l) => ({ name: loraNameOf(l.file), scale: l.scale }));
    expect(generationRecord(mine, result, model, at, loras)).toEqual(toGenerationRecord(run));
  });
});

describe('FsModelStore: the download cache on disk', () => {
  let root: string;
  let hub: Hub;
  const CHUNK = 4096;
  const files = new Map<string, Buffer>([
    ['model_index.json', Buffer.from('{"_class_name":"OnnxStableDiffusionPipeline"}')],
    ['unet/model.onnx', randomBytes(5 * CHUNK + 17)],
    ['vae_decoder/model.onnx', randomBytes(CHUNK)],
  ]);
  const entry = (): CatalogEntry =>
    testCatalogEntry({
      id: 'disk-test',
      name: 'Disk test',
      source: { type: 'hf', repo: 'test/disk', revision: 'main' },
      files: [...files].map(([path, b]) => ({ path, size: b.length, sha256: createHash('sha256').update(b).digest('hex') })),
    });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'fewstep-fsstore-'));
    for (const [p, b] of files) {
      mkdirSync(join(root, 'hub/test/disk', p, '..'), { recursive: true });
      writeFileSync(join(root, 'hub/test/disk', p), b);
    }
    hub = await startHub({ root: join(root, 'hub') });
  });
  afterAll(async () => {
    await hub?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('downloads through the engine downloader into one plain file per layout path, resumes, and serves reads', async () => {
    const store = new FsModelStore(join(root, 'cache'));
    const opts = { store, hubBase: hub.url, chunkSize: CHUNK, backoffMs: 1, maxRetries: 0, progressIntervalMs: 0, storage: null };
    // First attempt: the network fails on the UNet's third chunk (no retries): its first two chunks stay stored.
    let unetGets = 0;
    const flaky: typeof fetch = async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (url.endsWith('/unet/model.onnx') && (init?.method ?? 'GET') === 'GET' && ++unetGets === 3) throw new TypeError('fetch failed (test)');
      return fetch(input, init);
    };
    await expect(downloadModel(entry(), { ...opts, fetchImpl: flaky })).rejects.toMatchObject({ name: 'DownloadError' });
    const m = (await store.readManifest('disk-test', 'unet/model.onnx')) as FileManifest;
    expect(m.complete).toBe(false);
    expect(m.done).toEqual([0, 1]);
    expect(existsSync(join(root, 'cache/disk-test/unet/model.onnx.part'))).toBe(true);
    expect(await store.hasFile('disk-test', 'unet/model.onnx')).toBe(false);
    expect(await store.readChunk('disk-test', 'unet/model.onnx', m.done[0])).toEqual(new Uint8Array(files.get('unet/model.onnx')!.subarray(m.done[0] * CHUNK, (m.done[0] + 1) * CHUNK)));

    hub.clearLog();
    const result = await downloadModel(entry(), opts);
    expect(result.files.every((f) => f.sha256)).toBe(true);
    const ranges = hub.log().filter((e) => e.key === 'test/disk/unet/model.onnx' && e.method === 'GET').map((e) => e.range);
    expect(ranges).not.toContain(`bytes=0-${CHUNK - 1}`); // stored chunks are not fetched again
    for (const [p, b] of files) {
      expect(readFileSync(join(root, 'cache/disk-test', p)).equals(b)).toBe(true);
      expect(await store.hasFile('disk-test', p)).toBe(true);
      expect(Buffer.from(await store.readFile('disk-test', p)).equals(b)).toBe(true);
    }
    expect(existsSync(join(root, 'cache/disk-test/unet/model.onnx.part'))).toBe(false);
    const stream = await store.readFile('disk-test', 'unet/model.onnx', 'stream');
    const parts: Uint8Array[] = [];
    for await (const c of stream as unknown as AsyncIterable<Uint8Array>) parts.push(c);
    expect(Buffer.concat(parts).equals(files.get('unet/model.onnx')!)).toBe(true);
    // Complete: a second call fetches nothing.
    hub.clearLog();
    expect((await downloadModel(entry(), opts)).bytesFetched).toBe(0);
    expect(hub.log().filter((e) => e.method === 'GET')).toEqual([]);

    const [listed] = await store.listModels();
    expect(listed).toMatchObject({ id: 'disk-test', complete: true, files: [...files.keys()] });
    expect(listed.bytes).toBe([...files.values()].reduce((a, b) => a + b.length, 0));
    const est = await store.estimate();
    expect(est.usage).toBeGreaterThanOrEqual(listed.bytes);
    expect(est.quota).toBeGreaterThan(est.usage);

    await store.deleteFile('disk-test', 'vae_decoder/model.onnx');
    expect(await store.hasFile('disk-test', 'vae_decoder/model.onnx')).toBe(false);
    await store.deleteModel('disk-test');
    expect(await store.listModels()).toEqual([]);
  });

  it('refuses ids and paths that would leave the cache folder', async () => {
    const store = new FsModelStore(join(root, 'cache2'));
    await expect(store.hasFile('../x', 'a')).rejects.toThrow(EngineError);
    await expect(store.hasFile('ok', '../../etc/passwd')).rejects.toThrow(/not a relative file path/);
    await expect(store.writeChunk('ok', 'unet/model.onnx', 0, new Uint8Array(1))).rejects.toThrow(/write its manifest first/);
  });
});

describe('createNodeEngine: the worker handler behind the app client, in this process', () => {
  it('answers requests with the same events and errors as the worker', async () => {
    const engine = createNodeEngine();
    await engine.request('configure', { numThreads: 1 }).done;
    const dir = join(ROOT, 'models/fewstep-turbo');
    const defaults = await engine.request('describe', { model: { id: 't', name: 't', kind: 'files', files: filesOf(dir) } }).done;
    expect(defaults).toMatchObject({ steps: 1, guidanceScale: 0, sampler: 'EulerDiscreteScheduler' });
    const failed = engine.request('generate', { params: { prompt: '', seed: 1, steps: 1, guidanceScale: 0 } }).done;
    await expect(failed).rejects.toMatchObject({ code: 'NO_MODEL_LOADED' });
    engine.terminate();
  });

  it('slugs folder and URL ids as the app does', () => {
    expect(slugId('folder', 'My Export (fp16)')).toBe('folder-my-export-fp16');
    expect(slugId('custom', 'https://example.org/a/b')).toBe('custom-example.org-a-b');
  });
});

describe('lint: src/cli imports like the app', () => {
  let eslint: ESLint;
  beforeAll(() => {
    eslint = new ESLint({ cwd: ROOT });
  });
  const errors = async (code: string): Promise<string[]> => {
    const [r] = await eslint.lintText(code, { filePath: 'src/cli/probe.ts', warnIgnored: true });
    expect(r.messages.filter((m) => m.fatal)).toEqual([]);
    return r.messages.filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax').map((m) => m.message);
  };
  it.each([
    ["import { Pipeline } from '../engine/pipeline';\nexport const p = Pipeline;\n", "only through '…/engine'"],
    ["export const h = () => import('../engine/handler');\n", "only through '…/engine'"],
    ["import * as ort from 'onnxruntime-web';\nexport const o = ort;\n", 'Only src/engine/ort.ts'],
    ["import { useAppStore } from '../app/store';\nexport const s = useAppStore;\n", 'imports no app code'],
    ["import { createDDIMScheduler } from '../schedulers/ddim';\nexport const d = createDDIMScheduler;\n", 'public index'],
  ])('refuses %s', async (code, fragment) => {
    expect((await errors(code)).join(' ')).toContain(fragment);
  });
  it('allows the engine entry points, src/export and the schedulers index', async () => {
    const code =
      "import { isCancelled } from '../engine';\nimport { createNodeEngine } from '../engine/node';\n" +
      "import { encodePng } from '../export/png';\nimport { samplerRows } from '../schedulers';\n" +
      'export const all = [isCancelled, createNodeEngine, encodePng, samplerRows];\n';
    expect(await errors(code)).toEqual([]);
  });
});
