/**
 * The schedulers against __fixtures__/upstream.json: the real diffusers scheduler classes run in float32 torch
 * (gen_upstream.py) on the same cases, stand-in model and noise as reference.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { schedulerFromConfig } from './index';
import { expectClose, fixtureInitial, fixtureNoise, loadFixture, standInModel, type FixtureCase as RefCase } from './testUtil';
interface UpCase {
  name: string;
  skipped?: string;
  timesteps: number[];
  sigmas?: number[];
  init_noise_sigma: number;
  scaled_first: number[];
  x0: number[][];
  final: number[];
}
const ref = loadFixture<{ n_elem: number; cases: RefCase[] }>('reference.json');
const up = loadFixture<{ diffusers_commit: string; torch_version: string; cases: UpCase[] }>('upstream.json');

describe(`sampling loops against diffusers ${up.diffusers_commit.slice(0, 10)} (torch ${up.torch_version}, float32)`, () => {
  for (const u of up.cases) {
    const c = ref.cases.find((r) => r.name === u.name)!;
    it.skipIf(u.skipped !== undefined)(u.name, () => {
      const s = schedulerFromConfig(c.config, { className: c.className });
      s.setTimesteps(c.steps, {
        ...(c.customTimesteps ? { timesteps: c.customTimesteps } : {}),
        ...(c.originalInferenceSteps ? { originalInferenceSteps: c.originalInferenceSteps } : {}),
      });
      if (u.timesteps.every(Number.isInteger)) expect([...s.timesteps]).toEqual(u.timesteps);
      // Karras / exponential / continuous timesteps: log-sigma interpolation, a float32 ulp or two apart.
      else expectClose(s.timesteps, u.timesteps, 1e-6, 1e-6, 'timesteps');
      if (u.sigmas) expectClose(s.sigmas!, u.sigmas, 1e-6, 0, 'sigmas');
      expectClose([s.initNoiseSigma], [u.init_noise_sigma], 1e-6, 0, 'init_noise_sigma');
      const n = ref.n_elem;
      // float32 resolution of the initial latents (|x| up to ~1.5 initNoiseSigma) bounds what can agree.
      const atol = 1e-5 + 1e-6 * s.initNoiseSigma;
      let x: Float32Array = fixtureInitial(n).map((v) => v * s.initNoiseSigma);
      s.timesteps.forEach((t, k) => {
        const input = s.scaleModelInput(x, t);
        if (k === 0) expectClose(input, u.scaled_first, 1e-6, 1e-7, 'scaled model input');
        const out = s.step(standInModel(input, t, k), t, x, {
          eta: c.eta,
          ...(s.needsNoise(t, { eta: c.eta }) ? { noise: fixtureNoise(k, n) } : {}),
        });
        expectClose(out.predOriginalSample, u.x0[k], 2e-6, atol, `step ${k} (t=${t}) x0`);
        x = out.prevSample;
      });
      expectClose(x, u.final, 2e-6, atol, 'final latents');
    });
  }
});
