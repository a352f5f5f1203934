/**
 * The scheduler step as per-step coefficients, for the GPU-resident loop's WGSL kernel (stepKernel.ts).
 *
 * Every supported step is element-wise and affine in (x, m, z) apart from the x0 clamp, so one kernel covers them:
 *
 *   modelIn = inScale * x                              (scaleModelInput; Euler: 1 / sqrt(sigma^2 + 1))
 *   x0u     = ax * x + am * m                          (x0 from the prediction type)
 *   eps     = ex * x + em * m                          (epsilon from the prediction type, from the unclipped x0)
 *   x0      = clamp(x0u, -clip, clip)
 *   prev    = c0 * x0 + cx * x + ce * eps + cz * z     (the update; z = this step's noise)
 *
 * with x = the current sample, m = the UNet output (after CFG), z = standard normal noise. This file is a port of
 * src/schedulers (ddim.ts, ddpm.ts, euler.ts, lcm.ts): the coefficients are read from the scheduler's own tables
 * (alphasCumprod, sigmas, timesteps, config), and tests/gpuStepPlan.test.ts checks `applyStepCpu` against
 * `scheduler.step` for every class and prediction type. The TS schedulers stay the reference implementation.
 */
import type { Scheduler } from '../../schedulers';

export interface StepCoefficients {
  timestep: number;
  inScale: number;
  ax: number;
  am: number;
  ex: number;
  em: number;
  /** Clamp bound for x0 (Infinity: none). */
  clip: number;
  c0: number;
  cx: number;
  ce: number;
  cz: number;
  /** Whether this step consumes noise (drawn in the same order as the CPU loop: scheduler.needsNoise). */
  noise: boolean;
}

/** Schedulers the GPU kernel has a port of. EulerAncestral is not ported (its sigma_up draw): the CPU loop runs it. */
export const GPU_STEP_CLASSES = new Set(['DDIMScheduler', 'DDPMScheduler', 'EulerDiscreteScheduler', 'LCMScheduler']);

type Pred = 'epsilon' | 'sample' | 'v_prediction';

/** x0 and eps coefficients in alpha-space (DDIM / DDPM / LCM). */
function alphaSpace(pred: Pred, aT: number): Pick<StepCoefficients, 'ax' | 'am' | 'ex' | 'em'> {
  const sqA = Math.sqrt(aT);
  const sqB = Math.sqrt(1 - aT);
  if (pred === 'epsilon') return { ax: 1 / sqA, am: -sqB / sqA, ex: 0, em: 1 };
  if (pred === 'sample') return { ax: 0, am: 1, ex: 1 / sqB, em: -sqA / sqB };
  return { ax: sqA, am: -sqB, ex: sqB, em: sqA };
}

/**
 * Coefficients of every step of `scheduler`'s current schedule (call setTimesteps first). Throws for a class
 * without a port (check GPU_STEP_CLASSES first).
 */
