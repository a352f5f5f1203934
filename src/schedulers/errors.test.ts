/** Bad input gives a SchedulerError with a code and a message naming the key, the value and what is allowed. */
import { describe, expect, it } from 'vitest';
import { cfgCombine, guidanceScaleEmbedding, schedulerFromConfig, SchedulerError, type SchedulerErrorCode } from './index';
import { loadFixture } from './testUtil';

const sd15 = loadFixture<Record<string, unknown>>('configs/sd15-pndm.json');
const lcm = loadFixture<Record<string, unknown>>('configs/lcm-dreamshaper-v7.json');
const turbo = loadFixture<Record<string, unknown>>('configs/sd-turbo.json');
const xlturbo = loadFixture<Record<string, unknown>>('configs/sdxl-turbo.json');

function expectError(fn: () => unknown, code: SchedulerErrorCode, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a SchedulerError').toBeInstanceOf(SchedulerError);
  expect((caught as SchedulerError).code).toBe(code);
  expect((caught as SchedulerError).message).toMatch(message);
}

const f = (n: number, v = 0) => new Float32Array(n).fill(v);

describe('unsupported classes and values', () => {
  it('an unsupported _class_name lists the supported classes', () => {
    expectError(() => schedulerFromConfig(sd15), 'SCHEDULER_UNSUPPORTED', /"PNDMScheduler".*DDPMScheduler, DDIMScheduler, LCMScheduler, EulerDiscreteScheduler, EulerAncestralDiscreteScheduler, DPMSolverMultistepScheduler, TCDScheduler, CMStochasticIterativeScheduler/);
    expectError(() => schedulerFromConfig(sd15, { className: 'UniPCMultistepScheduler' }), 'SCHEDULER_UNSUPPORTED', /className "UniPCMultistepScheduler"/);
    expectError(() => schedulerFromConfig({}), 'SCHEDULER_INVALID_CONFIG', /no "_class_name"/);
    expectError(() => schedulerFromConfig(null as unknown as Record<string, unknown>), 'SCHEDULER_INVALID_CONFIG', /must be an object/);
  });
  it('unknown enum values list the allowed set', () => {
    expectError(() => schedulerFromConfig({ ...turbo, beta_schedule: 'cosine' }), 'SCHEDULER_UNSUPPORTED', /beta_schedule "cosine"; supported: "linear", "scaled_linear", "squaredcos_cap_v2"/);
    expectError(() => schedulerFromConfig({ ...turbo, prediction_type: 'flow' }), 'SCHEDULER_UNSUPPORTED', /prediction_type "flow".*"epsilon", "v_prediction", "sample"/);
    expectError(() => schedulerFromConfig({ ...turbo, timestep_spacing: 'karras' }), 'SCHEDULER_UNSUPPORTED', /timestep_spacing "karras".*"leading", "trailing", "linspace"/);
    expectError(() => schedulerFromConfig({ ...turbo, final_sigmas_type: 'one' }), 'SCHEDULER_UNSUPPORTED', /final_sigmas_type/);
  });
  it('upstream options this module does not implement are rejected by name', () => {
    expectError(() => schedulerFromConfig({ _class_name: 'DDPMScheduler', variance_type: 'learned_range' }), 'SCHEDULER_UNSUPPORTED', /variance_type "learned_range".*"fixed_small", "fixed_small_log", "fixed_large"/);
    expectError(() => schedulerFromConfig({ _class_name: 'DDIMScheduler', thresholding: true }), 'SCHEDULER_UNSUPPORTED', /thresholding = true/);
    expectError(() => schedulerFromConfig({ ...lcm, thresholding: true }), 'SCHEDULER_UNSUPPORTED', /thresholding/);
    expectError(() => schedulerFromConfig({ ...turbo, use_beta_sigmas: true }), 'SCHEDULER_UNSUPPORTED', /use_beta_sigmas/);
    expectError(() => schedulerFromConfig({ ...turbo, interpolation_type: 'log_linear' }), 'SCHEDULER_UNSUPPORTED', /interpolation_type "log_linear"/);
    expectError(() => schedulerFromConfig({ ...turbo, use_karras_sigmas: true, use_exponential_sigmas: true }), 'SCHEDULER_INVALID_CONFIG', /mutually exclusive/);
  });
  it('values of the wrong type or range', () => {
    expectError(() => schedulerFromConfig({ ...turbo, num_train_timesteps: '1000' }), 'SCHEDULER_INVALID_CONFIG', /"num_train_timesteps" must be a finite number, got "1000"/);
    expectError(() => schedulerFromConfig({ ...turbo, steps_offset: 0.5 }), 'SCHEDULER_INVALID_CONFIG', /"steps_offset" must be an integer/);
    expectError(() => schedulerFromConfig({ ...sd15, clip_sample: 'no' }, { className: 'DDIMScheduler' }), 'SCHEDULER_INVALID_CONFIG', /"clip_sample" must be true or false/);
    expectError(() => schedulerFromConfig({ ...turbo, beta_start: 0.1, beta_end: 0.01 }), 'SCHEDULER_INVALID_CONFIG', /beta_end/);
    expectError(() => schedulerFromConfig({ _class_name: 'DDPMScheduler', trained_betas: [0.1, 'x'] }), 'SCHEDULER_INVALID_CONFIG', /trained_betas/);
  });
  it('trained_betas of the wrong length', () => {
    expectError(() => schedulerFromConfig({ _class_name: 'DDPMScheduler', trained_betas: [0.1, 0.2, 0.3] }), 'SCHEDULER_SHAPE_MISMATCH', /trained_betas has 3 entries but num_train_timesteps is 1000/);
  });
});

