/**
 * Euler: Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative Models" (arXiv:2206.00364),
 * Algorithm 2 with s_churn = 0 (a deterministic first-order ODE step). Matches diffusers' EulerDiscreteScheduler
 * (scheduling_euler_discrete.py); stabilityai/sd-turbo ships this class.
 */
import { checkSameLength, checkScheduleLength, checkSteps, COMMON_SPEC, rejectUnsupported, resolveConfig, type ConfigSpec } from './config';
import { SchedulerError } from './errors';
import { eulerInitNoiseSigma, makeAlphasCumprod, sigmaSchedule, sigmasFromAlphasCumprod } from './schedule';
import { StepCursor } from './state';
import type { CommonConfig, Scheduler, SetTimestepsOptions, StepResult } from './types';

export interface EulerConfig extends CommonConfig {
  _class_name: 'EulerDiscreteScheduler';
  /** Default "linear": sigmas interpolated linearly in t. ("log_linear" is not supported.) */
  interpolation_type: 'linear';
  /** Default false. Karras et al. eq. 5 sigmas (rho = 7) between sigma_min and sigma_max. */
  use_karras_sigmas: boolean;
  /** Default false. Log-linear ramp between sigma_max and sigma_min. */
  use_exponential_sigmas: boolean;
  /** Default false; true is rejected (needs the Beta distribution's inverse CDF). */
  use_beta_sigmas: boolean;
  /** Default null: the ramp ends default to the sigmas of the last and first spaced timesteps. */
  sigma_min: number | null;
  sigma_max: number | null;
  /** Default "discrete". "continuous" (with v_prediction) feeds the model 0.25 * ln(sigma) as its timestep. */
  timestep_type: 'discrete' | 'continuous';
  /** Default "zero": the last step goes to sigma = 0. "sigma_min": to sigma of t = 0 instead. */
  final_sigmas_type: 'zero' | 'sigma_min';
}

export const EULER_DEFAULTS: Omit<EulerConfig, '_class_name'> = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null,
  prediction_type: 'epsilon',
  interpolation_type: 'linear',
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  sigma_min: null,
  sigma_max: null,
  timestep_spacing: 'linspace',
  timestep_type: 'discrete',
  steps_offset: 0,
  rescale_betas_zero_snr: false,
  final_sigmas_type: 'zero',
};

const SPEC: ConfigSpec<EulerConfig> = {
  ...COMMON_SPEC,
  interpolation_type: { type: 'enum', values: ['linear', 'log_linear'], supported: ['linear'] },
  use_karras_sigmas: { type: 'boolean' },
  use_exponential_sigmas: { type: 'boolean' },
  use_beta_sigmas: { type: 'boolean' },
  sigma_min: { type: 'nullableNumber', min: 0 },
  sigma_max: { type: 'nullableNumber', min: 0 },
  timestep_type: { type: 'enum', values: ['discrete', 'continuous'] },
  final_sigmas_type: { type: 'enum', values: ['zero', 'sigma_min'] },
};

const CLS = 'EulerDiscreteScheduler';

/** alphas_cumprod of the Euler family: with zero-SNR rescale the last entry becomes 2^-24 (keeps sigma finite). */
export function eulerAlphasCumprod(config: CommonConfig): Float64Array {
  const a = makeAlphasCumprod(config);
  if (config.rescale_betas_zero_snr) a[a.length - 1] = 2 ** -24;
  return a;
}

