/**
 * Schedule math shared by every scheduler: betas, alphas_cumprod, sigmas, timestep spacing, Karras sigmas,
 * zero-SNR rescale, and the numpy/torch rounding rules diffusers' schedules depend on.
 *
 * Unlike diffusers (which pastes these helpers into each scheduling_*.py under "# Copied from"), we import them.
 * Precision model: diffusers stores betas and alphas_cumprod as float32 tensors: betas from torch.linspace in
 * float32 (`torchLinspaceF32` reproduces its kernel value for value), cumprod accumulating in float64 on the CPU and
 * stored as float32. With those two, betas and alphas_cumprod are bit-identical to torch's (tables.test.ts).
 */

export const BETA_SCHEDULES = ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const;
export type BetaSchedule = (typeof BETA_SCHEDULES)[number];
export const TIMESTEP_SPACINGS = ['leading', 'trailing', 'linspace'] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];
export const PREDICTION_TYPES = ['epsilon', 'v_prediction', 'sample'] as const;
export type PredictionType = (typeof PREDICTION_TYPES)[number];

/** Keys every supported scheduler shares (diffusers' names). */
export interface BetaConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: BetaSchedule;
  trained_betas: number[] | null;
  rescale_betas_zero_snr: boolean;
}

const f32 = Math.fround;

/** numpy.linspace(start, stop, num) in float64 (endpoint included), numpy's formula. */
export function linspace(start: number, stop: number, num: number, endpoint = true): number[] {
  if (num <= 0) return [];
  const div = endpoint ? num - 1 : num;
  const delta = stop - start;
  const out = new Array<number>(num);
  if (div > 0) {
    const step = delta / div;
    for (let i = 0; i < num; i++) out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
  } else {
    for (let i = 0; i < num; i++) out[i] = i * delta + start;
  }
  if (endpoint && num > 1) out[num - 1] = stop;
  return out;
}

/**
 * numpy.arange(start, stop, step) for a float step, exactly as numpy computes it (multiarray/ctors.c
 * PyArray_ArangeObj + the dtype's `fill`): length = ceil((stop - start) / step); numpy stores a[0] = start and
 * a[1] = start + step, then `fill` takes delta = a[1] - a[0] (computed once, in float64) and sets
 * a[i] = start + i * delta. delta is not `step`: for arange(1000, 0, -1000/48), start + step = 979.1666666666666
 * gives delta = -20.833333333333371, so a[3] = 937.4999999999999 (not 937.5), which rounds to 937 - 1 = 936.
 */
export function arange(start: number, stop: number, step: number): number[] {
  const len = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Array<number>(len);
  if (len === 0) return out;
  out[0] = start;
  if (len === 1) return out;
  const second = start + step;
  const delta = second - start;
  out[1] = second;
  for (let i = 2; i < len; i++) out[i] = start + i * delta;
  return out;
}

/**
 * torch.linspace(start, end, steps, dtype=float32) on the CPU, value for value (PyTorch 1.13's linspace_kernel as
 * built for x86-64, checked against torch 1.13 on this project's machines): step = f32(f32(end - start) / (steps - 1));
 * element i is start + step * i below steps / 2 and end - step * (steps - 1 - i) from there, each a fused
 * multiply-add (one float32 rounding); the vectorised loop does pairs of 8-lane vectors, each lane k of a vector
 * being f32(base + f32(k * step)) from its first element `base`; the elements past the last pair take the scalar
 * formula. numpy's float64 linspace rounded to float32 differs from this in about a third of 1000 entries.
 */
export function torchLinspaceF32(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f32(f32(e - s) / (steps - 1));
  const half = Math.floor(steps / 2);
  // step * n is exact in float64 (24 + 10 bits), so one float32 rounding of the float64 result is the fma.
  const scalarAt = (i: number) => (i < half ? f32(s + step * i) : f32(e - step * (steps - 1 - i)));
  const VEC = 8;
  const vectorised = Math.floor(steps / (2 * VEC)) * 2 * VEC;
  for (let base = 0; base < vectorised; base += VEC) {
    const b = scalarAt(base);
    out[base] = b;
    for (let k = 1; k < VEC; k++) out[base + k] = f32(b + f32(k * step));
  }
  for (let i = vectorised; i < steps; i++) out[i] = scalarAt(i);
  return out;
}

/** numpy.round / torch.round: round half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Cosine schedule alpha_bar(t) of Nichol & Dhariwal 2021 (improved DDPM), eq. 17. */
function cosineAlphaBar(t: number): number {
  return Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
}