describe('setTimesteps', () => {
  const all: [string, Record<string, unknown>][] = [
    ['DDPMScheduler', sd15],
    ['DDIMScheduler', sd15],
    ['LCMScheduler', lcm],
    ['EulerDiscreteScheduler', turbo],
    ['EulerAncestralDiscreteScheduler', xlturbo],
  ];
  for (const [cls, cfg] of all) {
    it(`${cls}: steps < 1, non-integer, too many`, () => {
      const s = schedulerFromConfig(cfg, { className: cls });
      for (const bad of [0, -1, 1.5, Number.NaN]) expectError(() => s.setTimesteps(bad), 'SCHEDULER_INVALID_STEPS', /numInferenceSteps must be an integer >= 1/);
      expectError(() => s.setTimesteps(1001), 'SCHEDULER_INVALID_STEPS', /above the maximum of (1000|50)/);
    });
    it(`${cls}: custom timesteps must be strictly descending, in range, and match the step count`, () => {
      const s = schedulerFromConfig(cfg, { className: cls });
      expectError(() => s.setTimesteps(3, { timesteps: [999, 500, 700] }), 'SCHEDULER_INVALID_TIMESTEPS', /strictly descending; entry 2 \(700\) follows 500/);
      expectError(() => s.setTimesteps(2, { timesteps: [500, 500] }), 'SCHEDULER_INVALID_TIMESTEPS', /strictly descending/);
      expectError(() => s.setTimesteps(2, { timesteps: [1000, 500] }), 'SCHEDULER_INVALID_TIMESTEPS', /outside \[0, 999\]/);
      expectError(() => s.setTimesteps(3, { timesteps: [999, 500] }), 'SCHEDULER_SHAPE_MISMATCH', /3 but 2 custom timesteps/);
      expectError(() => s.setTimesteps(1, { timesteps: [] }), 'SCHEDULER_INVALID_TIMESTEPS', /non-empty/);
      s.setTimesteps(3, { timesteps: [999, 500, 100] });
      expect(s.timesteps).toEqual([999, 500, 100]);
    });
  }
  it('a failed setTimesteps leaves the previous schedule in place', () => {
    const s = schedulerFromConfig(sd15, { className: 'DDIMScheduler' });
    s.setTimesteps(4);
    expect(() => s.setTimesteps(0)).toThrow(SchedulerError);
    expect(s.timesteps).toEqual([751, 501, 251, 1]);
  });
  it('integer-timestep classes reject fractional custom timesteps', () => {
    const s = schedulerFromConfig(sd15, { className: 'DDIMScheduler' });
    expectError(() => s.setTimesteps(2, { timesteps: [999.5, 500] }), 'SCHEDULER_INVALID_TIMESTEPS', /integers/);
  });
  it('LCM: more steps than original_inference_steps, bad originalInferenceSteps', () => {
    const s = schedulerFromConfig(lcm);
    expectError(() => s.setTimesteps(51), 'SCHEDULER_INVALID_STEPS', /above the maximum of 50 \(original_inference_steps = 50\)/);
    expectError(() => s.setTimesteps(4, { originalInferenceSteps: 1001 }), 'SCHEDULER_INVALID_STEPS', /originalInferenceSteps must be an integer in \[1, 1000\]/);
    s.setTimesteps(60, { originalInferenceSteps: 100 });
    expect(s.timesteps.length).toBe(60);
  });
  it('leading spacing with steps_offset past the last training timestep', () => {
    const s = schedulerFromConfig(sd15, { className: 'DDIMScheduler' });
    expectError(() => s.setTimesteps(1000), 'SCHEDULER_INVALID_TIMESTEPS', /\[0, 999\], got 1000/);
  });
  it('trailing step counts where numpy.arange overshoots (diffusers would sample at t = -1)', () => {
    const s = schedulerFromConfig(turbo);
    expectError(() => s.setTimesteps(61), 'SCHEDULER_INVALID_STEPS', /trailing spacing with 61 steps/);
    const d = schedulerFromConfig({ ...sd15, timestep_spacing: 'trailing' }, { className: 'DDIMScheduler' });
    expectError(() => d.setTimesteps(61), 'SCHEDULER_INVALID_STEPS', /choose another step count/);
    d.setTimesteps(60);
    expect(d.timesteps.length).toBe(60);
  });
  it('Euler: custom timesteps with karras sigmas', () => {
    const s = schedulerFromConfig({ ...turbo, use_karras_sigmas: true });
    expectError(() => s.setTimesteps(2, { timesteps: [999, 500] }), 'SCHEDULER_INVALID_CONFIG', /custom timesteps cannot be combined with use_karras_sigmas/);
  });
});

