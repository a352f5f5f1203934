/**
 * Phase 1, prompt encoding, shared by every loop: tokenize, run the text encoder, and keep the result in ONE cache
 * per pipeline (16 prompts, least recently used out). An entry holds the embedding in the form each loop feeds the
 * UNet: a Float32Array for the CPU and bare loops, a GPU buffer we own for the GPU-resident loop (filled from the
 * text encoder's GPU output, no readback). Changing only steps, seed or sampler never re-encodes.
 */
import { EngineError } from '../errors';
import { countNonFinite } from '../image';
import { LAYOUT_FILES } from '../layout';
import { ortQueue, type SessionHandle } from '../ort';
import type { PromptTokenizer } from '../tokenizer';
import { asTensors, type ModelIo } from './bindings';
import type { StageTimings } from './timings';

const now = (): number => performance.now();
export const GPU_BUFFER_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

/** A small LRU map that hands evicted values to `drop` (GPU buffers are destroyed there). */
export class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(
    private readonly cap: number,
    private readonly drop: (v: V) => void = () => undefined,
  ) {}
  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.map.set(k, v);
    while (this.map.size > this.cap) {
      const [first, val] = this.map.entries().next().value!;
      this.map.delete(first);
      this.drop(val);
    }
  }
  clear(): void {
    for (const v of this.map.values()) this.drop(v);
    this.map.clear();
  }
}

interface Entry {
  cpu?: Float32Array;
  gpu?: GPUBuffer;
}

export class PromptEncoder {
  private readonly cache = new Lru<Entry>(16, (e) => e.gpu?.destroy());

  constructor(
    private readonly te: SessionHandle,
    private readonly io: ModelIo,
    private readonly tokenizer: PromptTokenizer,
  ) {}

  /** Token ids the text encoder sees for `text` (padded/truncated to its length). */
  tokenIds(text: string, t?: StageTimings): number[] {
    const t0 = now();
    const ids = this.tokenizer.encode(text);
    if (t) t.tokenizeMs += now() - t0;
    return ids;
  }

  /** [1, L, D] on the CPU. */
  async cpu(text: string, t: StageTimings): Promise<Float32Array> {
    const hit = this.cache.get(text);
    if (hit?.cpu) return hit.cpu;
    t.embeddingCached = false;
    const ids = this.tokenIds(text, t);
    const t1 = now();
    const out = await this.te.run(this.io.textFeeds(ids), [this.io.textOut]);
    t.textEncoderMs += now() - t1;
    const emb = out[this.io.textOut].data;
    if (countNonFinite(emb) > 0) {
      throw new EngineError('NON_FINITE_OUTPUT', 'The text encoder produced NaN/Inf values.', LAYOUT_FILES.textEncoder);
    }
    this.cache.set(text, { ...hit, cpu: emb });
    return emb;
  }

  /** [1, L, D] in a GPU buffer owned by the cache: the text encoder's GPU output copied, never read back. */
  async gpu(text: string, device: GPUDevice, t: StageTimings): Promise<GPUBuffer> {
    const hit = this.cache.get(text);
    if (hit?.gpu) return hit.gpu;
    t.embeddingCached = false;
    const ids = this.tokenIds(text, t);
    const t0 = now();
    const out = await this.te.runTensors(asTensors(this.te, this.io.textFeeds(ids)));
    try {
      const r = out[this.io.textOut];
      if (r.type !== 'float32') throw new EngineError('TENSOR_SHAPE_MISMATCH', `The text encoder returns ${r.type}; the GPU loop needs float32.`, this.te.file);
      const bytes = r.dims.reduce((a, b) => a * b, 1) * 4;
      const buf = device.createBuffer({ label: 'fewstep-embedding', size: bytes, usage: GPU_BUFFER_USAGE });
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(r.gpuBuffer as unknown as GPUBuffer, 0, buf, 0, bytes);
      device.queue.submit([enc.finish()]);
      this.cache.set(text, { ...hit, gpu: buf });
      t.textEncoderMs += now() - t0;
      return buf;
    } finally {
      await ortQueue.run(async () => {
        for (const x of Object.values(out)) x.dispose();
      });
    }
  }

  clear(): void {
    this.cache.clear();
  }
}
