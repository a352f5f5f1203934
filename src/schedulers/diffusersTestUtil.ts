/**
 * The fixtures of diffusers' scheduler tests (tests/schedulers/test_schedulers.py, SchedulerCommonTest), so that
 * the full-loop sums and means of tests/schedulers/test_scheduler_*.py can be checked here. Test-only (not
 * exported from index.ts).
 */
const B = 4;
const C = 3;
const H = 8;
const W = 8;
export const DUMMY_N = B * C * H * W;

/** arange(n) (flipped for the noise) reshaped to (C, H, W, B), / n, permuted to (B, C, H, W); flat NCHW. */
function deter(flip: boolean): Float32Array {
  const out = new Float32Array(DUMMY_N);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      for (let h = 0; h < H; h++) {
        for (let w = 0; w < W; w++) {
          const src = ((c * H + h) * W + w) * B + b;
          const v = flip ? DUMMY_N - 1 - src : src;
          out[((b * C + c) * H + h) * W + w] = v / DUMMY_N;
        }
      }
    }
  }
  return out;
}

/** `dummy_sample_deter`. */
export function dummySampleDeter(): Float32Array {
  return deter(false);
}

/** `dummy_noise_deter`. */
export function dummyNoiseDeter(): Float32Array {
  return deter(true);
}

/** `dummy_model`: sample * t / (t + 1), in float32 as torch computes it. */
export function dummyModel(sample: Float32Array, t: number): Float32Array {
  const tf = Math.fround(t);
  const out = new Float32Array(sample.length);
  for (let i = 0; i < sample.length; i++) out[i] = Math.fround(sample[i] * tf) / Math.fround(tf + 1);
  return out;
}

/** torch.sum(torch.abs(x)) and torch.mean(torch.abs(x)), in float64 (within 1e-4 of torch's float32 sum). */
export function absSumMean(x: Float32Array): { sum: number; mean: number } {
  let s = 0;
  for (const v of x) s += Math.abs(v);
  return { sum: s, mean: s / x.length };
}
