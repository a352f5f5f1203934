/**
 * Config resolution: diffusers' ConfigMixin.extract_init_dict, reduced to what we need. Keys this class knows
 * take the given value (after a type check), missing keys (and JSON nulls) take the class default, unknown keys
 * (`_diffusers_version`, PNDM's `skip_prk_steps`, ...) are ignored.
 */
import { SchedulerError } from './errors';
import { BETA_SCHEDULES, PREDICTION_TYPES, TIMESTEP_SPACINGS } from './schedule';
import type { CommonConfig, NoiseSource, StepOptions } from './types';

type Kind =
  | { type: 'number'; integer?: boolean; min?: number; exclusiveMin?: boolean; max?: number }
  | { type: 'boolean' }
  | { type: 'enum'; values: readonly string[]; supported?: readonly string[] }
  | { type: 'numberArray' }
  | { type: 'nullableNumber'; min?: number };

export type ConfigSpec<C> = { [K in keyof C]?: Kind };

export const COMMON_SPEC: ConfigSpec<CommonConfig> = {
  num_train_timesteps: { type: 'number', integer: true, min: 2 },
  beta_start: { type: 'number', min: 0 },
  beta_end: { type: 'number', min: 0, max: 1 },
  beta_schedule: { type: 'enum', values: BETA_SCHEDULES },
  trained_betas: { type: 'numberArray' },
  prediction_type: { type: 'enum', values: PREDICTION_TYPES },
  timestep_spacing: { type: 'enum', values: TIMESTEP_SPACINGS },
  steps_offset: { type: 'number', integer: true, min: 0 },
  rescale_betas_zero_snr: { type: 'boolean' },
};

/** x0 clipping and dynamic thresholding, the keys DDPM, DDIM and LCM share (defaults differ per class). */
export interface ClipConfig {
  /** Clamp x0 to [-clip_sample_range, clip_sample_range] (default true for DDPM / DDIM, false for LCM). */
  clip_sample: boolean;
  /** Default 1.0. */
  clip_sample_range: number;
  /** Default false. Dynamic thresholding (Imagen); not implemented here: true is rejected. */
  thresholding: boolean;
  /** Default 0.995. Only used with thresholding. */
  dynamic_thresholding_ratio: number;
  /** Default 1.0. Only used with thresholding. */
  sample_max_value: number;
}

/** diffusers' defaults of the shared keys (DDPM, DDIM, Euler, EulerAncestral; LCM overrides the betas). */
export const COMMON_DEFAULTS: Omit<CommonConfig, '_class_name'> = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null,
  prediction_type: 'epsilon',
  timestep_spacing: 'leading',
  steps_offset: 0,
  rescale_betas_zero_snr: false,
};

/** diffusers' defaults shared by DDPM and DDIM (LCM overrides clip_sample). */
export const ALPHA_SPACE_DEFAULTS: Omit<CommonConfig & ClipConfig, '_class_name'> = {
  ...COMMON_DEFAULTS,
  clip_sample: true,
  clip_sample_range: 1.0,
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
};

export const CLIP_SPEC: ConfigSpec<ClipConfig> = {
  clip_sample: { type: 'boolean' },
  clip_sample_range: { type: 'number', min: 0, exclusiveMin: true },
  thresholding: { type: 'boolean' },
  dynamic_thresholding_ratio: { type: 'number', min: 0, max: 1 },
  sample_max_value: { type: 'number', min: 0 },
};

function describe(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : JSON.stringify(v) ?? String(v);
}

function invalid(cls: string, key: string, v: unknown, expected: string): SchedulerError {
  return new SchedulerError('SCHEDULER_INVALID_CONFIG', `${cls}: config key "${key}" must be ${expected}, got ${describe(v)}.`);
}

