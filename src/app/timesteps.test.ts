import { describe, expect, it } from 'vitest';
import { generateParams } from './runs';
import { DEFAULT_SETTINGS } from './store';
import { checkTimesteps, effectiveSampler, isTcd, timestepsPatch } from './timesteps';

const SD = { num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', timestep_spacing: 'trailing' };
const ddim = { schedulerClass: 'DDIMScheduler', schedulerConfig: { _class_name: 'DDIMScheduler', ...SD } };

describe('custom timesteps in the app', () => {
  it('empty text is the scheduler\'s own spacing; a valid list sets the step count', () => {
    expect(checkTimesteps('', '', ddim)).toEqual({ ok: true, list: null });
    expect(checkTimesteps('  ', '', ddim)).toEqual({ ok: true, list: null });
    const c = checkTimesteps('999, 749 499,249', '', ddim);
    expect(c).toEqual({ ok: true, list: [999, 749, 499, 249] });
    expect(timestepsPatch('999, 749 499,249', c)).toEqual({ timesteps: '999, 749 499,249', steps: 4 });
    // An invalid list keeps the text (the field shows it) and leaves the step count alone.
    expect(timestepsPatch('999,', checkTimesteps('999,x', '', ddim))).toEqual({ timesteps: '999,' });
  });

  it('shows the parser\'s and the scheduler\'s own messages', () => {
    expect(checkTimesteps('499,999', '', ddim)).toEqual({ ok: false, message: '`custom_timesteps` must be in descending order: 999 follows 499.' });
    expect(checkTimesteps('1000,500', '', ddim)).toEqual({
      ok: false,
      message: '`timesteps` must start before `self.config.train_timesteps`: 1000 (got 1000).',
    });
    expect(checkTimesteps('999,abc', '', ddim)).toMatchObject({ ok: false, message: expect.stringMatching(/Timestep 2 \("abc"\) is not a whole number/) });
    // The override's class runs it: DPM++ with Karras sigmas refuses custom timesteps, as diffusers.
    const karras = { schedulerClass: 'DDIMScheduler', schedulerConfig: { ...ddim.schedulerConfig, use_karras_sigmas: true } };
    expect(checkTimesteps('999,499', 'DPMSolverMultistepScheduler', karras)).toMatchObject({ ok: false, message: expect.stringMatching(/use_karras_sigmas/) });
    expect(checkTimesteps('999,499', '', karras)).toEqual({ ok: true, list: [999, 499] });
    // Consistency models count their own training steps (40 by default).
    const cm = { schedulerClass: 'CMStochasticIterativeScheduler', schedulerConfig: { _class_name: 'CMStochasticIterativeScheduler' } };
    expect(checkTimesteps('999,749,499,249', '', cm)).toMatchObject({ ok: false, message: expect.stringMatching(/40/) });
    expect(checkTimesteps('22,0', '', cm)).toEqual({ ok: true, list: [22, 0] });
    // No model yet: only the text is checked.
    expect(checkTimesteps('5000,1', '', null)).toEqual({ ok: true, list: [5000, 1] });
  });

  it('the sampler that runs: the override (any registry name) or the model\'s own', () => {
    expect(effectiveSampler('', ddim)).toBe('DDIMScheduler');
    expect(effectiveSampler('tcd', ddim)).toBe('TCDScheduler');
    expect(effectiveSampler('', null)).toBe('');
    expect(isTcd('TCD')).toBe(true);
    expect(isTcd('')).toBe(false);
  });

  it('generate params: the list and its length go to the engine; TCD sends its gamma as eta, the others eta', () => {
    const s = { ...DEFAULT_SETTINGS, timesteps: '999,499', steps: 8, eta: 0, gamma: 0.3 };
    expect(generateParams(s, { schedulerClass: 'DDIMScheduler' })).toMatchObject({ steps: 2, timesteps: [999, 499], eta: 0 });
    expect(generateParams({ ...s, sampler: 'TCDScheduler' })).toMatchObject({ scheduler: 'TCDScheduler', eta: 0.3 });
    expect(generateParams({ ...s, timesteps: '' }, { schedulerClass: 'TCDScheduler' })).toMatchObject({ steps: 8, eta: 0.3 });
    expect(generateParams({ ...s, timesteps: '' })).not.toHaveProperty('timesteps');
    expect(DEFAULT_SETTINGS.gamma).toBe(0.3);
  });
});
