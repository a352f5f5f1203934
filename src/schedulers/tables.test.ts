/**
 * Betas and alphas_cumprod as diffusers computes them (float32 torch tensors): torch.linspace in float32 and
 * torch.cumprod, against real torch output (__fixtures__/torch_tables.json.gz, gen_torch_tables.py).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { schedulerFromConfig } from './index';
import { torchLinspaceF32 } from './schedule';

interface TablesFixture {
  torch_version: string;
  cases: ({ start: number; end: number; steps: number; values: number[] } | { alphas_cumprod: string; values: number[] })[];
}
const fx = JSON.parse(gunzipSync(readFileSync(new URL('./__fixtures__/torch_tables.json.gz', import.meta.url))).toString('utf8')) as TablesFixture;

describe(`float32 tables against torch ${fx.torch_version}`, () => {
  for (const c of fx.cases) {
    if ('start' in c) {
      it(`torch.linspace(${c.start}, ${c.end}, ${c.steps}, float32), bit for bit`, () => {
        expect([...torchLinspaceF32(c.start, c.end, c.steps)]).toEqual(c.values);
      });
    } else {
      it(`alphas_cumprod (${c.alphas_cumprod}) bit for bit`, () => {
        const cfg = c.alphas_cumprod === 'linear' ? { beta_schedule: 'linear', beta_start: 0.0001, beta_end: 0.02 } : { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 };
        const ac = schedulerFromConfig({ _class_name: 'DDPMScheduler', ...cfg }).alphasCumprod;
        let worst = 0;
        c.values.forEach((v, i) => (worst = Math.max(worst, Math.abs(ac[i] - v) / v)));
        expect(worst).toBe(0);
      });
    }
  }
});
