/**
 * Benchmark statistics: medians, ranges, percentiles and ratios. Pure functions (unit-tested in
 * tests/benchStats.test.ts); the in-app panel and `npm run bench` both summarise with these.
 */

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  mean: number;
  p95: number;
}

function sorted(xs: readonly number[]): number[] {
  const finite = xs.filter((x) => Number.isFinite(x));
  if (finite.length !== xs.length) throw new RangeError(`Timing samples must be finite numbers, got [${xs.join(', ')}]`);
  return [...finite].sort((a, b) => a - b);
}

/** Median (mean of the two middle values for an even count). Throws on an empty list. */
export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/**
 * Percentile with linear interpolation between closest ranks (numpy's default, `method='linear'`):
 * rank = p / 100 * (n - 1).
 */
export function percentile(xs: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`Percentile must be in [0, 100], got ${p}`);
  const s = sorted(xs);
  if (s.length === 0) throw new RangeError('Cannot summarise an empty list of samples');
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

export function summarize(xs: readonly number[]): Summary {
  const s = sorted(xs);
  if (s.length === 0) throw new RangeError('Cannot summarise an empty list of samples');
  return {
    n: s.length,
    median: percentile(s, 50),
    min: s[0],
    max: s[s.length - 1],
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    p95: percentile(s, 95),
  };
}

/** a / b, or null when either is missing or b is not positive (a ratio that cannot be formed is not 0 or Infinity). */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return null;
  return a / b;
}

/**
 * Relative growth of a resource curve after warm-up: (median of the last `tail` samples) / (median of the first
 * `tail` samples after `warmup` samples) - 1. 0.05 = 5% growth. null when there are too few samples.
 */
export function growth(samples: readonly number[], warmup: number, tail = 3): number | null {
  const after = samples.slice(warmup);
  if (after.length < 2) return null;
  const k = Math.max(1, Math.min(tail, Math.floor(after.length / 2)));
  const first = median(after.slice(0, k));
  const last = median(after.slice(-k));
  return ratio(last, first) === null ? null : last / first - 1;
}

/** "12.3 (11.0-14.2)": median and range in ms, with precision that suits the size. */
export function formatMs(s: Pick<Summary, 'median' | 'min' | 'max'>): string {
  return `${fmt(s.median)} (${fmt(s.min)}-${fmt(s.max)})`;
}

export function fmt(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms >= 1000) return ms.toFixed(0);
  if (ms >= 100) return ms.toFixed(1);
  return ms.toFixed(2);
}

/** Timed rounds for a row whose warm-up round took `roundMs` (0 when unknown): see BenchOptions.minTimedMs (a round runs every loop once, then the bare loop). */
export function roundsFor(runs: number, roundMs: number, opts: { minTimedMs?: number; maxRuns?: number }): number {
  const want = opts.minTimedMs ?? 0;
  if (want <= 0 || roundMs <= 0) return runs;
  const cap = Math.max(runs, Math.floor(opts.maxRuns ?? 30));
  return Math.min(cap, Math.max(runs, Math.ceil(want / roundMs)));
}
