/**
 * DDIM: Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models" (arXiv:2010.02502).
 * Matches diffusers' DDIMScheduler (scheduling_ddim.py), including its quirk prev_t = t - T // N.
 */
import { checkIntegerTimestep, checkSameLength, checkScheduleLength, checkSteps, COMMON_SPEC, rejectUnsupported, resolveConfig, takeNoise, type ConfigSpec } from './config';
import { SchedulerError } from './errors';
import { makeAlphasCumprod, spacedTimesteps } from './schedule';
import type { CommonConfig, Scheduler, SetTimestepsOptions, StepOptions, StepResult } from './types';

export interface DDIMConfig extends CommonConfig {
  _class_name: 'DDIMScheduler';
  /** Default true. Clamp x0 to [-clip_sample_range, clip_sample_range] (SD pipelines force false). */
  clip_sample: boolean;
  /** Default 1.0. */
  clip_sample_range: number;
  /** Default true. alpha_bar "before" t=0: 1 if true, else alphas_cumprod[0] (SD 1.x configs: false). */
  set_alpha_to_one: boolean;
  /** Default false. Dynamic thresholding (Imagen); not implemented here: true is rejected. */
  thresholding: boolean;
  /** Default 0.995. Only used with thresholding. */
  dynamic_thresholding_ratio: number;
  /** Default 1.0. Only used with thresholding. */
  sample_max_value: number;
}

export const DDIM_DEFAULTS: Omit<DDIMConfig, '_class_name'> = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null,
  clip_sample: true,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: 'epsilon',
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  clip_sample_range: 1.0,
  sample_max_value: 1.0,
  timestep_spacing: 'leading',
  rescale_betas_zero_snr: false,
};

const SPEC: ConfigSpec<DDIMConfig> = {
  ...COMMON_SPEC,
  clip_sample: { type: 'boolean' },
  clip_sample_range: { type: 'number', min: 0, exclusiveMin: true },
  set_alpha_to_one: { type: 'boolean' },
  thresholding: { type: 'boolean' },
  dynamic_thresholding_ratio: { type: 'number', min: 0, max: 1 },
  sample_max_value: { type: 'number', min: 0 },
};

const CLS = 'DDIMScheduler';

/**
 * DDIM sampler. Custom timesteps (`opts.timesteps`) are an extension over diffusers' DDIM; the step still uses
 * prev_t = t - T // N with N the number of custom timesteps, as upstream does for every schedule.
 */
export function createDDIMScheduler(rawConfig: Record<string, unknown> = {}): Scheduler<DDIMConfig> {
  const config = resolveConfig<DDIMConfig>(CLS, rawConfig, DDIM_DEFAULTS, SPEC);
  rejectUnsupported(CLS, 'thresholding', config.thresholding, [false]);
  const T = config.num_train_timesteps;
  const alphasCumprod = makeAlphasCumprod(config);
  const finalAlphaCumprod = config.set_alpha_to_one ? 1 : alphasCumprod[0];
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
    stepIndex: null,
    resetStepIndex() {},

    setTimesteps(n: number, opts?: SetTimestepsOptions) {
      const custom = checkSteps(CLS, n, T, `num_train_timesteps`, opts?.timesteps, T, true);
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
      const eta = opts?.eta ?? 0;
      if (!Number.isFinite(eta) || eta < 0) {
        throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `${CLS}.step: eta must be a finite number >= 0, got ${eta}.`);
      }
      // Symbols (DDIM paper): a_t = alpha_bar_t = alphas_cumprod[t], a_prev = alpha_bar_{t-1}, sigma_t = std,
      // x0 = "predicted x_0", eps = epsilon_theta(x_t). prev_t is always t - T // N (upstream quirk).
      const prevT = t - Math.floor(T / numInferenceSteps);
      const aT = alphasCumprod[t];
      const aPrev = prevT >= 0 ? alphasCumprod[prevT] : finalAlphaCumprod;
      const bT = 1 - aT;
      const sqA = Math.sqrt(aT);
      const sqB = Math.sqrt(bT);
      // 1. sigma_t (eq. 16): eta * sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)).
      const variance = ((1 - aPrev) / bT) * (1 - aT / aPrev);
      const std = eta * Math.sqrt(variance);
      const noise = eta > 0 ? takeNoise(CLS, sample.length, opts) : null;
      const cX0 = Math.sqrt(aPrev);
      const cDir = Math.sqrt(1 - aPrev - std * std);
      const clip = config.clip_sample ? config.clip_sample_range : Infinity;
      const n = sample.length;
      const prev = new Float32Array(n);
      const x0Out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const x = sample[i];
        const m = modelOutput[i];
        // 2. x0 and eps from the prediction type (eq. 12's "predicted x0").
        let x0: number;
        let eps: number;
        if (config.prediction_type === 'epsilon') {
          x0 = (x - sqB * m) / sqA;
          eps = m;
        } else if (config.prediction_type === 'sample') {
          x0 = m;
          eps = (x - sqA * x0) / sqB;
        } else {
          x0 = sqA * x - sqB * m;
          eps = sqA * m + sqB * x;
        }
        // 3. optional clipping of x0 (eps is not recomputed, as upstream's default use_clipped_model_output=false).
        if (x0 > clip) x0 = clip;
        else if (x0 < -clip) x0 = -clip;
        // 4. eq. 12: x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev - sigma^2) eps + sigma z.
        let p = cX0 * x0 + cDir * eps;
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

    needsNoise(_t: number, opts?: { eta?: number }) {
      return (opts?.eta ?? 0) > 0;
    },
    isStochastic(opts?: { eta?: number }) {
      return (opts?.eta ?? 0) > 0;
    },
  };
}
