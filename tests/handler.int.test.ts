/**
 * The worker's message handler driven with a fake post (no real Worker): exact event envelopes, the model pool,
 * latest-wins generation, cancellation, and a failed load that leaves the loaded model working.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EngineHandler, STEP_EVENT_INTERVAL_MS } from '../src/engine/handler';
import { configureOrt } from '../src/engine/ort';
import type { EngineEvent, ModelRef, Request } from '../src/engine/protocol';
import { filesOf, fixtureDir, shippedModelDirs } from './modelDirs';

const dir = shippedModelDirs().find((d) => d.endsWith('fewstep-turbo')) ?? fixtureDir('tiny') ?? shippedModelDirs()[0];


function harness() {
  const events: EngineEvent[] = [];
  const waiters: Array<() => void> = [];
  const handler = new EngineHandler((ev) => {
    events.push(ev);
    waiters.splice(0).forEach((w) => w());
  });
  const until = async (pred: (evs: EngineEvent[]) => boolean): Promise<void> => {
    while (!pred(events)) await new Promise<void>((r) => waiters.push(r));
  };
  const final = (id: string) => events.find((e) => e.id === id && e.type !== 'load-progress' && e.type !== 'step');
  return { events, handler, until, final };
}

const model = (id: string, files = filesOf(dir)): ModelRef => ({ id, name: id, kind: 'files', files });

beforeAll(() => configureOrt({ numThreads: 1 }));

describe('EngineHandler', () => {
  it('loads with monotonic progress, generates, and answers with exact envelopes', async () => {
    const h = harness();
    await h.handler.handle({ id: 'L1', type: 'load', model: model('m1'), provider: 'wasm' } as Request);
    const loaded = h.final('L1');
    expect(loaded?.type).toBe('loaded');
    const prog = h.events.filter((e): e is Extract<EngineEvent, { type: 'load-progress' }> => e.type === 'load-progress');
    const done = prog.map((p) => p.progress.filesDone + p.progress.sessionsDone);
    expect(done.every((v, i) => i === 0 || v >= done[i - 1])).toBe(true);
    expect(prog.at(-1)!.progress.sessionsDone).toBe(3);
    expect(prog.filter((p) => p.progress.status === 'initiate' && p.progress.phase === 'fetch').length).toBe(
      prog.filter((p) => p.progress.status === 'done' && p.progress.phase === 'fetch').length,
    );

    await h.handler.handle({ id: 'G1', type: 'generate', params: { prompt: 'a blue square', seed: 1, steps: 2, guidanceScale: 0 } } as Request);
    const res = h.final('G1');
    expect(res?.type).toBe('result');
    if (res?.type !== 'result') return;
    expect(res.modelId).toBe('m1');
    expect(res.provider).toBe('wasm');
    // Step events are throttled progress hints: the first step, never the last (the result follows at once)...
    const stepsOf = (id: string) => h.events.filter((e) => e.id === id && e.type === 'step').map((e) => (e as { step: { index: number } }).step.index);
    expect(stepsOf('G1')).toEqual([0]);
    // ...but every step that carries a preview frame is posted.
    await h.handler.handle({ id: 'G2', type: 'generate', params: { prompt: 'a blue square', seed: 1, steps: 3, guidanceScale: 0, preview: true } } as Request);
    expect(h.final('G2')?.type).toBe('result');
    expect(stepsOf('G2')).toEqual([0, 1, 2]);
  });

  it('throttles step events on long generations to one per STEP_EVENT_INTERVAL_MS after the first', async () => {
    const h = harness();
    await h.handler.handle({ id: 'L', type: 'load', model: model('m'), provider: 'wasm' } as Request);
    await h.handler.handle({ id: 'G', type: 'generate', params: { prompt: 'x', seed: 3, steps: 20, guidanceScale: 0, scheduler: 'DDIMScheduler' } } as Request);
    const res = h.final('G');
    expect(res?.type).toBe('result');
    if (res?.type !== 'result') return;
    const steps = h.events.filter((e) => e.id === 'G' && e.type === 'step').map((e) => (e as { step: { index: number } }).step.index);
    expect(steps[0]).toBe(0);
    expect(steps).not.toContain(19);
    expect(steps.length).toBeLessThanOrEqual(1 + Math.floor(res.result.timings.totalMs / STEP_EVENT_INTERVAL_MS));
  });

  it('describes a pipeline from its JSON files without loading it, and names a missing file', async () => {
    const h = harness();
    const index = JSON.parse(readFileSync(join(dir, 'model_index.json'), 'utf8')) as { fewstep?: { default_steps?: number } };
    await h.handler.handle({ id: 'D1', type: 'describe', model: model('d') } as Request);
    const ev = h.final('D1');
    expect(ev?.type).toBe('described');
    if (ev?.type !== 'described') return;
    if (index.fewstep?.default_steps !== undefined) expect(ev.defaults.steps).toBe(index.fewstep.default_steps);
    expect(ev.defaults.sampler).toMatch(/Scheduler$/);
    expect(h.handler.loadedIds()).toEqual([]);
    const noScheduler = filesOf(dir).filter((f) => !f.path.startsWith('scheduler/'));
    await h.handler.handle({ id: 'D2', type: 'describe', model: model('d2', noScheduler) } as Request);
    const err = h.final('D2');
    expect(err?.type).toBe('error');
    expect(err?.type === 'error' && err.error.message).toMatch(/scheduler_config\.json/);
  });

  it('latest request wins: a burst of generates ends with the last and cancels the rest', async () => {
    const h = harness();
    await h.handler.handle({ id: 'L', type: 'load', model: model('m'), provider: 'wasm' } as Request);
    const ids = ['a', 'b', 'c', 'd', 'e'];
    ids.forEach((id, i) => void h.handler.handle({ id, type: 'generate', params: { prompt: 'x', seed: i, steps: 3, guidanceScale: 0 } } as Request));
    await h.until(() => ids.every((id) => h.final(id)));
    expect(h.final('e')?.type).toBe('result');
    for (const id of ids.slice(0, 4)) expect(h.final(id)?.type).toBe('cancelled');
  });

  it('cancel stops the running generation at a step boundary', async () => {
    const h = harness();
    await h.handler.handle({ id: 'L', type: 'load', model: model('m'), provider: 'wasm' } as Request);
    const run = h.handler.handle({ id: 'G', type: 'generate', params: { prompt: 'x', seed: 3, steps: 20, guidanceScale: 0, scheduler: 'DDIMScheduler' } } as Request);
    await h.until((evs) => evs.some((e) => e.id === 'G' && e.type === 'step'));
    await h.handler.handle({ id: 'C', type: 'cancel', target: 'G' } as Request);
    await run;
    expect(h.final('G')?.type).toBe('cancelled');
    expect(h.events.filter((e) => e.id === 'G' && e.type === 'step').length).toBeLessThan(20);
  });

  it('a load that fails names the file and keeps the loaded model working', async () => {
    const h = harness();
    await h.handler.handle({ id: 'L', type: 'load', model: model('good'), provider: 'wasm' } as Request);
    const broken = filesOf(dir).filter((f) => f.path !== 'unet/model.onnx');
    await h.handler.handle({ id: 'B', type: 'load', model: model('bad', broken), provider: 'wasm' } as Request);
    const err = h.final('B');
    expect(err?.type).toBe('error');
    if (err?.type === 'error') {
      expect(err.error.code).toBe('MODEL_FILE_MISSING');
      expect(err.error.file).toBe('unet/model.onnx');
      expect(err.error.message).toContain('unet/model.onnx');
    }
    const corrupt = filesOf(dir).map((f) => (f.path === 'text_encoder/model.onnx' ? { path: f.path, blob: new Blob(['garbage bytes']) } : f));
    await h.handler.handle({ id: 'B2', type: 'load', model: model('bad2', corrupt), provider: 'wasm' } as Request);
    const err2 = h.final('B2');
    expect(err2?.type === 'error' && err2.error.code).toBe('MODEL_FILE_CORRUPT');
    expect(err2?.type === 'error' && err2.error.file).toBe('text_encoder/model.onnx');
    const badSched = filesOf(dir).map((f) => {
      // a class with no implementation and no fallback (PNDMScheduler runs as DDIMScheduler: layout.ts SCHEDULER_FALLBACK)
      if (f.path === 'scheduler/scheduler_config.json') return { path: f.path, blob: new Blob([JSON.stringify({ _class_name: 'KDPM2DiscreteScheduler' })]) };
      if (f.path === 'model_index.json') {
        const { fewstep: _drop, ...index } = JSON.parse(readFileSync(join(dir, 'model_index.json'), 'utf8'));
        return { path: f.path, blob: new Blob([JSON.stringify(index)]) };
      }
      return f;
    });
    await h.handler.handle({ id: 'B3', type: 'load', model: model('bad3', badSched), provider: 'wasm' } as Request);
    const err3 = h.final('B3');
    expect(err3?.type === 'error' && err3.error.code).toBe('SCHEDULER_UNSUPPORTED');
    expect(err3?.type === 'error' && err3.error.message).toMatch(/supported: .*DDIMScheduler/);
    await h.handler.handle({ id: 'G', type: 'generate', params: { prompt: 'x', seed: 1, steps: 1, guidanceScale: 0 } } as Request);
    const res = h.final('G');
    expect(res?.type).toBe('result');
    expect(res?.type === 'result' && res.modelId).toBe('good');
    expect(h.handler.loadedIds()).toEqual(['good']);
  });

  it('keeps several pipelines in the pool and generates with any of them by id', async () => {
    const h = harness();
    await h.handler.handle({ id: 'L1', type: 'load', model: model('one'), provider: 'wasm' } as Request);
    await h.handler.handle({ id: 'L2', type: 'load', model: model('two'), provider: 'wasm', activate: false } as Request);
    expect(h.handler.loadedIds().sort()).toEqual(['one', 'two']);
    await h.handler.handle({ id: 'G2', type: 'generate', modelId: 'two', params: { prompt: 'x', seed: 1, steps: 1, guidanceScale: 0 } } as Request);
    expect(h.final('G2')?.type === 'result' && (h.final('G2') as { modelId: string }).modelId).toBe('two');
    await h.handler.handle({ id: 'G1', type: 'generate', params: { prompt: 'x', seed: 1, steps: 1, guidanceScale: 0 } } as Request);
    expect((h.final('G1') as { modelId: string }).modelId).toBe('one');
    await h.handler.handle({ id: 'G3', type: 'generate', modelId: 'nope', params: { prompt: 'x', seed: 1, steps: 1, guidanceScale: 0 } } as Request);
    expect(h.final('G3')?.type === 'error' && (h.final('G3') as { error: { message: string } }).error.message).toMatch(/nope is not loaded/);
  });
});
