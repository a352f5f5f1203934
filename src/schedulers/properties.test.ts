/** Properties every sampler must have, independent of any reference file. */
import { describe, expect, it } from 'vitest';
import {
  createDDIMScheduler,
  createEulerAncestralDiscreteScheduler,
  createEulerDiscreteScheduler,
  createGaussianRng,
  createTorchGenerator,
  schedulerFromConfig,
  SUPPORTED_SCHEDULERS,
  torchRandn,
  type NoiseSource,
  type PredictionType,
  type Scheduler,
} from './index';
import { expectClose, loadFixture } from './testUtil';

const sd15 = loadFixture<Record<string, unknown>>('configs/sd15-pndm.json');
const lcm = loadFixture<Record<string, unknown>>('configs/lcm-dreamshaper-v7.json');
const turbo = loadFixture<Record<string, unknown>>('configs/sd-turbo.json');
const xlturbo = loadFixture<Record<string, unknown>>('configs/sdxl-turbo.json');

const N = 64;
const x0 = Float32Array.from({ length: N }, (_, i) => 0.8 * Math.sin(0.3 * i + 0.2));
const eps = torchRandn(7, N);

/** sigma of the step the scheduler is about to take at t (Euler family), or null in alpha space. */
function sigmaAt(s: Scheduler, t: number): number | null {
  if (!s.sigmas) return null;
  const idx = s.stepIndex ?? s.timesteps.indexOf(t);
  return s.sigmas[idx];
}

/** A model that knows x0: returns the exact epsilon / v / x0 for the current sample. */
function oracle(s: Scheduler, x: Float32Array, t: number, pt: PredictionType): Float32Array {
  const sigma = sigmaAt(s, t);
  const out = new Float32Array(x.length);
  if (sigma !== null) {
    // sigma space: x = x0 + sigma * eps; alpha-space equivalents with a = 1 / (1 + sigma^2).
    const a = 1 / (1 + sigma * sigma);
    for (let i = 0; i < x.length; i++) {
      const e = (x[i] - x0[i]) / sigma;
      out[i] = pt === 'epsilon' ? e : pt === 'sample' ? x0[i] : Math.sqrt(a) * e - Math.sqrt(1 - a) * x0[i];
    }
    return out;
  }
  const a = s.alphasCumprod[t];
  for (let i = 0; i < x.length; i++) {
    const e = (x[i] - Math.sqrt(a) * x0[i]) / Math.sqrt(1 - a);
    out[i] = pt === 'epsilon' ? e : pt === 'sample' ? x0[i] : Math.sqrt(a) * e - Math.sqrt(1 - a) * x0[i];
  }
  return out;
}

function sample(s: Scheduler, pt: PredictionType, rng: NoiseSource, eta = 0): Float32Array {
  const t0 = s.timesteps[0];
  let x = s.sigmas ? s.addNoise(x0, eps, t0) : s.addNoise(x0, eps, t0);
  for (const t of s.timesteps) {
    s.scaleModelInput(x, t);
    x = s.step(oracle(s, x, t, pt), t, x, s.needsNoise(t, { eta }) ? { rng, eta } : { eta }).prevSample;
  }
  return x;
}

describe('an exact model recovers x0', () => {
  const bases: [string, Record<string, unknown>][] = [
    ['DDPMScheduler', { ...sd15, clip_sample: false, timestep_spacing: 'trailing' }],
    ['DDIMScheduler', { ...sd15, timestep_spacing: 'trailing', set_alpha_to_one: true }],
    ['LCMScheduler', lcm],
    ['EulerDiscreteScheduler', turbo],
    ['EulerAncestralDiscreteScheduler', xlturbo],
  ];
  for (const [cls, cfg] of bases) {
    for (const pt of ['epsilon', 'v_prediction', 'sample'] as const) {
      for (const steps of [1, 4]) {
        it(`${cls}, ${pt}, ${steps} steps`, () => {
          const s = schedulerFromConfig({ ...cfg, prediction_type: pt }, { className: cls });
          s.setTimesteps(steps);
          const out = sample(s, pt, createGaussianRng(1), cls === 'DDIMScheduler' ? 0.5 : 0);
          expectClose(out, x0, 0, 2e-4, `${cls} ${pt}`);
        });
      }
    }
  }
});

