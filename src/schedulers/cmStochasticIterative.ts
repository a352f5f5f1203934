/**
 * Consistency models' multistep sampling: Song et al. 2023, "Consistency Models" (arXiv:2303.01469), Algorithm 1,
 * on the Karras et al. 2022 sigma ramp (rho = 7) with the EDM boundary-condition parametrisation (sigma_data).
 * Matches diffusers' CMStochasticIterativeScheduler (scheduling_consistency_models.py), in float32 as diffusers
 * computes it.
 *
 * The class has no beta schedule: sigmas are the Karras ramp over `num_train_timesteps` discretisation points, and
 * the model's timestep is t = 250 ln(sigma) (float64, often negative). The shared beta keys are resolved with the
 * common defaults but unused; `alphasCumprod` is the alpha-bar equivalent 1 / (1 + sigma_i^2) of the training ramp,
 * in ascending sigma (sigma_min first), for code that reads it generically.
 */
import { defineScheduler, ScheduleState, stepOutputs } from './base';
import { checkSameLength, COMMON_DEFAULTS, COMMON_SPEC, resolveConfig, takeNoise, type ConfigSpec } from './config';
import { SchedulerError } from './errors';
import { linspace } from './schedule';
import type { CommonConfig, Scheduler, SetTimestepsOptions, StepCoefficients, StepOptions, StepResult } from './types';

export interface CMStochasticIterativeConfig extends CommonConfig {
  _class_name: 'CMStochasticIterativeScheduler';
  /** Default 40: discretisation points N of the Karras ramp the model was trained on (timesteps index it). */
  num_train_timesteps: number;
  /** Defaults 0.002 and 80: the ends of the ramp. */
  sigma_min: number;
  sigma_max: number;
  /** Default 0.5: the data std of the EDM / CM boundary condition (c_skip, c_out). */
  sigma_data: number;
  /** Default 1: scale of the re-noising noise. */
  s_noise: number;
  /** Default 7. */
  rho: number;
  /** Default true: clamp the denoised sample to [-1, 1]. */
  clip_denoised: boolean;
}

export const CM_STOCHASTIC_ITERATIVE_DEFAULTS: Omit<CMStochasticIterativeConfig, '_class_name'> = {
  ...COMMON_DEFAULTS,
  num_train_timesteps: 40,
  sigma_min: 0.002,
  sigma_max: 80.0,
  sigma_data: 0.5,
  s_noise: 1.0,
  rho: 7.0,
  clip_denoised: true,
};

const SPEC: ConfigSpec<CMStochasticIterativeConfig> = {
  ...COMMON_SPEC,
  sigma_min: { type: 'number', min: 0 },
  sigma_max: { type: 'number', min: 0, exclusiveMin: true },
  sigma_data: { type: 'number', min: 0, exclusiveMin: true },
  s_noise: { type: 'number', min: 0 },
  rho: { type: 'number', min: 0, exclusiveMin: true },
  clip_denoised: { type: 'boolean' },
};

const CLS = 'CMStochasticIterativeScheduler';
const f32 = Math.fround;

