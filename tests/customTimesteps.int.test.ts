/**
 * Integration (Node, onnxruntime-web wasm, the random-weight fixture `fixtures/generated/tiny`, a DDIM pipeline):
 * custom timestep lists (diffusers' `timesteps=` of set_timesteps) from a worker `generate` request through the
 * handler to the scheduler, TCD's gamma as the request's `eta`, and the scheduler's own messages for bad lists.
 */
import { basename } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EngineHandler } from '../src/engine/handler';
import { configureOrt } from '../src/engine/ort';
import { Pipeline, type GenerateParams } from '../src/engine/pipeline';
import type { EngineEvent, Request } from '../src/engine/protocol';
import { CancelToken } from '../src/engine/queue';
import { filesOf, fixtureDir, FsSource } from './modelDirs';

const dir = fixtureDir('tiny');

describe.skipIf(!dir)('custom timesteps through the engine (tiny fixture)', () => {
  let pipe: Pipeline;
  beforeAll(async () => {
    configureOrt({ numThreads: 1 });
    pipe = await Pipeline.load(new FsSource(dir!), { name: basename(dir!), provider: 'wasm' });
  }, 600_000);

  const params = (p: Partial<GenerateParams> = {}): GenerateParams => ({ prompt: 'a red circle', seed: 3, steps: 2, guidanceScale: 3, ...p });

  it('a worker request with timesteps [999, 499] runs exactly those timesteps, one UNet call each', async () => {
    const events: EngineEvent[] = [];
    const handler = new EngineHandler((ev) => events.push(ev));
    await handler.handle({ id: 'L', type: 'load', model: { id: 'tiny', name: 'tiny', kind: 'files', files: filesOf(dir!) }, provider: 'wasm' } as Request);
    const loaded = events.find((e) => e.id === 'L' && e.type === 'loaded');
    expect(loaded?.type).toBe('loaded');
    // The app checks a typed list against the same scheduler config (ModelInfo.schedulerConfig).
    if (loaded?.type === 'loaded') expect(loaded.model.schedulerConfig).toMatchObject({ _class_name: 'DDIMScheduler', num_train_timesteps: 1000 });
    await handler.handle({ id: 'G', type: 'generate', params: params({ timesteps: [999, 499] }) } as Request);
    const res = events.find((e) => e.id === 'G' && e.type !== 'step');
    expect(res?.type).toBe('result');
    if (res?.type !== 'result') return;
    expect(res.result.timesteps).toEqual([999, 499]);
    expect(res.result.timings.unetMs).toHaveLength(2);
    await handler.handle({ id: 'U', type: 'unload' } as Request);
  }, 600_000);

  it('steps follow the list: each listed timestep is denoised in order, and another list gives another image', async () => {
    const seen: number[] = [];
    const a = await pipe.generate(params({ steps: 3, timesteps: [999, 600, 250] }), new CancelToken(), (e) => seen.push(e.timestep));
    expect(a.timesteps).toEqual([999, 600, 250]);
    expect(seen).toEqual([999, 600, 250]);
    const spaced = await pipe.generate(params({ steps: 3 }), new CancelToken());
    expect(spaced.timesteps).not.toEqual([999, 600, 250]);
    expect(Buffer.from(a.image.data).equals(Buffer.from(spaced.image.data))).toBe(false);
    // The same list twice: the same image (seeded).
    const again = await pipe.generate(params({ steps: 3, timesteps: [999, 600, 250] }), new CancelToken());
    expect(Buffer.from(a.image.data).equals(Buffer.from(again.image.data))).toBe(true);
  }, 600_000);

  it('works with a sampler override (DPM++ 2M: CPU loop) and TCD with its gamma as eta', async () => {
    const dpm = await pipe.generate(params({ scheduler: 'DPMSolverMultistepScheduler', timesteps: [999, 499] }), new CancelToken());
    expect(dpm.timesteps).toEqual([999, 499]);
    expect(dpm.schedulerClass).toBe('DPMSolverMultistepScheduler');
    expect(dpm.loop).toBe('cpu');
    expect(dpm.loopFallback).toBe(false); // WASM: the CPU loop is the only loop here, not a fallback
    const tcd = (eta: number) => pipe.generate(params({ scheduler: 'TCDScheduler', steps: 3, timesteps: [999, 749, 499], eta }), new CancelToken());
    const [g0, g3, g3b] = [await tcd(0), await tcd(0.3), await tcd(0.3)];
    expect(g3.timesteps).toEqual([999, 749, 499]);
    expect(Buffer.from(g3.image.data).equals(Buffer.from(g3b.image.data))).toBe(true);
    expect(Buffer.from(g0.image.data).equals(Buffer.from(g3.image.data))).toBe(false);
    await expect(tcd(1.5)).rejects.toThrow(/eta \(gamma\) must be in \[0, 1\]/);
  }, 600_000);

  it('refuses a bad list with the scheduler\'s own message (BAD_REQUEST)', async () => {
    await expect(pipe.generate(params({ steps: 3, timesteps: [999, 499] }), new CancelToken())).rejects.toThrow(/steps \(3\) must equal the number of custom timesteps \(2/);
    await expect(pipe.generate(params({ timesteps: [499, 999] }), new CancelToken())).rejects.toThrow(/strictly descending/);
    await expect(pipe.generate(params({ steps: 1, timesteps: [1000] }), new CancelToken())).rejects.toThrow(/outside \[0, 999\]/);
    await expect(pipe.generate(params({ steps: 0, timesteps: [] }), new CancelToken())).rejects.toThrow(/steps must be a whole number|non-empty array/);
    await expect(pipe.generate(params({ steps: 1, timesteps: [Number.NaN] }), new CancelToken())).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  }, 600_000);
});
