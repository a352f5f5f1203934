/**
 * Merge progress and cancel in the engine (review finding 6): mergeLorasAsync reports the weights written (count and
 * bytes) and stops at the next weight once its signal aborts; an apply through the worker's handler posts 'merge'
 * load-progress events that end at 100%, and a cancel of the apply ends it as cancelled with the loaded model and its
 * sessions untouched.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EngineHandler } from '../src/engine/handler';
import { encodeSafetensors, mergeLoras, mergeLorasAsync, type LoraMergeProgress } from '../src/engine/lora';
import { configureOrt } from '../src/engine/ort';
import type { EngineEvent, LoadProgress, LoraRef, ModelRef, Request } from '../src/engine/protocol';
import { randomFloats } from './loraTestUtil';
import { fixtureDir } from './modelDirs';

const DIR = fixtureDir('tiny');
const BASE = 'http://models.test/tiny/';
const LORA = encodeSafetensors({
  'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight': { shape: [4, 32], values: randomFloats(128, 1, 0.5) },
  'unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.weight': { shape: [32, 4], values: randomFloats(128, 2, 0.5) },
  'unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_v.lora_A.weight': { shape: [4, 32], values: randomFloats(128, 3, 0.5) },
  'unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_v.lora_B.weight': { shape: [32, 4], values: randomFloats(128, 4, 0.5) },
  'unet.down_blocks.0.resnets.0.conv1.lora_A.weight': { shape: [4, 16, 3, 3], values: randomFloats(576, 5, 0.3) },
  'unet.down_blocks.0.resnets.0.conv1.lora_B.weight': { shape: [16, 4, 1, 1], values: randomFloats(64, 6, 0.3) },
});
const unet = (): Uint8Array => new Uint8Array(readFileSync(join(DIR!, 'unet/model.onnx')));

let gate: Promise<void> | null = null;
beforeAll(() => {
  configureOrt({ numThreads: 1 });
  if (!DIR) throw new Error('fixtures/generated/tiny is missing: run `make -C training fixtures`');
  vi.stubGlobal('fetch', async (input: string | URL, init?: RequestInit) => {
    const url = String(input);
    const path = url.startsWith(BASE) ? decodeURIComponent(url.slice(BASE.length)) : null;
    if (path === null || !existsSync(join(DIR!, path))) return new Response('not found', { status: 404 });
    // While `gate` is set, the U-Net's read waits on it (or on the abort).
    if (gate && path === 'unet/model.onnx') {
      await Promise.race([gate, new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)))]);
    }
    return new Response(new Uint8Array(readFileSync(join(DIR!, path))));
  });
});
afterAll(() => vi.unstubAllGlobals());

describe('mergeLorasAsync', () => {
  it('reports every weight written and gives the same bytes as mergeLoras', async () => {
    const a = unet();
    const b = unet();
    const seen: LoraMergeProgress[] = [];
    const ra = await mergeLorasAsync(a, undefined, [{ name: 'l', bytes: LORA, scale: 1 }], 'unet/model.onnx', { onProgress: (p) => seen.push(p), yieldMs: 0 });
    const rb = mergeLoras(b, undefined, [{ name: 'l', bytes: LORA, scale: 1 }]);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(ra.weightsChanged).toBe(rb.weightsChanged);
    expect(seen.map((p) => p.weightsDone)).toEqual([0, 1, 2, 3]);
    expect(seen.every((p) => p.weightsTotal === 3)).toBe(true);
    expect(seen.at(-1)!.bytesDone).toBe(seen.at(-1)!.bytesTotal);
    // 32x32 + 32x32 float32 MatMul weights, 16x16x3x3 conv
    expect(seen.at(-1)!.bytesTotal).toBe((32 * 32 * 2 + 16 * 16 * 9) * 4);
  });

  it('stops at the next weight once its signal aborts', async () => {
    const ctrl = new AbortController();
    const seen: number[] = [];
    const run = mergeLorasAsync(unet(), undefined, [{ name: 'l', bytes: LORA, scale: 1 }], 'unet/model.onnx', {
      signal: ctrl.signal,
      yieldMs: 0,
      onProgress: (p) => {
        seen.push(p.weightsDone);
        if (p.weightsDone === 1) ctrl.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual([0, 1]);
  });
});

describe('apply progress and cancel through the handler', () => {
  function harness() {
    const events: EngineEvent[] = [];
    const handler = new EngineHandler((ev) => events.push(ev));
    const final = (id: string) => events.find((e) => e.id === id && e.type !== 'load-progress' && e.type !== 'step');
    const load = (id: string, poolId: string, loras?: LoraRef[]) => {
      const model: ModelRef = { id: poolId, name: 'tiny', kind: 'url', baseUrl: BASE };
      return handler.handle({ id, type: 'load', provider: 'wasm', model, ...(loras ? { loras } : {}) } as Request);
    };
    const image = async (id: string): Promise<Buffer> => {
      await handler.handle({ id, type: 'generate', params: { prompt: 'a red circle', seed: 4, steps: 2, guidanceScale: 2 } } as Request);
      const r = final(id);
      if (r?.type !== 'result') throw new Error(`generate ${id}: ${JSON.stringify(r)}`);
      return Buffer.from(r.result.latents.buffer);
    };
    const progress = (id: string): LoadProgress[] => events.flatMap((e) => (e.id === id && e.type === 'load-progress' ? [e.progress] : []));
    return { handler, events, final, load, image, progress };
  }

  it('posts merge progress up to 100%; a cancel mid-apply leaves the model as it was', async () => {
    const h = harness();
    await h.load('L0', 'tiny');
    const base = await h.image('G0');

    await h.load('L1', 'tiny+lora:l:1', [{ name: 'l', scale: 1, bytes: LORA.slice().buffer }]);
    expect(h.final('L1')?.type).toBe('loaded');
    const merge = h.progress('L1').filter((p) => p.phase === 'merge');
    expect(merge.map((p) => p.status)).toEqual(['initiate', 'progress', 'progress', 'done']);
    expect(merge.at(-1)!.loaded).toBe(merge.at(-1)!.total);
    const withLora = await h.image('G1');

    // Cancel while the U-Net is being read for another strength.
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    const pending = h.load('L2', 'tiny+lora:l:0.5', [{ name: 'l', scale: 0.5, bytes: LORA.slice().buffer }]);
    await new Promise((r) => setTimeout(r, 50));
    await h.handler.handle({ id: 'C', type: 'cancel', target: 'L2' } as Request);
    await pending;
    open();
    gate = null;
    expect(h.final('L2')?.type).toBe('cancelled');
    expect(h.handler.loadedIds()).toEqual(['tiny+lora:l:1']);
    expect((await h.image('G2')).equals(withLora)).toBe(true);
    expect(withLora.equals(base)).toBe(false);
  });
});
