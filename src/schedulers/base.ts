/**
 * What every scheduler shares, so that an algorithm file holds only its own math: the schedule state (timesteps,
 * sigmas, number of steps, diffusers' step index), the read-only members of the `Scheduler` object built from it,
 * the alpha-space helpers of DDPM / DDIM / LCM (integer schedule, addNoise, x0/eps coefficients for the GPU step).
 */
import { checkIntegerTimestep, checkSameLength, checkScheduleLength, checkSteps, rejectUnsupported, resolveConfig, type ClipConfig, type ConfigSpec } from './config';
import { SchedulerError } from './errors';
import { makeAlphasCumprod, spacedTimesteps, type PredictionType, type TimestepSpacing } from './schedule';
import { StepCursor } from './state';
import type { CommonConfig, Scheduler, StepCoefficients } from './types';

/** The mutable part of a scheduler: replaced as a whole by setTimesteps. */
export class ScheduleState {
  timesteps: readonly number[] = Object.freeze([]);
  numInferenceSteps: number | null = null;
  /** diffusers' step index (Euler, EulerAncestral, LCM); null for schedulers that keep none. */
  readonly cursor: StepCursor | null;

  constructor(
    private readonly cls: string,
    keepsStepIndex: boolean,
    /** Euler-family: sigma per timestep plus the final one (before setTimesteps: the training table). */
    public sigmas?: readonly number[],
  ) {
    this.cursor = keepsStepIndex ? new StepCursor(cls) : null;
  }

  /** Install a new schedule; resets the step index. */
  set(timesteps: readonly number[], n: number, sigmas?: readonly number[]): void {
    this.cursor?.reset();
    this.timesteps = Object.freeze([...timesteps]);
    if (sigmas) this.sigmas = Object.freeze([...sigmas]);
    this.numInferenceSteps = n;
  }

  /** SCHEDULER_NOT_READY before setTimesteps. Returns the number of steps. */
  ready(where: string): number {
    if (this.numInferenceSteps === null) {
      throw new SchedulerError('SCHEDULER_NOT_READY', `${this.cls}.${where}: call setTimesteps before ${where}.`);
    }
    return this.numInferenceSteps;
  }

  /** The step index for a call at timestep t (diffusers' _init_step_index on first use). */
  index(where: string, t: number): number {
    return this.cursor!.resolve(where, this.timesteps, t);
  }
}

/** The algorithm-specific members; `defineScheduler` adds the shared read-only ones. */
export type SchedulerParts<C extends CommonConfig> = Pick<Scheduler<C>, 'config' | 'alphasCumprod' | 'setTimesteps' | 'step' | 'needsNoise' | 'isStochastic'> &
  Partial<Pick<Scheduler<C>, 'scaleModelInput' | 'addNoise' | 'stepCoefficients'>> & {
    state: ScheduleState;
    /** Default 1 (alpha-space schedulers). */
    initNoiseSigma?: () => number;
  };

/**
 * A `Scheduler` from its parts. Defaults: scaleModelInput copies the sample, addNoise is alpha-space
 * (sqrt(a_t) x0 + sqrt(1 - a_t) noise), initNoiseSigma is 1.
 */
export function defineScheduler<C extends CommonConfig>(p: SchedulerParts<C>): Scheduler<C> {
  const s = p.state;
  const cls = p.config._class_name;
  const T = p.config.num_train_timesteps;
  const scheduler: Scheduler<C> = {
    className: cls,
    config: p.config,
    alphasCumprod: p.alphasCumprod,
    get timesteps() {
      return s.timesteps;
    },
    get initNoiseSigma() {
      return p.initNoiseSigma ? p.initNoiseSigma() : 1;
    },
    get numInferenceSteps() {
      return s.numInferenceSteps;
    },
    get stepIndex() {
      return s.cursor?.index ?? null;
    },
    resetStepIndex() {
      s.cursor?.reset();
    },
    setTimesteps: p.setTimesteps,
    scaleModelInput: p.scaleModelInput ?? ((sample: Float32Array) => sample.slice()),
    step: p.step,
    addNoise: p.addNoise ?? ((original, noise, t) => alphaSpaceAddNoise(cls, p.alphasCumprod, T, original, noise, t)),
    needsNoise: p.needsNoise,
    isStochastic: p.isStochastic,
  };
  if (p.stepCoefficients) scheduler.stepCoefficients = p.stepCoefficients;
  if (s.sigmas !== undefined) Object.defineProperty(scheduler, 'sigmas', { get: () => s.sigmas, enumerable: true });
  return scheduler;
}

/** sqrt(a_t) x0 + sqrt(1 - a_t) noise, with float32 coefficients as diffusers' add_noise. */
function alphaSpaceAddNoise(cls: string, ac: Float64Array, T: number, original: Float32Array, noise: Float32Array, t: number): Float32Array {
  checkSameLength(`${cls}.addNoise`, original, noise, 'noise');
  checkIntegerTimestep(cls, 'addNoise', t, T);
  const sa = Math.fround(Math.sqrt(ac[t]));
  const sb = Math.fround(Math.sqrt(Math.fround(1 - ac[t])));
  return original.map((x, i) => sa * x + sb * noise[i]);
}

