/**
 * Catalog LoRAs go through the models' downloader (review finding 2): the worker's handler applies a LoRA given as
 * a catalog entry (`LoraRef.catalog`) served by the stand-in hub; the file is downloaded once into the model store,
 * checked against the entry's size and sha256, listed with the cached models, and a second Apply (another strength)
 * reads it from the store without a request. A dropped connection is retried; a wrong sha256 or size fails the
 * apply with an error naming the LoRA and its file, and the loaded model keeps drawing as before.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type Hub } from '../e2e/hub/server.mjs';
import type { LoraEntry } from '../src/engine/catalog/schema';
import { MemoryStore } from '../src/engine/download/memoryStore';
import { EngineHandler } from '../src/engine/handler';
import { encodeSafetensors } from '../src/engine/lora/safetensors';
import { configureOrt } from '../src/engine/ort';
import type { EngineEvent, LoraRef, ModelRef, Request } from '../src/engine/protocol';
import { randomFloats } from './loraTestUtil';
import { fixtureDir } from './modelDirs';

const LORA = encodeSafetensors({
  'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight': { shape: [4, 32], values: randomFloats(128, 1, 0.5) },
  'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.weight': { shape: [32, 4], values: randomFloats(128, 2, 0.5) },
  'unet.down_blocks.0.resnets.0.conv1.lora_A.weight': { shape: [4, 16, 3, 3], values: randomFloats(576, 5, 0.3) },
  'unet.down_blocks.0.resnets.0.conv1.lora_B.weight': { shape: [16, 4, 1, 1], values: randomFloats(64, 6, 0.3) },
});
const SHA = createHash('sha256').update(LORA).digest('hex');
const FILE = 'tiny-lora.safetensors';

let hub: Hub;
beforeAll(async () => {
  configureOrt({ numThreads: 1 });
  const dir = fixtureDir('tiny');
  if (!dir) throw new Error('fixtures/generated/tiny is missing: run `make -C training fixtures`');
  const loraDir = mkdtempSync(join(tmpdir(), 'fewstep-lora-'));
  writeFileSync(join(loraDir, FILE), LORA);
  hub = await startHub({ repos: { 'fewstep/tiny': dir, 'test/tiny-lora': loraDir } });
});
afterAll(() => hub?.close());

function entry(file: Partial<{ size: number | null; sha256: string }> = {}): LoraEntry {
  return {
    id: 'test-tiny-lora',
    name: 'Tiny LoRA',
    kind: 'remote',
    source: { type: 'hf', repo: 'test/tiny-lora', revision: 'main' },
    files: [{ path: FILE, size: LORA.byteLength, sha256: SHA, ...file }],
    format: 'peft',
    role: 'style',
    baseFamily: 'fewstep',
    appliesTo: ['tiny'],
    rank: 4,
    alpha: 4,
    alphaStorage: 'none',
    precision: 'fp32',
    defaultScale: 1,
    license: 'MIT',
    notes: [],
  };
}

function harness(store = new MemoryStore()) {
  const events: EngineEvent[] = [];
  const handler = new EngineHandler((ev) => events.push(ev), store);
  const final = (id: string) => events.find((e) => e.id === id && e.type !== 'load-progress' && e.type !== 'step');
  let n = 0;
  const load = async (poolId: string, loras?: LoraRef[]) => {
    const id = `L${n++}`;
    const model: ModelRef = { id: poolId, name: 'tiny', kind: 'url', baseUrl: `${hub.url}/fewstep/tiny/resolve/main/` };
    await handler.handle({ id, type: 'load', provider: 'wasm', model, ...(loras ? { loras } : {}) } as Request);
    return { ev: final(id), progress: events.filter((e) => e.id === id && e.type === 'load-progress') };
  };
  const image = async (): Promise<Buffer> => {
    const id = `G${n++}`;
    await handler.handle({ id, type: 'generate', params: { prompt: 'a red circle', seed: 4, steps: 2, guidanceScale: 2 } } as Request);
    const r = final(id);
    if (r?.type !== 'result') throw new Error(`generate ${id}: ${JSON.stringify(r)}`);
    return Buffer.from(r.result.latents.buffer);
  };
  return { handler, load, image, store, events };
}

const loraRequests = () => hub.log().filter((l) => l.key === `test/tiny-lora/${FILE}` && l.method === 'GET');
const ref = (e: LoraEntry, scale = 1): LoraRef[] => [{ name: 'Tiny LoRA', scale, catalog: { entry: e, hubBase: hub.url } }];

describe('catalog LoRAs through the download store', () => {
  it('downloads once, verifies, stores, and reads the second Apply from storage', async () => {
    const h = harness();
    const l0 = (await h.load('tiny')).ev;
    expect(l0?.type, JSON.stringify(l0)).toBe('loaded');
    const base = await h.image();
    hub.clearLog();
    // A dropped connection on the first request: retried.
    hub.setFault(`test/tiny-lora/${FILE}`, { closeAfter: 100, times: 1 });
    const first = await h.load('tiny+lora:a', ref(entry()));
    hub.clearFaults();
    expect(first.ev?.type, JSON.stringify(first.ev)).toBe('loaded');
    expect(loraRequests().length).toBeGreaterThanOrEqual(2);
    expect(first.progress.some((p) => p.type === 'load-progress' && p.progress.file === `test-tiny-lora/${FILE}`)).toBe(true);
    const withLora = await h.image();
    expect(withLora.equals(base)).toBe(false);
    const list = (await h.store.listModels()).find((m) => m.id === 'test-tiny-lora');
    expect(list?.complete).toBe(true);
    expect(list?.bytes).toBe(LORA.byteLength);

    hub.clearLog();
    const second = await h.load('tiny+lora:b', ref(entry(), 0.5));
    expect(second.ev?.type, JSON.stringify(second.ev)).toBe('loaded');
    expect(loraRequests()).toEqual([]);
    const half = await h.image();
    expect(half.equals(withLora) || half.equals(base)).toBe(false);

    // Back at strength 1, from storage: the same latents as the first, downloaded, apply.
    expect((await h.load('tiny+lora:a', ref(entry()))).ev?.type).toBe('loaded');
    expect(loraRequests()).toEqual([]);
    expect((await h.image()).equals(withLora)).toBe(true);
  });

  it('a wrong sha256 or size fails the apply with the LoRA and file named; the model is unchanged', async () => {
    const h = harness();
    const l0 = (await h.load('tiny')).ev;
    expect(l0?.type, JSON.stringify(l0)).toBe('loaded');
    const base = await h.image();

    const badSha = await h.load('tiny+lora:x', ref(entry({ sha256: '0'.repeat(64) })));
    expect(badSha.ev?.type).toBe('error');
    if (badSha.ev?.type !== 'error') return;
    expect(badSha.ev.error.code).toBe('MODEL_FILE_CORRUPT');
    expect(badSha.ev.error.message).toContain(`LoRA "Tiny LoRA" (test-tiny-lora/${FILE})`);
    expect(badSha.ev.error.message).toMatch(/Integrity check failed .*download again/);
    expect(await h.store.hasFile('test-tiny-lora', FILE)).toBe(false);

    const badSize = await h.load('tiny+lora:y', ref(entry({ size: LORA.byteLength + 1, sha256: undefined })));
    expect(badSize.ev?.type === 'error' && badSize.ev.error.code).toBe('MODEL_FILE_CORRUPT');
    expect(badSize.ev?.type === 'error' && badSize.ev.error.message).toContain(FILE);

    expect((await h.image()).equals(base)).toBe(true);
    expect(h.handler.loadedIds()).toEqual(['tiny']);
  });
});
