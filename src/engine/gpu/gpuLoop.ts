/**
 * The GPU-resident sampling loop (WebGPU only). Prompt embeddings, latents, the UNet input and output and the VAE
 * input stay in GPU buffers for the whole generation: ORT's outputs are GPU buffers (preferredOutputLocation
 * 'gpu-buffer', pre-allocated through `fetches` and reused), the scheduler step runs as a WGSL kernel
 * (stepKernel.ts), and the only readback is the final one: VAE pixels and final latents copied into one staging
 * buffer and mapped once.
 *
 * All buffers are owned here, reused across generations and destroyed by `release()`. Noise for stochastic steps
 * is drawn on the CPU by the pipeline's generator in the CPU loop's order and uploaded (an upload, not a readback),
 * so both loops produce the same image for a seed.
 */
import { EngineError } from '../errors';
import { chwToRgba, countNonFinite, type RgbaImage } from '../image';
import { timestepDims, toTypedArray } from '../io';
import { cpuTensor, gpuTensor, ortGpuDevice, ortQueue, type OrtTensor, type SessionHandle } from '../ort';
import type { CancelToken } from '../queue';
import type { StageTimings } from '../pipeline';
import { packParams, PARAMS_BYTES, STEP_WGSL } from './stepKernel';
import type { StepCoefficients } from './stepPlan';

export interface GpuLoopModel {
  textEncoder: SessionHandle;
  unet: SessionHandle;
  vae: SessionHandle;
  /** [1, C, h, w] */
  latentShape: number[];
  /** [width, height] */
  imageSize: [number, number];
  textDim: number;
  scalingFactor: number;
  tokenize(text: string): number[];
}

export interface GpuRunArgs {
  plan: StepCoefficients[];
  /** Initial latents, already multiplied by initNoiseSigma. */
  latents: Float32Array;
  prompt: string;
  negativePrompt: string;
  /** Non-null: classifier-free guidance with a [uncond, cond] batch. */
  cfgScale: number | null;
  /** LCM guidance embedding (timestep_cond), when the UNet takes one. */
  wEmb: Float32Array | null;
  /** Noise for step i (same draws as the CPU loop), or null when the step takes none. */
  noiseFor(i: number): Float32Array | null;
  token: CancelToken;
  onStep?: (i: number, unetMs: number, schedulerMs: number) => void;
}

/** The image and final latents, with the stage timings the CPU loop reports too. */
export interface GpuRunResult extends Pick<StageTimings, 'textEncoderMs' | 'embeddingCached' | 'unetMs' | 'schedulerMs' | 'vaeMs' | 'readbackMs'> {
  image: RgbaImage;
  latents: Float32Array;
}

const now = (): number => performance.now();
const USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

/** Why the GPU loop cannot run this model (null when it can). */
export function gpuLoopUnsupported(m: Pick<GpuLoopModel, 'unet' | 'vae' | 'textEncoder'>): string | null {
  if (m.unet.provider !== 'webgpu') return 'the model runs on WASM';
  if (!m.unet.gpuOutputs || !m.vae.gpuOutputs || !m.textEncoder.gpuOutputs) return 'sessions were created without GPU-buffer outputs';
  const f32 = (s: SessionHandle, ...names: string[]): boolean => {
    const spec = s.findInput(...names) ?? [...s.inputs.values()][0];
    return spec?.type === 'float32';
  };
  if (!f32(m.unet, 'sample') || !f32(m.unet, 'encoder_hidden_states') || !f32(m.vae, 'latent_sample', 'latents', 'z')) {
    return 'the model has float16 inputs (the GPU loop handles float32 I/O)';
  }
  const sample = m.unet.findInput('sample');
  const b0 = sample?.shape[0];
  if (typeof b0 === 'number' && b0 > 0 && b0 !== 1) return `the UNet has a fixed batch of ${b0}`;
  return null;
}

