/**
 * Every timestep_spacing, every scheduler, every step count 1..1000 against __fixtures__/spacing.json.gz: diffusers'
 * set_timesteps formulas evaluated by numpy (gen_spacing.py). Entries are "length:sha1(values)"; a schedule that
 * diffusers cannot sample (`invalid`: N + 1 entries ending at t = -1 with trailing at N = 61, 103, ...; t = T with
 * leading + steps_offset at N = 1000) must be refused here.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { schedulerFromConfig, SchedulerError } from './index';

interface SpacingFixture {
  diffusers_commit: string;
  config: Record<string, unknown>;
  tables: Record<string, string[]>;
  invalid: Record<string, number[]>;
  full: Record<string, Record<string, number[]>>;
}
const fx = JSON.parse(gunzipSync(readFileSync(new URL('./__fixtures__/spacing.json.gz', import.meta.url))).toString('utf8')) as SpacingFixture;

function key(ts: readonly number[]): string {
  return `${ts.length}:${createHash('sha1').update(ts.map(String).join(',')).digest('hex').slice(0, 16)}`;
}

describe(`timestep spacing, N = 1..1000, against numpy transcriptions of diffusers ${fx.diffusers_commit}`, () => {
  for (const [name, table] of Object.entries(fx.tables)) {
    const [cls, spacing] = name.split('/');
    it(name, () => {
      const s = schedulerFromConfig({ ...fx.config, _class_name: cls, timestep_spacing: spacing });
      let refused = 0;
      const mismatches: string[] = [];
      table.forEach((expected, i) => {
        const n = i + 1;
        const full = fx.full[name][String(n)];
        const upstreamInvalid = fx.invalid[name].includes(n);
        let got: string;
        try {
          s.setTimesteps(n);
          got = key(s.timesteps);
        } catch (e) {
          if (!(e instanceof SchedulerError) || (e.code !== 'SCHEDULER_INVALID_STEPS' && e.code !== 'SCHEDULER_INVALID_TIMESTEPS')) throw e;
          refused++;
          got = 'refused';
        }
        if (upstreamInvalid) {
          if (got !== 'refused') mismatches.push(`N=${n}: upstream's schedule cannot be sampled (${expected}), expected a refusal, got ${got}`);
        } else if (got !== expected) {
          mismatches.push(`N=${n}: ${got} != ${expected}${full ? ` ([${s.timesteps.join(', ')}] vs [${full.join(', ')}])` : ''}`);
        }
      });
      expect(mismatches.slice(0, 5), `${mismatches.length} step counts differ`).toEqual([]);
      // Only the schedules upstream cannot sample are refused.
      expect(refused).toBe(fx.invalid[name].length);
    });
  }

  it('the issue case: trailing 48 steps has 936 as 4th timestep (numpy arange gives 937.4999999999999)', () => {
    for (const cls of ['DDIMScheduler', 'DDPMScheduler', 'EulerDiscreteScheduler', 'EulerAncestralDiscreteScheduler']) {
      const s = schedulerFromConfig({ ...fx.config, _class_name: cls, timestep_spacing: 'trailing' });
      s.setTimesteps(48);
      expect(s.timesteps.slice(0, 5)).toEqual([999, 978, 957, 936, 916]);
      expect([...s.timesteps]).toEqual(fx.full[`${cls}/trailing`]['48']);
    }
  });
});
