/**
 * DPM-Solver++ (2M): Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic
 * Models" (arXiv:2211.01095), the multistep second-order data-prediction solver (Alg. 2, "midpoint"; or "heun").
 * Matches diffusers' DPMSolverMultistepScheduler (scheduling_dpmsolver_multistep.py) for algorithm_type
 * "dpmsolver++", solver_order 1 or 2, in float32 as diffusers computes it.
 *
 * Not affine in (sample, model output) alone: the second-order step also reads the previous step's x0, so there is
 * no `stepCoefficients` (the registry row says gpuStep: false and the engine runs the CPU loop).
 */
import { defineScheduler, ScheduleState, stepOutputs } from './base';
import { checkSameLength, checkScheduleLength, checkSteps, COMMON_DEFAULTS, COMMON_SPEC, rejectUnsupported, resolveConfig, type ConfigSpec } from './config';
import { SchedulerError } from './errors';
import { eulerAlphasCumprod } from './euler';
import { arange, interpIndex, karrasSigmas, linspace, roundHalfEven, sigmasFromAlphasCumprod, sigmaToT } from './schedule';
import type { CommonConfig, Scheduler, SetTimestepsOptions, StepResult } from './types';

export interface DPMSolverMultistepConfig extends CommonConfig {
  _class_name: 'DPMSolverMultistepScheduler';
  /** Default 2 (DPM-Solver++ 2M). 1 is DDIM-equivalent; 3 is not supported here. */
  solver_order: number;
  /** Default "dpmsolver++" (the only one supported; "dpmsolver" and the SDE variants are rejected). */
  algorithm_type: 'dpmsolver++';
  /** Default "midpoint" (the paper's 2M); "heun" is the other second-order rule. */
  solver_type: 'midpoint' | 'heun';
  /** Default true: first-order final step (and second-order second-to-last) when there are fewer than 15 steps. */
  lower_order_final: boolean;
  /** Default false: first-order last step whatever the number of steps. */
  euler_at_final: boolean;
  /** Default false: Karras et al. eq. 5 sigmas (rho = 7) over the whole training sigma range, timesteps rounded. */
  use_karras_sigmas: boolean;
  /** Default "zero": the last step goes to sigma = 0 (then always first order). "sigma_min": to sigma of t = 0. */
  final_sigmas_type: 'zero' | 'sigma_min';
  /** Default -Infinity (JSON null): clip the schedule's start where lambda(t) = log(alpha_t / sigma_t) falls below it. */
  lambda_min_clipped: number;
  /** Default false; true is rejected. */
  thresholding: boolean;
  use_exponential_sigmas: boolean;
  use_beta_sigmas: boolean;
  use_lu_lambdas: boolean;
  use_flow_sigmas: boolean;
  /** Default null; "learned" / "learned_range" models are not supported. */
  variance_type: null;
}

export const DPM_SOLVER_MULTISTEP_DEFAULTS: Omit<DPMSolverMultistepConfig, '_class_name'> = {
  ...COMMON_DEFAULTS,
  timestep_spacing: 'linspace',
  solver_order: 2,
  algorithm_type: 'dpmsolver++',
  solver_type: 'midpoint',
  lower_order_final: true,
  euler_at_final: false,
  use_karras_sigmas: false,
  final_sigmas_type: 'zero',
  lambda_min_clipped: -Infinity,
  thresholding: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_lu_lambdas: false,
  use_flow_sigmas: false,
  variance_type: null,
};

const SPEC: ConfigSpec<DPMSolverMultistepConfig> = {
  ...COMMON_SPEC,
  solver_order: { type: 'number', integer: true, min: 1 },
  algorithm_type: { type: 'enum', values: ['dpmsolver++', 'dpmsolver', 'sde-dpmsolver++', 'sde-dpmsolver', 'deis'], supported: ['dpmsolver++'] },
  solver_type: { type: 'enum', values: ['midpoint', 'heun'] },
  lower_order_final: { type: 'boolean' },
  euler_at_final: { type: 'boolean' },
  use_karras_sigmas: { type: 'boolean' },
  final_sigmas_type: { type: 'enum', values: ['zero', 'sigma_min'] },
  lambda_min_clipped: { type: 'number' },
  thresholding: { type: 'boolean' },
  use_exponential_sigmas: { type: 'boolean' },
  use_beta_sigmas: { type: 'boolean' },
  use_lu_lambdas: { type: 'boolean' },
  use_flow_sigmas: { type: 'boolean' },
  variance_type: { type: 'enum', values: ['learned', 'learned_range'], supported: [] },
};