describe('determinism and special cases', () => {
  it('DDIM with eta = 0 is deterministic and needs no noise', () => {
    const run = () => {
      const s = schedulerFromConfig(sd15, { className: 'DDIMScheduler' });
      s.setTimesteps(10);
      expect(s.isStochastic()).toBe(false);
      let x = torchRandn(3, N);
      for (const t of s.timesteps) {
        expect(s.needsNoise(t)).toBe(false);
        x = s.step(Float32Array.from(x, (v) => Math.tanh(v) + t / 1000), t, x).prevSample;
      }
      return x;
    };
    const a = run();
    expect(Array.from(run())).toEqual(Array.from(a));
    // noise passed with eta = 0 is ignored
    const s = schedulerFromConfig(sd15, { className: 'DDIMScheduler' });
    s.setTimesteps(10);
    const x = torchRandn(3, N);
    const m = torchRandn(4, N);
    expect(Array.from(s.step(m, 981, x, { noise: torchRandn(5, N) }).prevSample)).toEqual(Array.from(s.step(m, 981, x).prevSample));
  });

  it('DDIM with eta > 0 uses the noise', () => {
    const s = schedulerFromConfig(sd15, { className: 'DDIMScheduler' });
    s.setTimesteps(10);
    expect(s.isStochastic({ eta: 1 })).toBe(true);
    const x = torchRandn(3, N);
    const m = torchRandn(4, N);
    const a = s.step(m, 981, x, { eta: 1, noise: torchRandn(5, N) }).prevSample;
    const b = s.step(m, 981, x, { eta: 1, noise: torchRandn(6, N) }).prevSample;
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });

  it('Euler at one step equals x - sigma * eps (SD-Turbo)', () => {
    const s = schedulerFromConfig(turbo);
    s.setTimesteps(1);
    const sigma = s.sigmas![0];
    expect(sigma).toBeCloseTo(14.614647, 5);
    const latents = torchRandn(0, N).map((v) => v * s.initNoiseSigma);
    const input = s.scaleModelInput(latents, 999);
    expectClose(input, latents.map((v) => v / 14.64882), 1e-6, 0, 'unet input');
    const out = s.step(eps, 999, latents);
    expectClose(out.prevSample, latents.map((v, i) => v - sigma * eps[i]), 1e-6, 1e-6, 'x - sigma eps');
    expectClose(out.predOriginalSample, out.prevSample, 1e-6, 1e-6, 'x0 = prev');
  });

  it('LCM: the last step returns denoised, one step is deterministic', () => {
    const s = schedulerFromConfig(lcm);
    s.setTimesteps(1);
    expect(s.isStochastic()).toBe(false);
    expect(s.needsNoise(999)).toBe(false);
    const x = torchRandn(1, N);
    const out = s.step(eps, 999, x);
    expect(Array.from(out.prevSample)).toEqual(Array.from(out.predOriginalSample));
    s.setTimesteps(4);
    expect(s.isStochastic()).toBe(true);
    let y = x;
    for (const [k, t] of s.timesteps.entries()) {
      expect(s.needsNoise(t)).toBe(k < 3);
      const r = s.step(eps, t, y, k < 3 ? { noise: torchRandn(10 + k, N) } : {});
      if (k === 3) expect(Array.from(r.prevSample)).toEqual(Array.from(r.predOriginalSample));
      else expect(Array.from(r.prevSample)).not.toEqual(Array.from(r.predOriginalSample));
      y = r.prevSample;
    }
  });

  it('EulerAncestral draws noise on every step, the last one too', () => {
    const s = schedulerFromConfig(xlturbo);
    s.setTimesteps(4);
    let calls = 0;
    const inner = createGaussianRng(9);
    const rng: NoiseSource = {
      randn(n) {
        calls++;
        return inner.randn(n);
      },
    };
    let x = torchRandn(2, N);
    for (const t of s.timesteps) x = s.step(eps, t, x, { rng }).prevSample;
    expect(calls).toBe(4);
  });

  it('a torch generator as rng reproduces a shared diffusers generator', () => {
    const s = createEulerAncestralDiscreteScheduler({ ...xlturbo });
    s.setTimesteps(2);
    const gen = createTorchGenerator(42);
    const latents = gen.randn(N).map((v) => v * s.initNoiseSigma);
    let x: Float32Array = latents;
    for (const t of s.timesteps) x = s.step(eps, t, x, { rng: gen }).prevSample;
    // same draws by hand: one stream of 3N values after manual_seed(42)
    const all = createTorchGenerator(42);
    const l2 = all.randn(N).map((v) => v * s.initNoiseSigma);
    const n1 = all.randn(N);
    const n2 = all.randn(N);
    s.resetStepIndex();
    let y: Float32Array = l2;
    y = s.step(eps, s.timesteps[0], y, { noise: n1 }).prevSample;
    y = s.step(eps, s.timesteps[1], y, { noise: n2 }).prevSample;
    expect(Array.from(x)).toEqual(Array.from(y));
  });
});