class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(
    private readonly cap: number,
    private readonly drop: (v: V) => void,
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

export class GpuLoop {
  private readonly pipeline: GPUComputePipeline;
  private readonly params: GPUBuffer;
  private readonly embeddings = new Lru<GPUBuffer>(16, (b) => b.destroy());
  private readonly pairs = new Lru<GPUBuffer>(4, (b) => b.destroy());
  private bufs: { batch: number; x: GPUBuffer; modelIn: GPUBuffer; unetOut: GPUBuffer; vaeIn: GPUBuffer; noise: GPUBuffer; vaeOut: GPUBuffer; staging: GPUBuffer } | null = null;
  private preallocate = true;
  private released = false;

  private constructor(
    private readonly device: GPUDevice,
    private readonly m: GpuLoopModel,
  ) {
    this.pipeline = device.createComputePipeline({
      label: 'fewstep-step',
      layout: 'auto',
      compute: { module: device.createShaderModule({ label: 'fewstep-step', code: STEP_WGSL }), entryPoint: 'main' },
    });
    this.params = device.createBuffer({ label: 'fewstep-step-params', size: PARAMS_BYTES, usage: 0x40 /* UNIFORM */ | 0x08 });
  }

  static async create(m: GpuLoopModel): Promise<GpuLoop> {
    const device = await ortGpuDevice();
    return new GpuLoop(device, m);
  }

  private get n(): number {
    return this.m.latentShape.reduce((a, b) => a * b, 1);
  }

  private ensureBuffers(batch: number): NonNullable<GpuLoop['bufs']> {
    if (this.bufs && this.bufs.batch === batch) return this.bufs;
    this.destroyBuffers();
    const n = this.n;
    const [w, h] = this.m.imageSize;
    const mk = (label: string, floats: number, usage = USAGE): GPUBuffer => this.device.createBuffer({ label, size: floats * 4, usage });
    this.bufs = {
      batch,
      x: mk('fewstep-x', n),
      modelIn: mk('fewstep-unet-in', batch * n),
      unetOut: mk('fewstep-unet-out', batch * n),
      vaeIn: mk('fewstep-vae-in', n),
      noise: mk('fewstep-noise', n),
      vaeOut: mk('fewstep-vae-out', 3 * w * h),
      staging: mk('fewstep-readback', 3 * w * h + n, 0x01 /* MAP_READ */ | 0x08),
    };
    return this.bufs;
  }

  private destroyBuffers(): void {
    if (!this.bufs) return;
    for (const [k, b] of Object.entries(this.bufs)) if (k !== 'batch') (b as GPUBuffer).destroy();
    this.bufs = null;
  }

  /** Prompt embedding [1, seq, D] in a GPU buffer: the text encoder's GPU output copied into a buffer we own. */
  private async embed(text: string): Promise<{ buf: GPUBuffer; ms: number; cached: boolean }> {
    const hit = this.embeddings.get(text);
    if (hit) return { buf: hit, ms: 0, cached: true };
    const te = this.m.textEncoder;
    const ids = this.m.tokenize(text);
    const idsSpec = te.findInput('input_ids') ?? [...te.inputs.values()][0];
    const feeds: Record<string, OrtTensor> = { [idsSpec.name]: cpuTensor(idsSpec.type, toTypedArray(ids, idsSpec.type, idsSpec.name), [1, ids.length]) };
    const mask = te.input('attention_mask');
    if (mask) feeds[mask.name] = cpuTensor(mask.type, toTypedArray(ids.map(() => 1), mask.type, mask.name), [1, ids.length]);
    const outName = te.outputs.has('last_hidden_state') ? 'last_hidden_state' : [...te.outputs.keys()][0];
    const t0 = now();
    const out = await te.runTensors(feeds);
    try {
      const t = out[outName];
      if (t.type !== 'float32') throw new EngineError('TENSOR_SHAPE_MISMATCH', `The text encoder returns ${t.type}; the GPU loop needs float32.`, te.file);
      const bytes = t.dims.reduce((a, b) => a * b, 1) * 4;
      const buf = this.device.createBuffer({ label: 'fewstep-embedding', size: bytes, usage: USAGE });
      const enc = this.device.createCommandEncoder();
      enc.copyBufferToBuffer(t.gpuBuffer as unknown as GPUBuffer, 0, buf, 0, bytes);
      this.device.queue.submit([enc.finish()]);
      this.embeddings.set(text, buf);
      return { buf, ms: now() - t0, cached: false };
    } finally {
      await ortQueue.run(async () => {
        for (const t of Object.values(out)) t.dispose();
      });
    }
  }

  /** [uncond | cond] in one buffer for the CFG batch (cached per prompt pair). */
  private pair(uncond: GPUBuffer, cond: GPUBuffer, key: string): GPUBuffer {
    const hit = this.pairs.get(key);
    if (hit) return hit;
    const buf = this.device.createBuffer({ label: 'fewstep-embedding-pair', size: uncond.size + cond.size, usage: USAGE });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(uncond, 0, buf, 0, uncond.size);
    enc.copyBufferToBuffer(cond, 0, buf, uncond.size, cond.size);
    this.device.queue.submit([enc.finish()]);
    this.pairs.set(key, buf);
    return buf;
  }

  async run(a: GpuRunArgs): Promise<GpuRunResult> {
    if (this.released) throw new EngineError('INTERNAL', 'The GPU loop was released.');
    const { unet, vae } = this.m;
    const n = this.n;
    const shape = this.m.latentShape;
    const cfg = a.cfgScale !== null;
    const batch = cfg ? 2 : 1;
    const b = this.ensureBuffers(batch);
    const res: GpuRunResult = { image: null as never, latents: null as never, textEncoderMs: 0, embeddingCached: true, unetMs: [], schedulerMs: [], vaeMs: 0, readbackMs: 0 };

    // 1. prompt embeddings on the GPU
    const cond = await this.embed(a.prompt);
    res.textEncoderMs += cond.ms;
    res.embeddingCached &&= cond.cached;
    let ehs = cond.buf;
    if (cfg) {
      const un = await this.embed(a.negativePrompt);
      res.textEncoderMs += un.ms;
      res.embeddingCached &&= un.cached;
      ehs = this.pair(un.buf, cond.buf, `${a.negativePrompt}\u0000${a.prompt}`);
    }
    const seqLen = cond.buf.size / 4 / this.m.textDim;

    // 3. initial latents and the first UNet input (uploads)
    const q = this.device.queue;
    q.writeBuffer(b.x, 0, a.latents);
    const first = new Float32Array(batch * n);
    const s0 = Math.fround(a.plan[0].inScale);
    for (let k = 0; k < batch; k++) for (let j = 0; j < n; j++) first[k * n + j] = Math.fround(a.latents[j] * s0);
    q.writeBuffer(b.modelIn, 0, first);

    const sampleSpec = unet.findInput('sample') ?? [...unet.inputs.values()][0];
    const tSpec = unet.findInput('timestep', 't', 'timesteps')!;
    const ehsSpec = unet.findInput('encoder_hidden_states')!;
    const condSpec = unet.findInput('timestep_cond', 'w_embedding');
    const outName = unet.outputs.has('out_sample') ? 'out_sample' : [...unet.outputs.keys()][0];
    const unetDims = [batch, ...shape.slice(1)];
    const feeds: Record<string, OrtTensor> = {
      [sampleSpec.name]: gpuTensor(b.modelIn, 'float32', unetDims),
      [ehsSpec.name]: gpuTensor(ehs, 'float32', [batch, seqLen, this.m.textDim]),
    };
    if (condSpec && a.wEmb) {
      const w = new Float32Array(batch * a.wEmb.length);
      for (let k = 0; k < batch; k++) w.set(a.wEmb, k * a.wEmb.length);
      feeds[condSpec.name] = cpuTensor(condSpec.type, toTypedArray(w, condSpec.type, condSpec.name), [batch, a.wEmb.length]);
    }
    const tDims = timestepDims(tSpec, batch);
    const tCount = tDims.reduce((x, y) => x * y, 1);
    const bindGroups = new Map<string, GPUBindGroup>();
    const bindGroup = (out: GPUBuffer, next: GPUBuffer): GPUBindGroup => {
      const key = `${out.label}|${next.label}`;
      let g = out === b.unetOut ? bindGroups.get(key) : undefined;
      if (!g) {
        g = this.device.createBindGroup({
          layout: this.pipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: this.params } },
            { binding: 1, resource: { buffer: out, size: batch * n * 4 } },
            { binding: 2, resource: { buffer: b.noise } },
            { binding: 3, resource: { buffer: b.x } },
            { binding: 4, resource: { buffer: next } },
          ],
        });
        if (out === b.unetOut) bindGroups.set(key, g);
      }
      return g;
    };

    // 4. denoise: one UNet run and one kernel dispatch per step, nothing read back
    const last = a.plan.length - 1;
    for (let i = 0; i <= last; i++) {
      a.token.throwIfCancelled();
      const k = a.plan[i];
      feeds[tSpec.name] = cpuTensor(tSpec.type, toTypedArray(new Array(tCount).fill(k.timestep), tSpec.type, tSpec.name), tDims);
      const tu = now();
      let outs: Record<string, OrtTensor> | null = null;
      let outBuf = b.unetOut;
      if (this.preallocate) {
        try {
          outs = await unet.runTensors(feeds, { [outName]: gpuTensor(b.unetOut, 'float32', unetDims) });
        } catch {
          this.preallocate = false; // this ORT build does not take pre-allocated GPU outputs: let it allocate
        }
      }
      if (!this.preallocate) {
        outs = await unet.runTensors(feeds);
        outBuf = outs[outName].gpuBuffer as unknown as GPUBuffer;
      }
      const unetMs = now() - tu;
      const ts = now();
      const noise = k.noise ? a.noiseFor(i) : null;
      if (noise) q.writeBuffer(b.noise, 0, noise);
      const isLast = i === last;
      q.writeBuffer(
        this.params,
        0,
        packParams(k, {
          n,
          guidance: cfg ? a.cfgScale : null,
          useNoise: noise !== null,
          nextScale: isLast ? 1 / this.m.scalingFactor : a.plan[i + 1].inScale,
          nextBatch: isLast ? 1 : batch,
        }),
      );
      const enc = this.device.createCommandEncoder({ label: `fewstep-step-${i}` });
      const pass = enc.beginComputePass();
      pass.setPipeline(this.pipeline);
      pass.setBindGroup(0, bindGroup(outBuf, isLast ? b.vaeIn : b.modelIn));
      pass.dispatchWorkgroups(Math.ceil(n / 64));
      pass.end();
      q.submit([enc.finish()]);
      if (outs) {
        const toDispose = Object.values(outs);
        await ortQueue.run(async () => {
          for (const t of toDispose) t.dispose();
        });
      }
      const schedulerMs = now() - ts;
      res.unetMs.push(unetMs);
      res.schedulerMs.push(schedulerMs);
      a.onStep?.(i, unetMs, schedulerMs);
    }
    a.token.throwIfCancelled();

    // 5. decode on the GPU, then the one readback: pixels + final latents in one staging buffer
    const [w, h] = this.m.imageSize;
    const vSpec = vae.findInput('latent_sample', 'latents', 'z') ?? [...vae.inputs.values()][0];
    const vOut = vae.outputs.has('sample') ? 'sample' : [...vae.outputs.keys()][0];
    const tv = now();
    const vFeeds = { [vSpec.name]: gpuTensor(b.vaeIn, 'float32', shape) };
    let vOuts: Record<string, OrtTensor>;
    let pixBuf = b.vaeOut;
    let dims = [1, 3, h, w];
    // NOTE: the decoder's output is not pre-allocated: its size is only known for sure from the graph's result
    // (a pre-allocated output of the wrong size makes ORT fail the run), and it is one buffer per image.
    {
      vOuts = await vae.runTensors(vFeeds);
      pixBuf = vOuts[vOut].gpuBuffer as unknown as GPUBuffer;
      dims = [...vOuts[vOut].dims];
    }
    res.vaeMs = now() - tv;
    const tr = now();
    const pixCount = dims.slice(1).reduce((x, y) => x * y, 1);
    const pixBytes = pixCount * 4;
    if (b.staging.size < pixBytes + n * 4) {
      b.staging.destroy();
      b.staging = this.device.createBuffer({ label: 'fewstep-readback', size: pixBytes + n * 4, usage: 0x01 /* MAP_READ */ | 0x08 });
    }
    try {
      const enc = this.device.createCommandEncoder({ label: 'fewstep-readback' });
      enc.copyBufferToBuffer(pixBuf, 0, b.staging, 0, pixBytes);
      enc.copyBufferToBuffer(b.x, 0, b.staging, pixBytes, n * 4);
      q.submit([enc.finish()]);
    } finally {
      await ortQueue.run(async () => {
        for (const t of Object.values(vOuts)) t.dispose();
      });
    }
    await b.staging.mapAsync(0x01 /* GPUMapMode.READ */);
    const all = new Float32Array(b.staging.getMappedRange(0, pixBytes + n * 4).slice(0));
    b.staging.unmap();
    res.readbackMs = now() - tr;
    const pixels = all.subarray(0, pixCount);
    res.latents = all.slice(pixCount, pixCount + n);
    if (countNonFinite(res.latents) > 0) {
      throw new EngineError('NON_FINITE_OUTPUT', 'The GPU loop produced NaN/Inf latents.', unet.file);
    }
    res.image = chwToRgba(pixels, dims);
    return res;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.destroyBuffers();
    this.embeddings.clear();
    this.pairs.clear();
    this.params.destroy();
  }
}
