/**
 * LoRAs through the worker's request handler (`load` with `loras`), on the tiny fixture served by URL (a stubbed
 * fetch reads the folder and the LoRA files): the loaded model reports the merge; the same id with the same set is
 * re-activated without a reload; another set, or none, reloads the U-Net from its source, so removing the LoRA (or
 * scale 0) gives the base image bit for bit; a LoRA by transferred bytes works like one by URL; a bad LoRA fails the
 * load with its code and the pooled model keeps generating the base image.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EngineHandler } from '../src/engine/handler';
import { encodeSafetensors } from '../src/engine/lora/safetensors';
import { configureOrt } from '../src/engine/ort';
import type { EngineEvent, LoraRef, ModelRef, Request } from '../src/engine/protocol';
import { randomFloats } from './loraTestUtil';
import { fixtureDir } from './modelDirs';

const DIR = fixtureDir('tiny');
const BASE = 'http://models.test/tiny/';
const LORA_URL = 'http://models.test/loras/tiny-lora.safetensors';

/** A LoRA for the fixture's U-Net: attention q/v (MatMul) and a resnet conv (Conv), PEFT keys. */
const LORA = encodeSafetensors({
  'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight': { shape: [4, 32], values: randomFloats(128, 1, 0.5) },
  'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.weight': { shape: [32, 4], values: randomFloats(128, 2, 0.5) },
  'unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_v.lora_A.weight': { shape: [4, 32], values: randomFloats(128, 3, 0.5) },
  'unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_v.lora_B.weight': { shape: [32, 4], values: randomFloats(128, 4, 0.5) },
  'unet.down_blocks.0.resnets.0.conv1.lora_A.weight': { shape: [4, 16, 3, 3], values: randomFloats(576, 5, 0.3) },
  'unet.down_blocks.0.resnets.0.conv1.lora_B.weight': { shape: [16, 4, 1, 1], values: randomFloats(64, 6, 0.3) },
});

const fetches: string[] = [];
beforeAll(() => {
  configureOrt({ numThreads: 1 });
  if (!DIR) throw new Error('fixtures/generated/tiny is missing: run `make -C training fixtures`');
  vi.stubGlobal('fetch', async (input: string | URL) => {
    const url = String(input);
    fetches.push(url);
    if (url === LORA_URL) return new Response(LORA.slice());
    const path = url.startsWith(BASE) ? decodeURIComponent(url.slice(BASE.length)) : null;
    if (path === null || !existsSync(join(DIR!, path))) return new Response('not found', { status: 404 });
    return new Response(new Uint8Array(readFileSync(join(DIR!, path))));
  });
});
afterAll(() => vi.unstubAllGlobals());

function harness() {
  const events: EngineEvent[] = [];
  const handler = new EngineHandler((ev) => events.push(ev));
  const final = (id: string) => events.find((e) => e.id === id && e.type !== 'load-progress' && e.type !== 'step');
  const load = async (id: string, loras?: LoraRef[]) => {
    const model: ModelRef = { id: 'tiny', name: 'tiny', kind: 'url', baseUrl: BASE };
    await handler.handle({ id, type: 'load', provider: 'wasm', model, ...(loras ? { loras } : {}) } as Request);
    return final(id);
  };
  const image = async (id: string): Promise<Buffer> => {
    await handler.handle({ id, type: 'generate', params: { prompt: 'a red circle', seed: 4, steps: 2, guidanceScale: 2 } } as Request);
    const r = final(id);
    if (r?.type !== 'result') throw new Error(`generate ${id}: ${JSON.stringify(r)}`);
    return Buffer.from(r.result.latents.buffer);
  };
  const progressOf = (id: string) => events.filter((e) => e.id === id && e.type === 'load-progress').length;
  return { handler, load, image, progressOf };
}

describe('load with loras', () => {
  it('merges by URL, re-activates the same set, reloads for another set; no LoRA or scale 0 gives the base bit for bit', async () => {
    const h = harness();
    expect((await h.load('L0'))?.type).toBe('loaded');
    const base = await h.image('G0');

    const l1 = await h.load('L1', [{ name: 'tiny-lora', scale: 1, url: LORA_URL }]);
    expect(l1?.type).toBe('loaded');
    if (l1?.type !== 'loaded') return;
    expect(l1.model.lora?.adapters).toEqual([
      { name: 'tiny-lora', scale: 1, format: 'peft', rank: 4, alpha: 4, matched: 6, unmatched: 0, textEncoderKeys: 0 },
    ]);
    expect(l1.model.lora?.weightsChanged).toBe(3);
    expect(fetches).toContain(LORA_URL);
    const withLora = await h.image('G1');
    expect(withLora.equals(base)).toBe(false);

    // the same id and set: re-activated, nothing read again
    const n = fetches.length;
    expect((await h.load('L2', [{ name: 'tiny-lora', scale: 1, url: LORA_URL }]))?.type).toBe('loaded');
    expect(h.progressOf('L2')).toBe(0);
    expect(fetches.length).toBe(n);
    expect((await h.image('G2')).equals(withLora)).toBe(true);

    // removing the LoRA: the U-Net is read again from its source, the base weights come back exactly
    const l3 = await h.load('L3');
    expect(l3?.type === 'loaded' && l3.model.lora).toBeUndefined();
    expect(h.progressOf('L3')).toBeGreaterThan(0);
    expect((await h.image('G3')).equals(base)).toBe(true);

    // scale 0 changes nothing
    const l4 = await h.load('L4', [{ name: 'tiny-lora', scale: 0, url: LORA_URL }]);
    expect(l4?.type === 'loaded' && l4.model.lora?.weightsChanged).toBe(0);
    expect((await h.image('G4')).equals(base)).toBe(true);

    // by transferred bytes (a picked file): the same weights as by URL
    expect((await h.load('L5', [{ name: 'picked', scale: 1, bytes: LORA.slice().buffer }]))?.type).toBe('loaded');
    expect((await h.image('G5')).equals(withLora)).toBe(true);
  });

  it('a bad LoRA fails the load with its code and the pooled model keeps its weights', async () => {
    const h = harness();
    expect((await h.load('L0'))?.type).toBe('loaded');
    const base = await h.image('G0');
    const cut = await h.load('L1', [{ name: 'cut', scale: 1, bytes: LORA.slice(0, LORA.length - 10).buffer }]);
    expect(cut?.type).toBe('error');
    expect(cut?.type === 'error' && cut.error).toMatchObject({ code: 'LORA_INVALID', message: expect.stringContaining('cut is not a valid safetensors file') });
    const strong = await h.load('L2', [{ name: 'tiny-lora', scale: 9, url: LORA_URL }]);
    expect(strong?.type === 'error' && strong.error.code).toBe('BAD_REQUEST');
    const missing = await h.load('L3', [{ name: 'gone', scale: 1, url: 'http://models.test/loras/gone.safetensors' }]);
    expect(missing?.type === 'error' && missing.error).toMatchObject({ code: 'MODEL_FILE_MISSING', message: expect.stringContaining('LoRA "gone" is not at') });
    const neither = await h.load('L4', [{ name: 'x', scale: 1 }]);
    expect(neither?.type === 'error' && neither.error.code).toBe('BAD_REQUEST');
    expect((await h.image('G1')).equals(base)).toBe(true);
  });
});
