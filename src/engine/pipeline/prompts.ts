/**
 * Phase 1, prompt encoding, shared by every loop: tokenize, run the text encoder, and keep the result in ONE cache
 * per pipeline (16 prompts, least recently used out). An entry holds the embedding in the form each loop feeds the
 * UNet: a Float32Array for the CPU and bare loops, a GPU buffer we own for the GPU-resident loop (filled from the
 * text encoder's GPU output, no readback). Changing only steps, seed or sampler never re-encodes.
 *
 * SDXL (a second encoder given): both encoders run, their penultimate hidden states are concatenated per token
 * ([1, 77, 768 + 1280]) and text_encoder_2's text_embeds [1280] is kept next to it ({@link PromptEncoder.pooled}),
 * as diffusers' StableDiffusionXLPipeline.encode_prompt does (pipeline/sdxl.ts).
 */
import { EngineError } from '../errors';
import { countNonFinite } from '../image';
import { LAYOUT_FILES } from '../layout';
import { ortQueue, type SessionHandle } from '../ort';
import type { PromptTokenizer } from '../tokenizer';
import { asTensors, type ModelIo } from './bindings';
import { concatHiddenStates } from './sdxl';
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
  /** SDXL: text_encoder_2's text_embeds [1280]. */
  pooled?: Float32Array;
}

/**
 * The "prompt" phase 1 encodes for an SDXL negative prompt under CFG when the negative prompt is empty and
 * model_index.json's force_zeros_for_empty_prompt holds: all-zero embeddings and pooled embeddings, as diffusers'
 * StableDiffusionXLPipeline.encode_prompt (`zero_out_negative_prompt`). A NUL-prefixed key no typed prompt uses.
 */
export const ZERO_PROMPT = '\u0000fewstep:zero-embedding';

/** SDXL's second text encoder and its tokenizer (tokenizer_2). */
export interface SecondEncoder {
  te: SessionHandle;
  tokenizer: PromptTokenizer;
}

export class PromptEncoder {
  private readonly cache = new Lru<Entry>(16, (e) => e.gpu?.destroy());

  /**
   * @param second SDXL's text_encoder_2 and tokenizer_2 (required when `io.sdxl` is set), else null
   */
  constructor(
    private readonly te: SessionHandle,
    private readonly io: ModelIo,
    private readonly tokenizer: PromptTokenizer,
    private readonly second: SecondEncoder | null = null,
  ) {
    if (io.sdxl && !second) throw new EngineError('INTERNAL', 'An SDXL pipeline needs text_encoder_2 and tokenizer_2 for its prompt encoder.', LAYOUT_FILES.textEncoder2);
  }

  /** Token ids the text encoder sees for `text` (padded/truncated to its length). */
  tokenIds(text: string, t?: StageTimings): number[] {
    const t0 = now();
    const ids = this.tokenizer.encode(text);
    if (t) t.tokenizeMs += now() - t0;
    return ids;
  }

  /** [1, L, D] on the CPU (SDXL: D = 768 + 1280, and the pooled embedding is cached next to it). */
  async cpu(text: string, t: StageTimings): Promise<Float32Array> {
    const hit = this.cache.get(text);
    if (hit?.cpu) return hit.cpu;
    t.embeddingCached = false;
    if (this.io.sdxl) {
      const { emb, pooled } = await this.sdxlCpu(text, t);
      this.cache.set(text, { ...hit, cpu: emb, pooled });
      return emb;
    }
    const ids = this.tokenIds(text, t);
    const t1 = now();
    const out = await this.te.run(this.io.textFeeds(ids), [this.io.textOut]);
    t.textEncoderMs += now() - t1;
    const emb = out[this.io.textOut].data;
    if (countNonFinite(emb) > 0) {
      throw new EngineError('NON_FINITE_OUTPUT', `The text encoder (${this.te.file}) produced NaN/Inf values.`, this.te.file);
    }
    this.cache.set(text, { ...hit, cpu: emb });
    return emb;
  }

  /**
   * SDXL's pooled prompt embedding (text_encoder_2's text_embeds) [1280] for a text {@link cpu} or {@link gpu}
   * encoded (phase 1 encodes first, then reads this).
   * @throws EngineError INTERNAL for a text not encoded (or evicted) yet, or on a pipeline without text_encoder_2
   */
  pooled(text: string): Float32Array {
    const p = this.cache.get(text)?.pooled;
    if (!p) throw new EngineError('INTERNAL', `No pooled SDXL prompt embedding cached for ${JSON.stringify(text.slice(0, 40))}; encode it first.`);
    return p;
  }

  /** Both SDXL encoders on the CPU: [te1 penultimate | te2 penultimate] per token, and te2's text_embeds. */
  private async sdxlCpu(text: string, t: StageTimings): Promise<{ emb: Float32Array; pooled: Float32Array }> {
    const x = this.io.sdxl!;
    const second = this.second!;
    if (text === ZERO_PROMPT) {
      const w1 = typeof x.width1 === 'number' ? x.width1 : null;
      const w2 = typeof x.width2 === 'number' ? x.width2 : null;
      const pw = typeof x.pooledWidth === 'number' ? x.pooledWidth : w2;
      if (w1 === null || w2 === null || pw === null) {
        throw new EngineError('MODEL_LAYOUT_INVALID', 'The SDXL text encoders declare no fixed widths, so zero negative embeddings cannot be sized; set hidden_size in text_encoder/config.json and text_encoder_2/config.json.', LAYOUT_FILES.textEncoderConfig);
      }
      return { emb: new Float32Array(this.tokenizer.maxLength * (w1 + w2)), pooled: new Float32Array(pw) };
    }
    const ids1 = this.tokenIds(text, t);
    const t0 = now();
    const ids2 = second.tokenizer.encode(text);
    t.tokenizeMs += now() - t0;
    const t1 = now();
    const out1 = await this.te.run(this.io.textFeeds(ids1), [x.hidden1]);
    const out2 = await second.te.run(this.io.textFeeds2(ids2), [x.hidden2, x.pooledOut]);
    t.textEncoderMs += now() - t1;
    const h1 = out1[x.hidden1];
    const h2 = out2[x.hidden2];
    const pooled = out2[x.pooledOut].data;
    for (const [file, data] of [[this.te.file, h1.data], [second.te.file, h2.data], [second.te.file, pooled]] as const) {
      if (countNonFinite(data) > 0) throw new EngineError('NON_FINITE_OUTPUT', `The text encoder (${file}) produced NaN/Inf values.`, file);
    }
    const w1 = h1.dims[h1.dims.length - 1];
    const w2 = h2.dims[h2.dims.length - 1];
    return { emb: concatHiddenStates(h1.data, w1, h2.data, w2), pooled };
  }

  /**
   * [1, L, D] in a GPU buffer owned by the cache: the text encoder's GPU output copied, never read back. SDXL: the
   * CPU embedding (two encoders, concatenated on the CPU) uploaded once per prompt.
   */
  async gpu(text: string, device: GPUDevice, t: StageTimings): Promise<GPUBuffer> {
    const hit = this.cache.get(text);
    if (hit?.gpu) return hit.gpu;
    if (this.io.sdxl) {
      const emb = await this.cpu(text, t);
      const buf = device.createBuffer({ label: 'fewstep-embedding', size: emb.byteLength, usage: GPU_BUFFER_USAGE });
      device.queue.writeBuffer(buf, 0, emb);
      this.cache.set(text, { ...this.cache.get(text), gpu: buf });
      return buf;
    }
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
