/**
 * LCM: Luo et al. 2023, "Latent Consistency Models" (arXiv:2310.04378), multistep consistency sampling
 * (Algorithm 1). Matches diffusers' LCMScheduler (scheduling_lcm.py).
 */
import { checkIntegerTimestep, checkSameLength, checkSteps, COMMON_SPEC, rejectUnsupported, resolveConfig, takeNoise, type ConfigSpec } from './config';
import { SchedulerError } from './errors';
import { linspace, makeAlphasCumprod } from './schedule';
import { StepCursor } from './state';
import type { CommonConfig, Scheduler, SetTimestepsOptions, StepOptions, StepResult } from './types';

export interface LCMConfig extends CommonConfig {
  _class_name: 'LCMScheduler';
  /** Default 50. Length N' of the distillation schedule (k = T // N' apart); inference picks a subset of it. */
  original_inference_steps: number;
  /** Default 10. Timestep scale in the consistency boundary condition c_skip(t), c_out(t). */
  timestep_scaling: number;
  /** Default false. Clamp x0 to [-clip_sample_range, clip_sample_range]. */
  clip_sample: boolean;
  /** Default 1.0. */
  clip_sample_range: number;
  /** Default true. alpha_bar used when the next timestep is negative (never reached by LCM's own schedules). */
  set_alpha_to_one: boolean;
  /** Default false; true is rejected (dynamic thresholding not implemented). */
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
}

/** LCM ignores timestep_spacing and steps_offset (kept for config round-trips, as upstream does). */
export const LCM_DEFAULTS: Omit<LCMConfig, '_class_name'> = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  trained_betas: null,
  original_inference_steps: 50,
  clip_sample: false,
  clip_sample_range: 1.0,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: 'epsilon',
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  timestep_spacing: 'leading',
  timestep_scaling: 10.0,
  rescale_betas_zero_snr: false,
};

const SPEC: ConfigSpec<LCMConfig> = {
  ...COMMON_SPEC,
  original_inference_steps: { type: 'number', integer: true, min: 1 },
  timestep_scaling: { type: 'number', min: 0 },
  clip_sample: { type: 'boolean' },
  clip_sample_range: { type: 'number', min: 0, exclusiveMin: true },
  set_alpha_to_one: { type: 'boolean' },
  thresholding: { type: 'boolean' },
  dynamic_thresholding_ratio: { type: 'number', min: 0, max: 1 },
  sample_max_value: { type: 'number', min: 0 },
};

const CLS = 'LCMScheduler';
const SIGMA_DATA = 0.5;

/**
 * LCM timesteps: origin = [1..N'] * (T // N') - 1, reversed, indexed at floor(linspace(0, N', N, endpoint=false)).
 */
export function lcmTimesteps(T: number, originalSteps: number, n: number): number[] {
  const k = Math.floor(T / originalSteps);
  const origin: number[] = [];
  for (let i = originalSteps; i >= 1; i--) origin.push(i * k - 1);
  return linspace(0, originalSteps, n, false).map((v) => origin[Math.floor(v)]);
}