const CLS = 'DPMSolverMultistepScheduler';
const f32 = Math.fround;

/** alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma alpha_t, lambda = log alpha_t - log sigma_t (float32 ops). */
function alphaSigma(sigma: number): { a: number; s: number; lambda: number } {
  const a = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
  const s = f32(sigma * a);
  return { a, s, lambda: f32(f32(Math.log(a)) - f32(Math.log(s))) };
}

export function createDPMSolverMultistepScheduler(rawConfig: Record<string, unknown> = {}): Scheduler<DPMSolverMultistepConfig> {
  const config = resolveConfig<DPMSolverMultistepConfig>(CLS, rawConfig, DPM_SOLVER_MULTISTEP_DEFAULTS, SPEC);
  rejectUnsupported(CLS, 'thresholding', config.thresholding, [false]);
  rejectUnsupported(CLS, 'solver_order', config.solver_order, [1, 2]);
  for (const k of ['use_exponential_sigmas', 'use_beta_sigmas', 'use_lu_lambdas', 'use_flow_sigmas'] as const) rejectUnsupported(CLS, k, config[k], [false]);
  const T = config.num_train_timesteps;
  const alphasCumprod = eulerAlphasCumprod(config);
  const table = sigmasFromAlphasCumprod(alphasCumprod);
  const state = new ScheduleState(CLS, true, [...Array.from(table).reverse(), 0]);
  /** The multistep memory: x0 of the previous step and how many lower-order steps were taken (diffusers' state). */
  let prevX0: Float32Array | null = null;
  let lowerOrderNums = 0;

  /** diffusers: last_timestep = T - searchsorted(flip(lambda_t), lambda_min_clipped). */
  function lastTimestep(): number {
    if (config.lambda_min_clipped === -Infinity) return T;
    let clipped = 0;
    for (let t = T - 1; t >= 0; t--) {
      const a = f32(Math.sqrt(alphasCumprod[t]));
      const s = f32(Math.sqrt(f32(1 - alphasCumprod[t])));
      if (f32(f32(Math.log(a)) - f32(Math.log(s))) < config.lambda_min_clipped) clipped++;
      else break;
    }
    return T - clipped;
  }

  /** diffusers' set_timesteps spacing for this class (it spaces N + 1 points and drops the last for linspace / leading). */
  function spaced(n: number): number[] {
    const last = lastTimestep();
    if (config.timestep_spacing === 'linspace') return linspace(0, last - 1, n + 1).map(roundHalfEven).reverse().slice(0, -1);
    if (config.timestep_spacing === 'leading') {
      const ratio = Math.floor(last / (n + 1));
      const out: number[] = [];
      for (let k = n; k >= 1; k--) out.push(k * ratio + config.steps_offset);
      return out;
    }
    return arange(last, 0, -T / n).map((v) => roundHalfEven(v) - 1);
  }

  function setTimesteps(n: number, opts?: SetTimestepsOptions): void {
    const custom = checkSteps(CLS, n, T, 'num_train_timesteps', opts?.timesteps, T, true);
    if (custom && config.use_karras_sigmas) {
      throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `${CLS}: cannot use custom timesteps with use_karras_sigmas = true (as diffusers).`);
    }
    let timesteps = custom ?? spaced(n);
    if (!custom) {
      checkScheduleLength(CLS, timesteps, n, config.timestep_spacing);
      for (const t of timesteps) {
        if (t >= T) throw new SchedulerError('SCHEDULER_INVALID_STEPS', `${CLS}: ${config.timestep_spacing} spacing with ${n} steps reaches t = ${t} >= ${T}; choose another step count.`);
      }
    }
    let sigmas: number[];
    if (config.use_karras_sigmas) {
      // Karras ramp between sigma(0) and sigma(T - 1) of the full training table; timesteps by log-sigma interpolation.
      sigmas = karrasSigmas(table[0], table[T - 1], n);
      const logSigmas = Array.from(table, (s) => f32(Math.log(s)));
      timesteps = sigmas.map((s) => sigmaToT(s, logSigmas));
      if (config.beta_schedule !== 'squaredcos_cap_v2') timesteps = timesteps.map(roundHalfEven);
      // diffusers casts to int64 (truncation) after the optional rounding.
      timesteps = timesteps.map(Math.trunc);
    } else {
      sigmas = timesteps.map((t) => interpIndex(t, table));
    }
    const last = config.final_sigmas_type === 'sigma_min' ? table[0] : 0;
    state.set(timesteps, timesteps.length, [...sigmas, last].map(f32));
    prevX0 = null;
    lowerOrderNums = 0;
  }

  return defineScheduler<DPMSolverMultistepConfig>({
    config,
    alphasCumprod,
    state,
    setTimesteps,

    step(modelOutput: Float32Array, t: number, sample: Float32Array): StepResult {
      const nSteps = state.ready('step');
      checkSameLength(`${CLS}.step`, sample, modelOutput, 'modelOutput');
      const idx = state.index('step', t);
      if (idx === 0) {
        prevX0 = null;
        lowerOrderNums = 0;
      }
      const sig = state.sigmas!;
      const few = config.lower_order_final && nSteps < 15;
      const lowerOrderFinal = idx === nSteps - 1 && (config.euler_at_final || few || config.final_sigmas_type === 'zero');
      const lowerOrderSecond = idx === nSteps - 2 && few;
      void lowerOrderSecond; // only decides between orders 2 and 3; solver_order <= 2 here
      const firstOrder = config.solver_order === 1 || lowerOrderNums < 1 || lowerOrderFinal || prevX0 === null;

      // 1. x0 from the prediction type at sigma_s0 (convert_model_output, data prediction).
      const s0 = alphaSigma(sig[idx]);
      const tt = alphaSigma(sig[idx + 1]);
      const pred = config.prediction_type;
      const { n, prev, x0: x0Out } = stepOutputs(sample);
      for (let i = 0; i < n; i++) {
        const x = sample[i];
        const m = modelOutput[i];
        x0Out[i] = pred === 'epsilon' ? f32(f32(x - f32(s0.s * m)) / s0.a) : pred === 'v_prediction' ? f32(f32(s0.a * x) - f32(s0.s * m)) : m;
      }
      // 2. h = lambda_t - lambda_s0; phi = alpha_t (e^-h - 1) (float32 0-d tensors in diffusers).
      const h = f32(tt.lambda - s0.lambda);
      const phi = f32(tt.a * f32(f32(Math.exp(-h)) - 1));
      const cx = f32(tt.s / s0.s);
      if (firstOrder) {
        // DPM-Solver++ 1 (= DDIM): x_t = (sigma_t / sigma_s) x - alpha_t (e^-h - 1) x0.
        for (let i = 0; i < n; i++) prev[i] = f32(f32(cx * sample[i]) - f32(phi * x0Out[i]));
      } else {
        // DPM-Solver++ 2M: D0 = x0, D1 = (x0 - x0_prev) / r0 with r0 = h_0 / h.
        const s1 = alphaSigma(sig[idx - 1]);
        const h0 = f32(s0.lambda - s1.lambda);
        const invR0 = f32(1 / f32(h0 / h));
        const c1 = config.solver_type === 'midpoint' ? f32(0.5 * phi) : f32(tt.a * f32(f32(f32(f32(Math.exp(-h)) - 1) / h) + 1));
        const p = prevX0!;
        for (let i = 0; i < n; i++) {
          const d0 = x0Out[i];
          const d1 = f32(invR0 * f32(d0 - p[i]));
          const base = f32(f32(cx * sample[i]) - f32(phi * d0));
          prev[i] = config.solver_type === 'midpoint' ? f32(base - f32(c1 * d1)) : f32(base + f32(c1 * d1));
        }
      }
      prevX0 = x0Out.slice();
      if (lowerOrderNums < config.solver_order) lowerOrderNums++;
      state.cursor!.advance();
      return { prevSample: prev, predOriginalSample: x0Out };
    },

    addNoise(original: Float32Array, noise: Float32Array, t: number) {
      checkSameLength(`${CLS}.addNoise`, original, noise, 'noise');
      const ts = state.timesteps;
      const first = ts.indexOf(t);
      // diffusers' index_for_timestep: the second match if t occurs twice, the last step if it does not occur.
      const second = first >= 0 ? ts.indexOf(t, first + 1) : -1;
      const idx = first < 0 ? ts.length - 1 : second >= 0 ? second : first;
      if (idx < 0) throw new SchedulerError('SCHEDULER_NOT_READY', `${CLS}.addNoise: call setTimesteps first.`);
      const { a, s } = alphaSigma(state.sigmas![idx]);
      return original.map((x, i) => f32(a * x) + f32(s * noise[i]));
    },

    needsNoise() {
      return false;
    },
    isStochastic() {
      return false;
    },
  });
}
