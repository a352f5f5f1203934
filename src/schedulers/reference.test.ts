/**
 * The schedulers against __fixtures__/reference.json: an independent float64 numpy evaluation of the published
 * formulas (gen_reference.py) — timestep tables of the public configs, sigma tables, alphas_cumprod, and full
 * sampling loops with a deterministic stand-in model for every class and prediction type.
 */
import { describe, expect, it } from 'vitest';
import { schedulerFromConfig } from './index';
import { expectClose, fixtureInitial, fixtureNoise, loadFixture, standInModel, type FixtureCase } from './testUtil';

interface Case extends FixtureCase {
  timesteps: number[];
  sigmas?: number[];
  init_noise_sigma: number;
  scaled_first?: number[];
  x0: number[][];
  final: number[];
}
interface Reference {
  n_elem: number;
  timestep_tables: Record<string, Record<string, { timesteps: number[]; sigmas?: number[] }>>;
  alphas_tables: Record<string, { class: string; config: Record<string, unknown>; probe: number[]; alphas_cumprod: number[]; sigmas: (number | null)[] }>;
  torch_float32: null | { torch_version: string; linear: number[]; scaled_linear: number[]; linear_sigmas: number[]; scaled_linear_sigmas: number[] };
  cases: Case[];
}

const ref = loadFixture<Reference>('reference.json');
const configs = {
  sd15: loadFixture<Record<string, unknown>>('configs/sd15-pndm.json'),
  lcm: loadFixture<Record<string, unknown>>('configs/lcm-dreamshaper-v7.json'),
  turbo: loadFixture<Record<string, unknown>>('configs/sd-turbo.json'),
  xlturbo: loadFixture<Record<string, unknown>>('configs/sdxl-turbo.json'),
};

describe('timestep tables of the public configs', () => {
  const table = ref.timestep_tables;
  const makers: [string, () => ReturnType<typeof schedulerFromConfig>][] = [
    ['sd15-ddim', () => schedulerFromConfig(configs.sd15, { className: 'DDIMScheduler' })],
    ['lcm-dreamshaper-v7', () => schedulerFromConfig(configs.lcm)],
    ['sd-turbo', () => schedulerFromConfig(configs.turbo)],
    ['sdxl-turbo', () => schedulerFromConfig(configs.xlturbo)],
  ];
  for (const [name, make] of makers) {
    for (const [n, expected] of Object.entries(table[name])) {
      it(`${name}, ${n} steps`, () => {
        const s = make();
        s.setTimesteps(Number(n));
        expect([...s.timesteps]).toEqual(expected.timesteps);
        // float32 tables (as diffusers) vs float64 reference: 1 - alpha_bar loses ~1e-5 relative near t = 0.
        if (expected.sigmas) expectClose(s.sigmas!, expected.sigmas, 3e-5, 0, 'sigmas');
      });
    }
  }

  it('match the values quoted in schedulers.md', () => {
    const ddim = schedulerFromConfig(configs.sd15, { className: 'DDIMScheduler' });
    ddim.setTimesteps(4);
    expect(ddim.timesteps).toEqual([751, 501, 251, 1]);
    const lcm = schedulerFromConfig(configs.lcm);
    lcm.setTimesteps(4);
    expect(lcm.timesteps).toEqual([999, 759, 499, 259]);
    const turbo = schedulerFromConfig(configs.turbo);
    turbo.setTimesteps(4);
    expect(turbo.timesteps).toEqual([999, 749, 499, 249]);
    expectClose(turbo.sigmas!, [14.614647, 4.0817308, 1.612887, 0.69320542, 0], 1e-6, 0, 'turbo sigmas');
    expect(turbo.initNoiseSigma).toBeCloseTo(14.614647, 5);
    turbo.setTimesteps(1);
    expect(turbo.timesteps).toEqual([999]);
    const scaled = turbo.scaleModelInput(new Float32Array([14.64882]), 999);
    expect(scaled[0]).toBeCloseTo(1, 5);
    const xl = schedulerFromConfig(configs.xlturbo);
    xl.setTimesteps(4);
    expect(xl.timesteps).toEqual([999, 749, 499, 249]);
    expect(xl.initNoiseSigma).toBeCloseTo(14.614647, 5);
  });
});