export function createLCMScheduler(rawConfig: Record<string, unknown> = {}): Scheduler<LCMConfig> {
  const config = resolveConfig<LCMConfig>(CLS, rawConfig, LCM_DEFAULTS, SPEC);
  rejectUnsupported(CLS, 'thresholding', config.thresholding, [false]);
  const T = config.num_train_timesteps;
  const alphasCumprod = makeAlphasCumprod(config);
  const finalAlphaCumprod = config.set_alpha_to_one ? 1 : alphasCumprod[0];
  const cursor = new StepCursor(CLS);
  let timesteps: readonly number[] = Object.freeze([]);
  let numInferenceSteps: number | null = null;

  const checkTimestep = (where: string, t: number): void => checkIntegerTimestep(CLS, where, t, T);

  return {
    className: CLS,
    config,
    alphasCumprod,
    get timesteps() {
      return timesteps;
    },
    initNoiseSigma: 1,
    get numInferenceSteps() {
      return numInferenceSteps;
    },
    get stepIndex() {
      return cursor.index;
    },
    resetStepIndex() {
      cursor.reset();
    },

    setTimesteps(n: number, opts?: SetTimestepsOptions) {
      const original = opts?.originalInferenceSteps ?? config.original_inference_steps;
      if (!Number.isInteger(original) || original < 1 || original > T) {
        throw new SchedulerError(
          'SCHEDULER_INVALID_STEPS',
          `${CLS}: originalInferenceSteps must be an integer in [1, ${T}] (num_train_timesteps), got ${original}.`,
        );
      }
      const custom = checkSteps(CLS, n, original, `original_inference_steps = ${original}`, opts?.timesteps, T, true);
      const ts = custom ?? lcmTimesteps(T, original, n);
      cursor.reset();
      timesteps = Object.freeze(ts);
      numInferenceSteps = n;
    },

    scaleModelInput(sample: Float32Array) {
      return sample.slice();
    },

    step(modelOutput: Float32Array, t: number, sample: Float32Array, opts?: StepOptions): StepResult {
      if (numInferenceSteps === null) {
        throw new SchedulerError('SCHEDULER_NOT_READY', `${CLS}.step: call setTimesteps before step.`);
      }
      checkSameLength(`${CLS}.step`, sample, modelOutput, 'modelOutput');
      const index = cursor.resolve('step', timesteps, t);
      const isLast = index === numInferenceSteps - 1;
      // Symbols (LCM paper, eq. 9 and Alg. 1): a_t = alpha_bar_t, a_next = alpha_bar of the next schedule entry,
      // f_theta(x, t) = c_skip(t) x + c_out(t) x0(x, t) = "denoised".
      const nextT = index + 1 < timesteps.length ? timesteps[index + 1] : t;
      const aT = alphasCumprod[t];
      const aNext = nextT >= 0 ? alphasCumprod[nextT] : finalAlphaCumprod;
      const sqA = Math.sqrt(aT);
      const sqB = Math.sqrt(1 - aT);
      // 1. boundary condition scalings with s = t * timestep_scaling (c_skip(0) = 1, c_out(0) = 0).
      const s = t * config.timestep_scaling;
      const cSkip = (SIGMA_DATA * SIGMA_DATA) / (s * s + SIGMA_DATA * SIGMA_DATA);
      const cOut = s / Math.sqrt(s * s + SIGMA_DATA * SIGMA_DATA);
      // 2. noise for the next consistency step (Alg. 1 line 5); none after the last step.
      const noise = isLast ? null : takeNoise(CLS, sample.length, opts);
      const cDen = Math.sqrt(aNext);
      const cNoise = Math.sqrt(1 - aNext);
      const clip = config.clip_sample ? config.clip_sample_range : Infinity;
      const n = sample.length;
      const prev = new Float32Array(n);
      const denoisedOut = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const x = sample[i];
        const m = modelOutput[i];
        // 3. x0 from the prediction type, clipped if configured.
        let x0 = config.prediction_type === 'epsilon' ? (x - sqB * m) / sqA : config.prediction_type === 'sample' ? m : sqA * x - sqB * m;
        if (x0 > clip) x0 = clip;
        else if (x0 < -clip) x0 = -clip;
        // 4. denoised = c_out x0 + c_skip x; 5. re-noise to the next timestep unless this is the last step.
        const d = cOut * x0 + cSkip * x;
        denoisedOut[i] = d;
        prev[i] = noise ? cDen * d + cNoise * noise[i] : d;
      }
      cursor.advance();
      return { prevSample: isLast ? denoisedOut.slice() : prev, predOriginalSample: denoisedOut };
    },

    addNoise(original: Float32Array, noise: Float32Array, t: number) {
      checkSameLength(`${CLS}.addNoise`, original, noise, 'noise');
      checkTimestep('addNoise', t);
      const sa = Math.fround(Math.sqrt(alphasCumprod[t]));
      const sb = Math.fround(Math.sqrt(Math.fround(1 - alphasCumprod[t])));
      return original.map((x, i) => sa * x + sb * noise[i]);
    },

    needsNoise(t: number) {
      const idx = cursor.peek(timesteps, t);
      return idx === null || numInferenceSteps === null || idx !== numInferenceSteps - 1;
    },
    isStochastic() {
      return numInferenceSteps === null || numInferenceSteps > 1;
    },
  };
}