export function stepPlan(scheduler: Scheduler, opts: { eta?: number } = {}): StepCoefficients[] {
  const cfg = scheduler.config as unknown as Record<string, unknown>;
  const pred = cfg.prediction_type as Pred;
  const T = cfg.num_train_timesteps as number;
  const ac = scheduler.alphasCumprod;
  const ts = scheduler.timesteps;
  const N = scheduler.numInferenceSteps ?? ts.length;
  const clip = cfg.clip_sample === true ? (cfg.clip_sample_range as number) : Infinity;
  const finalAc = cfg.set_alpha_to_one === false ? ac[0] : 1;
  const eta = opts.eta ?? 0;
  return ts.map((t, i): StepCoefficients => {
    switch (scheduler.className) {
      case 'DDIMScheduler': {
        // ddim.ts: prev_t = t - T // N; x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev - std^2) eps + std z.
        const prevT = t - Math.floor(T / N);
        const aT = ac[t];
        const aPrev = prevT >= 0 ? ac[prevT] : finalAc;
        const std = eta * Math.sqrt(((1 - aPrev) / (1 - aT)) * (1 - aT / aPrev));
        return {
          timestep: t, inScale: 1, ...alphaSpace(pred, aT), clip,
          c0: Math.sqrt(aPrev), cx: 0, ce: Math.sqrt(1 - aPrev - std * std), cz: eta > 0 ? std : 0, noise: eta > 0,
        };
      }
      case 'DDPMScheduler': {
        // ddpm.ts: posterior mean cX0 x0 + cXt x, std from variance_type, noise for t > 0.
        const prevT = i === ts.length - 1 ? -1 : ts[i + 1];
        const aT = ac[t];
        const aPrev = prevT >= 0 ? ac[prevT] : 1;
        const curAlpha = aT / aPrev;
        const curBeta = 1 - curAlpha;
        const small = Math.max(((1 - aPrev) / (1 - aT)) * curBeta, 1e-20);
        const std = t > 0 ? Math.sqrt(cfg.variance_type === 'fixed_large' ? curBeta : small) : 0;
        const { ax, am } = alphaSpace(pred, aT);
        return {
          timestep: t, inScale: 1, ax, am, ex: 0, em: 0, clip,
          c0: (Math.sqrt(aPrev) * curBeta) / (1 - aT), cx: (Math.sqrt(curAlpha) * (1 - aPrev)) / (1 - aT), ce: 0, cz: std,
          noise: t > 0,
        };
      }
      case 'EulerDiscreteScheduler': {
        // euler.ts: x0 = D(x) in sigma-space; prev = x + (x - x0) / sigma * (sigma_next - sigma).
        const sigmas = scheduler.sigmas!;
        const sigma = sigmas[i];
        const dt = sigmas[i + 1] - sigma;
        const f = Math.fround;
        const inScale = 1 / f(Math.sqrt(f(f(sigma * sigma) + 1)));
        const x0 =
          pred === 'epsilon' ? { ax: 1, am: -sigma } : pred === 'v_prediction' ? { ax: 1 / (sigma * sigma + 1), am: -sigma / Math.sqrt(sigma * sigma + 1) } : { ax: 0, am: 1 };
        return { timestep: t, inScale, ...x0, ex: 0, em: 0, clip: Infinity, c0: -dt / sigma, cx: 1 + dt / sigma, ce: 0, cz: 0, noise: false };
      }
      case 'LCMScheduler': {
        // lcm.ts: denoised = c_out x0 + c_skip x; prev = sqrt(a_next) denoised + sqrt(1 - a_next) z, or denoised last.
        const isLast = i === N - 1;
        const nextT = i + 1 < ts.length ? ts[i + 1] : t;
        const aNext = nextT >= 0 ? ac[nextT] : finalAc;
        const s = t * (cfg.timestep_scaling as number);
        const sd2 = 0.25; // SIGMA_DATA^2
        const cSkip = sd2 / (s * s + sd2);
        const cOut = s / Math.sqrt(s * s + sd2);
        const cDen = isLast ? 1 : Math.sqrt(aNext);
        const { ax, am } = alphaSpace(pred, ac[t]);
        return {
          timestep: t, inScale: 1, ax, am, ex: 0, em: 0, clip,
          c0: cDen * cOut, cx: cDen * cSkip, ce: 0, cz: isLast ? 0 : Math.sqrt(1 - aNext), noise: !isLast,
        };
      }
      default:
        throw new Error(`No GPU step port for ${scheduler.className}; supported: ${[...GPU_STEP_CLASSES].join(', ')}.`);
    }
  });
}

/** Classifier-free guidance folded into the kernel: m = u + g (c - u) when the UNet ran a [uncond, cond] batch. */
export interface KernelInputs {
  x: Float32Array;
  /** UNet output: n values, or 2n ([uncond | cond]) with `guidance`. */
  out: Float32Array;
  guidance?: number;
  noise?: Float32Array | null;
}

/**
 * CPU reference of the WGSL step kernel, in float32 arithmetic (Math.fround at each operation as the GPU rounds).
 * Returns the new sample; tests compare it with scheduler.step and the e2e test compares the GPU with the CPU loop.
 */
export function applyStepCpu(k: StepCoefficients, inp: KernelInputs): Float32Array {
  const f = Math.fround;
  const n = inp.x.length;
  const prev = new Float32Array(n);
  const cf = {
    ax: f(k.ax), am: f(k.am), ex: f(k.ex), em: f(k.em), c0: f(k.c0), cx: f(k.cx), ce: f(k.ce), cz: f(k.cz),
    clip: k.clip === Infinity ? 3.4028234663852886e38 : f(k.clip), g: f(inp.guidance ?? 1),
  };
  for (let j = 0; j < n; j++) {
    const x = inp.x[j];
    const m = inp.guidance !== undefined ? f(inp.out[j] + f(cf.g * f(inp.out[n + j] - inp.out[j]))) : inp.out[j];
    const x0u = f(f(cf.ax * x) + f(cf.am * m));
    const eps = f(f(cf.ex * x) + f(cf.em * m));
    const x0 = Math.min(cf.clip, Math.max(-cf.clip, x0u));
    let p = f(f(cf.c0 * x0) + f(cf.cx * x));
    p = f(p + f(cf.ce * eps));
    if (inp.noise) p = f(p + f(cf.cz * inp.noise[j]));
    prev[j] = p;
  }
  return prev;
}
