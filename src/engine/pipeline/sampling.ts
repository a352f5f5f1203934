/**
 * The sampling run, written once in diffusers' order (StableDiffusionPipeline.__call__):
 *   0 validate, 1 encode prompt (cached), 2 timesteps, 3 initial latents x initNoiseSigma, 4 denoise, 5 decode.
 * Phases 0-3 are the same for every loop; a LoopStrategy supplies the embedding representation it feeds the UNet
 * (phase 1 through the shared PromptEncoder) and phases 4-5: the CPU loop (cpuLoop.ts), the GPU-resident loop
 * (gpu/gpuLoop.ts) and the benchmark's bare loop (bareLoop.ts). A new pipeline kind changes a phase here or adds a
 * strategy, not a fourth loop: SDXL's second text encoder is phase 1's (PromptEncoder), its added conditioning
 * (text_embeds, time_ids) travels with LCM's guidance embedding in `Sampling.conditioning`.
 */
import { createGaussianRng, createTorchGenerator, guidanceScaleEmbedding, type NoiseSource, type Scheduler } from '../../schedulers';
import { EngineError } from '../errors';
import { LAYOUT_FILES, type ModelLayout } from '../layout';
import type { CancelToken } from '../queue';
import type { ModelIo, UnetConditioning } from './bindings';
import { ZERO_PROMPT, type PromptEncoder } from './prompts';
import { sdxlTimeIds } from './sdxl';
import { newTimings, type StageTimings } from './timings';
import type { GenerateParams, GenerateResult, ModelInfo, StepEvent } from './types';

export type GuidanceMode = GenerateResult['guidanceMode'];

/** What the phases need from a loaded pipeline. */
export interface PipelineContext {
  readonly info: ModelInfo;
  readonly io: ModelIo;
  readonly prompts: PromptEncoder;
  readonly scalingFactor: number;
  /** SDXL: an empty negative prompt under CFG is all zeros (model_index.json force_zeros_for_empty_prompt). */
  readonly layout: Pick<ModelLayout, 'forceZerosForEmptyPrompt'>;
  /** The scheduler for a class override ('' or undefined: the model's own), reused between generations. */
  scheduler(override?: string): Scheduler;
  /** Width D of the prompt embedding [1, L, D]. */
  textDim(): number;
}

/** Phase 0's result. */
export interface Validated {
  params: GenerateParams;
  scheduler: Scheduler;
  schedulerClass: string;
  /** 'embedding': LCM's guidance embedding (the UNet takes timestep_cond); 'cfg': an [uncond, cond] batch. */
  guidanceMode: GuidanceMode;
}

/** What phases 0-3 hand to a loop's phases 4-5. */
export interface Sampling<E> extends Validated {
  token: CancelToken;
  timings: StageTimings;
  cond: E;
  /** The negative prompt's embedding under CFG, else null. */
  uncond: E | null;
  /**
   * The UNet's conditioning besides the prompt embedding, the same on every step: LCM's guidance-scale embedding,
   * SDXL's text_embeds and time_ids. Loops hand it to ModelIo.conditioningFeeds as it is.
   */
  conditioning: UnetConditioning | null;
  timesteps: number[];
  /** Initial latents [1, C, h, w], already multiplied by initNoiseSigma. */
  latents: Float32Array;
  eta: number;
  /** Noise for the next stochastic step, in the order the CPU loop draws it (explicit stepNoises first). */
  stepNoise(): Float32Array;
  /** Record step i's timings and report it. */
  stepDone(i: number, unetMs: number, schedulerMs: number, preview?: StepEvent['preview']): void;
}

export interface LoopStrategy<E, R> {
  /** Phase 1 in this loop's representation, through the shared prompt cache. */
  embed(text: string, timings: StageTimings): Promise<E>;
  /** Phases 4 (denoise) and 5 (decode). */
  run(s: Sampling<E>): Promise<R>;
}

/**
 * 0. validate the request and pick its scheduler. Throws EngineError('BAD_REQUEST') naming the field for a bad
 * prompt, steps, guidance, seed or custom timestep list (whose scheduler-specific checks run in phase 2).
 */
