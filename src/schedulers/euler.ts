/**
 * Euler: Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative Models" (arXiv:2206.00364),
 * Algorithm 2 with s_churn = 0 (a deterministic first-order ODE step). Matches diffusers' EulerDiscreteScheduler
 * (scheduling_euler_discrete.py); stabilityai/sd-turbo ships this class.
 */
import { defineScheduler, ScheduleState, stepOutputs, type SchedulerParts } from './base';
import { checkSameLength, checkScheduleLength, checkSteps, COMMON_DEFAULTS, COMMON_SPEC, rejectUnsupported, resolveConfig, type ConfigSpec } from './config';
import { SchedulerError } from './errors';
import { eulerInitNoiseSigma, makeAlphasCumprod, sigmaSchedule, sigmasFromAlphasCumprod, type SigmaScheduleOptions } from './schedule';
import type { CommonConfig, Scheduler, SetTimestepsOptions, StepCoefficients, StepResult } from './types';

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

/** diffusers' defaults of the keys every Euler-family scheduler has (EulerAncestral has no others). */
export const EULER_FAMILY_DEFAULTS: Omit<CommonConfig, '_class_name'> = { ...COMMON_DEFAULTS, timestep_spacing: 'linspace' };

export const EULER_DEFAULTS: Omit<EulerConfig, '_class_name'> = {
  ...EULER_FAMILY_DEFAULTS,
  interpolation_type: 'linear',
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  sigma_min: null,
  sigma_max: null,
  timestep_type: 'discrete',
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

/** sqrt(sigma^2 + 1) in float32 steps, as diffusers' scale_model_input divides by it. */
function inputDenominator(sigma: number): number {
  return Math.fround(Math.sqrt(Math.fround(Math.fround(sigma * sigma) + 1)));
}

/**
 * What Euler and Euler Ancestral share: schedule state holding sigmas (before setTimesteps diffusers holds the full
 * training table, reversed, plus 0; initNoiseSigma reads it), setTimesteps through sigmaSchedule,
 * scaleModelInput x / sqrt(sigma^2 + 1), sigma-space addNoise x0 + sigma noise.
 */
export function sigmaSpaceParts(
  cls: string,
  config: CommonConfig,
  alphasCumprod: Float64Array,
  schedule: (custom: number[] | null) => Omit<SigmaScheduleOptions, 'spacing' | 'stepsOffset'> & { allowNegative?: boolean },
): Pick<SchedulerParts<CommonConfig>, 'state' | 'initNoiseSigma' | 'setTimesteps' | 'scaleModelInput' | 'addNoise'> {
  const T = config.num_train_timesteps;
  const state = new ScheduleState(cls, true, [...Array.from(sigmasFromAlphasCumprod(alphasCumprod)).reverse(), 0]);
  return {
    state,
    initNoiseSigma: () => eulerInitNoiseSigma(state.sigmas!, config.timestep_spacing),
    setTimesteps(n: number, opts?: SetTimestepsOptions) {
      const custom = checkSteps(cls, n, T, 'num_train_timesteps', opts?.timesteps, T, false);
      const { allowNegative, ...rest } = schedule(custom);
      const s = sigmaSchedule(alphasCumprod, n, custom, { spacing: config.timestep_spacing, stepsOffset: config.steps_offset, ...rest });
      checkScheduleLength(cls, s.timesteps, n, config.timestep_spacing, allowNegative);
      state.set(s.timesteps, n, s.sigmas);
    },
    scaleModelInput(sample: Float32Array, t: number) {
      const denom = inputDenominator(state.sigmas![state.index('scaleModelInput', t)]);
      return sample.map((x) => x / denom);
    },
    addNoise(original: Float32Array, noise: Float32Array, t: number) {
      checkSameLength(`${cls}.addNoise`, original, noise, 'noise');
      const ts = state.timesteps;
      const idx = ts.indexOf(t);
      if (idx < 0) {
        throw new SchedulerError('SCHEDULER_INVALID_TIMESTEPS', `${cls}.addNoise: timestep ${t} is not in the current schedule [${ts.join(', ')}].`);
      }
      const second = ts.indexOf(t, idx + 1);
      const sigma = state.sigmas![second >= 0 ? second : idx];
      return original.map((x, i) => x + noise[i] * sigma);
    },
  };
}

/** denoised D(x) = ax x + am m from the prediction type (sigma-space parametrisation). */
export function sigmaSpaceX0(pred: CommonConfig['prediction_type'], sigma: number): { ax: number; am: number } {
  if (pred === 'epsilon') return { ax: 1, am: -sigma };
  if (pred === 'v_prediction') return { ax: 1 / (sigma * sigma + 1), am: -sigma / Math.sqrt(sigma * sigma + 1) };
  return { ax: 0, am: 1 };
}

export function createEulerDiscreteScheduler(rawConfig: Record<string, unknown> = {}): Scheduler<EulerConfig> {
  const config = resolveConfig<EulerConfig>(CLS, rawConfig, EULER_DEFAULTS, SPEC);
  rejectUnsupported(CLS, 'use_beta_sigmas', config.use_beta_sigmas, [false]);
  if (config.use_karras_sigmas && config.use_exponential_sigmas) {
    throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `${CLS}: use_karras_sigmas and use_exponential_sigmas are mutually exclusive.`);
  }
  const alphasCumprod = eulerAlphasCumprod(config);
  const sigmaTransform = config.use_karras_sigmas ? 'karras' : config.use_exponential_sigmas ? 'exponential' : 'none';
  const continuous = config.timestep_type === 'continuous' && config.prediction_type === 'v_prediction';
  const shared = sigmaSpaceParts(CLS, config, alphasCumprod, (custom) => {
    if (custom && sigmaTransform !== 'none') {
      throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `${CLS}: custom timesteps cannot be combined with use_${sigmaTransform}_sigmas.`);
    }
    if (custom && continuous) {
      throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `${CLS}: custom timesteps cannot be combined with timestep_type "continuous".`);
    }
    return {
      sigmaTransform,
      sigmaMin: config.sigma_min,
      sigmaMax: config.sigma_max,
      finalSigma: config.final_sigmas_type,
      continuousTimesteps: continuous,
      allowNegative: continuous,
    };
  });
  const { state } = shared;

  /** Symbols (Karras et al. Alg. 2, gamma = 0): sigma = sigma_i, sigmaNext = sigma_{i+1}, d = (x - D(x)) / sigma. */
  function scalars(index: number) {
    const sigma = state.sigmas![index];
    const v = sigmaSpaceX0('v_prediction', sigma);
    return { sigma, dt: state.sigmas![index + 1] - sigma, vScale: v.am, vSkip: v.ax };
  }

  return defineScheduler<EulerConfig>({
    ...shared,
    config,
    alphasCumprod,

    step(modelOutput: Float32Array, t: number, sample: Float32Array): StepResult {
      checkSameLength(`${CLS}.step`, sample, modelOutput, 'modelOutput');
      const { sigma, dt, vScale, vSkip } = scalars(state.index('step', t));
      const { n, prev, x0: x0Out } = stepOutputs(sample);
      for (let i = 0; i < n; i++) {
        const x = sample[i];
        const m = modelOutput[i];
        // 1. denoised D(x) from the prediction type (sigma-space parametrisation).
        const x0 = config.prediction_type === 'epsilon' ? x - sigma * m : config.prediction_type === 'v_prediction' ? m * vScale + x * vSkip : m;
        // 2. Euler step along dx/dsigma = d.
        prev[i] = x + ((x - x0) / sigma) * dt;
        x0Out[i] = x0;
      }
      state.cursor!.advance();
      return { prevSample: prev, predOriginalSample: x0Out };
    },

    stepCoefficients(i: number): StepCoefficients {
      const { sigma, dt } = scalars(i);
      return {
        timestep: state.timesteps[i], inScale: 1 / inputDenominator(sigma), ...sigmaSpaceX0(config.prediction_type, sigma), ex: 0, em: 0,
        clip: Infinity, c0: -dt / sigma, cx: 1 + dt / sigma, ce: 0, cz: 0, noise: false,
      };
    },

    needsNoise() {
      return false;
    },
    isStochastic() {
      return false;
    },
  });
}