export function createEulerDiscreteScheduler(rawConfig: Record<string, unknown> = {}): Scheduler<EulerConfig> {
  const config = resolveConfig<EulerConfig>(CLS, rawConfig, EULER_DEFAULTS, SPEC);
  rejectUnsupported(CLS, 'use_beta_sigmas', config.use_beta_sigmas, [false]);
  if (config.use_karras_sigmas && config.use_exponential_sigmas) {
    throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `${CLS}: use_karras_sigmas and use_exponential_sigmas are mutually exclusive.`);
  }
  const T = config.num_train_timesteps;
  const alphasCumprod = eulerAlphasCumprod(config);
  const sigmaTransform = config.use_karras_sigmas ? 'karras' : config.use_exponential_sigmas ? 'exponential' : 'none';
  const continuous = config.timestep_type === 'continuous' && config.prediction_type === 'v_prediction';
  const cursor = new StepCursor(CLS);
  let timesteps: readonly number[] = Object.freeze([]);
  // Before setTimesteps diffusers holds the full training table (reversed) plus 0; initNoiseSigma reads it.
  let sigmas: readonly number[] = Object.freeze([...Array.from(sigmasFromAlphasCumprod(alphasCumprod)).reverse(), 0]);
  let numInferenceSteps: number | null = null;

  function sigmaForTimestep(where: string, t: number): number {
    const idx = timesteps.indexOf(t);
    if (idx < 0) {
      throw new SchedulerError('SCHEDULER_INVALID_TIMESTEPS', `${CLS}.${where}: timestep ${t} is not in the current schedule [${timesteps.join(', ')}].`);
    }
    const second = timesteps.indexOf(t, idx + 1);
    return sigmas[second >= 0 ? second : idx];
  }

  return {
    className: CLS,
    config,
    alphasCumprod,
    get timesteps() {
      return timesteps;
    },
    get sigmas() {
      return sigmas;
    },
    get initNoiseSigma() {
      return eulerInitNoiseSigma(sigmas, config.timestep_spacing);
    },
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
      const custom = checkSteps(CLS, n, T, 'num_train_timesteps', opts?.timesteps, T, false);
      if (custom && sigmaTransform !== 'none') {
        throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `${CLS}: custom timesteps cannot be combined with use_${sigmaTransform}_sigmas.`);
      }
      if (custom && continuous) {
        throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `${CLS}: custom timesteps cannot be combined with timestep_type "continuous".`);
      }
      const s = sigmaSchedule(alphasCumprod, n, custom, {
        spacing: config.timestep_spacing,
        stepsOffset: config.steps_offset,
        sigmaTransform,
        sigmaMin: config.sigma_min,
        sigmaMax: config.sigma_max,
        finalSigma: config.final_sigmas_type,
        continuousTimesteps: continuous,
      });
      checkScheduleLength(CLS, s.timesteps, n, config.timestep_spacing, continuous);
      cursor.reset();
      timesteps = Object.freeze(s.timesteps);
      sigmas = Object.freeze(s.sigmas);
      numInferenceSteps = n;
    },

    scaleModelInput(sample: Float32Array, t: number) {
      const sigma = sigmas[cursor.resolve('scaleModelInput', timesteps, t)];
      const denom = Math.fround(Math.sqrt(Math.fround(Math.fround(sigma * sigma) + 1)));
      return sample.map((x) => x / denom);
    },

    step(modelOutput: Float32Array, t: number, sample: Float32Array): StepResult {
      checkSameLength(`${CLS}.step`, sample, modelOutput, 'modelOutput');
      const index = cursor.resolve('step', timesteps, t);
      // Symbols (Karras et al. Alg. 2, gamma = 0): sigma = sigma_i, sigmaNext = sigma_{i+1}, d = (x - D(x)) / sigma.
      const sigma = sigmas[index];
      const sigmaNext = sigmas[index + 1];
      const dt = sigmaNext - sigma;
      const vScale = -sigma / Math.sqrt(sigma * sigma + 1);
      const vSkip = 1 / (sigma * sigma + 1);
      const n = sample.length;
      const prev = new Float32Array(n);
      const x0Out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const x = sample[i];
        const m = modelOutput[i];
        // 1. denoised D(x) from the prediction type (sigma-space parametrisation).
        const x0 = config.prediction_type === 'epsilon' ? x - sigma * m : config.prediction_type === 'v_prediction' ? m * vScale + x * vSkip : m;
        // 2. Euler step along dx/dsigma = d.
        prev[i] = x + ((x - x0) / sigma) * dt;
        x0Out[i] = x0;
      }
      cursor.advance();
      return { prevSample: prev, predOriginalSample: x0Out };
    },

    addNoise(original: Float32Array, noise: Float32Array, t: number) {
      checkSameLength(`${CLS}.addNoise`, original, noise, 'noise');
      const sigma = sigmaForTimestep('addNoise', t);
      return original.map((x, i) => x + noise[i] * sigma);
    },

    needsNoise() {
      return false;
    },
    isStochastic() {
      return false;
    },
  };
}
