/**
 * A loaded text-to-image pipeline: its sessions, its one prompt cache, its schedulers, and the entry points the
 * worker calls. How a generation runs is in sampling.ts (phases 0-5, once) with the loops as strategies:
 * cpuLoop.ts, ../gpu/gpuLoop.ts and bareLoop.ts; loading is load.ts; ONNX names are bindings.ts.
 */
import { samplerLabel, samplerRow, type Scheduler } from '../../schedulers';
import { EngineError } from '../errors';
import { gpuCounters } from '../gpu/counters';
import { GpuLoop, gpuLoopUnsupported } from '../gpu/gpuLoop';
import { hasGpuStep } from '../gpu/stepPlan';
import { LAYOUT_FILES, type ModelLayout, type PipelineDefaults } from '../layout';
import { CancelToken } from '../queue';
import type { SessionHandle } from '../ort';
import type { ModelSource } from '../source';
import { BareLoop } from './bareLoop';
import { ModelIo, type Sessions } from './bindings';
import { CpuLoop, type Decoded } from './cpuLoop';
import { describePipeline, loadPipeline, makeScheduler } from './load';
import { chooseLoop, type LoopChoice } from './loopChoice';
import { PromptEncoder } from './prompts';
import { runPhases, validate, type PipelineContext } from './sampling';
import type { GenerateParams, GenerateResult, LoadOptions, ModelInfo, StepEvent } from './types';

