/**
 * Acceptance of the `fewstep` CLI (issue 12 item 4), run as users run it: `node bin/fewstep.mjs ...` in a child
 * process (plain Node, the bundle bin/build.mjs makes from src/cli). Its PNG is decoded with fast-png and compared
 * pixel for pixel with the image the app's WASM path makes in this process for the same settings: the worker's
 * EngineHandler loading the shipped model by URL (as src/app/models.ts does for shipped models) and generating with
 * the params the app's own generateParams (src/app/runs.ts) builds from its default settings. The PNG's metadata is
 * parsed back with src/export and compared with the app's own record (src/app/compare/records.ts).
 *
 * V8 runs wasm with Liftoff only here and in the CLI (bin/fewstep.mjs): the optimizing tier would cost about a minute
 * of CPU per process on the 2-core machine. Wasm is deterministic, so pixels do not depend on the tier.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateParams } from '../src/app/runs';
import { toGenerationRecord } from '../src/app/compare/records';
import { DEFAULT_SETTINGS, type RunResult, type Settings } from '../src/app/store';
import type { Catalog, CatalogEntry } from '../src/engine/catalog/schema';
import { validateCatalog } from '../src/engine/catalog/validate';
import { EngineHandler } from '../src/engine/handler';
import type { EngineEvent, GenerateResult, LoadedModel, ModelRef, Request } from '../src/engine/protocol';
import { isCompleteRecord, recordFromChunks, type GenerationRecord } from '../src/export/metadata';
import { readTextChunks } from '../src/export/png';
import { startHub, type Hub } from '../e2e/hub/server.mjs';
import { ROOT } from './modelDirs';

const SLOW = 600_000;
const PROMPT = 'a large red circle in the center on a navy background';
const PROMPT2 = 'two small green triangles on a white background';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node bin/fewstep.mjs ...args` from the repo root. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/fewstep.mjs', ...args], { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The worker's handler in this process, answering one request at a time. */
function engine() {
  const events: EngineEvent[] = [];
  const handler = new EngineHandler((ev) => void events.push(ev));
  let n = 0;
  const request = async (req: Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never): Promise<EngineEvent> => {
    const id = `t${++n}`;
    await handler.handle({ ...req, id } as Request);
    const ev = events.find((e) => e.id === id && e.type !== 'load-progress' && e.type !== 'step');
    if (!ev) throw new Error(`no answer to ${req.type}`);
    if (ev.type === 'error') throw new Error(ev.error.message);
    return ev;
  };
  return { request };
}

type Reference = { loaded: LoadedModel; settings: Settings; result: GenerateResult };

let hub: Hub;
let tmp: string;
let catalogFile: string;
const app = engine();
const loadedBy = new Map<string, LoadedModel>();

/** The app's shipped-model ref: its folder under the served models/ (here the stand-in hub serves it). */
const shippedRef = (id: string): ModelRef => ({ id, name: id, kind: 'url', baseUrl: `${hub.url}/fewstep/${id}/resolve/main/` });

/** What the app draws for `patch` of its default settings on shipped model `id` (steps/guidance: the model's). */
async function reference(id: string, patch: Partial<Settings>): Promise<Reference> {
  let loaded = loadedBy.get(id);
  if (!loaded) {
    const ev = await app.request({ type: 'load', model: shippedRef(id), provider: 'wasm' });
    if (ev.type !== 'loaded') throw new Error(`load ${id}: ${ev.type}`);
    loaded = ev.model;
    loadedBy.set(id, loaded);
  }
  const settings: Settings = { ...DEFAULT_SETTINGS, modelId: id, steps: loaded.defaults.steps, guidanceScale: loaded.defaults.guidanceScale, ...patch };
  const params = generateParams(settings, { schedulerClass: settings.sampler || loaded.schedulerClass });
  const ev = await app.request({ type: 'generate', params, modelId: id });
  if (ev.type !== 'result') throw new Error(`generate: ${ev.type}`);
  return { loaded, settings, result: ev.result };
}