/** betas as diffusers builds them (float32 values). */
export function makeBetas(c: BetaConfig): Float64Array {
  const T = c.num_train_timesteps;
  let betas: Float64Array;
  if (c.trained_betas) {
    betas = Float64Array.from(c.trained_betas, f32);
  } else if (c.beta_schedule === 'linear') {
    betas = torchLinspaceF32(c.beta_start, c.beta_end, T);
  } else if (c.beta_schedule === 'scaled_linear') {
    // torch.linspace(sqrt(start), sqrt(end), T, float32) ** 2, squared in float32.
    betas = torchLinspaceF32(Math.sqrt(c.beta_start), Math.sqrt(c.beta_end), T).map((v) => f32(v * v));
  } else {
    betas = new Float64Array(T);
    for (let i = 0; i < T; i++) {
      betas[i] = f32(Math.min(1 - cosineAlphaBar((i + 1) / T) / cosineAlphaBar(i / T), 0.999));
    }
  }
  return c.rescale_betas_zero_snr ? rescaleZeroTerminalSnr(betas) : betas;
}

/** cumprod accumulated in float64, stored as float32 (torch.cumprod on a float32 CPU tensor). */
export function cumprodF32(alphas: Float64Array): Float64Array {
  const out = new Float64Array(alphas.length);
  let acc = 1;
  for (let i = 0; i < alphas.length; i++) {
    acc *= alphas[i];
    out[i] = f32(acc);
  }
  return out;
}

/**
 * Zero terminal SNR (Lin et al. 2023, "Common Diffusion Noise Schedules and Sample Steps are Flawed", Algorithm 1):
 * shift and scale sqrt(alphas_cumprod) so the last entry is 0 and the first is unchanged, then recover betas.
 */
export function rescaleZeroTerminalSnr(betas: Float64Array): Float64Array {
  const n = betas.length;
  const abarSqrt = cumprodF32(betas.map((b) => f32(1 - b))).map((a) => f32(Math.sqrt(a)));
  const first = abarSqrt[0];
  const last = abarSqrt[n - 1];
  const scale = f32(first / f32(first - last));
  const abar = abarSqrt.map((s) => {
    const v = f32(f32(s - last) * scale);
    return f32(v * v);
  });
  const out = new Float64Array(n);
  out[0] = f32(1 - abar[0]);
  for (let i = 1; i < n; i++) out[i] = f32(1 - f32(abar[i] / abar[i - 1]));
  return out;
}

/** alphas_cumprod from a resolved config. */
export function makeAlphasCumprod(c: BetaConfig): Float64Array {
  const betas = makeBetas(c);
  return cumprodF32(betas.map((b) => f32(1 - b)));
}

/** sigma(t) = sqrt((1 - abar_t) / abar_t), the variance-exploding noise level of each training timestep (float32). */
export function sigmasFromAlphasCumprod(abar: Float64Array): Float64Array {
  return abar.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}

/**
 * Integer timesteps for DDIM / DDPM (diffusers' set_timesteps), descending.
 * - leading:  k * floor(T / N) for k = N-1..0, plus steps_offset
 * - trailing: round(arange(T, 0, -T / N)) - 1
 * - linspace: round(linspace(0, T - 1, N)) reversed
 */
export function spacedTimesteps(spacing: TimestepSpacing, T: number, N: number, stepsOffset: number): number[] {
  if (spacing === 'leading') {
    const ratio = Math.floor(T / N);
    const out: number[] = [];
    for (let k = N - 1; k >= 0; k--) out.push(k * ratio + stepsOffset);
    return out;
  }
  if (spacing === 'trailing') return arange(T, 0, -T / N).map((v) => roundHalfEven(v) - 1);
  return linspace(0, T - 1, N).map(roundHalfEven).reverse();
}

/**
 * Float timesteps for Euler-family schedulers (float32, linspace not rounded), descending.
 */
export function spacedTimestepsFloat(spacing: TimestepSpacing, T: number, N: number, stepsOffset: number): number[] {
  if (spacing === 'linspace') return linspace(0, T - 1, N).map(f32).reverse();
  return spacedTimesteps(spacing, T, N, stepsOffset);
}

/** numpy.interp(x, [0, 1, ..., n-1], ys) for x inside or outside the range (clamped at the ends). */
export function interpIndex(x: number, ys: ArrayLike<number>): number {
  const n = ys.length;
  if (x <= 0) return ys[0];
  if (x >= n - 1) return ys[n - 1];
  const i = Math.floor(x);
  const w = x - i;
  return w === 0 ? ys[i] : ys[i] + (ys[i + 1] - ys[i]) * w;
}

