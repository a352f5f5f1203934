import { describe, expect, it } from 'vitest';
import { samplerFit } from './samplerFit';

describe('samplerFit (caption when the picked sampler is not the model\'s family)', () => {
  it('no caption for the model\'s own sampler, no model, or a sampler of the same family', () => {
    expect(samplerFit('', 'DDIMScheduler')).toBeNull();
    expect(samplerFit('CMStochasticIterativeScheduler', '')).toBeNull();
    expect(samplerFit('DDIMScheduler', 'DDIMScheduler')).toBeNull();
    expect(samplerFit('ddim', 'DDIMScheduler')).toBeNull();
    expect(samplerFit('EulerDiscreteScheduler', 'DDIMScheduler')).toBeNull();
    expect(samplerFit('DPMSolverMultistepScheduler', 'EulerDiscreteScheduler')).toBeNull();
    expect(samplerFit('cm', 'CMStochasticIterativeScheduler')).toBeNull();
    expect(samplerFit('LCMScheduler', 'LCMScheduler')).toBeNull();
  });

  it('CM multistep on a diffusion model (the teacher\'s DDIM) is broken, and says what to pick', () => {
    const fit = samplerFit('CMStochasticIterativeScheduler', 'DDIMScheduler');
    expect(fit?.level).toBe('broken');
    expect(fit?.message).toContain('CM multistep is the sampler of consistency models');
    expect(fit?.message).toContain('its own sampler is DDIM');
    expect(fit?.message).toContain('Model\'s own');
    expect(samplerFit('cm', 'LCMScheduler')?.level).toBe('broken');
  });

  it('another sampler on a consistency model is broken', () => {
    const fit = samplerFit('DDIMScheduler', 'CMStochasticIterativeScheduler');
    expect(fit?.level).toBe('broken');
    expect(fit?.message).toContain('DDIM misreads it');
  });

  it('LCM on a model not distilled for it is poor, unless an LCM-LoRA is applied', () => {
    expect(samplerFit('LCMScheduler', 'DDIMScheduler')?.level).toBe('poor');
    expect(samplerFit('lcm', 'EulerDiscreteScheduler')?.message).toContain('its own sampler is Euler');
    expect(samplerFit('LCMScheduler', 'DDIMScheduler', { lcmLora: true })).toBeNull();
  });
});
