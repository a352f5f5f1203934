/**
 * The GPU step kernel's CPU reference (src/engine/gpu/stepPlan.ts) against scheduler.step for the samplers of
 * issue 14 that have `stepCoefficients` (TCD, CM multistep); DPM++ 2M has none (gpuStep: false, CPU loop).
 */
import { describe, expect, it } from 'vitest';
import { applyStepCpu, stepPlan } from '../src/engine/gpu/stepPlan';
import { createGaussianRng, schedulerFromConfig } from '../src/schedulers';

const SD = { num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' };
const CASES: Array<{ name: string; config: Record<string, unknown>; steps: number[]; eta?: number; custom?: number[] }> = [
  { name: 'TCD eps gamma 0.3 (default)', config: { ...SD, _class_name: 'TCDScheduler' }, steps: [1, 2, 4, 8] },
  { name: 'TCD eps gamma 0', config: { ...SD, _class_name: 'TCDScheduler' }, steps: [4], eta: 0 },
  { name: 'TCD v gamma 1', config: { ...SD, _class_name: 'TCDScheduler', prediction_type: 'v_prediction' }, steps: [3], eta: 1 },
  { name: 'TCD sample gamma 0.5', config: { ...SD, _class_name: 'TCDScheduler', prediction_type: 'sample' }, steps: [5], eta: 0.5 },
  { name: 'TCD custom [999, 749, 499, 249]', config: { ...SD, _class_name: 'TCDScheduler' }, steps: [4], custom: [999, 749, 499, 249] },
  { name: 'CM clip', config: { _class_name: 'CMStochasticIterativeScheduler' }, steps: [1, 2, 4, 40] },
  { name: 'CM no clip, s_noise 0.9', config: { _class_name: 'CMStochasticIterativeScheduler', clip_denoised: false, s_noise: 0.9, num_train_timesteps: 201 }, steps: [3] },
  { name: 'CM custom [22, 0]', config: { _class_name: 'CMStochasticIterativeScheduler' }, steps: [2], custom: [22, 0] },
];

function maxRelErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return m;
}

describe.each(CASES)('GPU step plan: $name', ({ config, steps, eta, custom }) => {
  it.each(steps)('%i steps: kernel reference == scheduler.step, scaling and noise draws agree', (n) => {
    const ref = schedulerFromConfig(config);
    ref.setTimesteps(n, custom ? { timesteps: custom } : {});
    const plan = stepPlan(ref, { eta });
    expect(plan.map((p) => p.timestep)).toEqual([...ref.timesteps]);
    const rng = createGaussianRng(7);
    const len = 256;
    let x: Float32Array = rng.randn(len).map((v) => v * ref.initNoiseSigma);
    for (let i = 0; i < plan.length; i++) {
      const t = ref.timesteps[i];
      const needs = ref.needsNoise(t, { eta });
      expect(plan[i].noise).toBe(needs);
      const scaled = ref.scaleModelInput(x, t);
      const mine = x.map((v) => Math.fround(v * Math.fround(plan[i].inScale)));
      expect(maxRelErr(mine, scaled)).toBeLessThan(1e-6);
      const m = rng.randn(len);
      const noise = needs ? rng.randn(len) : null;
      const expected = ref.step(m, t, x, noise ? { noise, eta } : { eta }).prevSample;
      const got = applyStepCpu(plan[i], { x, out: m, noise });
      expect(maxRelErr(got, expected)).toBeLessThan(2e-5);
      x = expected;
    }
  });
});

describe('DPM++ 2M has no GPU step', () => {
  it('stepPlan refuses it, so the engine runs the CPU loop', () => {
    const s = schedulerFromConfig({ _class_name: 'DPMSolverMultistepScheduler' });
    s.setTimesteps(4);
    expect(() => stepPlan(s)).toThrow(/No GPU step port/);
  });
});