/** Max |a - b| over RGB of a decoded PNG and an engine RGBA image, plus how many samples differ. */
function pixelDiff(png: Uint8Array, ref: GenerateResult['image']): { max: number; differing: number; width: number; height: number } {
  const img = decode(png);
  expect([img.width, img.height]).toEqual([ref.width, ref.height]);
  expect(img.depth).toBe(8);
  const c = img.channels;
  let max = 0;
  let differing = 0;
  for (let p = 0; p < ref.width * ref.height; p++) {
    for (let k = 0; k < 3; k++) {
      const d = Math.abs(img.data[p * c + k] - ref.data[p * 4 + k]);
      if (d > 0) differing++;
      max = Math.max(max, d);
    }
    if (c === 4) expect(img.data[p * 4 + 3]).toBe(255);
  }
  return { max, differing, width: img.width, height: img.height };
}

const png = (file: string): Uint8Array => new Uint8Array(readFileSync(file));
const oneLine = (r: Run): void => {
  expect(r.code, r.stdout + r.stderr).not.toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^fewstep: /);
};

beforeAll(async () => {
  v8.setFlagsFromString('--liftoff-only');
  await app.request({ type: 'configure', numThreads: 1 });
  tmp = mkdtempSync(join(tmpdir(), 'fewstep-cli-'));
  hub = await startHub({
    root: tmp,
    repos: { 'fewstep/fewstep-turbo': join(ROOT, 'models/fewstep-turbo'), 'fewstep/fewstep-teacher': join(ROOT, 'models/fewstep-teacher') },
  });
  // A catalog of its own: the two shipped entries as models/catalog.json has them, and a remote twin of the turbo
  // model on the stand-in hub (downloaded into a temporary cache by the CLI).
  const shipped = (JSON.parse(readFileSync(join(ROOT, 'models/catalog.json'), 'utf8')) as Catalog).models.filter((m) =>
    ['fewstep-turbo', 'fewstep-teacher'].includes(m.id),
  );
  const turbo = shipped.find((m) => m.id === 'fewstep-turbo')!;
  const remote: CatalogEntry = { ...turbo, id: 'remote-turbo', name: 'Remote turbo', kind: 'remote', source: { type: 'hf', repo: 'fewstep/fewstep-turbo', revision: 'main' } };
  const catalog = validateCatalog({ schemaVersion: 1, models: [...shipped, remote] });
  catalogFile = join(tmp, 'catalog.json');
  writeFileSync(catalogFile, JSON.stringify(catalog));
  // Build the bundle once here, so the runs below do not race to rebuild it.
  const build = await new Promise<Run>((resolve) =>
    execFile(process.execPath, ['bin/build.mjs'], { cwd: ROOT }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
  );
  expect(build.code, build.stderr).toBe(0);
}, SLOW);

afterAll(async () => {
  await hub?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('fewstep generate: same pixels as the app on WASM', () => {
  it('fewstep-turbo, 1 step: the CLI PNG equals the in-process image; metadata is the app export record', async () => {
    const out = join(tmp, 'turbo-7.png');
    const r = await cli(['generate', '--model', 'models/fewstep-turbo', '--prompt', PROMPT, '--steps', '1', '--seed', '7', '--catalog', catalogFile, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*turbo-7\.png: 64x64, fewstep-turbo, EulerDiscreteScheduler 1 step, seed 7, \d+ ms\n$/);
    const ref = await reference('fewstep-turbo', { prompt: PROMPT, seed: 7, steps: 1 });
    const bytes = png(out);
    const d = pixelDiff(bytes, ref.result.image);
    console.log(`fewstep-turbo 1 step seed 7: ${d.width}x${d.height}, max |CLI - app| = ${d.max}, differing samples ${d.differing}`);
    expect(d.max).toBe(0);

    const record = recordFromChunks(readTextChunks(bytes));
    expect(record && isCompleteRecord(record)).toBe(true);
    // The app's record of the same run: the shipped model's catalog id and name (the CLI maps the folder to them).
    const entryName = (JSON.parse(readFileSync(catalogFile, 'utf8')) as Catalog).models.find((m) => m.id === 'fewstep-turbo')!.name;
    const run: RunResult = {
      requestId: 'r', modelId: 'fewstep-turbo', modelName: entryName, provider: 'wasm', params: ref.settings, result: ref.result,
      finishedAt: Date.now(), source: 'single',
    };
    const appRecord = toGenerationRecord(run);
    const strip = ({ createdAt: _c, latencyMs: _l, stageTimings: _s, ...rest }: Partial<GenerationRecord>) => rest;
    expect(strip(record!)).toEqual(strip(appRecord));
    expect(Object.keys(record!.stageTimings!).sort()).toEqual(Object.keys(appRecord.stageTimings!).sort());
    expect(new Date(record!.createdAt!).getTime()).toBeGreaterThan(Date.now() - 3_600_000);
  }, SLOW);

  it('fewstep-teacher, DDIM 4 steps with CFG: equal pixels', async () => {
    const out = join(tmp, 'teacher-7.png');
    const r = await cli(['generate', '--model', 'models/fewstep-teacher', '--prompt', PROMPT, '--steps', '4', '--seed', '7', '--sampler', 'DDIMScheduler', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const ref = await reference('fewstep-teacher', { prompt: PROMPT, seed: 7, steps: 4, sampler: 'DDIMScheduler' });
    expect(ref.result.guidanceMode).toBe('cfg');
    const d = pixelDiff(png(out), ref.result.image);
    console.log(`fewstep-teacher DDIM 4 steps guidance ${ref.settings.guidanceScale} seed 7: max |CLI - app| = ${d.max}, differing samples ${d.differing}`);
    expect(d.max).toBe(0);
    const record = recordFromChunks(readTextChunks(png(out)))!;
    expect(record).toMatchObject({ steps: 4, sampler: 'DDIMScheduler', samplerLabel: 'DDIM', guidanceScale: ref.settings.guidanceScale, seed: 7, prompt: PROMPT });
  }, SLOW);

  it('custom timesteps: equal pixels to the app with the same list, and the list is in the metadata', async () => {
    const out = join(tmp, 'turbo-ts.png');
    const r = await cli(['generate', '--model', 'models/fewstep-turbo', '--prompt', PROMPT, '--seed', '7', '--timesteps', '999,499', '--out', out]);
    expect(r.stderr).toBe('');
    const ref = await reference('fewstep-turbo', { prompt: PROMPT, seed: 7, timesteps: '999,499' });
    expect(ref.result.timesteps).toEqual([999, 499]);
    const d = pixelDiff(png(out), ref.result.image);
    console.log(`fewstep-turbo timesteps 999,499 seed 7: max |CLI - app| = ${d.max}`);
    expect(d.max).toBe(0);
    expect(recordFromChunks(readTextChunks(png(out)))).toMatchObject({ steps: 2, timesteps: [999, 499] });
  }, SLOW);

  it('another seed or another prompt gives another image', async () => {
    const base = png(join(tmp, 'turbo-7.png'));
    const seed8 = join(tmp, 'turbo-8.png');
    const prompt2 = join(tmp, 'turbo-p2.png');
    expect((await cli(['generate', '--model', 'models/fewstep-turbo', '--prompt', PROMPT, '--seed', '8', '--out', seed8])).code).toBe(0);
    expect((await cli(['generate', '--model', 'models/fewstep-turbo', '--prompt', PROMPT2, '--seed', '7', '--out', prompt2])).code).toBe(0);
    const pixels = (b: Uint8Array) => Buffer.from(decode(b).data as Uint8Array);
    expect(pixels(png(seed8)).equals(pixels(base))).toBe(false);
    expect(pixels(png(prompt2)).equals(pixels(base))).toBe(false);
    expect(pixels(png(seed8)).equals(pixels(png(prompt2)))).toBe(false);
  }, SLOW);

  it('loads from a URL (fetch) and from a remote catalog id (downloaded into the cache, then reused)', async () => {
    const ref = await reference('fewstep-turbo', { prompt: PROMPT, seed: 7, steps: 1 });
    const byUrl = join(tmp, 'url.png');
    const r1 = await cli(['generate', '--model', `${hub.url}/fewstep/fewstep-turbo/resolve/main`, '--prompt', PROMPT, '--seed', '7', '--out', byUrl]);
    expect(r1.stderr).toBe('');
    expect(pixelDiff(png(byUrl), ref.result.image).max).toBe(0);

    const cache = join(tmp, 'cache');
    const byId = join(tmp, 'remote.png');
    const args = ['generate', '--model', 'remote-turbo', '--catalog', catalogFile, '--hub', hub.url, '--cache-dir', cache, '--prompt', PROMPT, '--seed', '7', '--out', byId];
    hub.clearLog();
    const r2 = await cli(args);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stderr).toMatch(/^fewstep: downloading remote-turbo: 100% /m);
    expect(hub.log().some((e) => e.method === 'GET' && e.key === 'fewstep/fewstep-turbo/unet/model.onnx')).toBe(true);
    expect(pixelDiff(png(byId), ref.result.image).max).toBe(0);
    expect(readFileSync(join(cache, 'remote-turbo/unet/model.onnx')).equals(readFileSync(join(ROOT, 'models/fewstep-turbo/unet/model.onnx')))).toBe(true);
    expect(recordFromChunks(readTextChunks(png(byId)))).toMatchObject({ modelId: 'remote-turbo', modelName: 'Remote turbo' });

    hub.clearLog();
    const r3 = await cli(args);
    expect(r3.code, r3.stderr).toBe(0);
    expect(r3.stderr).toBe('fewstep: remote-turbo is in the download cache\n');
    expect(hub.log().filter((e) => e.method === 'GET')).toEqual([]);
  }, SLOW);
});

describe('fewstep generate --lora', () => {
  it('merges the shipped LCM-LoRA and style LoRA like the app engine (same pixels); the record and the line list them', async () => {
    const lcm = 'models/loras/fewstep-lcm-lora.safetensors';
    const ink = 'models/loras/fewstep-style-ink.safetensors';
    const out = join(tmp, 'teacher-lora.png');
    const r = await cli(['generate', '--model', 'models/fewstep-teacher', '--prompt', PROMPT, '--seed', '7', '--sampler', 'lcm', '--steps', '4', '--guidance', '1', '--lora', lcm, '--lora', `${ink}:0.8`, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/, LCMScheduler 4 steps, seed 7, \d+ ms, LoRA fewstep-lcm-lora:1 \+ fewstep-style-ink:0\.8 \(merged in \d+ ms\)\n$/);
    // The app's engine: the same model with the same LoRA set (a pool id of its own, loaded as a grid row does, so the
    // base model other tests loaded stays pooled: an activating load of the same files replaces the active model), the app's params.
    const loras = [lcm, ink].map((f, i) => ({ name: f.split('/').pop()!.replace('.safetensors', ''), scale: i === 0 ? 1 : 0.8, bytes: new Uint8Array(readFileSync(join(ROOT, f))).buffer }));
    const loaded = await app.request({ type: 'load', model: { ...shippedRef('fewstep-teacher'), id: 'fewstep-teacher+lora' }, provider: 'wasm', loras, activate: false });
    if (loaded.type !== 'loaded') throw new Error(loaded.type);
    expect(loaded.model.lora?.adapters.map((a) => [a.name, a.format, a.unmatched])).toEqual([
      ['fewstep-lcm-lora', 'peft', 0],
      ['fewstep-style-ink', 'kohya', 0],
    ]);
    const settings: Settings = { ...DEFAULT_SETTINGS, modelId: 'fewstep-teacher', prompt: PROMPT, seed: 7, steps: 4, guidanceScale: 1, sampler: 'LCMScheduler', loras: [{ id: 'fewstep-lcm-lora', scale: 1 }, { id: 'fewstep-style-ink', scale: 0.8 }] };
    const ev = await app.request({ type: 'generate', params: generateParams(settings, { schedulerClass: 'LCMScheduler' }), modelId: 'fewstep-teacher+lora' });
    if (ev.type !== 'result') throw new Error(ev.type);
    const d = pixelDiff(png(out), ev.result.image);
    console.log(`fewstep-teacher + LCM-LoRA + ink 0.8, LCM 4 steps: max |CLI - app| = ${d.max}`);
    expect(d.max).toBe(0);
    // the LoRAs change the image
    const plain = await reference('fewstep-teacher', { prompt: PROMPT, seed: 7, steps: 4, guidanceScale: 1, sampler: 'LCMScheduler' });
    expect(Buffer.from(plain.result.image.data).equals(Buffer.from(ev.result.image.data))).toBe(false);
    const record = recordFromChunks(readTextChunks(png(out)))!;
    expect(record.loras).toEqual([
      { name: 'fewstep-lcm-lora', scale: 1 },
      { name: 'fewstep-style-ink', scale: 0.8 },
    ]);
    const run: RunResult = { requestId: 'r', modelId: 'fewstep-teacher', modelName: record.modelName!, provider: 'wasm', params: settings, result: ev.result, finishedAt: Date.now(), source: 'single' };
    const strip = ({ createdAt: _c, latencyMs: _l, stageTimings: _s, ...rest }: Partial<GenerationRecord>) => rest;
    expect(strip(record)).toEqual(strip(toGenerationRecord(run)));
  }, SLOW);
});

describe('fewstep info', () => {
  it('prints components, graph I/O with symbolic dims, the resolved scheduler config and the pipeline kind', async () => {
    const r = await cli(['info', '--model', 'models/fewstep-turbo']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.kind).toBe('StableDiffusionPipeline');
    expect(info.pipelineClass).toBe('OnnxStableDiffusionPipeline');
    expect(info.components.unet).toEqual(['diffusers', 'OnnxRuntimeModel']);
    expect(info.graphs.unet.inputs.map((v: { name: string }) => v.name)).toEqual(['sample', 'timestep', 'encoder_hidden_states']);
    expect(info.graphs.unet.inputs[0]).toEqual({ name: 'sample', type: 'float32', shape: ['batch', 4, 8, 8] });
    expect(info.graphs.text_encoder.inputs[0].type).toBe('int64');
    expect(info.graphs.vae_decoder.outputs[0]).toMatchObject({ name: 'sample', shape: ['batch', 3, 64, 64] });
    expect(info.bindings.unet).toMatchObject({ timestep: 'timestep', timestepCond: null });
    expect(info.scheduler.className).toBe('EulerDiscreteScheduler');
    expect(info.scheduler.config).toMatchObject({ _class_name: 'EulerDiscreteScheduler', timestep_spacing: 'trailing', num_train_timesteps: 1000 });
    expect(info.problems).toEqual([]);
  }, SLOW);

  // The generated stand-ins of the real exports (training/make_standins.py; fixtures/ is not committed).
  const STANDINS = join(ROOT, 'fixtures/generated/standins');
  const built = (id: string): boolean => existsSync(join(STANDINS, id, 'standin.json'));

  it.skipIf(!built('sdxl-turbo'))('the SDXL-Turbo stand-in in webnn/sdxl-turbo\'s flat onnx/ layout: both text encoders, SDXL I/O, the catalog\'s scheduler', async () => {
    const r = await cli(['info', '--model', join(STANDINS, 'sdxl-turbo')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.kind).toBe('StableDiffusionXLPipeline');
    expect(info.pipelineKind).toBe('sdxl');
    expect(info.pipelineClass).toBe('ORTStableDiffusionXLPipeline');
    expect(info.components.text_encoder_2).toEqual(['diffusers', 'OnnxRuntimeModel']);
    expect(Object.fromEntries(Object.entries(info.graphs).map(([k, g]) => [k, (g as { file: string }).file]))).toEqual({
      text_encoder: 'onnx/text_encoder_model_q4f16.onnx',
      text_encoder_2: 'onnx/text_encoder_2_model_q4f16.onnx',
      unet: 'onnx/unet_model_q4f16.onnx',
      vae_decoder: 'onnx/vae_decoder_model_q4f16.onnx',
    });
    expect(info.graphs.text_encoder.inputs[0]).toEqual({ name: 'input_ids', type: 'int32', shape: ['batch_size', 'sequence_length'] });
    expect(info.graphs.text_encoder_2.inputs[0]).toEqual({ name: 'input_ids', type: 'int64', shape: ['batch_size', 'sequence_length'] });
    expect(info.graphs.unet.inputs.map((v: { name: string; type: string }) => `${v.name}:${v.type}`)).toEqual([
      'sample:float16', 'timestep:float16', 'encoder_hidden_states:float16', 'text_embeds:float16', 'time_ids:float16',
    ]);
    expect(info.bindings.textEncoder.output).toBe('hidden_states.11');
    expect(info.bindings.textEncoder2).toEqual({ inputIds: 'input_ids', attentionMask: null, output: 'hidden_states.31', pooledOutput: 'text_embeds' });
    expect(info.bindings.unet).toMatchObject({ textEmbeds: 'text_embeds', timeIds: 'time_ids' });
    // No scheduler config in the folder: the sdxl-turbo catalog entry's (EulerAncestral, trailing), as for its download.
    expect(info.scheduler.config).toMatchObject({ _class_name: 'EulerAncestralDiscreteScheduler', timestep_spacing: 'trailing' });
    expect(info.defaults).toMatchObject({ steps: 1, guidanceScale: 0 });
    expect(info.tokenizer).toMatchObject({ padId: 49407, file: 'tokenizer/tokenizer.json' });
    expect(info.tokenizer2).toMatchObject({ padId: 0, file: 'tokenizer_2/tokenizer.json' });
    expect(info.problems).toEqual([]);
  }, SLOW);

  it('--lora: each LoRA checked against the U-Net on its own (keys matched and unmatched), one for another base refused with the engine\'s reason', async () => {
    const other = join(STANDINS, 'lcm-lora-sdv1-5', 'pytorch_lora_weights.safetensors'); // SD 1.5's LCM-LoRA stand-in
    const args = ['info', '--model', 'models/fewstep-teacher', '--lora', 'models/loras/fewstep-lcm-lora.safetensors', '--lora', 'models/loras/fewstep-style-ink.safetensors:0.8'];
    const r = await cli(existsSync(other) ? [...args, '--lora', other] : args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.loras[0]).toMatchObject({ name: 'fewstep-lcm-lora', scale: 1, unmatched: 0, textEncoderKeys: 0 });
    expect(info.loras[0].matched).toBeGreaterThan(0);
    expect(info.loras[1]).toMatchObject({ name: 'fewstep-style-ink', scale: 0.8, unmatched: 0 });
    if (existsSync(other)) {
      expect(info.loras[2]).toMatchObject({ name: 'pytorch_lora_weights', error: { code: 'LORA_MISMATCH' } });
    }
    expect(info.problems).toEqual([]);
  }, SLOW);

  it.skipIf(!built('sd-2-1-base'))('SD 2.1 base with only vocab.json + merges.txt: the CLIP tokenizer with "!" padding; PNDM runs as DDIM and is reported', async () => {
    const r = await cli(['info', '--model', join(STANDINS, 'sd-2-1-base')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.tokenizer).toEqual({ maxLength: 77, bosId: 49406, eosId: 49407, padId: 0, file: 'tokenizer/vocab.json + merges.txt' });
    expect(info.tokenizer2).toBeNull();
    // diffusers' SD 2.1 export ships PNDMScheduler: it runs as DDIMScheduler from the same config, and info says so
    expect(info.scheduler.className).toBe('DDIMScheduler');
    expect(info.scheduler.config).toMatchObject({ steps_offset: 1, set_alpha_to_one: false, prediction_type: 'epsilon' });
    expect(info.problems).toEqual([expect.stringMatching(/^scheduler\/scheduler_config\.json: PNDMScheduler is not implemented; generation runs DDIMScheduler from its config/)]);
  }, SLOW);
});

describe('fewstep generate on real-export stand-in folders', () => {
  const STANDINS = join(ROOT, 'fixtures/generated/standins');
  const built = (id: string): boolean => existsSync(join(STANDINS, id, 'standin.json'));
  it.skipIf(!built('sdxl-turbo') || !built('lcm-dreamshaper-v7'))(
    'the webnn/sdxl-turbo folder runs as its catalog entry (EulerAncestral, 1 step); LCM-Dreamshaper\'s vocab.json + merges.txt tokenizer loads',
    async () => {
      const out = join(tmp, 'sdxl.png');
      const r = await cli(['generate', '--model', join(STANDINS, 'sdxl-turbo'), '--prompt', 'a cat!', '--seed', '3', '--out', out]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/: 512x512, folder-sdxl-turbo, EulerAncestralDiscreteScheduler 1 step, seed 3, /);
      const lcm = await cli(['generate', '--model', join(STANDINS, 'lcm-dreamshaper-v7'), '--prompt', 'a cat!', '--steps', '1', '--seed', '3', '--out', join(tmp, 'lcm.png')]);
      expect(lcm.stderr).toBe('');
      expect(lcm.stdout).toMatch(/LCMScheduler 1 step/);
    },
    SLOW,
  );
});

describe('fewstep: bad input is one line on stderr and a non-zero exit', () => {
  const ok = ['--prompt', 'x', '--seed', '1'];
  const cases: Array<[string, string[], RegExp, number]> = [
    ['missing folder', ['generate', '--model', 'models/no-such-model', ...ok, '--out', 'x.png'], /--model models\/no-such-model: no such folder/, 1],
    ['unknown sampler', ['generate', '--model', 'models/fewstep-turbo', ...ok, '--sampler', 'Heun', '--out', 'x.png'], /unknown sampler "Heun"; known: DDPMScheduler \(ddpm\), DDIMScheduler/, 2],
    ['steps 0', ['generate', '--model', 'models/fewstep-turbo', ...ok, '--steps', '0', '--out', 'x.png'], /--steps must be a whole number from 1 to 1000, got "0"/, 2],
    ['bad --out folder', ['generate', '--model', 'models/fewstep-turbo', ...ok, '--out', 'no/such/dir/x.png'], /--out no\/such\/dir\/x\.png: the folder .*no\/such\/dir does not exist/, 1],
    ['--lora strength', ['generate', '--model', 'models/fewstep-turbo', ...ok, '--lora', 'a.safetensors:strong', '--out', 'x.png'], /^fewstep: --lora a\.safetensors:strong: the strength after ':' must be a number from -2 to 2, got "strong"$/, 2],
    ['--lora missing file', ['generate', '--model', 'models/fewstep-turbo', ...ok, '--lora', 'no-such.safetensors', '--out', 'x.png'], /^fewstep: --lora no-such\.safetensors: no such file$/, 1],
    ['--lora not safetensors', ['generate', '--model', 'models/fewstep-teacher', ...ok, '--lora', 'models/loras/index.json', '--out', 'WRITABLE'], /^fewstep: index\.json is not a valid safetensors file: its header length \d+ (is over the 100000000-byte limit|runs past the end of the file)/, 1],
    ['unknown flag', ['generate', '--model', 'models/fewstep-turbo', '--promt', 'x'], /unknown flag --promt/, 2],
    ['not a pipeline folder', ['generate', '--model', 'src', ...ok, '--out', 'x.png'], /--model src is not a diffusers ONNX pipeline folder: Missing unet\/model\.onnx/, 1],
    ['unknown catalog id', ['info', '--model', 'no-such-id', '--catalog', 'CATALOG'], /--model no-such-id is not a folder, a URL or a catalog id \(catalog ids: (fewstep-teacher, fewstep-turbo|fewstep-turbo, fewstep-teacher), remote-turbo\)/, 1],
    ['other size', ['generate', '--model', 'models/fewstep-turbo', ...ok, '--width', '512', '--height', '512', '--out', 'WRITABLE'], /renders 64x64 .*other sizes are not supported yet/, 1],
  ];
  it.each(cases)('%s', async (_name, args, message, code) => {
    const r = await cli(args.map((a) => (a === 'CATALOG' ? catalogFile : a === 'WRITABLE' ? join(tmp, 'never.png') : a)));
    oneLine(r);
    expect(r.stderr.trimEnd()).toMatch(message);
    expect(r.code).toBe(code);
  }, SLOW);

  it('a model folder missing a graph names the file', async () => {
    const broken = join(tmp, 'broken');
    const { cpSync } = await import('node:fs');
    cpSync(join(ROOT, 'models/fewstep-turbo'), broken, { recursive: true });
    rmSync(join(broken, 'vae_decoder/model.onnx'));
    const r = await cli(['generate', '--model', broken, '--prompt', 'x', '--out', join(tmp, 'never.png')]);
    oneLine(r);
    expect(r.stderr).toMatch(/Missing vae_decoder\/model\.onnx/);
    copyFileSync(join(ROOT, 'models/fewstep-turbo/vae_decoder/model.onnx'), join(broken, 'vae_decoder/model.onnx'));
    writeFileSync(join(broken, 'unet/model.onnx'), 'not an onnx file');
    const r2 = await cli(['generate', '--model', broken, '--prompt', 'x', '--out', join(tmp, 'never.png')]);
    oneLine(r2);
    expect(r2.stderr).toMatch(/unet\/model\.onnx/);
  }, SLOW);
});
