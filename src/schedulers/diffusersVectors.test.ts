/**
 * diffusers' own scheduler test vectors: the full-loop sums and means of tests/schedulers/test_scheduler_*.py
 * (diffusers 58eb52c080), with their dummy model, deterministic sample/noise and torch.manual_seed(0) generator.
 * Tolerances are upstream's (1e-2 on the sum, 1e-3 on the mean) unless stated.
 */
import { describe, expect, it } from 'vitest';
import { absSumMean, dummyModel, dummyNoiseDeter, dummySampleDeter } from './diffusersTestUtil';
import { createTorchGenerator, schedulerFromConfig } from './index';

function expectVector(x: Float32Array, sum: number, mean: number, sumTol = 1e-2, meanTol = 1e-3): void {
  const r = absSumMean(x);
  expect(Math.abs(r.sum - sum), `sum ${r.sum} vs ${sum}`).toBeLessThan(sumTol);
  expect(Math.abs(r.mean - mean), `mean ${r.mean} vs ${mean}`).toBeLessThan(meanTol);
}

describe('DDPMScheduler (test_scheduler_ddpm.py)', () => {
  const config = { _class_name: 'DDPMScheduler', num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear', variance_type: 'fixed_small', clip_sample: true };

  /** reversed(range(1000)) without set_timesteps = setTimesteps(1000) with leading spacing (prev_t = t - 1). */
  function fullLoop(extra: Record<string, unknown>): Float32Array {
    const s = schedulerFromConfig({ ...config, ...extra });
    s.setTimesteps(1000);
    const gen = createTorchGenerator(0);
    let x = dummySampleDeter();
    for (const t of s.timesteps) x = s.step(dummyModel(x, t), t, x, { rng: gen }).prevSample;
    return x;
  }

  it('test_full_loop_no_noise: 258.9606 / 0.3372', () => expectVector(fullLoop({}), 258.9606, 0.3372));
  it('test_full_loop_with_v_prediction: 202.0296 / 0.2631', () => expectVector(fullLoop({ prediction_type: 'v_prediction' }), 202.0296, 0.2631));
  it('test_full_loop_with_noise: 387.9466 / 0.5051', () => {
    const s = schedulerFromConfig(config);
    s.setTimesteps(1000);
    const gen = createTorchGenerator(0);
    const ts = s.timesteps.slice(998);
    let x = s.addNoise(dummySampleDeter(), dummyNoiseDeter(), ts[0]);
    for (const t of ts) x = s.step(dummyModel(x, t), t, x, { rng: gen }).prevSample;
    expectVector(x, 387.9466, 0.5051);
  });
});

describe('DPMSolverMultistepScheduler (test_scheduler_dpm_multi.py)', () => {
  const config = {
    _class_name: 'DPMSolverMultistepScheduler', num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear',
    solver_order: 2, prediction_type: 'epsilon', thresholding: false, sample_max_value: 1.0, algorithm_type: 'dpmsolver++', solver_type: 'midpoint',
    lower_order_final: false, euler_at_final: false, variance_type: null, final_sigmas_type: 'sigma_min',
  };
  function fullLoop(extra: Record<string, unknown>, custom = false): Float32Array {
    let s = schedulerFromConfig({ ...config, ...extra });
    s.setTimesteps(10);
    if (custom) {
      const ts = [...s.timesteps];
      s = schedulerFromConfig({ ...config, ...extra });
      s.setTimesteps(ts.length, { timesteps: ts });
    }
    let x = dummySampleDeter();
    for (const t of s.timesteps) x = s.step(dummyModel(x, t), t, x).prevSample;
    return x;
  }
  it('test_full_loop_no_noise: mean 0.3301', () => expectVector(fullLoop({}), 0.3301 * 768, 0.3301, 1));
  it('test_full_loop_with_v_prediction: mean 0.2251', () => expectVector(fullLoop({ prediction_type: 'v_prediction' }), 0.2251 * 768, 0.2251, 1));
  it('test_full_loop_with_karras_and_v_prediction: mean 0.2096', () => expectVector(fullLoop({ prediction_type: 'v_prediction', use_karras_sigmas: true }), 0.2096 * 768, 0.2096, 1));
  it('test_full_loop_with_noise: 318.4111 / 0.4146', () => {
    const s = schedulerFromConfig(config);
    s.setTimesteps(10);
    const ts = s.timesteps.slice(5);
    let x = s.addNoise(dummySampleDeter(), dummyNoiseDeter(), ts[0]);
    for (const t of ts) x = s.step(dummyModel(x, t), t, x).prevSample;
    expectVector(x, 318.4111, 0.4146);
  });
  it('test_custom_timesteps: the same loop from timesteps = the spaced schedule (dpmsolver++, each prediction type and final sigma)', () => {
    for (const prediction_type of ['epsilon', 'sample', 'v_prediction']) {
      for (const final_sigmas_type of ['sigma_min', 'zero']) {
        const a = fullLoop({ prediction_type, final_sigmas_type });
        const b = fullLoop({ prediction_type, final_sigmas_type }, true);
        let d = 0;
        a.forEach((v, i) => (d += Math.abs(v - b[i])));
        expect(d).toBeLessThan(1e-5);
      }
    }
  });
});

describe('TCDScheduler (test_scheduler_tcd.py, eta = gamma = 0)', () => {
  const config = { _class_name: 'TCDScheduler', num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', prediction_type: 'epsilon' };
  function fullLoop(n: number): Float32Array {
    const s = schedulerFromConfig(config);
    s.setTimesteps(n);
    const gen = createTorchGenerator(0);
    let x = dummySampleDeter();
    for (const t of s.timesteps) x = s.step(dummyModel(x, t), t, x, { eta: 0, rng: gen }).prevSample;
    return x;
  }
  it('test_full_loop_onestep_deter: 29.8715 / 0.0389 (sum within 1e-3)', () => expectVector(fullLoop(1), 29.8715, 0.0389, 1e-3));
  it('test_full_loop_multistep_deter: 181.2040 / 0.2359 (sum within 1e-3)', () => expectVector(fullLoop(10), 181.204, 0.2359, 1e-3));
  it('test_custom_timesteps: [100, 87, 50, 1, 0] is taken as given; increasing or >= T is refused', () => {
    const s = schedulerFromConfig(config);
    s.setTimesteps(5, { timesteps: [100, 87, 50, 1, 0] });
    expect([...s.timesteps]).toEqual([100, 87, 50, 1, 0]);
    expect(() => s.setTimesteps(5, { timesteps: [100, 87, 50, 51, 0] })).toThrow(/descending/);
    expect(() => s.setTimesteps(1, { timesteps: [1000] })).toThrow(/outside/);
  });
});

describe('CMStochasticIterativeScheduler (test_scheduler_consistency_model.py)', () => {
  const config = { _class_name: 'CMStochasticIterativeScheduler', num_train_timesteps: 201, sigma_min: 0.002, sigma_max: 80.0 };
  function loop(s: ReturnType<typeof schedulerFromConfig>, ts: readonly number[], x0: Float32Array): Float32Array {
    const gen = createTorchGenerator(0);
    let x = x0;
    for (const t of ts) x = s.step(dummyModel(s.scaleModelInput(x, t), t), t, x, { rng: gen }).prevSample;
    return x;
  }
  const start = (s: ReturnType<typeof schedulerFromConfig>) => dummySampleDeter().map((v) => v * s.initNoiseSigma);
  it('test_full_loop_no_noise_onestep: 192.7614 / 0.2510', () => {
    const s = schedulerFromConfig(config);
    s.setTimesteps(1);
    expectVector(loop(s, s.timesteps, start(s)), 192.7614, 0.251);
  });
  it('test_full_loop_no_noise_multistep (timesteps [106, 0]): 347.6357 / 0.4527', () => {
    const s = schedulerFromConfig(config);
    s.setTimesteps(2, { timesteps: [106, 0] });
    expectVector(loop(s, s.timesteps, start(s)), 347.6357, 0.4527);
  });
  it('test_full_loop_with_noise: 763.9186 / 0.9947', () => {
    const s = schedulerFromConfig(config);
    s.setTimesteps(10);
    const ts = s.timesteps.slice(8);
    const x = s.addNoise(start(s), dummyNoiseDeter(), ts[0]);
    expectVector(loop(s, ts, x), 763.9186, 0.9947);
  });
  it('custom timesteps: increasing or >= num_train_timesteps are refused', () => {
    const s = schedulerFromConfig(config);
    expect(() => s.setTimesteps(5, { timesteps: [39, 30, 12, 15, 0] })).toThrow(/descending/);
    expect(() => s.setTimesteps(1, { timesteps: [201] })).toThrow(/must start before/);
  });
});