export type { GenerateParams, GenerateResult, LoadOptions, LoadProgress, LoopKind, ModelInfo, RngKind, StepEvent } from './types';
export type { StageTimings, StageTotals } from './timings';
export type { LoopChoice } from './loopChoice';

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export class Pipeline implements PipelineContext {
  readonly prompts: PromptEncoder;
  /** Schedulers by class override ('' = the model's own), built once: construction costs ~0.3 ms in Chromium. */
  private readonly schedulers = new Map<string, Scheduler>();
  private readonly cpuLoop: CpuLoop;
  private gpuLoop: Promise<GpuLoop> | null = null;
  private released = false;

  private constructor(
    readonly info: ModelInfo,
    readonly layout: ModelLayout,
    readonly io: ModelIo,
    private readonly sessions: Sessions,
    prompts: PromptEncoder,
    /** How many pipelines use the sessions other than the U-Net (text encoders, VAE) and the prompt cache: {@link withUnet}. */
    private readonly shared: { refs: number } = { refs: 1 },
  ) {
    this.prompts = prompts;
    this.cpuLoop = new CpuLoop(sessions, io, prompts, info.latentShape, layout.scalingFactor, () => this.textDim());
  }

  /**
   * A pipeline folder's defaults from its two small JSON files (model_index.json, scheduler config), no ONNX read.
   * Errors are the ones load() would raise for those files (missing file, bad JSON, unsupported scheduler).
   */
  static describe(source: ModelSource, signal?: AbortSignal): Promise<PipelineDefaults> {
    return describePipeline(source, signal);
  }

  static async load(source: ModelSource, opts: LoadOptions): Promise<Pipeline> {
    const p = await loadPipeline(source, opts);
    const second = p.sessions.textEncoder2 && p.tokenizer2 ? { te: p.sessions.textEncoder2, tokenizer: p.tokenizer2 } : null;
    return new Pipeline(p.info, p.layout, p.io, p.sessions, new PromptEncoder(p.sessions.textEncoder, p.io, p.tokenizer, second));
  }

  get scalingFactor(): number {
    return this.layout.scalingFactor;
  }

  /** Token ids the text encoder sees for `text` (padded/truncated to its length). */
  tokenIds(text: string): number[] {
    return this.prompts.tokenIds(text);
  }

  /**
   * A pipeline on the same text encoder(s), VAE decoder, tokenizers and prompt cache as this one, with `unet` as its
   * U-Net (the same model's U-Net with other weights: lora/unetSession.ts loadUnetSession). The shared sessions stay
   * until the last pipeline using them is released; each pipeline releases its own U-Net.
   * @throws EngineError (bindings.ts) when `unet`'s inputs and outputs do not bind as this model's U-Net
   */
  withUnet(unet: SessionHandle, info: ModelInfo): Pipeline {
    if (this.released) throw new EngineError('NO_MODEL_LOADED', `${this.info.name} was released: load it again.`);
    const sessions: Sessions = { ...this.sessions, unet };
    const io = new ModelIo(sessions, this.layout);
    this.shared.refs++;
    return new Pipeline(info, this.layout, io, sessions, this.prompts, this.shared);
  }

  /** Releases the U-Net session and, when no pipeline of {@link withUnet} still uses them, the other sessions. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const gpu = this.gpuLoop;
    this.gpuLoop = null;
    if (gpu) (await gpu.catch(() => null))?.release();
    const last = --this.shared.refs === 0;
    const own = last ? Object.values(this.sessions) : [this.sessions.unet];
    await Promise.all(own.map((s: Sessions[keyof Sessions]) => s?.release().catch(() => undefined)));
    if (last) this.prompts.clear();
  }

  /** One image: phases 0-5 (sampling.ts) through the GPU-resident loop when it can run, else the CPU loop. */
  async generate(params: GenerateParams, token: CancelToken, onStep?: (e: StepEvent) => void): Promise<GenerateResult> {
    const tStart = now();
    const readbacks0 = gpuCounters().installed ? gpuCounters().readbacks : null;
    const v = validate(this, params);
    const loop = this.chooseLoop(params, v.schedulerClass);
    const { sampling: s, out } =
      loop.kind === 'gpu' ? await runPhases(this, v, token, await this.getGpuLoop(), onStep) : await runPhases(this, v, token, this.cpuLoop, onStep);
    s.timings.totalMs = now() - tStart;
    return {
      image: out.image,
      latents: out.latents,
      timesteps: s.timesteps,
      schedulerClass: v.schedulerClass,
      guidanceMode: v.guidanceMode,
      timings: s.timings,
      loop: loop.kind,
      loopReason: loop.reason,
      loopFallback: loop.fallback,
      readbacks: readbacks0 === null ? null : gpuCounters().readbacks - readbacks0,
    };
  }

  /**
   * The benchmark's lower bound (bareLoop.ts): phases 0-3 of `generate(params)`, then only session.run calls.
   * Returns the wall time of each of `runs` loops in ms.
   */
  async bareLoop(params: GenerateParams, runs: number, token: CancelToken = new CancelToken()): Promise<number[]> {
    const bare = new BareLoop(this.sessions, this.io, this.prompts, this.info.latentShape, this.textDim(), runs);
    return (await runPhases(this, validate(this, params), token, bare)).out;
  }

  /**
   * Which loop runs `params` (see GenerateParams.loop and loopChoice.ts): the GPU-resident loop when the model and
   * the request allow it; otherwise the CPU loop, with the reason and whether that is a fallback on WebGPU (a sampler
   * without a GPU step kernel falls back even for loop 'gpu'). Throws BAD_REQUEST only for loop 'gpu' on a model the
   * GPU loop cannot run (WASM, float16 I/O).
   */
  chooseLoop(params: Pick<GenerateParams, 'loop' | 'preview' | 'scheduler'>, schedulerClass: string): LoopChoice {
    return chooseLoop({
      want: params.loop,
      modelBlocker: gpuLoopUnsupported(this.sessions, this.io),
      webgpu: this.sessions.unet.provider === 'webgpu',
      samplerLabel: samplerLabel(schedulerClass),
      gpuStep: samplerRow(schedulerClass)?.needs.gpuStep === true && hasGpuStep(this.scheduler(params.scheduler)),
      preview: params.preview === true,
    });
  }

  private getGpuLoop(): Promise<GpuLoop> {
    this.gpuLoop ??= GpuLoop.create({
      sessions: this.sessions,
      io: this.io,
      prompts: this.prompts,
      latentShape: this.info.latentShape,
      imageSize: this.info.imageSize,
      textDim: this.textDim(),
      scalingFactor: this.layout.scalingFactor,
    });
    this.gpuLoop.catch(() => {
      this.gpuLoop = null;
    });
    return this.gpuLoop;
  }

  /**
   * The scheduler for a generation: the model's own class, or `override`. Reused between generations; the caller's
   * setTimesteps resets its only state (the step index).
   */
  scheduler(override?: string): Scheduler {
    const key = override ?? '';
    let s = this.schedulers.get(key);
    if (!s) {
      s = makeScheduler(this.layout.schedulerConfig, override || this.layout.defaults.sampler || undefined);
      this.schedulers.set(key, s);
    }
    return s;
  }

  textDim(): number {
    // SDXL: the two encoders' widths concatenated (768 + 1280), not text_encoder/config.json's hidden_size
    const d = this.io.sdxl ? (this.io.textWidth ?? this.layout.unetConfig.cross_attention_dim) : (this.layout.textEncoderConfig.hidden_size ?? this.layout.unetConfig.cross_attention_dim);
    if (typeof d === 'number') return d;
    const last = this.io.encoderHiddenStates.shape[this.io.encoderHiddenStates.shape.length - 1];
    if (typeof last === 'number') return last;
    throw new EngineError('MODEL_LAYOUT_INVALID', 'Cannot tell the text embedding size: set hidden_size in text_encoder/config.json.', LAYOUT_FILES.textEncoderConfig);
  }

  /** latents -> VAE decoder -> RGBA. */
  decode(latents: Float32Array): Promise<Decoded> {
    return this.cpuLoop.decode(latents);
  }
}
