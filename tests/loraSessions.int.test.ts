/**
 * A LoRA apply rebuilds only the U-Net session (review finding 1): the worker's handler, on the tiny fixture served
 * by URL, with ort.ts's createSession wrapped to count the sessions made and released per component. Applying a set
 * to the loaded model makes one U-Net session and releases the previous U-Net once the new one exists; the text
 * encoder and VAE decoder are made once and released once (when the last pipeline using them goes). The shared
 * pipeline draws the same latents, bit for bit, as a model loaded whole with the same LoRA; a LoRA that fails
 * leaves every session alone; a grid row (activate: false) shares the sessions without releasing the active U-Net.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { EngineHandler } from '../src/engine/handler';
import { encodeSafetensors } from '../src/engine/lora/safetensors';
import { configureOrt } from '../src/engine/ort';
import type { EngineEvent, LoraRef, ModelRef, Request } from '../src/engine/protocol';
import { randomFloats } from './loraTestUtil';
import { fixtureDir } from './modelDirs';

const counts = vi.hoisted(() => ({ created: new Map<string, number>(), released: new Map<string, number>() }));
vi.mock('../src/engine/ort', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/engine/ort')>();
  const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
  return {
    ...real,
    createSession: async (...args: Parameters<typeof real.createSession>) => {
      const h = await real.createSession(...args);
      bump(counts.created, args[1]);
      const release = h.release.bind(h);
      h.release = async () => {
        bump(counts.released, args[1]);
        await release();
      };
      return h;
    },
  };
});

const DIR = fixtureDir('tiny');
const BASE = 'http://models.test/tiny/';
const LORA_URL = 'http://models.test/loras/tiny-lora.safetensors';
const LORA = encodeSafetensors({
  'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight': { shape: [4, 32], values: randomFloats(128, 1, 0.5) },
  'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.weight': { shape: [32, 4], values: randomFloats(128, 2, 0.5) },
  'unet.down_blocks.0.resnets.0.conv1.lora_A.weight': { shape: [4, 16, 3, 3], values: randomFloats(576, 5, 0.3) },
  'unet.down_blocks.0.resnets.0.conv1.lora_B.weight': { shape: [16, 4, 1, 1], values: randomFloats(64, 6, 0.3) },
});
const UNET = 'unet/model.onnx';
const TE = 'text_encoder/model.onnx';
const VAE = 'vae_decoder/model.onnx';

beforeAll(() => {
  configureOrt({ numThreads: 1 });
  if (!DIR) throw new Error('fixtures/generated/tiny is missing: run `make -C training fixtures`');
  vi.stubGlobal('fetch', async (input: string | URL) => {
    const url = String(input);
    if (url === LORA_URL) return new Response(LORA.slice());
    const path = url.startsWith(BASE) ? decodeURIComponent(url.slice(BASE.length)) : null;
    if (path === null || !existsSync(join(DIR!, path))) return new Response('not found', { status: 404 });
    return new Response(new Uint8Array(readFileSync(join(DIR!, path))));
  });
});
afterAll(() => vi.unstubAllGlobals());
beforeEach(() => {
  counts.created.clear();
  counts.released.clear();
});

const made = (f: string): number => counts.created.get(f) ?? 0;
const gone = (f: string): number => counts.released.get(f) ?? 0;

function harness() {
  const events: EngineEvent[] = [];
  const handler = new EngineHandler((ev) => events.push(ev));
  const final = (id: string) => events.find((e) => e.id === id && e.type !== 'load-progress' && e.type !== 'step');
  let n = 0;
  const load = async (poolId: string, loras?: LoraRef[], activate?: boolean) => {
    const id = `L${n++}`;
    const model: ModelRef = { id: poolId, name: 'tiny', kind: 'url', baseUrl: BASE };
    await handler.handle({ id, type: 'load', provider: 'wasm', model, ...(loras ? { loras } : {}), ...(activate === false ? { activate } : {}) } as Request);
    return final(id);
  };
  const image = async (modelId?: string): Promise<Buffer> => {
    const id = `G${n++}`;
    await handler.handle({ id, type: 'generate', ...(modelId ? { modelId } : {}), params: { prompt: 'a red circle', seed: 4, steps: 2, guidanceScale: 2 } } as Request);
    const r = final(id);
    if (r?.type !== 'result') throw new Error(`generate ${id}: ${JSON.stringify(r)}`);
    return Buffer.from(r.result.latents.buffer);
  };
  return { handler, load, image };
}

const lora = (scale = 1): LoraRef[] => [{ name: 'tiny-lora', scale, url: LORA_URL }];

describe('LoRA apply rebuilds only the U-Net', () => {
  it('counts sessions per component through base -> LoRA -> other strength -> base, a grid row, a failure and unload', async () => {
    // Reference: the model loaded whole with the LoRA, in a handler of its own.
    const whole = harness();
    expect((await whole.load('tiny+lora:tiny-lora:1', lora()))?.type).toBe('loaded');
    const withLoraWhole = await whole.image();
    await whole.handler.handle({ id: 'U', type: 'unload' } as Request);
    counts.created.clear();
    counts.released.clear();

    const h = harness();
    expect((await h.load('tiny'))?.type).toBe('loaded');
    expect([made(TE), made(UNET), made(VAE)]).toEqual([1, 1, 1]);
    const base = await h.image();

    // Apply the LoRA (a new pool id, as the app sends): one U-Net session, the base U-Net released, nothing else.
    const applied = await h.load('tiny+lora:tiny-lora:1', lora());
    expect(applied?.type === 'loaded' && applied.model.lora?.weightsChanged).toBe(2);
    expect([made(TE), made(UNET), made(VAE)]).toEqual([1, 2, 1]);
    expect([gone(TE), gone(UNET), gone(VAE)]).toEqual([0, 1, 0]);
    expect(h.handler.loadedIds()).toEqual(['tiny+lora:tiny-lora:1']);
    const withLora = await h.image();
    expect(withLora.equals(withLoraWhole)).toBe(true);
    expect(withLora.equals(base)).toBe(false);

    // Another strength: again only the U-Net.
    expect((await h.load('tiny+lora:tiny-lora:0.5', lora(0.5)))?.type).toBe('loaded');
    expect([made(TE), made(UNET), made(VAE)]).toEqual([1, 3, 1]);
    expect([gone(TE), gone(UNET), gone(VAE)]).toEqual([0, 2, 0]);
    const half = await h.image();
    expect(half.equals(withLora) || half.equals(base)).toBe(false);

    // Back to the base: the U-Net read again from the source gives the base latents bit for bit.
    expect((await h.load('tiny'))?.type).toBe('loaded');
    expect([made(TE), made(UNET), made(VAE)]).toEqual([1, 4, 1]);
    expect([gone(TE), gone(UNET), gone(VAE)]).toEqual([0, 3, 0]);
    expect((await h.image()).equals(base)).toBe(true);

    // A comparison-grid row (activate: false) shares the sessions and leaves the active U-Net alone.
    expect((await h.load('tiny+lora:tiny-lora:1', lora(), false))?.type).toBe('loaded');
    expect([made(TE), made(UNET), made(VAE)]).toEqual([1, 5, 1]);
    expect([gone(TE), gone(UNET), gone(VAE)]).toEqual([0, 3, 0]);
    expect((await h.image('tiny+lora:tiny-lora:1')).equals(withLora)).toBe(true);
    expect((await h.image()).equals(base)).toBe(true);

    // A LoRA that does not read: no session made or released, the active model still draws the base.
    const bad = await h.load('tiny+lora:cut:1', [{ name: 'cut', scale: 1, bytes: LORA.slice(0, LORA.length - 10).buffer }]);
    expect(bad?.type === 'error' && bad.error.code).toBe('LORA_INVALID');
    expect([made(TE), made(UNET), made(VAE)]).toEqual([1, 5, 1]);
    expect([gone(TE), gone(UNET), gone(VAE)]).toEqual([0, 3, 0]);
    expect((await h.image()).equals(base)).toBe(true);

    // The picker applies the set the grid row already loaded: no new session, the replaced base U-Net is released.
    expect((await h.load('tiny+lora:tiny-lora:1', lora()))?.type).toBe('loaded');
    expect([made(TE), made(UNET), made(VAE)]).toEqual([1, 5, 1]);
    expect([gone(TE), gone(UNET), gone(VAE)]).toEqual([0, 4, 0]);
    expect(h.handler.loadedIds()).toEqual(['tiny+lora:tiny-lora:1']);
    expect((await h.image()).equals(withLora)).toBe(true);

    // Unload: every session released exactly once.
    await h.handler.handle({ id: 'U2', type: 'unload' } as Request);
    expect([gone(TE), gone(UNET), gone(VAE)]).toEqual([1, 5, 1]);
  });
});
