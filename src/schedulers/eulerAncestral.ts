/**
 * Euler Ancestral: the ancestral (stochastic) Euler sampler of k-diffusion (Crowson), built on Karras et al. 2022
 * and DDPM's ancestral split of each step into a deterministic part down to sigma_down and fresh noise sigma_up.
 * Matches diffusers' EulerAncestralDiscreteScheduler (scheduling_euler_ancestral_discrete.py); stabilityai/sdxl-turbo
 * ships this class.
 */
import { checkSameLength, checkScheduleLength, checkSteps, COMMON_SPEC, resolveConfig, takeNoise, type ConfigSpec } from './config';
import { SchedulerError } from './errors';
import { eulerAlphasCumprod } from './euler';
import { eulerInitNoiseSigma, sigmaSchedule, sigmasFromAlphasCumprod } from './schedule';
import { StepCursor } from './state';
import type { CommonConfig, Scheduler, SetTimestepsOptions, StepOptions, StepResult } from './types';

export interface EulerAncestralConfig extends CommonConfig {
  _class_name: 'EulerAncestralDiscreteScheduler';
}

export const EULER_ANCESTRAL_DEFAULTS: Omit<EulerAncestralConfig, '_class_name'> = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null,
  prediction_type: 'epsilon',
  timestep_spacing: 'linspace',
  steps_offset: 0,
  rescale_betas_zero_snr: false,
};

const SPEC: ConfigSpec<EulerAncestralConfig> = { ...COMMON_SPEC };

const CLS = 'EulerAncestralDiscreteScheduler';

/**
 * Extensions over diffusers (which raises for both): custom timesteps (sigmas interpolated as Euler does) and
 * prediction_type "sample" (the model output is taken as x0).
 */
export function createEulerAncestralDiscreteScheduler(rawConfig: Record<string, unknown> = {}): Scheduler<EulerAncestralConfig> {
  const config = resolveConfig<EulerAncestralConfig>(CLS, rawConfig, EULER_ANCESTRAL_DEFAULTS, SPEC);
  const T = config.num_train_timesteps;
  const alphasCumprod = eulerAlphasCumprod(config);
  const cursor = new StepCursor(CLS);
  let timesteps: readonly number[] = Object.freeze([]);
  let sigmas: readonly number[] = Object.freeze([...Array.from(sigmasFromAlphasCumprod(alphasCumprod)).reverse(), 0]);
  let numInferenceSteps: number | null = null;

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
      const s = sigmaSchedule(alphasCumprod, n, custom, {
        spacing: config.timestep_spacing,
        stepsOffset: config.steps_offset,
        sigmaTransform: 'none',
        sigmaMin: null,
        sigmaMax: null,
        finalSigma: 'zero',
        continuousTimesteps: false,
      });
      checkScheduleLength(CLS, s.timesteps, n, config.timestep_spacing);
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

    step(modelOutput: Float32Array, t: number, sample: Float32Array, opts?: StepOptions): StepResult {
      checkSameLength(`${CLS}.step`, sample, modelOutput, 'modelOutput');
      const index = cursor.resolve('step', timesteps, t);
      // Symbols (k-diffusion sample_euler_ancestral, eta = 1): sigma = sigma_from, sigmaNext = sigma_to,
      // sigma_up^2 = sigma_to^2 (sigma_from^2 - sigma_to^2) / sigma_from^2, sigma_down^2 = sigma_to^2 - sigma_up^2.
      const sigma = sigmas[index];
      const sigmaNext = sigmas[index + 1];
      const sigmaUp = Math.sqrt((sigmaNext * sigmaNext * (sigma * sigma - sigmaNext * sigmaNext)) / (sigma * sigma));
      const sigmaDown = Math.sqrt(sigmaNext * sigmaNext - sigmaUp * sigmaUp);
      const dt = sigmaDown - sigma;
      // Noise is drawn on every step, the last one too (sigma_up = 0 there), as upstream does.
      const noise = takeNoise(CLS, sample.length, opts);
      const vScale = -sigma / Math.sqrt(sigma * sigma + 1);
      const vSkip = 1 / (sigma * sigma + 1);
      const n = sample.length;
      const prev = new Float32Array(n);
      const x0Out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const x = sample[i];
        const m = modelOutput[i];
        // 1. denoised from the prediction type.
        const x0 = config.prediction_type === 'epsilon' ? x - sigma * m : config.prediction_type === 'v_prediction' ? m * vScale + x * vSkip : m;
        // 2. deterministic Euler step to sigma_down, 3. add fresh noise of std sigma_up.
        prev[i] = x + ((x - x0) / sigma) * dt + noise[i] * sigmaUp;
        x0Out[i] = x0;
      }
      cursor.advance();
      return { prevSample: prev, predOriginalSample: x0Out };
    },

    addNoise(original: Float32Array, noise: Float32Array, t: number) {
      checkSameLength(`${CLS}.addNoise`, original, noise, 'noise');
      const idx = timesteps.indexOf(t);
      if (idx < 0) {
        throw new SchedulerError('SCHEDULER_INVALID_TIMESTEPS', `${CLS}.addNoise: timestep ${t} is not in the current schedule [${timesteps.join(', ')}].`);
      }
      const second = timesteps.indexOf(t, idx + 1);
      const sigma = sigmas[second >= 0 ? second : idx];
      return original.map((x, i) => x + noise[i] * sigma);
    },

    needsNoise() {
      return true;
    },
    isStochastic() {
      return true;
    },
  };
}