function checkValue(cls: string, key: string, v: unknown, kind: Kind): unknown {
  switch (kind.type) {
    case 'boolean':
      if (typeof v !== 'boolean') throw invalid(cls, key, v, 'true or false');
      return v;
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(cls, key, v, 'a finite number');
      if (kind.integer && !Number.isInteger(v)) throw invalid(cls, key, v, 'an integer');
      if (kind.min !== undefined && (kind.exclusiveMin ? v <= kind.min : v < kind.min)) {
        throw invalid(cls, key, v, `${kind.exclusiveMin ? '>' : '>='} ${kind.min}`);
      }
      if (kind.max !== undefined && v > kind.max) throw invalid(cls, key, v, `<= ${kind.max}`);
      return v;
    }
    case 'nullableNumber':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(cls, key, v, 'a finite number or null');
      if (kind.min !== undefined && v < kind.min) throw invalid(cls, key, v, `>= ${kind.min}`);
      return v;
    case 'enum': {
      const supported = kind.supported ?? kind.values;
      if (typeof v !== 'string' || !supported.includes(v)) {
        throw new SchedulerError(
          'SCHEDULER_UNSUPPORTED',
          `${cls}: unsupported ${key} ${describe(v)}; supported: ${supported.map((s) => `"${s}"`).join(', ')}.`,
        );
      }
      return v;
    }
    case 'numberArray':
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw invalid(cls, key, v, 'a non-empty array of finite numbers or null');
      }
      if (!v.every((x: number) => x >= 0 && x < 1)) throw invalid(cls, key, v, 'betas in [0, 1)');
      return v.slice();
  }
}

/**
 * Resolve a raw scheduler_config.json object against this class's defaults and spec. Returns a frozen object
 * with exactly the keys of `defaults` plus `_class_name`.
 */
export function resolveConfig<C extends CommonConfig>(
  cls: string,
  raw: Record<string, unknown>,
  defaults: Omit<C, '_class_name'>,
  spec: ConfigSpec<C>,
): Readonly<C> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `${cls}: config must be an object (a parsed scheduler_config.json).`);
  }
  const out: Record<string, unknown> = { _class_name: cls };
  for (const [key, def] of Object.entries(defaults)) {
    const v = raw[key];
    const kind = (spec as Record<string, Kind | undefined>)[key];
    out[key] = v === undefined || v === null || kind === undefined ? def : checkValue(cls, key, v, kind);
  }
  const c = out as unknown as C;
  if (c.trained_betas && c.trained_betas.length !== c.num_train_timesteps) {
    throw new SchedulerError(
      'SCHEDULER_SHAPE_MISMATCH',
      `${cls}: trained_betas has ${c.trained_betas.length} entries but num_train_timesteps is ${c.num_train_timesteps}; they must match.`,
    );
  }
  if (!c.trained_betas && c.beta_schedule !== 'squaredcos_cap_v2' && c.beta_end < c.beta_start) {
    throw invalid(cls, 'beta_end', c.beta_end, `>= beta_start (${c.beta_start})`);
  }
  return Object.freeze(out) as unknown as Readonly<C>;
}

/** Reject a value that diffusers accepts but this module does not implement. */
export function rejectUnsupported(cls: string, key: string, value: unknown, supported: readonly unknown[]): void {
  if (!supported.includes(value)) {
    throw new SchedulerError(
      'SCHEDULER_UNSUPPORTED',
      `${cls}: ${key} = ${describe(value)} is not supported by this module; supported: ${supported.map(describe).join(', ')}.`,
    );
  }
}

/** Validate numInferenceSteps and an optional custom schedule; returns the custom schedule (copied) or null. */
export function checkSteps(
  cls: string,
  numInferenceSteps: number,
  maxSteps: number,
  maxWhy: string,
  custom: number[] | undefined,
  T: number,
  integerTimesteps: boolean,
): number[] | null {
  if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1) {
    throw new SchedulerError('SCHEDULER_INVALID_STEPS', `${cls}: numInferenceSteps must be an integer >= 1, got ${describe(numInferenceSteps)}.`);
  }
  if (custom === undefined) {
    if (numInferenceSteps > maxSteps) {
      throw new SchedulerError(
        'SCHEDULER_INVALID_STEPS',
        `${cls}: numInferenceSteps = ${numInferenceSteps} is above the maximum of ${maxSteps} (${maxWhy}).`,
      );
    }
    return null;
  }
  if (!Array.isArray(custom) || custom.length === 0) {
    throw new SchedulerError('SCHEDULER_INVALID_TIMESTEPS', `${cls}: custom timesteps must be a non-empty array.`);
  }
  if (custom.length !== numInferenceSteps) {
    throw new SchedulerError(
      'SCHEDULER_SHAPE_MISMATCH',
      `${cls}: numInferenceSteps = ${numInferenceSteps} but ${custom.length} custom timesteps were given; they must match.`,
    );
  }
  for (let i = 0; i < custom.length; i++) {
    const t = custom[i];
    if (typeof t !== 'number' || !Number.isFinite(t) || (integerTimesteps && !Number.isInteger(t))) {
      throw new SchedulerError(
        'SCHEDULER_INVALID_TIMESTEPS',
        `${cls}: custom timesteps must be ${integerTimesteps ? 'integers' : 'finite numbers'}; entry ${i} is ${describe(t)}.`,
      );
    }
    if (t < 0 || t > T - 1) {
      throw new SchedulerError('SCHEDULER_INVALID_TIMESTEPS', `${cls}: custom timestep ${t} (entry ${i}) is outside [0, ${T - 1}].`);
    }
    if (i > 0 && t >= custom[i - 1]) {
      throw new SchedulerError(
        'SCHEDULER_INVALID_TIMESTEPS',
        `${cls}: custom timesteps must be strictly descending; entry ${i} (${t}) follows ${custom[i - 1]}.`,
      );
    }
  }
  return custom.slice();
}