describe('step index (Euler, EulerAncestral, LCM)', () => {
  it('starts at null, advances, resets', () => {
    const s = createEulerDiscreteScheduler(turbo);
    s.setTimesteps(4);
    expect(s.stepIndex).toBeNull();
    const x = torchRandn(0, N);
    s.scaleModelInput(x, 999);
    expect(s.stepIndex).toBe(0);
    s.step(eps, 999, x);
    expect(s.stepIndex).toBe(1);
    expect(() => s.step(eps, 999, x)).toThrow(/step 1 of the schedule is timestep 749/);
    s.resetStepIndex();
    expect(s.stepIndex).toBeNull();
    s.step(eps, 999, x);
    s.setTimesteps(4);
    expect(s.stepIndex).toBeNull();
  });
  it('can start mid-schedule (img2img): the index comes from the first timestep seen', () => {
    const s = createEulerDiscreteScheduler(turbo);
    s.setTimesteps(4);
    const x = torchRandn(0, N);
    s.step(eps, 499, x);
    expect(s.stepIndex).toBe(3);
  });
  it('DDIM and DDPM keep no index', () => {
    const s = createDDIMScheduler(sd15);
    s.setTimesteps(4);
    s.step(eps, 751, torchRandn(0, N));
    expect(s.stepIndex).toBeNull();
  });
});

