/**
 * LCM: Luo et al. 2023, "Latent Consistency Models" (arXiv:2310.04378), multistep consistency sampling
 * (Algorithm 1). Matches diffusers' LCMScheduler (scheduling_lcm.py).
 */
import { alphaSpaceCoefficients, alphaSpaceX0, clipBound, defineScheduler, resolveAlphaSpace, ScheduleState, stepOutputs } from './base';
import { ALPHA_SPACE_DEFAULTS, checkSameLength, checkSteps, CLIP_SPEC, COMMON_SPEC, takeNoise, type ClipConfig, type ConfigSpec } from './config';
import { SchedulerError } from './errors';
import { linspace } from './schedule';
import type { CommonConfig, Scheduler, SetTimestepsOptions, StepCoefficients, StepOptions, StepResult } from './types';

/** clip_sample defaults to false. */
export interface LCMConfig extends CommonConfig, ClipConfig {
  _class_name: 'LCMScheduler';
  /** Default 50. Length N' of the distillation schedule (k = T // N' apart); inference picks a subset of it. */
  original_inference_steps: number;
  /** Default 10. Timestep scale in the consistency boundary condition c_skip(t), c_out(t). */
  timestep_scaling: number;
  /** Default true. alpha_bar used when the next timestep is negative (never reached by LCM's own schedules). */
  set_alpha_to_one: boolean;
}

/** LCM ignores timestep_spacing and steps_offset (kept for config round-trips, as upstream does). */
export const LCM_DEFAULTS: Omit<LCMConfig, '_class_name'> = {
  ...ALPHA_SPACE_DEFAULTS,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  original_inference_steps: 50,
  clip_sample: false,
  set_alpha_to_one: true,
  timestep_scaling: 10.0,
};

/** LCM's config keys and their checks (TCD reads the same config). */
export const LCM_SPEC: ConfigSpec<LCMConfig> = {
  ...COMMON_SPEC,
  original_inference_steps: { type: 'number', integer: true, min: 1 },
  ...CLIP_SPEC,
  timestep_scaling: { type: 'number', min: 0 },
  set_alpha_to_one: { type: 'boolean' },
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
  const { config, T, alphasCumprod } = resolveAlphaSpace<LCMConfig>(CLS, rawConfig, LCM_DEFAULTS, LCM_SPEC);
  const finalAlphaCumprod = config.set_alpha_to_one ? 1 : alphasCumprod[0];
  const state = new ScheduleState(CLS, true);

  /**
   * The scalars of step `index` (`step` and `stepCoefficients` both use them). Symbols (LCM paper, eq. 9 and
   * Alg. 1): a_t = alpha_bar_t, a_next = alpha_bar of the next schedule entry,
   * f_theta(x, t) = c_skip(t) x + c_out(t) x0(x, t) = "denoised".
   */
  function scalars(index: number) {
    const ts = state.timesteps;
    const t = ts[index];
    const isLast = index === state.ready('step') - 1;
    const nextT = index + 1 < ts.length ? ts[index + 1] : t;
    const aT = alphasCumprod[t];
    const aNext = nextT >= 0 ? alphasCumprod[nextT] : finalAlphaCumprod;
    // 1. boundary condition scalings with s = t * timestep_scaling (c_skip(0) = 1, c_out(0) = 0).
    const s = t * config.timestep_scaling;
    const cSkip = (SIGMA_DATA * SIGMA_DATA) / (s * s + SIGMA_DATA * SIGMA_DATA);
    const cOut = s / Math.sqrt(s * s + SIGMA_DATA * SIGMA_DATA);
    return { isLast, aT, sqA: Math.sqrt(aT), sqB: Math.sqrt(1 - aT), cSkip, cOut, cDen: Math.sqrt(aNext), cNoise: Math.sqrt(1 - aNext) };
  }

  return defineScheduler<LCMConfig>({
    config,
    alphasCumprod,
    state,

    setTimesteps(n: number, opts?: SetTimestepsOptions) {
      const original = opts?.originalInferenceSteps ?? config.original_inference_steps;
      if (!Number.isInteger(original) || original < 1 || original > T) {
        throw new SchedulerError(
          'SCHEDULER_INVALID_STEPS',
          `${CLS}: originalInferenceSteps must be an integer in [1, ${T}] (num_train_timesteps), got ${original}.`,
        );
      }
      const custom = checkSteps(CLS, n, original, `original_inference_steps = ${original}`, opts?.timesteps, T, true);
      state.set(custom ?? lcmTimesteps(T, original, n), n);
    },

    step(modelOutput: Float32Array, t: number, sample: Float32Array, opts?: StepOptions): StepResult {
      state.ready('step');
      checkSameLength(`${CLS}.step`, sample, modelOutput, 'modelOutput');
      const { isLast, sqA, sqB, cSkip, cOut, cDen, cNoise } = scalars(state.index('step', t));
      // 2. noise for the next consistency step (Alg. 1 line 5); none after the last step.
      const noise = isLast ? null : takeNoise(CLS, sample.length, opts);
      const clip = clipBound(config);
      // predOriginalSample is `denoised`; after the last step prevSample is `denoised` too (no noise).
      // 3. x0 from the prediction type, clipped if configured.
      const x0s = alphaSpaceX0(config.prediction_type, sample, modelOutput, sqA, sqB, clip);
      const { n, prev, x0: x0Out } = stepOutputs(sample);
      for (let i = 0; i < n; i++) {
        // 4. denoised = c_out x0 + c_skip x; 5. re-noise to the next timestep unless this is the last step.
        const d = cOut * x0s[i] + cSkip * sample[i];
        x0Out[i] = d;
        prev[i] = noise ? cDen * d + cNoise * noise[i] : d;
      }
      state.cursor!.advance();
      return { prevSample: prev, predOriginalSample: x0Out };
    },

    stepCoefficients(i: number): StepCoefficients {
      const k = scalars(i);
      const { ax, am } = alphaSpaceCoefficients(config.prediction_type, k.aT);
      const cDen = k.isLast ? 1 : k.cDen;
      return {
        timestep: state.timesteps[i], inScale: 1, ax, am, ex: 0, em: 0, clip: clipBound(config),
        c0: cDen * k.cOut, cx: cDen * k.cSkip, ce: 0, cz: k.isLast ? 0 : k.cNoise, noise: !k.isLast,
      };
    },

    needsNoise(t: number) {
      const idx = state.cursor!.peek(state.timesteps, t);
      return idx === null || state.numInferenceSteps === null || idx !== state.numInferenceSteps - 1;
    },
    isStochastic() {
      return state.numInferenceSteps === null || state.numInferenceSteps > 1;
    },
  });
}
