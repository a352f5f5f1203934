/**
 * The GPU-resident loop (WebGPU only): a LoopStrategy of pipeline/sampling.ts, which runs phases 0-3 for it (the
 * prompt embeddings come from the pipeline's one prompt cache, as GPU buffers). Prompt embeddings, latents, the UNet
 * input and output and the VAE input stay in GPU buffers for the whole generation: ORT's outputs are GPU buffers (preferredOutputLocation
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
import { gpuTensor, ortGpuDevice, ortQueue, type OrtTensor } from '../ort';
import { asTensors, type Feed, type ModelIo, type Sessions } from '../pipeline/bindings';
import { GPU_BUFFER_USAGE as USAGE, Lru, type PromptEncoder } from '../pipeline/prompts';
import type { LoopStrategy, Sampling } from '../pipeline/sampling';
import type { StageTimings } from '../pipeline/timings';
import { packParams, PARAMS_BYTES, STEP_WGSL } from './stepKernel';
import { stepPlan } from './stepPlan';

export interface GpuLoopModel {
  sessions: Sessions;
  io: ModelIo;
  prompts: PromptEncoder;
  /** [1, C, h, w] */
  latentShape: number[];
  /** [width, height] */
  imageSize: [number, number];
  textDim: number;
  scalingFactor: number;
}

const now = (): number => performance.now();

/** Why the GPU loop cannot run this model (null when it can). */
export function gpuLoopUnsupported(s: Sessions, io: ModelIo): string | null {
  if (s.unet.provider !== 'webgpu') return 'the model runs on WASM';
  if (!s.unet.gpuOutputs || !s.vae.gpuOutputs || !s.textEncoder.gpuOutputs) return 'sessions were created without GPU-buffer outputs';
  if (io.sample.type !== 'float32' || io.encoderHiddenStates.type !== 'float32' || io.vaeIn.type !== 'float32') {
    return 'the model has float16 inputs (the GPU loop handles float32 I/O)';
  }
  const b0 = io.sample.shape[0];
  if (typeof b0 === 'number' && b0 > 0 && b0 !== 1) return `the UNet has a fixed batch of ${b0}`;
  return null;
}

export class GpuLoop implements LoopStrategy<GPUBuffer, { image: RgbaImage; latents: Float32Array }> {
  private readonly pipeline: GPUComputePipeline;
  private readonly params: GPUBuffer;
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

  /** Phase 1: the prompt embedding [1, L, D] in a GPU buffer, from the pipeline's one prompt cache. */
  embed(text: string, timings: StageTimings): Promise<GPUBuffer> {
    if (this.released) throw new EngineError('INTERNAL', 'The GPU loop was released.');
    return this.m.prompts.gpu(text, this.device, timings);
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

  /** Phases 4-5: one UNet run and one kernel dispatch per step, then the VAE and the one readback. */
  async run(s: Sampling<GPUBuffer>): Promise<{ image: RgbaImage; latents: Float32Array }> {
    if (this.released) throw new EngineError('INTERNAL', 'The GPU loop was released.');
    const { unet, vae } = this.m.sessions;
    const io = this.m.io;
    const n = this.n;
    const shape = this.m.latentShape;
    const plan = stepPlan(s.scheduler, { eta: s.eta });
    const cfgScale = s.uncond ? s.params.guidanceScale : null;
    const batch = s.uncond ? 2 : 1;
    const b = this.ensureBuffers(batch);
    const ehs = s.uncond ? this.pair(s.uncond, s.cond, `${s.params.negativePrompt ?? ''}\u0000${s.params.prompt}`) : s.cond;
    const seqLen = s.cond.size / 4 / this.m.textDim;

    // 3. initial latents and the first UNet input (uploads)
    const q = this.device.queue;
    q.writeBuffer(b.x, 0, s.latents);
    const first = new Float32Array(batch * n);
    const s0 = Math.fround(plan[0].inScale);
    for (let k = 0; k < batch; k++) for (let j = 0; j < n; j++) first[k * n + j] = Math.fround(s.latents[j] * s0);
    q.writeBuffer(b.modelIn, 0, first);

    const outName = io.unetOut;
    const unetDims = [batch, ...shape.slice(1)];
    const feeds: Record<string, OrtTensor> = {
      [io.sample.name]: gpuTensor(b.modelIn, 'float32', unetDims),
      [io.encoderHiddenStates.name]: gpuTensor(ehs, 'float32', [batch, seqLen, this.m.textDim]),
    };
    Object.assign(feeds, asTensors(unet, io.conditioningFeeds(s.conditioning, batch)));
    const timestepFeed = (t: number): Record<string, Feed> => ({ [io.timestep.name]: io.timestepFeed(t, batch) });
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
    const last = plan.length - 1;
    for (let i = 0; i <= last; i++) {
      s.token.throwIfCancelled();
      const k = plan[i];
      Object.assign(feeds, asTensors(unet, timestepFeed(k.timestep)));
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
      const noise = k.noise ? s.stepNoise() : null;
      if (noise) q.writeBuffer(b.noise, 0, noise);
      const isLast = i === last;
      q.writeBuffer(
        this.params,
        0,
        packParams(k, {
          n,
          guidance: cfgScale,
          useNoise: noise !== null,
          nextScale: isLast ? 1 / this.m.scalingFactor : plan[i + 1].inScale,
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
      s.stepDone(i, unetMs, now() - ts);
    }
    s.token.throwIfCancelled();

    // 5. decode on the GPU, then the one readback: pixels + final latents in one staging buffer
    const [w, h] = this.m.imageSize;
    const vOut = io.vaeOut;
    const tv = now();
    const vFeeds = { [io.vaeIn.name]: gpuTensor(b.vaeIn, 'float32', shape) };
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
    s.timings.vaeMs = now() - tv;
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
    s.timings.readbackMs = now() - tr;
    const pixels = all.subarray(0, pixCount);
    const latents = all.slice(pixCount, pixCount + n);
    if (countNonFinite(latents) > 0) {
      throw new EngineError('NON_FINITE_OUTPUT', 'The GPU loop produced NaN/Inf latents.', unet.file);
    }
    return { image: chwToRgba(pixels, dims), latents };
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.destroyBuffers();
    this.pairs.clear();
    this.params.destroy();
  }
}