export function validate(ctx: PipelineContext, params: GenerateParams): Validated {
  if (typeof params.prompt !== 'string') throw new EngineError('BAD_REQUEST', 'prompt must be a string.');
  if (!Number.isInteger(params.steps) || params.steps < 1) {
    throw new EngineError('BAD_REQUEST', `steps must be a whole number >= 1, got ${params.steps}.`);
  }
  if (!Number.isFinite(params.guidanceScale) || params.guidanceScale < 0) {
    throw new EngineError('BAD_REQUEST', `guidanceScale must be a finite number >= 0, got ${params.guidanceScale}.`);
  }
  if (!Number.isInteger(params.seed) || params.seed < 0 || params.seed > 2 ** 32 - 1) {
    throw new EngineError('BAD_REQUEST', `seed must be a whole number in 0..4294967295, got ${params.seed}.`);
  }
  if (params.timesteps !== undefined) {
    const ts = params.timesteps;
    if (!Array.isArray(ts) || ts.length === 0 || !ts.every((t) => typeof t === 'number' && Number.isFinite(t))) {
      throw new EngineError('BAD_REQUEST', 'timesteps must be a non-empty array of numbers, e.g. [999, 749, 499, 249].');
    }
    if (ts.length !== params.steps) {
      throw new EngineError('BAD_REQUEST', `steps (${params.steps}) must equal the number of custom timesteps (${ts.length}: ${ts.join(', ')}).`);
    }
  }
  const scheduler = ctx.scheduler(params.scheduler);
  const guidanceMode: GuidanceMode = ctx.info.timeCondProjDim !== null ? 'embedding' : params.guidanceScale > 1 ? 'cfg' : 'none';
  if (guidanceMode === 'cfg' && ctx.io.sdxl && ctx.io.fixedBatch !== null) {
    // The CPU loop runs CFG one row at a time on a fixed-batch UNet; SDXL's text_embeds differ between the rows.
    throw new EngineError('BAD_REQUEST', `guidanceScale ${params.guidanceScale} needs classifier-free guidance, which this SDXL UNet (fixed batch ${ctx.io.fixedBatch}) cannot run; use guidance <= 1.`);
  }
  return { params, scheduler, schedulerClass: scheduler.config._class_name, guidanceMode };
}

/** Phases 1-5 of a validated request through `loop`. */
export async function runPhases<E, R>(
  ctx: PipelineContext,
  v: Validated,
  token: CancelToken,
  loop: LoopStrategy<E, R>,
  onStep?: (e: StepEvent) => void,
): Promise<{ sampling: Sampling<E>; out: R }> {
  const { params, scheduler } = v;
  const timings = newTimings();

  // 1. encode prompt (+ the negative prompt for CFG), cached per text
  token.throwIfCancelled();
  // SDXL (diffusers encode_prompt): an empty negative prompt under force_zeros_for_empty_prompt is all zeros.
  const negative = params.negativePrompt ?? '';
  const uncondText = ctx.io.sdxl && negative === '' && ctx.layout.forceZerosForEmptyPrompt ? ZERO_PROMPT : negative;
  const cond = await loop.embed(params.prompt, timings);
  const uncond = v.guidanceMode === 'cfg' ? await loop.embed(uncondText, timings) : null;
  const tcDim = ctx.info.timeCondProjDim;
  const wEmb = ctx.io.timestepCond && tcDim !== null ? guidanceScaleEmbedding(params.guidanceScale, tcDim) : null;
  const [width, height] = ctx.info.imageSize;
  const conditioning: UnetConditioning | null =
    wEmb || ctx.io.sdxl
      ? {
          wEmb,
          textEmbeds: ctx.io.sdxl ? { cond: ctx.prompts.pooled(params.prompt), uncond: uncond ? ctx.prompts.pooled(uncondText) : null } : null,
          timeIds: ctx.io.sdxl ? sdxlTimeIds(height, width) : null,
        }
      : null;

  // 2. timesteps: the scheduler's spacing, or the custom list (diffusers' retrieve_timesteps(timesteps=...))
  try {
    if (params.timesteps) scheduler.setTimesteps(params.timesteps.length, { timesteps: [...params.timesteps] });
    else scheduler.setTimesteps(params.steps);
  } catch (e) {
    throw new EngineError('BAD_REQUEST', (e as Error).message, LAYOUT_FILES.schedulerConfig);
  }
  const timesteps = [...scheduler.timesteps];

  // 3. initial latents. One generator for the initial latents and every stochastic step, drawn in diffusers'
  // order, so 'torch' mode reproduces diffusers with a CPU torch.Generator seeded the same way.
  const shape = ctx.info.latentShape;
  const n = shape.reduce((a, b) => a * b, 1);
  const rng: NoiseSource = params.rng === 'torch' ? createTorchGenerator(params.seed) : createGaussianRng(params.seed);
  let latents: Float32Array;
  if (params.initialLatents) {
    if (params.initialLatents.length !== n) {
      throw new EngineError('TENSOR_SHAPE_MISMATCH', `initialLatents has ${params.initialLatents.length} values; the model needs ${n} ([${shape.join(', ')}]).`);
    }
    latents = Float32Array.from(params.initialLatents);
  } else {
    latents = rng.randn(n);
  }
  const sigma0 = scheduler.initNoiseSigma;
  if (sigma0 !== 1) for (let i = 0; i < n; i++) latents[i] *= sigma0;
  let noiseIndex = 0;

  // 4-5. denoise and decode: the loop's own
  const sampling: Sampling<E> = {
    ...v,
    token,
    timings,
    cond,
    uncond,
    conditioning,
    timesteps,
    latents,
    eta: params.eta ?? 0,
    stepNoise: () => params.stepNoises?.[noiseIndex++] ?? rng.randn(n),
    stepDone(i, unetMs, schedulerMs, preview) {
      timings.unetMs.push(unetMs);
      timings.schedulerMs.push(schedulerMs);
      onStep?.({ index: i, total: timesteps.length, timestep: timesteps[i], unetMs, schedulerMs, ...(preview ? { preview } : {}) });
    },
  };
  const out = await loop.run(sampling);
  return { sampling, out };
}