describe('alphas_cumprod and sigma tables', () => {
  for (const [name, t] of Object.entries(ref.alphas_tables)) {
    it(name, () => {
      const s = schedulerFromConfig(t.config, { className: t.class });
      const a = t.probe.map((i) => s.alphasCumprod[i]);
      // float32 storage: within 2 float32 ulp of 1 absolutely, 2e-6 relatively.
      expectClose(a, t.alphas_cumprod, 2e-6, 1.2e-7, 'alphas_cumprod');
      const sig = t.probe.map((i) => Math.sqrt((1 - s.alphasCumprod[i]) / s.alphasCumprod[i]));
      const finite = t.sigmas.map((v, i) => [v, sig[i]] as const).filter(([v]) => v !== null);
      // sigma = sqrt((1 - a) / a) amplifies a's float32 rounding where a is near 1 (t near 0, linear betas: ~1e-4).
      expectClose(finite.map(([, v]) => v), finite.map(([v]) => v as number), 3e-4, 0, 'sigmas');
    });
  }
  it('SD scaled_linear spot values from schedulers.md', () => {
    const s = schedulerFromConfig(configs.sd15, { className: 'DDIMScheduler' });
    expect(s.alphasCumprod[0]).toBeCloseTo(0.99914998, 7);
    expect(s.alphasCumprod[499]).toBeCloseTo(0.27766943, 7);
    expect(s.alphasCumprod[999]).toBeCloseTo(0.00466009, 7);
  });
  // torch's float32 linspace rounds differently from a float64 linspace rounded once (and differently across
  // torch versions and CPUs), so betas and alphas_cumprod agree to a few float32 ulp, not bit for bit.
  it.runIf(ref.torch_float32 !== null)('equals torch float32 alphas_cumprod within 1e-6 relative', () => {
    const tf = ref.torch_float32!;
    const lin = schedulerFromConfig({ _class_name: 'DDPMScheduler' });
    const sd = schedulerFromConfig(configs.sd15, { className: 'DDIMScheduler' });
    for (const [ours, theirs] of [
      [lin.alphasCumprod, tf.linear],
      [sd.alphasCumprod, tf.scaled_linear],
    ] as const) {
      expectClose(ours, theirs, 1e-6, 0, 'alphas_cumprod vs torch');
    }
    const turbo = schedulerFromConfig(configs.turbo);
    const sig = [...turbo.sigmas!].reverse().slice(1); // full table before setTimesteps, t = 0..999
    expectClose(sig, tf.scaled_linear_sigmas, 1e-6, 0, 'sigma table vs torch');
  });
});

describe('sampling loops against the float64 reference', () => {
  for (const c of ref.cases) {
    it(c.name, () => {
      const s = schedulerFromConfig(c.config, { className: c.className });
      s.setTimesteps(c.steps, {
        ...(c.customTimesteps ? { timesteps: c.customTimesteps } : {}),
        ...(c.originalInferenceSteps ? { originalInferenceSteps: c.originalInferenceSteps } : {}),
      });
      if (c.timesteps.every(Number.isInteger) || c.name.includes('linspace')) {
        expect([...s.timesteps].map(Math.fround)).toEqual(c.timesteps.map(Math.fround));
      } else {
        // Karras / exponential / continuous timesteps come from log-sigma interpolation of the float32 table.
        expectClose(s.timesteps, c.timesteps, 0, 5e-3, 'timesteps');
      }
      if (c.sigmas) expectClose(s.sigmas!, c.sigmas, 3e-5, 1e-9, 'sigmas');
      expectClose([s.initNoiseSigma], [c.init_noise_sigma], 3e-5, 0, 'init_noise_sigma');
      const n = ref.n_elem;
      let x: Float32Array = fixtureInitial(n).map((v) => v * s.initNoiseSigma);
      s.timesteps.forEach((t, k) => {
        const input = s.scaleModelInput(x, t);
        if (k === 0 && c.scaled_first) expectClose(input, c.scaled_first, 1e-5, 1e-6, 'scaled model input');
        const out = s.step(standInModel(input, t, k), t, x, {
          eta: c.eta,
          ...(s.needsNoise(t, { eta: c.eta }) ? { noise: fixtureNoise(k, n) } : {}),
        });
        expectClose(out.predOriginalSample, c.x0[k], 5e-5, 5e-5, `step ${k} (t=${t}) x0`);
        x = out.prevSample;
      });
      expectClose(x, c.final, 5e-5, 5e-5, 'final latents');
    });
  }
});
