/**
 * Euler Ancestral: the ancestral (stochastic) Euler sampler of k-diffusion (Crowson), built on Karras et al. 2022
 * and DDPM's ancestral split of each step into a deterministic part down to sigma_down and fresh noise sigma_up.
 * Matches diffusers' EulerAncestralDiscreteScheduler (scheduling_euler_ancestral_discrete.py); stabilityai/sdxl-turbo
 * ships this class.
 */
import { defineScheduler, stepOutputs } from './base';
import { checkSameLength, COMMON_SPEC, resolveConfig, takeNoise, type ConfigSpec } from './config';
import { EULER_FAMILY_DEFAULTS, eulerAlphasCumprod, sigmaSpaceParts, sigmaSpaceX0 } from './euler';
import type { CommonConfig, Scheduler, StepOptions, StepResult } from './types';

export interface EulerAncestralConfig extends CommonConfig {
  _class_name: 'EulerAncestralDiscreteScheduler';
}

export const EULER_ANCESTRAL_DEFAULTS: Omit<EulerAncestralConfig, '_class_name'> = { ...EULER_FAMILY_DEFAULTS };

const SPEC: ConfigSpec<EulerAncestralConfig> = { ...COMMON_SPEC };

const CLS = 'EulerAncestralDiscreteScheduler';

/**
 * Extensions over diffusers (which raises for both): custom timesteps (sigmas interpolated as Euler does) and
 * prediction_type "sample" (the model output is taken as x0).
 */
export function createEulerAncestralDiscreteScheduler(rawConfig: Record<string, unknown> = {}): Scheduler<EulerAncestralConfig> {
  const config = resolveConfig<EulerAncestralConfig>(CLS, rawConfig, EULER_ANCESTRAL_DEFAULTS, SPEC);
  const alphasCumprod = eulerAlphasCumprod(config);
  const shared = sigmaSpaceParts(CLS, config, alphasCumprod, () => ({
    sigmaTransform: 'none',
    sigmaMin: null,
    sigmaMax: null,
    finalSigma: 'zero',
    continuousTimesteps: false,
  }));
  const { state } = shared;

  return defineScheduler<EulerAncestralConfig>({
    ...shared,
    config,
    alphasCumprod,

    step(modelOutput: Float32Array, t: number, sample: Float32Array, opts?: StepOptions): StepResult {
      checkSameLength(`${CLS}.step`, sample, modelOutput, 'modelOutput');
      const index = state.index('step', t);
      // Symbols (k-diffusion sample_euler_ancestral, eta = 1): sigma = sigma_from, sigmaNext = sigma_to,
      // sigma_up^2 = sigma_to^2 (sigma_from^2 - sigma_to^2) / sigma_from^2, sigma_down^2 = sigma_to^2 - sigma_up^2.
      const sigma = state.sigmas![index];
      const sigmaNext = state.sigmas![index + 1];
      const sigmaUp = Math.sqrt((sigmaNext * sigmaNext * (sigma * sigma - sigmaNext * sigmaNext)) / (sigma * sigma));
      const sigmaDown = Math.sqrt(sigmaNext * sigmaNext - sigmaUp * sigmaUp);
      const dt = sigmaDown - sigma;
      // Noise is drawn on every step, the last one too (sigma_up = 0 there), as upstream does.
      const noise = takeNoise(CLS, sample.length, opts);
      const { ax: vSkip, am: vScale } = sigmaSpaceX0('v_prediction', sigma);
      const { n, prev, x0: x0Out } = stepOutputs(sample);
      for (let i = 0; i < n; i++) {
        const x = sample[i];
        const m = modelOutput[i];
        // 1. denoised from the prediction type.
        const x0 = config.prediction_type === 'epsilon' ? x - sigma * m : config.prediction_type === 'v_prediction' ? m * vScale + x * vSkip : m;
        // 2. deterministic Euler step to sigma_down, 3. add fresh noise of std sigma_up.
        prev[i] = x + ((x - x0) / sigma) * dt + noise[i] * sigmaUp;
        x0Out[i] = x0;
      }
      state.cursor!.advance();
      return { prevSample: prev, predOriginalSample: x0Out };
    },

    needsNoise() {
      return true;
    },
    isStochastic() {
      return true;
    },
  });
}