/** The resolved config of an alpha-space scheduler (DDPM / DDIM / LCM), with its alphas_cumprod; thresholding is rejected. */
export function resolveAlphaSpace<C extends CommonConfig & ClipConfig>(
  cls: string,
  raw: Record<string, unknown>,
  defaults: Omit<C, '_class_name'>,
  spec: ConfigSpec<C>,
): { config: Readonly<C>; T: number; alphasCumprod: Float64Array } {
  const config = resolveConfig<C>(cls, raw, defaults, spec);
  rejectUnsupported(cls, 'thresholding', config.thresholding, [false]);
  return { config, T: config.num_train_timesteps, alphasCumprod: makeAlphasCumprod(config) };
}

/**
 * The output arrays of a step over `sample`: x_prev and x0, float32 as diffusers stores latents. (Each scheduler
 * keeps its own element loop: a shared loop calling a per-scheduler callback measured 2x slower, the call site
 * being polymorphic across five schedulers.)
 */
export function stepOutputs(sample: Float32Array): { n: number; prev: Float32Array; x0: Float32Array } {
  const n = sample.length;
  return { n, prev: new Float32Array(n), x0: new Float32Array(n) };
}

/** DDPM / DDIM: config and table, schedule state without a step index, setTimesteps through `integerSchedule`. */
export function integerScheduleParts<C extends CommonConfig>(
  cls: string,
  config: Readonly<C>,
  alphasCumprod: Float64Array,
): Pick<SchedulerParts<C>, 'config' | 'alphasCumprod' | 'state' | 'setTimesteps'> {
  const state = new ScheduleState(cls, false);
  return {
    config,
    alphasCumprod,
    state,
    setTimesteps(n, opts) {
      state.set(integerSchedule(cls, config, n, opts?.timesteps), n);
    },
  };
}

/** The checks an alpha-space step starts with: schedule set, equal lengths, t an integer index into alphas_cumprod. */
export function checkAlphaStep(state: ScheduleState, cls: string, T: number, sample: Float32Array, modelOutput: Float32Array, t: number): void {
  state.ready('step');
  checkSameLength(`${cls}.step`, sample, modelOutput, 'modelOutput');
  checkIntegerTimestep(cls, 'step', t, T);
}

/** DDPM / DDIM schedule: custom or spaced integer timesteps, each a valid index into alphas_cumprod. */
export function integerSchedule(
  cls: string,
  config: Pick<CommonConfig, 'num_train_timesteps' | 'timestep_spacing' | 'steps_offset'>,
  n: number,
  customTimesteps: number[] | undefined,
): number[] {
  const T = config.num_train_timesteps;
  const custom = checkSteps(cls, n, T, 'num_train_timesteps', customTimesteps, T, true);
  const ts = custom ?? spacedTimesteps(config.timestep_spacing as TimestepSpacing, T, n, config.steps_offset);
  if (!custom) checkScheduleLength(cls, ts, n, config.timestep_spacing);
  for (const t of ts) checkIntegerTimestep(cls, 'setTimesteps', t, T); // leading + steps_offset can reach T
  return ts;
}

/** x0 and eps as affine maps of (x, m) in alpha space (DDPM / DDIM / LCM), for `stepCoefficients`. */
export function alphaSpaceCoefficients(pred: PredictionType, aT: number): Pick<StepCoefficients, 'ax' | 'am' | 'ex' | 'em'> {
  const sqA = Math.sqrt(aT);
  const sqB = Math.sqrt(1 - aT);
  if (pred === 'epsilon') return { ax: 1 / sqA, am: -sqB / sqA, ex: 0, em: 1 };
  if (pred === 'sample') return { ax: 0, am: 1, ex: 1 / sqB, em: -sqA / sqB };
  return { ax: sqA, am: -sqB, ex: sqB, em: sqA };
}

/**
 * x0 from the prediction type in alpha space, clamped to [-clip, clip], kept in float64 for the update that follows
 * (DDPM and LCM; DDIM computes eps alongside and keeps its own loop). Symbols: sqA = sqrt(a_t), sqB = sqrt(1 - a_t).
 */
export function alphaSpaceX0(pred: PredictionType, sample: Float32Array, modelOutput: Float32Array, sqA: number, sqB: number, clip: number): Float64Array {
  const out = new Float64Array(sample.length);
  for (let i = 0; i < sample.length; i++) {
    const x = sample[i];
    const m = modelOutput[i];
    let x0 = pred === 'epsilon' ? (x - sqB * m) / sqA : pred === 'sample' ? m : sqA * x - sqB * m;
    if (x0 > clip) x0 = clip;
    else if (x0 < -clip) x0 = -clip;
    out[i] = x0;
  }
  return out;
}

/** The x0 clamp bound of a config with clip_sample / clip_sample_range (Infinity: no clamp). */
export function clipBound(config: Pick<ClipConfig, 'clip_sample' | 'clip_sample_range'>): number {
  return config.clip_sample ? config.clip_sample_range : Infinity;
}
