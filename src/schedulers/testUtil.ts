/** Shared helpers for this folder's tests (not exported from index.ts). */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

/** One sampling case of __fixtures__/reference.json: the scheduler and its schedule. */
export interface FixtureCase {
  name: string;
  className: string;
  config: Record<string, unknown>;
  steps: number;
  customTimesteps: number[] | null;
  originalInferenceSteps: number | null;
  eta: number;
}

export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8')) as T;
}

/** The stand-in model of gen_reference.py: tanh(0.5 x) cos(t / 300) + 0.3 sin(0.7 i + t / 97) + 0.01 k. */
export function standInModel(x: Float32Array, t: number, k: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.tanh(0.5 * x[i]) * Math.cos(t / 300) + 0.3 * Math.sin(0.7 * i + t / 97) + 0.01 * k;
  return out;
}

export function fixtureNoise(k: number, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(1.3 * i + 0.7 * k + 0.1) * 1.5 + Math.cos(0.37 * i * (k + 1));
  return out;
}

export function fixtureInitial(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.cos(0.37 * i) + 0.5 * Math.sin(1.1 * i + 0.3);
  return out;
}

/** |a - b| <= atol + rtol |b| elementwise, with a readable failure. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what = ''): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess)) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}
