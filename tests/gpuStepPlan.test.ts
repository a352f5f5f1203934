/**
 * The GPU step kernel's CPU reference (src/engine/gpu/stepPlan.ts) against the scheduler module, which stays the
 * reference implementation: same prevSample (float32 tolerance), same model-input scaling, same noise draws.
 * Every sampler with `stepCoefficients` is here (DDIM, DDPM, Euler, LCM, and issue 14's TCD and CM multistep, with
 * custom timesteps); DPM++ 2M has none (gpuStep: false, the CPU loop).
 */
import { describe, expect, it } from 'vitest';
import { applyStepCpu, stepPlan } from '../src/engine/gpu/stepPlan';
import { cfgCombine, createGaussianRng, gpuStepClasses, schedulerFromConfig } from '../src/schedulers';

const SD = { num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' };
const CASES: Array<{ name: string; config: Record<string, unknown>; steps: number[]; eta?: number; custom?: number[] }> = [
  { name: 'DDIM trailing eps', config: { ...SD, _class_name: 'DDIMScheduler', timestep_spacing: 'trailing', steps_offset: 1, clip_sample: false }, steps: [1, 2, 4, 50] },
  { name: 'DDIM trailing v', config: { ...SD, _class_name: 'DDIMScheduler', timestep_spacing: 'trailing', prediction_type: 'v_prediction', clip_sample: false }, steps: [1, 2, 8] },
  { name: 'DDIM leading sample clip', config: { _class_name: 'DDIMScheduler', prediction_type: 'sample', clip_sample: true, set_alpha_to_one: false }, steps: [3, 10] },
  { name: 'DDIM eta 0.7', config: { ...SD, _class_name: 'DDIMScheduler', clip_sample: false }, steps: [5], eta: 0.7 },
  { name: 'DDPM eps clip', config: { ...SD, _class_name: 'DDPMScheduler', clip_sample: true }, steps: [10, 1000] },
  { name: 'DDPM v fixed_large', config: { _class_name: 'DDPMScheduler', prediction_type: 'v_prediction', variance_type: 'fixed_large', clip_sample: false }, steps: [7] },
  { name: 'Euler trailing eps (turbo)', config: { ...SD, _class_name: 'EulerDiscreteScheduler', timestep_spacing: 'trailing' }, steps: [1, 2, 4] },
  { name: 'Euler linspace v', config: { ...SD, _class_name: 'EulerDiscreteScheduler', prediction_type: 'v_prediction' }, steps: [6] },
  { name: 'Euler karras sample', config: { ...SD, _class_name: 'EulerDiscreteScheduler', prediction_type: 'sample', use_karras_sigmas: true }, steps: [5] },
  { name: 'LCM eps', config: { ...SD, _class_name: 'LCMScheduler', original_inference_steps: 50 }, steps: [1, 2, 4, 8] },
  { name: 'LCM v clip', config: { ...SD, _class_name: 'LCMScheduler', prediction_type: 'v_prediction', clip_sample: true }, steps: [3] },
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
    const rng = createGaussianRng(1);
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

describe('GPU step plan: CFG folded into the kernel', () => {
  it('uncond + g (cond - uncond) then step == cfgCombine then scheduler.step', () => {
    const ref = schedulerFromConfig({ ...SD, _class_name: 'DDIMScheduler', timestep_spacing: 'trailing', clip_sample: false });
    ref.setTimesteps(4);
    const [k] = stepPlan(ref);
    const rng = createGaussianRng(3);
    const x = rng.randn(64);
    const u = rng.randn(64);
    const c = rng.randn(64);
    const out = new Float32Array(128);
    out.set(u, 0);
    out.set(c, 64);
    const expected = ref.step(cfgCombine(u, c, 7.5), ref.timesteps[0], x).prevSample;
    expect(maxRelErr(applyStepCpu(k, { x, out, guidance: 7.5 }), expected)).toBeLessThan(2e-5);
  });

  it('covers the classes the GPU loop claims and rejects the others', () => {
    expect([...gpuStepClasses()].sort()).toEqual(['CMStochasticIterativeScheduler', 'DDIMScheduler', 'DDPMScheduler', 'EulerDiscreteScheduler', 'LCMScheduler', 'TCDScheduler']);
    const ea = schedulerFromConfig({ _class_name: 'EulerAncestralDiscreteScheduler' });
    ea.setTimesteps(2);
    expect(() => stepPlan(ea)).toThrow(/No GPU step port/);
  });
});

describe('DPM++ 2M has no GPU step', () => {
  it('stepPlan refuses it, so the engine runs the CPU loop', () => {
    const s = schedulerFromConfig({ _class_name: 'DPMSolverMultistepScheduler' });
    s.setTimesteps(4);
    expect(() => stepPlan(s)).toThrow(/No GPU step port/);
  });
});