describe('configs', () => {
  it('DDIM from SD 1.5 PNDM config takes its keys and drops unknown ones', () => {
    const s = schedulerFromConfig(sd15, { className: 'DDIMScheduler' });
    expect(s.className).toBe('DDIMScheduler');
    expect(s.config).toMatchObject({
      _class_name: 'DDIMScheduler',
      beta_schedule: 'scaled_linear',
      beta_start: 0.00085,
      beta_end: 0.012,
      steps_offset: 1,
      set_alpha_to_one: false,
      clip_sample: false,
      timestep_spacing: 'leading',
      prediction_type: 'epsilon',
    });
    expect('skip_prk_steps' in s.config).toBe(false);
    expect('_diffusers_version' in s.config).toBe(false);
    expect(Object.isFrozen(s.config)).toBe(true);
  });
  it('missing keys take each class default', () => {
    expect(schedulerFromConfig({ _class_name: 'DDIMScheduler' }).config).toMatchObject({ beta_schedule: 'linear', clip_sample: true, set_alpha_to_one: true, timestep_spacing: 'leading' });
    expect(schedulerFromConfig({ _class_name: 'DDPMScheduler' }).config).toMatchObject({ variance_type: 'fixed_small', clip_sample: true });
    expect(schedulerFromConfig({ _class_name: 'LCMScheduler' }).config).toMatchObject({ beta_schedule: 'scaled_linear', original_inference_steps: 50, timestep_scaling: 10 });
    expect(schedulerFromConfig({ _class_name: 'EulerDiscreteScheduler' }).config).toMatchObject({ timestep_spacing: 'linspace', final_sigmas_type: 'zero', use_karras_sigmas: false });
    expect(schedulerFromConfig({ _class_name: 'EulerAncestralDiscreteScheduler' }).config).toMatchObject({ timestep_spacing: 'linspace' });
    expect([...SUPPORTED_SCHEDULERS].sort()).toEqual(
      [
        'CMStochasticIterativeScheduler', 'DDIMScheduler', 'DDPMScheduler', 'DPMSolverMultistepScheduler', 'EulerAncestralDiscreteScheduler',
        'EulerDiscreteScheduler', 'LCMScheduler', 'TCDScheduler',
      ],
    );
  });
  it('JSON null means default', () => {
    expect(schedulerFromConfig({ _class_name: 'EulerDiscreteScheduler', use_karras_sigmas: null, trained_betas: null }).config.trained_betas).toBeNull();
  });
  it('trained_betas are used as given', () => {
    const betas = Array.from({ length: 10 }, (_, i) => 0.01 + 0.02 * i);
    const s = schedulerFromConfig({ _class_name: 'DDPMScheduler', num_train_timesteps: 10, trained_betas: betas });
    let acc = 1;
    betas.forEach((b, i) => {
      acc *= Math.fround(1 - Math.fround(b));
      expect(s.alphasCumprod[i]).toBeCloseTo(acc, 7);
    });
  });
  it('rescale_betas_zero_snr: DDIM ends at alpha_bar 0, Euler at 2^-24', () => {
    const d = schedulerFromConfig({ ...sd15, rescale_betas_zero_snr: true }, { className: 'DDIMScheduler' });
    expect(d.alphasCumprod[999]).toBe(0);
    const e = schedulerFromConfig({ ...turbo, rescale_betas_zero_snr: true });
    expect(e.alphasCumprod[999]).toBe(2 ** -24);
    e.setTimesteps(4);
    expect(e.sigmas![0]).toBeCloseTo(4096, 3);
    expect(e.initNoiseSigma).toBeCloseTo(4096, 3);
    expect(d.alphasCumprod[0]).toBeCloseTo(schedulerFromConfig(sd15, { className: 'DDIMScheduler' }).alphasCumprod[0], 7);
  });
  it('initNoiseSigma: 1 in alpha space; sqrt(max^2 + 1) for leading Euler', () => {
    for (const cls of ['DDPMScheduler', 'DDIMScheduler', 'LCMScheduler']) expect(schedulerFromConfig(sd15, { className: cls }).initNoiseSigma).toBe(1);
    const e = schedulerFromConfig({ ...turbo, timestep_spacing: 'leading' });
    e.setTimesteps(4);
    expect(e.timesteps).toEqual([751, 501, 251, 1]);
    const max = Math.max(...e.sigmas!);
    expect(e.initNoiseSigma).toBeCloseTo(Math.sqrt(max * max + 1), 5);
  });
  it('Euler before setTimesteps holds the full training table (diffusers)', () => {
    const e = schedulerFromConfig(turbo);
    expect(e.sigmas!.length).toBe(1001);
    expect(e.initNoiseSigma).toBeCloseTo(14.614647, 5);
  });
  it('Euler karras sigmas ramp between the first and last spaced sigmas, final sigma_min option', () => {
    const e = schedulerFromConfig({ ...turbo, use_karras_sigmas: true });
    e.setTimesteps(4);
    const plain = schedulerFromConfig(turbo);
    plain.setTimesteps(4);
    expect(e.sigmas![0]).toBeCloseTo(plain.sigmas![0], 5);
    expect(e.sigmas![3]).toBeCloseTo(plain.sigmas![3], 5);
    expect(e.timesteps[0]).toBeCloseTo(999, 3);
    expect(e.timesteps[3]).toBeCloseTo(249, 2);
    const m = schedulerFromConfig({ ...turbo, final_sigmas_type: 'sigma_min' });
    m.setTimesteps(4);
    const a0 = m.alphasCumprod[0];
    expect(m.sigmas![4]).toBeCloseTo(Math.sqrt((1 - a0) / a0), 6);
  });
});

describe('addNoise', () => {
  it('alpha space: sqrt(a) x0 + sqrt(1 - a) noise', () => {
    const s = createDDIMScheduler(sd15);
    const a = s.alphasCumprod[500];
    expectClose(s.addNoise(x0, eps, 500), x0.map((v, i) => Math.sqrt(a) * v + Math.sqrt(1 - a) * eps[i]), 1e-6, 1e-6, 'addNoise');
  });
  it('sigma space: x0 + sigma noise at a schedule timestep', () => {
    const s = createEulerDiscreteScheduler(turbo);
    s.setTimesteps(4);
    expectClose(s.addNoise(x0, eps, 749), x0.map((v, i) => v + s.sigmas![1] * eps[i]), 1e-6, 1e-6, 'addNoise');
  });
});

describe('inputs are not modified', () => {
  for (const cls of SUPPORTED_SCHEDULERS) {
    it(cls, () => {
      const s = schedulerFromConfig(cls.startsWith('Euler') ? turbo : sd15, { className: cls });
      s.setTimesteps(2);
      const x = torchRandn(0, N);
      const m = torchRandn(1, N);
      const noise = torchRandn(2, N);
      const copies = [x.slice(), m.slice(), noise.slice()];
      const t = s.timesteps[0];
      const scaled = s.scaleModelInput(x, t);
      expect(scaled).not.toBe(x);
      s.step(m, t, x, { noise, eta: 1 });
      expect([x, m, noise].map((a) => Array.from(a))).toEqual(copies.map((a) => Array.from(a)));
    });
  }
});