export function createCMStochasticIterativeScheduler(rawConfig: Record<string, unknown> = {}): Scheduler<CMStochasticIterativeConfig> {
  const config = resolveConfig<CMStochasticIterativeConfig>(CLS, rawConfig, CM_STOCHASTIC_ITERATIVE_DEFAULTS, SPEC);
  const T = config.num_train_timesteps;
  const { sigma_min: sMin, sigma_max: sMax, sigma_data: sd, rho } = config;
  if (sMax <= sMin) throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `${CLS}: sigma_max (${sMax}) must be above sigma_min (${sMin}).`);

  /** Karras et al. eq. 5 at ramp positions r in [0, 1] (0 = sigma_max), float64 as numpy. */
  const karras = (ramp: number[]) => {
    const minInv = sMin ** (1 / rho);
    const maxInv = sMax ** (1 / rho);
    return ramp.map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
  };
  /** diffusers' sigma_to_t: the model's timestep for a sigma. */
  const sigmaToT = (s: number) => 1000 * 0.25 * Math.log(s + 1e-44);

  const trainSigmas = karras(linspace(0, 1, T));
  const alphasCumprod = Float64Array.from([...trainSigmas].reverse(), (s) => f32(1 / (1 + s * s)));
  const state = new ScheduleState(CLS, true, trainSigmas.map(f32));

  /** Step `index`'s scalars. Symbols (CM Alg. 1, EDM boundary condition): c_skip(s), c_out(s) at s = sigma. */
  function scalars(index: number) {
    const sig = state.sigmas!;
    const sigma = sig[index];
    const next = sig[index + 1];
    const sd2 = f32(sd * sd);
    const sm = f32(sigma - sMin);
    const cSkip = f32(sd2 / f32(f32(sm * sm) + sd2));
    const cOut = f32(f32(sm * sd) / f32(Math.sqrt(f32(f32(sigma * sigma) + sd2))));
    const hat = Math.min(Math.max(next, sMin), sMax);
    const cNoise = f32(Math.sqrt(f32(f32(hat * hat) - f32(sMin * sMin))));
    return { sigma, cSkip, cOut, cNoise, inDenom: f32(Math.sqrt(f32(f32(sigma * sigma) + sd2))) };
  }

  const noisy = () => state.timesteps.length > 1;

  return defineScheduler<CMStochasticIterativeConfig>({
    config,
    alphasCumprod,
    state,
    initNoiseSigma: () => sMax,

    setTimesteps(n: number, opts?: SetTimestepsOptions) {
      if (!Number.isInteger(n) || n < 1) throw new SchedulerError('SCHEDULER_INVALID_STEPS', `${CLS}: numInferenceSteps must be an integer >= 1, got ${n}.`);
      let ts: number[];
      const custom = opts?.timesteps;
      if (custom !== undefined) {
        // diffusers' checks: descending, the first below num_train_timesteps (integers: they index the ramp).
        if (!Array.isArray(custom) || custom.length !== n) {
          throw new SchedulerError('SCHEDULER_SHAPE_MISMATCH', `${CLS}: numInferenceSteps = ${n} but ${Array.isArray(custom) ? custom.length : 0} custom timesteps were given; they must match.`);
        }
        custom.forEach((t, i) => {
          if (!Number.isInteger(t) || t < 0) throw new SchedulerError('SCHEDULER_INVALID_TIMESTEPS', `${CLS}: custom timesteps must be integers >= 0; entry ${i} is ${t}.`);
          if (i > 0 && t >= custom[i - 1]) throw new SchedulerError('SCHEDULER_INVALID_TIMESTEPS', '`timesteps` must be in descending order.');
        });
        if (custom[0] >= T) throw new SchedulerError('SCHEDULER_INVALID_TIMESTEPS', `\`timesteps\` must start before \`self.config.train_timesteps\`: ${T}.`);
        ts = custom.slice();
      } else {
        if (n > T) throw new SchedulerError('SCHEDULER_INVALID_STEPS', `${CLS}: numInferenceSteps = ${n} is above num_train_timesteps = ${T}.`);
        const ratio = Math.floor(T / n);
        ts = [];
        for (let k = n - 1; k >= 0; k--) ts.push(k * ratio);
      }
      // ramp = reversed(timesteps) / (T - 1); sigmas = karras(ramp); timesteps = sigma_to_t(sigmas).
      const sigmas = karras([...ts].reverse().map((t) => t / (T - 1)));
      state.set(sigmas.map(sigmaToT), n, [...sigmas, sMin].map(f32));
    },

    scaleModelInput(sample: Float32Array, t: number) {
      const { inDenom } = scalars(state.index('scaleModelInput', t));
      return sample.map((x) => x / inDenom);
    },

    step(modelOutput: Float32Array, t: number, sample: Float32Array, opts?: StepOptions): StepResult {
      state.ready('step');
      checkSameLength(`${CLS}.step`, sample, modelOutput, 'modelOutput');
      const { cSkip, cOut, cNoise } = scalars(state.index('step', t));
      // diffusers draws noise whenever the schedule has more than one step (the last step's coefficient is 0).
      const noise = noisy() ? takeNoise(CLS, sample.length, opts) : null;
      const clip = config.clip_denoised ? 1 : Infinity;
      const sNoise = f32(config.s_noise);
      const { n, prev, x0: x0Out } = stepOutputs(sample);
      for (let i = 0; i < n; i++) {
        // 1. denoised = c_out F(x) + c_skip x (the consistency function), clamped; 2. re-noise to sigma_next.
        let d = f32(f32(cOut * modelOutput[i]) + f32(cSkip * sample[i]));
        if (d > clip) d = clip;
        else if (d < -clip) d = -clip;
        x0Out[i] = d;
        prev[i] = noise ? f32(d + f32(f32(noise[i] * sNoise) * cNoise)) : d;
      }
      state.cursor!.advance();
      return { prevSample: prev, predOriginalSample: x0Out };
    },

    stepCoefficients(i: number): StepCoefficients {
      const k = scalars(i);
      return {
        timestep: state.timesteps[i], inScale: 1 / k.inDenom, ax: k.cSkip, am: k.cOut, ex: 0, em: 0, clip: config.clip_denoised ? 1 : Infinity,
        c0: 1, cx: 0, ce: 0, cz: noisy() ? config.s_noise * k.cNoise : 0, noise: noisy(),
      };
    },

    addNoise(original: Float32Array, noise: Float32Array, t: number) {
      checkSameLength(`${CLS}.addNoise`, original, noise, 'noise');
      const ts = state.timesteps;
      const first = ts.indexOf(t);
      if (first < 0) throw new SchedulerError('SCHEDULER_INVALID_TIMESTEPS', `${CLS}.addNoise: timestep ${t} is not in the current schedule.`);
      const second = ts.indexOf(t, first + 1);
      const sigma = state.sigmas![second >= 0 ? second : first];
      return original.map((x, i) => x + f32(noise[i] * sigma));
    },

    needsNoise() {
      return noisy();
    },
    isStochastic() {
      return state.numInferenceSteps === null || noisy();
    },
  });
}
