/**
 * DDPM: Ho, Jain & Abbeel 2020, "Denoising Diffusion Probabilistic Models" (arXiv:2006.11239), ancestral sampling
 * with skipped steps. Matches diffusers' DDPMScheduler (scheduling_ddpm.py).
 */
import { checkIntegerTimestep, checkSameLength, checkScheduleLength, checkSteps, COMMON_SPEC, rejectUnsupported, resolveConfig, takeNoise, type ConfigSpec } from './config';
import { SchedulerError } from './errors';
import { makeAlphasCumprod, spacedTimesteps } from './schedule';
import type { CommonConfig, Scheduler, SetTimestepsOptions, StepOptions, StepResult } from './types';

export const DDPM_VARIANCE_TYPES = ['fixed_small', 'fixed_small_log', 'fixed_large'] as const;
/** diffusers also has fixed_large_log, learned and learned_range (models that predict their variance). */
const DDPM_VARIANCE_TYPES_UPSTREAM = [...DDPM_VARIANCE_TYPES, 'fixed_large_log', 'learned', 'learned_range'];
export type DDPMVarianceType = (typeof DDPM_VARIANCE_TYPES)[number];

export interface DDPMConfig extends CommonConfig {
  _class_name: 'DDPMScheduler';
  /**
   * Default "fixed_small": sigma_t^2 = beta~_t = (1 - a_prev) / (1 - a_t) * beta_t (paper sec. 3.2, clamped at
   * 1e-20); "fixed_small_log" gives the same numbers; "fixed_large": sigma_t^2 = beta_t.
   */
  variance_type: DDPMVarianceType;
  /** Default true. Clamp x0 to [-clip_sample_range, clip_sample_range]. */
  clip_sample: boolean;
  /** Default 1.0. */
  clip_sample_range: number;
  /** Default false; true is rejected (dynamic thresholding not implemented). */
  thresholding: boolean;
  dynamic_thresholding_ratio: number;
  sample_max_value: number;
}

export const DDPM_DEFAULTS: Omit<DDPMConfig, '_class_name'> = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null,
  variance_type: 'fixed_small',
  clip_sample: true,
  prediction_type: 'epsilon',
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  clip_sample_range: 1.0,
  sample_max_value: 1.0,
  timestep_spacing: 'leading',
  steps_offset: 0,
  rescale_betas_zero_snr: false,
};

const SPEC: ConfigSpec<DDPMConfig> = {
  ...COMMON_SPEC,
  variance_type: { type: 'enum', values: DDPM_VARIANCE_TYPES_UPSTREAM, supported: DDPM_VARIANCE_TYPES },
  clip_sample: { type: 'boolean' },
  clip_sample_range: { type: 'number', min: 0, exclusiveMin: true },
  thresholding: { type: 'boolean' },
  dynamic_thresholding_ratio: { type: 'number', min: 0, max: 1 },
  sample_max_value: { type: 'number', min: 0 },
};

const CLS = 'DDPMScheduler';

export function createDDPMScheduler(rawConfig: Record<string, unknown> = {}): Scheduler<DDPMConfig> {
  const config = resolveConfig<DDPMConfig>(CLS, rawConfig, DDPM_DEFAULTS, SPEC);
  rejectUnsupported(CLS, 'thresholding', config.thresholding, [false]);
  const T = config.num_train_timesteps;
  const alphasCumprod = makeAlphasCumprod(config);
  let timesteps: readonly number[] = Object.freeze([]);
  let numInferenceSteps: number | null = null;

  /** The next timestep of the schedule after t (-1 after the last one). */
  function previousTimestep(t: number): number {
    const idx = timesteps.indexOf(t);
    if (idx < 0) {
      throw new SchedulerError(
        'SCHEDULER_INVALID_TIMESTEPS',
        `${CLS}.step: timestep ${t} is not in the current schedule [${timesteps.join(', ')}].`,
      );
    }
    return idx === timesteps.length - 1 ? -1 : timesteps[idx + 1];
  }

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
    stepIndex: null,
    resetStepIndex() {},

    setTimesteps(n: number, opts?: SetTimestepsOptions) {
      const custom = checkSteps(CLS, n, T, 'num_train_timesteps', opts?.timesteps, T, true);
      const ts = custom ?? spacedTimesteps(config.timestep_spacing, T, n, config.steps_offset);
      if (!custom) checkScheduleLength(CLS, ts, n, config.timestep_spacing);
      for (const t of ts) checkTimestep('setTimesteps', t); // leading + steps_offset can reach T
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
      checkTimestep('step', t);
      const prevT = previousTimestep(t);
      // Symbols (paper eq. 6-7): a_t = alpha_bar_t, a_prev = alpha_bar_{t'} (t' = previous schedule entry),
      // alpha_t' = a_t / a_prev and beta_t' = 1 - alpha_t' (the "skipped" single-step alpha and beta).
      const aT = alphasCumprod[t];
      const aPrev = prevT >= 0 ? alphasCumprod[prevT] : 1;
      const bT = 1 - aT;
      const bPrev = 1 - aPrev;
      const curAlpha = aT / aPrev;
      const curBeta = 1 - curAlpha;
      const sqA = Math.sqrt(aT);
      const sqB = Math.sqrt(bT);
      // 1. posterior mean coefficients of q(x_{t'} | x_t, x0) (eq. 7).
      const cX0 = (Math.sqrt(aPrev) * curBeta) / bT;
      const cXt = (Math.sqrt(curAlpha) * bPrev) / bT;
      // 2. posterior std (eq. 7 beta~ or beta), noise only for t > 0.
      let std = 0;
      let noise: Float32Array | null = null;
      if (t > 0) {
        const small = Math.max((bPrev / bT) * curBeta, 1e-20);
        std = Math.sqrt(config.variance_type === 'fixed_large' ? curBeta : small);
        noise = takeNoise(CLS, sample.length, opts);
      }
      const clip = config.clip_sample ? config.clip_sample_range : Infinity;
      const n = sample.length;
      const prev = new Float32Array(n);
      const x0Out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const x = sample[i];
        const m = modelOutput[i];
        // 3. x0 from the prediction type (eq. 15), clipped if configured.
        let x0 = config.prediction_type === 'epsilon' ? (x - sqB * m) / sqA : config.prediction_type === 'sample' ? m : sqA * x - sqB * m;
        if (x0 > clip) x0 = clip;
        else if (x0 < -clip) x0 = -clip;
        // 4. x_{t'} = mean + std * z.
        let p = cX0 * x0 + cXt * x;
        if (noise) p += std * noise[i];
        prev[i] = p;
        x0Out[i] = x0;
      }
      return { prevSample: prev, predOriginalSample: x0Out };
    },

    addNoise(original: Float32Array, noise: Float32Array, t: number) {
      checkSameLength(`${CLS}.addNoise`, original, noise, 'noise');
      checkTimestep('addNoise', t);
      const sa = Math.fround(Math.sqrt(alphasCumprod[t]));
      const sb = Math.fround(Math.sqrt(Math.fround(1 - alphasCumprod[t])));
      return original.map((x, i) => sa * x + sb * noise[i]);
    },

    needsNoise(t: number) {
      return t > 0;
    },
    isStochastic() {
      return timesteps.length === 0 || timesteps.some((t) => t > 0);
    },
  };
}
