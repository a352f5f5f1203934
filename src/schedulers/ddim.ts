/**
 * DDIM: Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models" (arXiv:2010.02502).
 * Matches diffusers' DDIMScheduler (scheduling_ddim.py), including its quirk prev_t = t - T // N.
 */
import { alphaSpaceCoefficients, checkAlphaStep, clipBound, defineScheduler, integerScheduleParts, resolveAlphaSpace, stepOutputs } from './base';
import { ALPHA_SPACE_DEFAULTS, CLIP_SPEC, COMMON_SPEC, takeNoise, type ClipConfig, type ConfigSpec } from './config';
import { SchedulerError } from './errors';
import type { CommonConfig, Scheduler, StepCoefficients, StepOptions, StepResult } from './types';

/** clip_sample defaults to true (SD pipelines force false). */
export interface DDIMConfig extends CommonConfig, ClipConfig {
  _class_name: 'DDIMScheduler';
  /** Default true. alpha_bar "before" t=0: 1 if true, else alphas_cumprod[0] (SD 1.x configs: false). */
  set_alpha_to_one: boolean;
}

export const DDIM_DEFAULTS: Omit<DDIMConfig, '_class_name'> = {
  ...ALPHA_SPACE_DEFAULTS,
  set_alpha_to_one: true,
};

const SPEC: ConfigSpec<DDIMConfig> = {
  ...COMMON_SPEC,
  ...CLIP_SPEC,
  set_alpha_to_one: { type: 'boolean' },
};

const CLS = 'DDIMScheduler';

/**
 * DDIM sampler. Custom timesteps (`opts.timesteps`) are an extension over diffusers' DDIM; the step still uses
 * prev_t = t - T // N with N the number of custom timesteps, as upstream does for every schedule.
 */
export function createDDIMScheduler(rawConfig: Record<string, unknown> = {}): Scheduler<DDIMConfig> {
  const { config, T, alphasCumprod } = resolveAlphaSpace<DDIMConfig>(CLS, rawConfig, DDIM_DEFAULTS, SPEC);
  const finalAlphaCumprod = config.set_alpha_to_one ? 1 : alphasCumprod[0];
  const parts = integerScheduleParts(CLS, config, alphasCumprod);
  const { state } = parts;

  function checkEta(eta: number): number {
    if (!Number.isFinite(eta) || eta < 0) {
      throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `${CLS}.step: eta must be a finite number >= 0, got ${eta}.`);
    }
    return eta;
  }

  /**
   * The scalars of the step at t (`step` and `stepCoefficients` both use them). Symbols (DDIM paper): a_t =
   * alpha_bar_t = alphas_cumprod[t], a_prev = alpha_bar_{t-1}, sigma_t = std. prev_t is always t - T // N.
   */
  function scalars(t: number, eta: number) {
    const prevT = t - Math.floor(T / state.ready('step'));
    const aT = alphasCumprod[t];
    const aPrev = prevT >= 0 ? alphasCumprod[prevT] : finalAlphaCumprod;
    const bT = 1 - aT;
    // 1. sigma_t (eq. 16): eta * sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)).
    const variance = ((1 - aPrev) / bT) * (1 - aT / aPrev);
    const std = eta * Math.sqrt(variance);
    // eq. 12: x_prev = cX0 x0 + cDir eps + std z.
    return { aT, sqA: Math.sqrt(aT), sqB: Math.sqrt(bT), std, cX0: Math.sqrt(aPrev), cDir: Math.sqrt(1 - aPrev - std * std) };
  }

  return defineScheduler<DDIMConfig>({
    ...parts,
    step(modelOutput: Float32Array, t: number, sample: Float32Array, opts?: StepOptions): StepResult {
      checkAlphaStep(state, CLS, T, sample, modelOutput, t);
      const eta = checkEta(opts?.eta ?? 0);
      // x0 = "predicted x_0", eps = epsilon_theta(x_t).
      const { sqA, sqB, std, cX0, cDir } = scalars(t, eta);
      const noise = eta > 0 ? takeNoise(CLS, sample.length, opts) : null;
      const clip = clipBound(config);
      const { n, prev, x0: x0Out } = stepOutputs(sample);
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
        const p = cX0 * x0 + cDir * eps;
        prev[i] = noise ? p + std * noise[i] : p;
        x0Out[i] = x0;
      }
      return { prevSample: prev, predOriginalSample: x0Out };
    },

    stepCoefficients(i: number, opts?: { eta?: number }): StepCoefficients {
      const t = state.timesteps[i];
      const eta = checkEta(opts?.eta ?? 0);
      const k = scalars(t, eta);
      return {
        timestep: t, inScale: 1, ...alphaSpaceCoefficients(config.prediction_type, k.aT), clip: clipBound(config),
        c0: k.cX0, cx: 0, ce: k.cDir, cz: eta > 0 ? k.std : 0, noise: eta > 0,
      };
    },

    needsNoise(_t: number, opts?: { eta?: number }) {
      return (opts?.eta ?? 0) > 0;
    },
    isStochastic(opts?: { eta?: number }) {
      return (opts?.eta ?? 0) > 0;
    },
  });
}
