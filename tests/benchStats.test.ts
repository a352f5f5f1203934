import { describe, expect, it } from 'vitest';
import { formatMs, growth, median, percentile, ratio, roundsFor, summarize } from '../src/app/bench/stats';

describe('bench statistics', () => {
  it('median of odd and even counts, order-independent', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('percentiles interpolate like numpy (linear)', () => {
    const xs = [10, 20, 30, 40, 50];
    expect(percentile(xs, 0)).toBe(10);
    expect(percentile(xs, 100)).toBe(50);
    expect(percentile(xs, 95)).toBeCloseTo(48, 10);
    expect(percentile([1, 2], 50)).toBe(1.5);
  });

  it('summary has n, median, min-max, mean, p95', () => {
    expect(summarize([3, 1, 2, 10])).toEqual({ n: 4, median: 2.5, min: 1, max: 10, mean: 4, p95: expect.closeTo(8.95, 10) });
  });

  it('rejects empty and non-finite samples with a message', () => {
    expect(() => median([])).toThrow(/empty/);
    expect(() => summarize([1, NaN])).toThrow(/finite/);
    expect(() => percentile([1], 101)).toThrow(/\[0, 100\]/);
  });

  it('ratios: pipeline / bare, speed-up; null when undefined', () => {
    expect(ratio(105, 100)).toBeCloseTo(1.05, 12);
    expect(ratio(1000, 250)).toBe(4);
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(null, 3)).toBeNull();
    expect(ratio(3, undefined)).toBeNull();
  });

  it('growth after warm-up compares the first and last medians', () => {
    const flat = [50, 80, 100, 101, 99, 100, 102, 100];
    expect(growth(flat, 2)).toBeCloseTo(0, 1);
    const leak = [10, 10, 100, 110, 120, 130, 140, 150];
    expect(growth(leak, 2)!).toBeCloseTo(140 / 110 - 1, 10);
    expect(growth([1, 2], 2)).toBeNull();
  });

  it('formats ms with a range', () => {
    expect(formatMs({ median: 12.345, min: 11, max: 1500 })).toBe('12.35 (11.00-1500)');
  });

  it('adds timed rounds to fast rows only, up to the cap', () => {
    expect(roundsFor(5, 20, {})).toBe(5); // minTimedMs off
    expect(roundsFor(5, 20, { minTimedMs: 1000 })).toBe(30); // 50 wanted, capped at 30
    expect(roundsFor(5, 100, { minTimedMs: 1000 })).toBe(10);
    expect(roundsFor(5, 100, { minTimedMs: 1000, maxRuns: 8 })).toBe(8);
    expect(roundsFor(5, 900, { minTimedMs: 1000 })).toBe(5); // slow rows keep the minimum
    expect(roundsFor(5, 0, { minTimedMs: 1000 })).toBe(5); // no warm-up timing
    expect(roundsFor(40, 1, { minTimedMs: 1000, maxRuns: 30 })).toBe(40); // never fewer than asked
  });
});
