/**
 * The model library's engine path in Node: the worker handler downloads a catalog entry from the stand-in hub into
 * a store, lists and deletes it, loads it from the store (an SD-Turbo-shaped entry whose model_index, scheduler,
 * component configs and tokenizer pad come from the catalog) and generates; download failures arrive as specific
 * EngineErrors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type Hub } from '../e2e/hub/server.mjs';
import { hubRepos, overlayEntries } from '../e2e/hub/overlay';
import type { CatalogEntry } from '../src/engine/catalog/schema';
import { validateCatalog } from '../src/engine/catalog/validate';
import { MemoryStore } from '../src/engine/download/memoryStore';
import { EngineHandler } from '../src/engine/handler';
import { configureOrt } from '../src/engine/ort';
import type { EngineEvent, Request } from '../src/engine/protocol';

let hub: Hub;
let entries: CatalogEntry[];

beforeAll(async () => {
  configureOrt({ numThreads: 1 });
  hub = await startHub({ repos: hubRepos() });
  entries = validateCatalog({ schemaVersion: 1, models: overlayEntries() }).models;
});
afterAll(() => hub?.close());

function harness(store = new MemoryStore()) {
  const events: EngineEvent[] = [];
  const handler = new EngineHandler((ev) => events.push(ev), store);
  const final = (id: string) => events.find((e) => e.id === id && !['load-progress', 'step', 'download-progress'].includes(e.type));
  const run = async (req: Record<string, unknown>) => {
    await handler.handle(req as unknown as Request);
    return final(req.id as string);
  };
  return { events, handler, final, run, store };
}

const entry = (id: string) => entries.find((e) => e.id === id)!;

describe('library through the engine handler', () => {
  it('downloads an SD-Turbo-shaped entry, loads it from the store with no request, generates, deletes', async () => {
    const h = harness();
    hub.clearLog();
    const done = await h.run({ id: 'D1', type: 'download', entry: entry('standin-sd-turbo'), hubBase: hub.url, chunkSize: 64 * 1024 });
    expect(done?.type).toBe('downloaded');
    const prog = h.events.filter((e): e is Extract<EngineEvent, { type: 'download-progress' }> => e.type === 'download-progress');
    const overall = prog.map((p) => p.progress.overall.loaded);
    expect(overall.every((v, i) => i === 0 || v >= overall[i - 1])).toBe(true);
    expect(prog.at(-1)!.progress.overall.percent).toBe(100);
    // model files from the model repo, tokenizer from the tokenizer repo
    const keys = new Set(hub.log().map((l) => l.key));
    expect(keys).toContain('standin/sd-turbo-ort-web/unet/model.onnx');
    expect(keys).toContain('standin/clip-vit-base-patch16/tokenizer.json');

    const list = await h.run({ id: 'C1', type: 'listCached' });
    expect(list?.type === 'cached-list' && list.list.models.find((m) => m.id === 'standin-sd-turbo')?.complete).toBe(true);

    hub.clearLog();
    const loaded = await h.run({
      id: 'L1', type: 'load', provider: 'wasm',
      model: { id: 'standin-sd-turbo', name: 'turbo', kind: 'cached', entry: entry('standin-sd-turbo') },
    });
    expect(loaded?.type, JSON.stringify(loaded)).toBe('loaded');
    expect(hub.log()).toEqual([]);
    if (loaded?.type !== 'loaded') return;
    expect(loaded.model.schedulerClass).toBe('EulerDiscreteScheduler');
    expect(loaded.model.defaults.steps).toBe(1);
    expect(loaded.model.defaults.guidanceScale).toBe(0);

    const gen = await h.run({ id: 'G1', type: 'generate', params: { prompt: 'a cat', seed: 3, steps: 1, guidanceScale: 0 } });
    expect(gen?.type).toBe('result');

    expect((await h.run({ id: 'X1', type: 'deleteCached', modelId: 'standin-sd-turbo' }))?.type).toBe('ack');
    const after = await h.run({ id: 'C2', type: 'listCached' });
    expect(after?.type === 'cached-list' && after.list.models.map((m) => m.id)).toEqual([]);
    expect(h.store.storedBytes()).toBe(0);
    // the deleted model's pipeline was released too
    expect((await h.run({ id: 'G2', type: 'generate', modelId: 'standin-sd-turbo', params: { prompt: 'a cat', seed: 3, steps: 1, guidanceScale: 0 } }))?.type).toBe('error');
  });

  it('turns download failures into specific engine errors', async () => {
    const h = harness();
    const e = entry('standin-fewstep-copy');
    hub.setFault('standin/fewstep-copy/unet/model.onnx', { status: 404 });
    const r = await h.run({ id: 'D404', type: 'download', entry: e, hubBase: hub.url });
    hub.clearFaults();
    expect(r?.type).toBe('error');
    if (r?.type === 'error') {
      expect(r.error.code).toBe('MODEL_FILE_MISSING');
      expect(r.error.file).toBe('unet/model.onnx');
      expect(r.error.message).toMatch(/unet\/model\.onnx not found \(HTTP 404\)/);
    }
    hub.setFault('standin/fewstep-copy/vae_decoder/model.onnx', { reportSize: 123 });
    const w = await h.run({ id: 'DWS', type: 'download', entry: e, hubBase: hub.url });
    hub.clearFaults();
    expect(w?.type === 'error' && w.error.code).toBe('MODEL_FILE_CORRUPT');
    expect(w?.type === 'error' && w.error.message).toMatch(/Wrong size for vae_decoder\/model\.onnx/);
  });

  it('a corrupt .onnx downloads (no sha256 in the entry) but is refused at load, naming the file', async () => {
    const h = harness();
    const e = entry('standin-fewstep-copy');
    hub.setFault('standin/fewstep-copy/unet/model.onnx', { corrupt: true });
    const d = await h.run({ id: 'DC', type: 'download', entry: e, hubBase: hub.url });
    hub.clearFaults();
    expect(d?.type).toBe('downloaded');
    const l = await h.run({ id: 'LC', type: 'load', provider: 'wasm', model: { id: e.id, name: e.name, kind: 'cached', entry: e } });
    expect(l?.type).toBe('error');
    if (l?.type === 'error') {
      expect(l.error.code).toBe('MODEL_FILE_CORRUPT');
      expect(l.error.message).toMatch(/unet\/model\.onnx is not a (valid|readable) ONNX (model|file)/);
    }
  });
});
