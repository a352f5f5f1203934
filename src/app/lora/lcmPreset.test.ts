import { describe, expect, it } from 'vitest';
import { clampGuidance, lcmPresetTransition, type PresetSnapshot } from './lcmPreset';
import { parseLoraIndex } from './loraIndex';
import { LORA_INDEX_FIXTURE } from './testIndex';

const [lcm] = parseLoraIndex(LORA_INDEX_FIXTURE, '/models/loras/').loras;
const teacher: PresetSnapshot = { sampler: '', steps: 50, guidanceScale: 7.5, timesteps: '' };

describe('LCM-LoRA preset', () => {
  it('an arriving LCM-LoRA switches to LCM, 4 steps, guidance 1 and says what removing it restores', () => {
    const out = lcmPresetTransition({ preset: null, lcm, settings: { ...teacher, timesteps: '999,499' }, modelChanged: false, ownSamplerClass: 'DDIMScheduler' });
    expect(out.patch).toEqual({ sampler: 'LCMScheduler', steps: 4, timesteps: '', guidanceScale: 1 });
    expect(out.preset).toEqual({ loraId: 'fewstep-lcm-lora', previous: { ...teacher, timesteps: '999,499' }, guidanceRange: [1, 2] });
    expect(out.note).toBe(
      'LCM-LoRA (fewstep-teacher): LCM, 4 steps, guidance 1 (guidance kept within 1–2). Removing it restores DDIM, timesteps 999,499, guidance 7.5.',
    );
  });

  it('staying changes nothing; leaving restores the sampler, steps and guidance from before', () => {
    const on = lcmPresetTransition({ preset: null, lcm, settings: teacher, modelChanged: false, ownSamplerClass: 'DDIMScheduler' });
    // The user moves the steps while the LCM-LoRA is applied, then adds a style LoRA: the preset holds.
    const stay = lcmPresetTransition({ preset: on.preset, lcm, settings: { sampler: 'LCMScheduler', steps: 2, guidanceScale: 1.5, timesteps: '' }, modelChanged: false, ownSamplerClass: 'DDIMScheduler' });
    expect(stay).toEqual({ preset: on.preset, patch: {} });
    const off = lcmPresetTransition({ preset: on.preset, lcm: undefined, settings: { sampler: 'LCMScheduler', steps: 2, guidanceScale: 1.5, timesteps: '' }, modelChanged: false, ownSamplerClass: 'DDIMScheduler' });
    expect(off.preset).toBeNull();
    expect(off.patch).toEqual(teacher);
    expect(off.note).toBe('LCM-LoRA removed: back to DDIM, 50 steps, guidance 7.5.');
    // Nothing to do without a preset or an LCM-LoRA.
    expect(lcmPresetTransition({ preset: null, lcm: undefined, settings: teacher, modelChanged: false, ownSamplerClass: 'DDIMScheduler' })).toEqual({ preset: null, patch: {} });
  });

  it('settings from a link win (a kept guidance is still clamped); a model change restores its defaults, not the old model settings', () => {
    const linked = lcmPresetTransition({
      preset: null,
      lcm,
      settings: { sampler: 'LCMScheduler', steps: 2, guidanceScale: 7.5, timesteps: '' },
      restoreTo: teacher,
      modelChanged: true,
      ownSamplerClass: 'DDIMScheduler',
      keep: { steps: true, guidanceScale: true, sampler: true },
    });
    expect(linked.patch).toEqual({ guidanceScale: 2 });
    expect(linked.preset?.previous).toEqual(teacher);
    // Switching model drops the preset without touching the (new model's default) settings.
    expect(lcmPresetTransition({ preset: linked.preset, lcm: undefined, settings: teacher, modelChanged: true, ownSamplerClass: 'EulerDiscreteScheduler' })).toEqual({
      preset: null,
      patch: {},
    });
    // Removal after a restored run keeps that run's settings.
    const kept = lcmPresetTransition({ preset: linked.preset, lcm: undefined, settings: teacher, modelChanged: false, ownSamplerClass: 'DDIMScheduler', keep: { steps: true, guidanceScale: true, sampler: true } });
    expect(kept.patch).toEqual({});
  });

  it('clamps the guidance control to the range while the preset holds', () => {
    expect(clampGuidance(7.5, { guidanceRange: [1, 2] })).toBe(2);
    expect(clampGuidance(0, { guidanceRange: [1, 2] })).toBe(1);
    expect(clampGuidance(1.5, { guidanceRange: [1, 2] })).toBe(1.5);
    expect(clampGuidance(7.5, null)).toBe(7.5);
  });
});