describe('step, addNoise and helpers', () => {
  it('step before setTimesteps', () => {
    for (const [cls, cfg] of [['DDIMScheduler', sd15], ['DDPMScheduler', sd15], ['LCMScheduler', lcm], ['EulerDiscreteScheduler', turbo]] as const) {
      const s = schedulerFromConfig(cfg, { className: cls });
      expectError(() => s.step(f(4), 999, f(4), { noise: f(4) }), 'SCHEDULER_NOT_READY', /setTimesteps/);
    }
  });
  it('mismatched lengths', () => {
    const s = schedulerFromConfig(sd15, { className: 'DDIMScheduler' });
    s.setTimesteps(4);
    expectError(() => s.step(f(3), 751, f(4)), 'SCHEDULER_SHAPE_MISMATCH', /modelOutput has 3 elements but sample has 4/);
    expectError(() => s.step(f(4), 751, f(4), { eta: 1, noise: f(5) }), 'SCHEDULER_SHAPE_MISMATCH', /noise has 5 elements/);
    expectError(() => s.addNoise(f(4), f(2), 751), 'SCHEDULER_SHAPE_MISMATCH', /noise has 2 elements/);
    expectError(() => cfgCombine(f(4), f(3), 7.5), 'SCHEDULER_SHAPE_MISMATCH', /uncond has 4 elements but cond has 3/);
  });
  it('stochastic steps without noise, or with both noise and rng', () => {
    const x = schedulerFromConfig(xlturbo);
    x.setTimesteps(1);
    expectError(() => x.step(f(4), 999, f(4)), 'SCHEDULER_NOISE_REQUIRED', /pass opts.noise \(Float32Array of length 4\) or opts.rng/);
    const d = schedulerFromConfig(sd15, { className: 'DDIMScheduler' });
    d.setTimesteps(4);
    expectError(() => d.step(f(4), 751, f(4), { eta: 1 }), 'SCHEDULER_NOISE_REQUIRED', /stochastic/);
    expectError(() => d.step(f(4), 751, f(4), { eta: 1, noise: f(4), rng: { randn: f } }), 'SCHEDULER_INVALID_CONFIG', /either noise or rng/);
    expectError(() => d.step(f(4), 751, f(4), { eta: -1 }), 'SCHEDULER_INVALID_CONFIG', /eta must be a finite number >= 0/);
    const p = schedulerFromConfig(sd15, { className: 'DDPMScheduler' });
    p.setTimesteps(4);
    expectError(() => p.step(f(4), 751, f(4)), 'SCHEDULER_NOISE_REQUIRED', /stochastic/);
    expect(p.needsNoise(1)).toBe(true); // the last step of this schedule, but t > 0
    const p0 = schedulerFromConfig({ _class_name: 'DDPMScheduler' });
    p0.setTimesteps(4);
    expect(p0.timesteps).toEqual([750, 500, 250, 0]);
    expect(p0.needsNoise(0)).toBe(false);
    expect(p0.step(f(4), 0, f(4)).prevSample.length).toBe(4);
  });
  it('timesteps outside the schedule or the training range', () => {
    const d = schedulerFromConfig(sd15, { className: 'DDIMScheduler' });
    d.setTimesteps(4);
    expectError(() => d.step(f(4), 1000, f(4)), 'SCHEDULER_INVALID_TIMESTEPS', /integer in \[0, 999\], got 1000/);
    expectError(() => d.step(f(4), 2.5, f(4)), 'SCHEDULER_INVALID_TIMESTEPS', /integer/);
    const p = schedulerFromConfig(sd15, { className: 'DDPMScheduler' });
    p.setTimesteps(4);
    expectError(() => p.step(f(4), 500, f(4), { noise: f(4) }), 'SCHEDULER_INVALID_TIMESTEPS', /not in the current schedule \[751, 501, 251, 1\]/);
    const e = schedulerFromConfig(turbo);
    e.setTimesteps(4);
    expectError(() => e.step(f(4), 3, f(4)), 'SCHEDULER_INVALID_TIMESTEPS', /timestep 3 is not in the current schedule/);
    expectError(() => e.addNoise(f(4), f(4), 500), 'SCHEDULER_INVALID_TIMESTEPS', /not in the current schedule/);
  });
  it('stepping past the end of an Euler schedule', () => {
    const e = schedulerFromConfig(turbo);
    e.setTimesteps(1);
    e.step(f(4), 999, f(4));
    expectError(() => e.step(f(4), 999, f(4)), 'SCHEDULER_NOT_READY', /all 1 steps are done/);
  });
  it('guidance embedding dimension', () => {
    expectError(() => guidanceScaleEmbedding(8.5, 2), 'SCHEDULER_INVALID_CONFIG', /dim must be an integer >= 4/);
    expectError(() => guidanceScaleEmbedding(Number.NaN, 256), 'SCHEDULER_INVALID_CONFIG', /finite/);
  });
});
