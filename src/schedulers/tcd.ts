/**
 * TCD: Zheng et al. 2024, "Trajectory Consistency Distillation" (arXiv:2402.19159), strategic stochastic sampling
 * (SSS, eq. 13-14) with gamma = `eta` ("stochasticity"): each step predicts x0 and eps, jumps to
 * s = floor((1 - gamma) * t_prev) along the PF-ODE (pred_noised_sample), then re-noises forward to t_prev.
 * gamma = 0 is deterministic (DDIM-like jumps to t_prev); gamma = 1 is LCM-like multistep consistency sampling.
 * Matches diffusers' TCDScheduler (scheduling_tcd.py), in float32 as diffusers computes it.
 */
import { alphaSpaceCoefficients, defineScheduler, resolveAlphaSpace, ScheduleState, stepOutputs } from './base';
import { checkSameLength, checkSteps, takeNoise, type ClipConfig, type ConfigSpec } from './config';
import { SchedulerError } from './errors';
import { LCM_DEFAULTS, LCM_SPEC } from './lcm';
import { linspace } from './schedule';
import type { CommonConfig, Scheduler, SetTimestepsOptions, StepCoefficients, StepOptions, StepResult } from './types';

/** Same keys and defaults as LCM (clip_sample is kept for config round-trips; upstream's TCD step never clips). */
export interface TCDConfig extends CommonConfig, ClipConfig {
  _class_name: 'TCDScheduler';
  /** Default 50. Length N' of the distillation schedule (k = T // N' apart); inference picks a subset of it. */
  original_inference_steps: number;
  /** Default 10. Kept for config round-trips (upstream's TCD step does not use it). */
  timestep_scaling: number;
  /** Default true. */
  set_alpha_to_one: boolean;
}

/** diffusers' TCDScheduler takes LCMScheduler's config keys and defaults. */
export const TCD_DEFAULTS: Omit<TCDConfig, '_class_name'> = LCM_DEFAULTS;
const SPEC: ConfigSpec<TCDConfig> = LCM_SPEC;

const CLS = 'TCDScheduler';
/** diffusers' default eta (gamma) of TCDScheduler.step and of the TCD pipeline. */
export const TCD_DEFAULT_GAMMA = 0.3;
const f32 = Math.fround;

/**
 * TCD timesteps (diffusers' set_timesteps, strength 1): origin = [1..N'] * (T // N') - 1, or 0..T-1 when
 * `originalInferenceSteps` is passed to setTimesteps (as upstream does), reversed, at floor(linspace(0, len, N,
 * endpoint=false)).
 */
export function tcdTimesteps(T: number, originalSteps: number, n: number, originalPassed: boolean): number[] {
  const origin: number[] = [];
  if (originalPassed) for (let t = T - 1; t >= 0; t--) origin.push(t);
  else {
    const k = Math.floor(T / originalSteps);
    for (let i = originalSteps; i >= 1; i--) origin.push(i * k - 1);
  }
  return linspace(0, origin.length, n, false).map((v) => origin[Math.floor(v)]);
}

function gammaOf(opts?: { eta?: number }): number {
  const eta = opts?.eta ?? TCD_DEFAULT_GAMMA;
  if (!(eta >= 0 && eta <= 1)) throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `${CLS}.step: eta (gamma) must be in [0, 1], got ${eta}.`);
  return eta;
}

