/**
 * The one interface every scheduler satisfies (mirrors diffusers' SchedulerMixin / SchedulerOutput).
 *
 * Conventions:
 * - Latents are flat `Float32Array`s (any shape, row-major); model output, noise and sample of one call have the
 *   same length. Inputs are never modified; every call returns new arrays.
 * - Timesteps are plain numbers: integers for DDPM / DDIM / LCM, float32 values for Euler-family schedulers
 *   (e.g. 499.5 with `linspace` spacing). Always pass a value taken from `scheduler.timesteps`.
 * - Schedule tables are computed in float64 and rounded to float32 where diffusers stores float32 tensors.
 */
import type { BetaSchedule, PredictionType, TimestepSpacing } from './schedule';

/** The built-in classes (src/schedulers/registry.ts has one row each; more can be registered at run time). */
export type SchedulerClassName =
  | 'DDPMScheduler'
  | 'DDIMScheduler'
  | 'LCMScheduler'
  | 'EulerDiscreteScheduler'
  | 'EulerAncestralDiscreteScheduler'
  | 'DPMSolverMultistepScheduler'
  | 'TCDScheduler'
  | 'CMStochasticIterativeScheduler';

/** Anything that yields standard normal samples: `createGaussianRng`, `createTorchGenerator`. */
export interface NoiseSource {
  randn(n: number): Float32Array;
}

export interface SetTimestepsOptions {
  /**
   * A custom, strictly descending schedule (training timesteps). When given, `numInferenceSteps` must equal its
   * length. Not allowed with Euler's Karras / exponential sigmas.
   */
  timesteps?: number[];
  /** LCM only: overrides `config.original_inference_steps` for this schedule (diffusers' `original_inference_steps`). */
  originalInferenceSteps?: number;
}

export interface StepOptions {
  /** Noise for a stochastic step, same length as the sample. Takes the place of diffusers' generator draw. */
  noise?: Float32Array;
  /** Or a source to draw it from (`randn(sample.length)` is called once per stochastic step). Not both. */
  rng?: NoiseSource;
  /**
   * DDIM: eta of DDIM eq. 16 (0 = deterministic DDIM, 1 = DDPM-like), default 0. TCD: gamma, its "stochasticity"
   * (0 = deterministic, 1 = LCM-like), default 0.3 as diffusers. Ignored by the others.
   */
  eta?: number;
}

export interface StepResult {
  /** x_{t-1}: the sample to feed the next step (the final latents after the last step). */
  prevSample: Float32Array;
  /** The model's estimate of x0 at this step (LCM: its `denoised`, which is what the pipeline decodes). */
  predOriginalSample: Float32Array;
}

/**
 * One step as an element-wise affine map, for the GPU-resident loop's WGSL kernel (engine/gpu/stepKernel.ts). With
 * x = the sample, m = the model output (after CFG), z = this step's noise:
 *
 *   modelIn = inScale * x                           (scaleModelInput)
 *   x0u     = ax * x + am * m                       (x0 from the prediction type)
 *   eps     = ex * x + em * m                       (epsilon from the prediction type, from the unclipped x0)
 *   x0      = clamp(x0u, -clip, clip)
 *   prev    = c0 * x0 + cx * x + ce * eps + cz * z  (the update)
 */
export interface StepCoefficients {
  timestep: number;
  inScale: number;
  ax: number;
  am: number;
  ex: number;
  em: number;
  /** Clamp bound for x0 (Infinity: none). */
  clip: number;
  c0: number;
  cx: number;
  ce: number;
  cz: number;
  /** Whether this step consumes noise (same answer as `needsNoise`, so noise is drawn in the same order). */
  noise: boolean;
}

/** Keys shared by every resolved config (diffusers' names and meanings). */
export interface CommonConfig {
  /** A built-in SchedulerClassName, or the class name of a registered sampler. */
  _class_name: string;
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: BetaSchedule;
  trained_betas: number[] | null;
  prediction_type: PredictionType;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
  rescale_betas_zero_snr: boolean;
}

export interface Scheduler<C extends CommonConfig = CommonConfig> {
  readonly className: string;
  /** The resolved config: every key of this class, defaults filled in, unknown keys dropped. Frozen. */
  readonly config: Readonly<C>;
  /** alphas_cumprod[t] for t = 0..T-1 (float32 values). Do not modify. */
  readonly alphasCumprod: Float64Array;
  /** The current schedule, descending (empty until `setTimesteps`). */
  readonly timesteps: readonly number[];
  /** Sigma-space schedulers (Euler, Euler a, DPM-Solver++, CM): sigma for each timestep plus the final sigma. */
  readonly sigmas?: readonly number[];
  /** Std of the initial noise: latents = randn * initNoiseSigma (1 for DDPM/DDIM/LCM). */
  readonly initNoiseSigma: number;
  /** Number of inference steps of the current schedule, or null before `setTimesteps`. */
  readonly numInferenceSteps: number | null;
  /**
   * Index of the next step for schedulers that keep one (Euler, EulerAncestral, LCM; diffusers' `step_index`),
   * null before the first `scaleModelInput`/`step` after `setTimesteps`. Always null for DDPM and DDIM.
   */
  readonly stepIndex: number | null;
  /** Forget the step index (start the same schedule over). `setTimesteps` does this too. */
  resetStepIndex(): void;

  setTimesteps(numInferenceSteps: number, opts?: SetTimestepsOptions): void;
  /** What to feed the model at `timestep` (Euler-family: x / sqrt(sigma^2 + 1); others: a copy of x). */
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array;
  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, opts?: StepOptions): StepResult;
  /** Forward diffusion to `timestep` (img2img / tests): alpha-space or sigma-space as the scheduler uses. */
  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array;

  /**
   * Whether `step(..., timestep, ...)` consumes noise (then pass `noise` of the sample's length, or `rng`):
   * DDPM when t > 0; DDIM when eta > 0; LCM on every step but the last; EulerAncestral on every step (the last
   * one too, as diffusers draws it, so a shared generator stays in step); TCD on every step but the last when
   * gamma (eta) > 0; CM on every step of a schedule longer than one; Euler and DPM-Solver++ never.
   */
  needsNoise(timestep: number, opts?: { eta?: number }): boolean;
  /** Whether any step of the current schedule consumes noise (see `needsNoise`). */
  isStochastic(opts?: { eta?: number }): boolean;
  /**
   * Step `stepIndex` of the current schedule as affine coefficients (see StepCoefficients), computed from the same
   * per-step scalars as `step`; the GPU-resident loop runs them as a kernel. Leaves the step index alone. Present
   * exactly when the sampler's registry row says `gpuStep: true` (DDPM, DDIM, LCM, Euler, TCD, CM multistep).
   */
  stepCoefficients?(stepIndex: number, opts?: { eta?: number }): StepCoefficients;
}
