/**
 * DDPM: Ho, Jain & Abbeel 2020, "Denoising Diffusion Probabilistic Models" (arXiv:2006.11239), ancestral sampling
 * with skipped steps. Matches diffusers' DDPMScheduler (scheduling_ddpm.py).
 */
import { alphaSpaceCoefficients, checkAlphaStep, clipBound, defineScheduler, integerScheduleParts, resolveAlphaSpace, stepOutputs } from './base';
import { ALPHA_SPACE_DEFAULTS, CLIP_SPEC, COMMON_SPEC, takeNoise, type ClipConfig, type ConfigSpec } from './config';
import { SchedulerError } from './errors';
import type { CommonConfig, Scheduler, StepCoefficients, StepOptions, StepResult } from './types';

export const DDPM_VARIANCE_TYPES = ['fixed_small', 'fixed_small_log', 'fixed_large'] as const;
/** diffusers also has fixed_large_log, learned and learned_range (models that predict their variance). */
const DDPM_VARIANCE_TYPES_UPSTREAM = [...DDPM_VARIANCE_TYPES, 'fixed_large_log', 'learned', 'learned_range'];
export type DDPMVarianceType = (typeof DDPM_VARIANCE_TYPES)[number];

/** clip_sample defaults to true. */
export interface DDPMConfig extends CommonConfig, ClipConfig {
  _class_name: 'DDPMScheduler';
  /**
   * Default "fixed_small": sigma_t^2 = beta~_t = (1 - a_prev) / (1 - a_t) * beta_t (paper sec. 3.2, clamped at
   * 1e-20); "fixed_small_log" gives the same numbers; "fixed_large": sigma_t^2 = beta_t.
   */
  variance_type: DDPMVarianceType;
}

export const DDPM_DEFAULTS: Omit<DDPMConfig, '_class_name'> = {
  ...ALPHA_SPACE_DEFAULTS,
  variance_type: 'fixed_small',
};

const SPEC: ConfigSpec<DDPMConfig> = {
  ...COMMON_SPEC,
  ...CLIP_SPEC,
  variance_type: { type: 'enum', values: DDPM_VARIANCE_TYPES_UPSTREAM, supported: DDPM_VARIANCE_TYPES },
};

const CLS = 'DDPMScheduler';
const f32 = Math.fround;

export function createDDPMScheduler(rawConfig: Record<string, unknown> = {}): Scheduler<DDPMConfig> {
  const { config, T, alphasCumprod } = resolveAlphaSpace<DDPMConfig>(CLS, rawConfig, DDPM_DEFAULTS, SPEC);
  const parts = integerScheduleParts(CLS, config, alphasCumprod);
  const { state } = parts;

  /** The index of t in the schedule. */
  function indexOf(t: number): number {
    const idx = state.timesteps.indexOf(t);
    if (idx < 0) {
      throw new SchedulerError(
        'SCHEDULER_INVALID_TIMESTEPS',
        `${CLS}.step: timestep ${t} is not in the current schedule [${state.timesteps.join(', ')}].`,
      );
    }
    return idx;
  }

  /**
   * The scalars of step `idx` (`step` and `stepCoefficients` both use them), in float32 as diffusers computes them
   * (0-d float32 tensors; a float64 evaluation drifts by 0.02 in the sum of |x| of diffusers' own 1000-step test).
   * Symbols (paper eq. 6-7): a_t = alpha_bar_t, a_prev = alpha_bar_{t'} (t' = the next schedule entry, -1 after the
   * last), alpha_t' = a_t / a_prev and beta_t' = 1 - alpha_t' (the "skipped" single-step alpha and beta).
   */
  function scalars(idx: number) {
    const ts = state.timesteps;
    const t = ts[idx];
    const prevT = idx === ts.length - 1 ? -1 : ts[idx + 1];
    const aT = alphasCumprod[t];
    const aPrev = prevT >= 0 ? alphasCumprod[prevT] : 1;
    const bT = f32(1 - aT);
    const bPrev = f32(1 - aPrev);
    const curAlpha = f32(aT / aPrev);
    const curBeta = f32(1 - curAlpha);
    // 1. posterior mean coefficients of q(x_{t'} | x_t, x0) (eq. 7).
    const cX0 = f32(f32(f32(Math.sqrt(aPrev)) * curBeta) / bT);
    const cXt = f32(f32(f32(Math.sqrt(curAlpha)) * bPrev) / bT);
    // 2. posterior std (eq. 7 beta~ or beta), noise only for t > 0.
    let std = 0;
    if (t > 0) {
      const small = Math.max(f32(f32(bPrev / bT) * curBeta), 1e-20);
      if (config.variance_type === 'fixed_large') std = f32(Math.sqrt(curBeta));
      else if (config.variance_type === 'fixed_small_log') std = f32(Math.exp(f32(0.5 * f32(Math.log(small)))));
      else std = f32(Math.sqrt(small));
    }
    return { aT, sqA: f32(Math.sqrt(aT)), sqB: f32(Math.sqrt(bT)), cX0, cXt, std };
  }

  return defineScheduler<DDPMConfig>({
    ...parts,
    step(modelOutput: Float32Array, t: number, sample: Float32Array, opts?: StepOptions): StepResult {
      checkAlphaStep(state, CLS, T, sample, modelOutput, t);
      const { sqA, sqB, cX0, cXt, std } = scalars(indexOf(t));
      const noise = t > 0 ? takeNoise(CLS, sample.length, opts) : null;
      const clip = clipBound(config);
      // 3. x0 from the prediction type (eq. 15), clipped if configured; float32 element ops, as torch.
      const pred = config.prediction_type;
      const { n, prev, x0: x0Out } = stepOutputs(sample);
      for (let i = 0; i < n; i++) {
        const x = sample[i];
        const m = modelOutput[i];
        let x0 = pred === 'epsilon' ? f32(f32(x - f32(sqB * m)) / sqA) : pred === 'sample' ? m : f32(f32(sqA * x) - f32(sqB * m));
        if (x0 > clip) x0 = clip;
        else if (x0 < -clip) x0 = -clip;
        // 4. x_{t'} = mean + std * z.
        const p = f32(f32(cX0 * x0) + f32(cXt * x));
        prev[i] = noise ? p + f32(std * noise[i]) : p;
        x0Out[i] = x0;
      }
      return { prevSample: prev, predOriginalSample: x0Out };
    },

    stepCoefficients(i: number): StepCoefficients {
      const t = state.timesteps[i];
      const k = scalars(i);
      const { ax, am } = alphaSpaceCoefficients(config.prediction_type, k.aT);
      return { timestep: t, inScale: 1, ax, am, ex: 0, em: 0, clip: clipBound(config), c0: k.cX0, cx: k.cXt, ce: 0, cz: k.std, noise: t > 0 };
    },

    needsNoise(t: number) {
      return t > 0;
    },
    isStochastic() {
      return state.timesteps.length === 0 || state.timesteps.some((t) => t > 0);
    },
  });
}