export function createTCDScheduler(rawConfig: Record<string, unknown> = {}): Scheduler<TCDConfig> {
  const { config, T, alphasCumprod } = resolveAlphaSpace<TCDConfig>(CLS, rawConfig, TCD_DEFAULTS, SPEC);
  const finalAlphaCumprod = config.set_alpha_to_one ? 1 : alphasCumprod[0];
  const state = new ScheduleState(CLS, true);

  /**
   * The scalars of step `index` with gamma (`step` and `stepCoefficients` both use them). Symbols (TCD eq. 13-14):
   * t, t' = the next schedule entry (0 after the last), s = floor((1 - gamma) t'), a = alpha_bar.
   */
  function scalars(index: number, gamma: number) {
    const n = state.ready('step');
    const ts = state.timesteps;
    const t = ts[index];
    const prevT = index + 1 < ts.length ? ts[index + 1] : 0;
    // torch: (1 - eta) * int64 tensor -> float32, floor, to long.
    const s = Math.floor(f32(f32(1 - gamma) * prevT));
    const aT = alphasCumprod[t];
    const aPrev = prevT >= 0 ? alphasCumprod[prevT] : finalAlphaCumprod;
    const aS = alphasCumprod[s];
    const ratio = f32(aPrev / aS);
    const noisy = gamma > 0 && index !== n - 1;
    return {
      aT, sqA: f32(Math.sqrt(aT)), sqB: f32(Math.sqrt(f32(1 - aT))), sqAs: f32(Math.sqrt(aS)), sqBs: f32(Math.sqrt(f32(1 - aS))),
      noisy, cN: noisy ? f32(Math.sqrt(ratio)) : 1, cZ: noisy ? f32(Math.sqrt(f32(1 - ratio))) : 0,
    };
  }

  return defineScheduler<TCDConfig>({
    config,
    alphasCumprod,
    state,

    setTimesteps(n: number, opts?: SetTimestepsOptions) {
      const passed = opts?.originalInferenceSteps !== undefined;
      const original = opts?.originalInferenceSteps ?? config.original_inference_steps;
      if (!Number.isInteger(original) || original < 1 || original > T) {
        throw new SchedulerError('SCHEDULER_INVALID_STEPS', `${CLS}: originalInferenceSteps must be an integer in [1, ${T}] (num_train_timesteps), got ${original}.`);
      }
      const custom = checkSteps(CLS, n, original, `original_inference_steps = ${original}`, opts?.timesteps, T, true);
      state.set(custom ?? tcdTimesteps(T, original, n, passed), n);
    },

    step(modelOutput: Float32Array, t: number, sample: Float32Array, opts?: StepOptions): StepResult {
      state.ready('step');
      checkSameLength(`${CLS}.step`, sample, modelOutput, 'modelOutput');
      const k = scalars(state.index('step', t), gammaOf(opts));
      const noise = k.noisy ? takeNoise(CLS, sample.length, opts) : null;
      const pred = config.prediction_type;
      const { n, prev, x0: x0Out } = stepOutputs(sample);
      for (let i = 0; i < n; i++) {
        const x = sample[i];
        const m = modelOutput[i];
        // 1. x0 and eps from the prediction type.
        let x0: number;
        let eps: number;
        if (pred === 'epsilon') {
          x0 = f32(f32(x - f32(k.sqB * m)) / k.sqA);
          eps = m;
        } else if (pred === 'sample') {
          x0 = m;
          eps = f32(f32(x - f32(k.sqA * x0)) / k.sqB);
        } else {
          x0 = f32(f32(k.sqA * x) - f32(k.sqB * m));
          eps = f32(f32(k.sqA * m) + f32(k.sqB * x));
        }
        // 2. pred_noised_sample: x at s on the PF-ODE; 3. forward-noise it to t' (gamma > 0, not the last step).
        const noised = f32(f32(k.sqAs * x0) + f32(k.sqBs * eps));
        prev[i] = noise ? f32(f32(k.cN * noised) + f32(k.cZ * noise[i])) : noised;
        x0Out[i] = x0;
      }
      state.cursor!.advance();
      return { prevSample: prev, predOriginalSample: x0Out };
    },

    stepCoefficients(i: number, opts?: { eta?: number }): StepCoefficients {
      const k = scalars(i, gammaOf(opts));
      const c = alphaSpaceCoefficients(config.prediction_type, k.aT);
      return {
        timestep: state.timesteps[i], inScale: 1, ...c, clip: Infinity,
        c0: k.cN * k.sqAs, cx: 0, ce: k.cN * k.sqBs, cz: k.cZ, noise: k.noisy,
      };
    },

    needsNoise(t: number, opts?: { eta?: number }) {
      if (gammaOf(opts) === 0) return false;
      const idx = state.cursor!.peek(state.timesteps, t);
      return idx === null || state.numInferenceSteps === null || idx !== state.numInferenceSteps - 1;
    },
    isStochastic(opts?: { eta?: number }) {
      return gammaOf(opts) > 0 && (state.numInferenceSteps === null || state.numInferenceSteps > 1);
    },
  });
}
