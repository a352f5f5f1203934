/**
 * Sidecars read on demand (issue 12, memory; sources/onDemand.ts): a folder's `model.onnx_data` / `weights.pb` is
 * handed to onnxruntime as an OnDemandBytes that reads each tensor's range from the file, instead of one buffer of
 * the whole file. Real onnxruntime-web (WASM, Node), real stand-in exports with sidecars: the image must be identical
 * to the one made from sidecars read whole, and a sidecar onnxruntime cannot read on demand is read whole instead.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { configureOrt, createSession, type SessionHandle } from '../ort';
import { FileMapSource } from '../source';
import { OnDemandBytes, registerSyncBlobReader } from '../sources/onDemand';
import { fileRangeReader } from '../sources/onDemandNode';
import { toTypedArray, type TensorData } from '../io';
import { loadPipeline } from './load';

const STANDINS = resolve(__dirname, '../../../fixtures/generated/standins');
/** Stand-ins whose U-Net keeps its weights in a sidecar: Optimum's model.onnx_data, diffusers' weights.pb. */
const CASES = [
  ['lcm-dreamshaper-v7', 'model.onnx_data'],
  ['sd-1-5', 'weights.pb'],
].filter(([id]) => existsSync(join(STANDINS, id, 'unet/model.onnx')));

/** Deterministic feeds for a stand-in U-Net: symbolic dims get small sizes (batch 1, 8x8 latents, 77 tokens). */
function feedsFor(s: SessionHandle): Record<string, [TensorData, number[]]> {
  const feeds: Record<string, [TensorData, number[]]> = {};
  for (const spec of s.inputs.values()) {
    const dims = spec.shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? 1 : /seq/i.test(String(d)) ? 77 : i === 1 && spec.shape.length === 4 ? 4 : 8));
    const n = dims.reduce((a, b) => a * b, 1);
    const values = /int/.test(spec.type) ? Array.from({ length: n }, () => 499) : Array.from({ length: n }, (_, i) => Math.sin(i * 0.37));
    feeds[spec.name] = [toTypedArray(values, spec.type, spec.name), dims];
  }
  return feeds;
}

async function unetOutput(id: string, sidecar: string, onDemand: boolean): Promise<Float32Array> {
  const dir = join(STANDINS, id, 'unet');
  const graph = readFileSync(join(dir, 'model.onnx'));
  const data = onDemand ? new OnDemandBytes(fileRangeReader(join(dir, sidecar)), `unet/${sidecar}`) : new Uint8Array(readFileSync(join(dir, sidecar)));
  const s = await createSession(graph.buffer.slice(graph.byteOffset, graph.byteOffset + graph.byteLength), 'unet/model.onnx', 'wasm', [{ path: sidecar, data }]);
  try {
    const out = await s.run(feedsFor(s));
    return Object.values(out)[0].data;
  } finally {
    if (data instanceof OnDemandBytes) data.close();
    await s.release();
  }
}

beforeAll(() => configureOrt({ numThreads: 1 }));
afterEach(() => vi.restoreAllMocks());

describe.skipIf(CASES.length === 0)('sidecars read on demand', () => {
  it.each(CASES)('%s: onnxruntime reads %s through OnDemandBytes, with the same U-Net output as from the whole file', async (id, sidecar) => {
    const reads = vi.spyOn(OnDemandBytes.prototype, 'subarray');
    const lazy = await unetOutput(id, sidecar, true);
    const read = reads.mock.calls.reduce((n, [a, b]) => n + ((b ?? 0) - (a ?? 0)), 0);
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThanOrEqual(statSync(join(STANDINS, id, 'unet', sidecar)).size);
    reads.mockClear();
    const whole = await unetOutput(id, sidecar, false);
    expect(reads).not.toHaveBeenCalled();
    expect(lazy.length).toBeGreaterThan(0);
    expect(lazy).toEqual(whole);
  });

  it("the loader hands a folder's sidecars over on demand, and reads one whole when onnxruntime cannot read it on demand", async () => {
    const [id, sidecar] = CASES[0];
    const dir = join(STANDINS, id);
    const files = new Map<string, Blob>();
    const walk = (d: string, rel: string): void => {
      for (const e of readdirSync(d)) {
        if (statSync(join(d, e)).isDirectory()) walk(join(d, e), `${rel}${e}/`);
        else files.set(`${rel}${e}`, new Blob([readFileSync(join(d, e))]));
      }
    };
    walk(dir, '');
    const unetSidecar = files.get(`unet/${sidecar}`)!;
    let attempts = 0;
    let good = 0;
    registerSyncBlobReader((blob) => {
      if (blob !== unetSidecar && !/\.onnx_data$/.test([...files].find(([, b]) => b === blob)?.[0] ?? '')) return null;
      const bytes = new Uint8Array(readFileSync(join(dir, [...files].find(([, b]) => b === blob)![0])));
      return {
        size: blob.size,
        read: (o: number, n: number) => {
          if (blob === unetSidecar) {
            attempts++;
            throw new Error('disk gone');
          }
          good++;
          return bytes.slice(o, o + n);
        },
      };
    });
    const parts = await loadPipeline(new FileMapSource(id, files), { name: id, provider: 'wasm' });
    try {
      expect(attempts).toBeGreaterThan(0); // the U-Net's sidecar was tried on demand, then read whole
      if (files.has('vae_decoder/model.onnx_data')) expect(good).toBeGreaterThan(0); // the VAE's was read on demand
      const out = await parts.sessions.unet.run(feedsFor(parts.sessions.unet));
      expect(Object.values(out)[0].data).toEqual(await unetOutput(id, sidecar, false));
    } finally {
      await Promise.all(Object.values(parts.sessions).map((s) => s.release()));
    }
  });
});
