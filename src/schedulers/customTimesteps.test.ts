/**
 * Custom timestep lists: the text helper, and every registered scheduler taking a list (diffusers' checks:
 * strictly descending, below num_train_timesteps).
 */
import { describe, expect, it } from 'vitest';
import { formatTimesteps, parseTimesteps, samplerRows, schedulerFromConfig, SchedulerError } from './index';

describe('parseTimesteps / formatTimesteps', () => {
  it('reads commas and spaces, and round-trips', () => {
    expect(parseTimesteps('999,749,499,249')).toEqual([999, 749, 499, 249]);
    expect(parseTimesteps(' 999, 749  499 ,249 ')).toEqual([999, 749, 499, 249]);
    expect(parseTimesteps('399')).toEqual([399]);
    expect(formatTimesteps(parseTimesteps('999, 749,499,249'))).toBe('999,749,499,249');
  });
  it("refuses what diffusers refuses, and what is not a list of whole numbers", () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e instanceof SchedulerError ? `${e.code}: ${e.message}` : String(e);
      }
      return 'no error';
    };
    expect(code(() => parseTimesteps('999,749,800'))).toMatch(/SCHEDULER_INVALID_TIMESTEPS: `custom_timesteps` must be in descending order: 800 follows 749/);
    expect(code(() => parseTimesteps('500,500'))).toMatch(/descending/);
    expect(code(() => parseTimesteps('1000,500', 1000))).toMatch(/must start before `self.config.train_timesteps`: 1000/);
    expect(code(() => parseTimesteps(''))).toMatch(/No timesteps/);
    expect(code(() => parseTimesteps('999,abc'))).toMatch(/Timestep 2 \("abc"\)/);
    expect(code(() => parseTimesteps('999,-1'))).toMatch(/not a whole number/);
    expect(code(() => parseTimesteps('999.5'))).toMatch(/not a whole number/);
  });
});

describe('every sampler takes a custom list', () => {
  const SD = { num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' };
  for (const r of samplerRows()) {
    it(r.className, () => {
      const cm = r.className === 'CMStochasticIterativeScheduler';
      const s = schedulerFromConfig({ ...(cm ? {} : SD), _class_name: r.className });
      const list = parseTimesteps(cm ? '39,20,10,0' : '999,749,499,249');
      s.setTimesteps(list.length, { timesteps: list });
      // CM turns its ramp indices into 250 ln(sigma); the others use the list as given.
      if (!cm) expect([...s.timesteps]).toEqual(list);
      else expect(s.timesteps).toHaveLength(4);
      expect(() => s.setTimesteps(3, { timesteps: [cm ? 30 : 700, cm ? 31 : 800, 0] })).toThrow(/descending/);
      expect(() => s.setTimesteps(1, { timesteps: [cm ? 40 : 1000] })).toThrow(SchedulerError);
    });
  }
});
