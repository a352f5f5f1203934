/**
 * DPM-Solver++ (multistep), TCD and CM multistep against the real diffusers classes run in float32 torch on the
 * stand-in model of reference.test.ts, with explicit noise (__fixtures__/upstream_new.json.gz, gen_upstream_new.py):
 * timesteps, sigmas and every step's prev_sample.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { schedulerFromConfig } from './index';
import { expectClose, fixtureInitial, fixtureNoise, standInModel } from './testUtil';

interface Case {
  name: string;
  className: string;
  config: Record<string, unknown>;
  steps: number;
  custom: number[] | null;
  eta: number | null;
  original: number | null;
  timesteps: number[];
  sigmas?: number[];
  init_noise_sigma: number;
  prev: number[][];
}
const fx = JSON.parse(gunzipSync(readFileSync(new URL('./__fixtures__/upstream_new.json.gz', import.meta.url))).toString('utf8')) as {
  diffusers_commit: string;
  torch_version: string;
  n_elem: number;
  cases: Case[];
};

describe(`new samplers against diffusers ${fx.diffusers_commit.slice(0, 10)} (torch ${fx.torch_version}, float32)`, () => {
  for (const c of fx.cases) {
    it(c.name, () => {
      const s = schedulerFromConfig(c.config);
      s.setTimesteps(c.steps, { ...(c.custom ? { timesteps: c.custom } : {}), ...(c.original ? { originalInferenceSteps: c.original } : {}) });
      if (c.className === 'CMStochasticIterativeScheduler') expectClose(s.timesteps, c.timesteps, 1e-12, 1e-12, 'timesteps');
      else expect([...s.timesteps]).toEqual(c.timesteps);
      if (c.sigmas && s.sigmas) expectClose(s.sigmas, c.sigmas, 0, 0, 'sigmas');
      expect(s.initNoiseSigma).toBe(c.init_noise_sigma);
      const n = fx.n_elem;
      const atol = 1e-6 * Math.max(1, s.initNoiseSigma);
      let x: Float32Array = fixtureInitial(n).map((v) => v * s.initNoiseSigma);
      const eta = c.eta ?? undefined;
      s.timesteps.forEach((t, k) => {
        const out = s.step(standInModel(s.scaleModelInput(x, t), t, k), t, x, {
          eta,
          ...(s.needsNoise(t, { eta }) ? { noise: fixtureNoise(k, n) } : {}),
        });
        // TCD and CM are bit-identical; DPM-Solver++ is within a float32 ulp or two (torch's float32 exp / log).
        expectClose(out.prevSample, c.prev[k], 1e-6, atol, `step ${k} (t=${t}) prev_sample`);
        x = out.prevSample;
      });
    });
  }
});