/** The noise for a stochastic step: explicit `noise`, else `rng.randn(n)`; a clear error when neither is given. */
export function takeNoise(cls: string, n: number, opts: StepOptions | undefined): Float32Array {
  const noise = opts?.noise;
  const rng: NoiseSource | undefined = opts?.rng;
  if (noise && rng) {
    throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `${cls}.step: pass either noise or rng, not both.`);
  }
  if (noise) {
    if (noise.length !== n) {
      throw new SchedulerError('SCHEDULER_SHAPE_MISMATCH', `${cls}.step: noise has ${noise.length} elements but sample has ${n}; they must match.`);
    }
    return noise;
  }
  if (rng) {
    const drawn = rng.randn(n);
    if (drawn.length !== n) {
      throw new SchedulerError('SCHEDULER_SHAPE_MISMATCH', `${cls}.step: rng.randn(${n}) returned ${drawn.length} values.`);
    }
    return drawn;
  }
  throw new SchedulerError(
    'SCHEDULER_NOISE_REQUIRED',
    `${cls}.step: this step is stochastic; pass opts.noise (Float32Array of length ${n}) or opts.rng.`,
  );
}

/** Same-length check for step/addNoise inputs. */
export function checkSameLength(where: string, sample: Float32Array, other: Float32Array, otherName: string): void {
  if (!(sample instanceof Float32Array) || !(other instanceof Float32Array)) {
    throw new SchedulerError('SCHEDULER_SHAPE_MISMATCH', `${where}: ${otherName} and sample must be Float32Arrays.`);
  }
  if (other.length !== sample.length) {
    throw new SchedulerError(
      'SCHEDULER_SHAPE_MISMATCH',
      `${where}: ${otherName} has ${other.length} elements but sample has ${sample.length}; they must match.`,
    );
  }
}

export function describeValue(v: unknown): string {
  return describe(v);
}

/**
 * numpy's arange(T, 0, -T/N) has N + 1 entries for a few N (61, 103, 121, ...) by float rounding, which makes
 * diffusers' trailing schedule end at timestep -1. We refuse those step counts instead of sampling at t = -1.
 */
export function checkScheduleLength(cls: string, timesteps: readonly number[], n: number, spacing: string, allowNegative = false): void {
  if (timesteps.length !== n || (!allowNegative && timesteps.some((t) => t < 0))) {
    throw new SchedulerError(
      'SCHEDULER_INVALID_STEPS',
      `${cls}: ${spacing} spacing with ${n} steps gives an invalid schedule upstream ([${timesteps.join(', ')}]); choose another step count.`,
    );
  }
}

/** Discrete-time schedulers (DDPM, DDIM, LCM) index alphas_cumprod by timestep: it must be an integer in [0, T). */
export function checkIntegerTimestep(cls: string, where: string, t: number, T: number): void {
  if (!Number.isInteger(t) || t < 0 || t >= T) {
    throw new SchedulerError('SCHEDULER_INVALID_TIMESTEPS', `${cls}.${where}: timestep must be an integer in [0, ${T - 1}], got ${t}.`);
  }
}