/**
 * Karras et al. 2022 ("Elucidating the Design Space...", eq. 5): rho = 7 ramp from sigma_max to sigma_min.
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number): number[] {
  const rho = 7;
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  return linspace(0, 1, n).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

/** Exponential schedule: log-linear ramp from sigma_max to sigma_min. */
export function exponentialSigmas(sigmaMin: number, sigmaMax: number, n: number): number[] {
  return linspace(Math.log(sigmaMax), Math.log(sigmaMin), n).map(Math.exp);
}

/**
 * Inverse of the sigma table: the (fractional) timestep whose sigma is `sigma`, by linear interpolation of
 * log-sigma between the two neighbouring training timesteps (diffusers' _sigma_to_t). `logSigmas` ascending in t.
 */
export function sigmaToT(sigma: number, logSigmas: ArrayLike<number>): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  const n = logSigmas.length;
  // low = last index whose log-sigma is <= logSigma (count of such entries - 1), clipped to n - 2.
  let count = 0;
  for (let i = 0; i < n; i++) if (logSigma - logSigmas[i] >= 0) count++;
  // argmax of the cumsum = first index reaching the max count (0 when none qualifies).
  let lowIdx = 0;
  if (count > 0) {
    let c = 0;
    for (let i = 0; i < n; i++) {
      if (logSigma - logSigmas[i] >= 0) c++;
      if (c === count) {
        lowIdx = i;
        break;
      }
    }
  }
  lowIdx = Math.min(lowIdx, n - 2);
  const low = logSigmas[lowIdx];
  const high = logSigmas[lowIdx + 1];
  const w = Math.min(1, Math.max(0, (low - logSigma) / (low - high)));
  return (1 - w) * lowIdx + w * (lowIdx + 1);
}


/** Options of the Euler-family sigma schedule (EulerDiscrete's config keys; EulerAncestral uses the defaults). */
export interface SigmaScheduleOptions {
  spacing: TimestepSpacing;
  stepsOffset: number;
  sigmaTransform: 'none' | 'karras' | 'exponential';
  /** Overrides for the Karras / exponential ramp ends (config sigma_min / sigma_max). */
  sigmaMin: number | null;
  sigmaMax: number | null;
  /** Value appended after the last sigma: 0 ("zero") or sigma of t = 0 ("sigma_min"). */
  finalSigma: 'zero' | 'sigma_min';
  /** timestep_type "continuous" with v_prediction: timesteps are 0.25 * ln(sigma) (EDM-style c_noise). */
  continuousTimesteps: boolean;
}

/**
 * Euler-family schedule (diffusers EulerDiscreteScheduler.set_timesteps): float32 timesteps, sigmas interpolated
 * linearly in t from the training sigma table, optional Karras / exponential re-spacing (timesteps re-derived by
 * log-sigma interpolation), then the final sigma. Returns float32 values.
 */
export function sigmaSchedule(
  alphasCumprod: Float64Array,
  n: number,
  custom: number[] | null,
  o: SigmaScheduleOptions,
): { timesteps: number[]; sigmas: number[] } {
  const T = alphasCumprod.length;
  const table = sigmasFromAlphasCumprod(alphasCumprod);
  let timesteps = custom ? custom.map(f32) : spacedTimestepsFloat(o.spacing, T, n, o.stepsOffset);
  let sigmas = timesteps.map((t) => interpIndex(t, table));
  if (o.sigmaTransform !== 'none') {
    const lo = o.sigmaMin ?? sigmas[sigmas.length - 1];
    const hi = o.sigmaMax ?? sigmas[0];
    sigmas = o.sigmaTransform === 'karras' ? karrasSigmas(lo, hi, n) : exponentialSigmas(lo, hi, n);
    const logSigmas = Array.from(table, Math.log);
    timesteps = sigmas.map((s) => sigmaToT(s, logSigmas));
  }
  const last = o.finalSigma === 'zero' ? 0 : table[0];
  const sig = [...sigmas, last].map(f32);
  if (o.continuousTimesteps) timesteps = sig.slice(0, -1).map((s) => f32(0.25 * f32(Math.log(s))));
  return { timesteps: timesteps.map(f32), sigmas: sig };
}

/** diffusers' init_noise_sigma for Euler-family schedulers: max sigma, or sqrt(max^2 + 1) with leading spacing. */
export function eulerInitNoiseSigma(sigmas: readonly number[], spacing: TimestepSpacing): number {
  let max = 0;
  for (const s of sigmas) if (s > max) max = s;
  return spacing === 'leading' ? f32(Math.sqrt(f32(f32(max * max) + 1))) : max;
}
