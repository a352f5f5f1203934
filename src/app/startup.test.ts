import { beforeEach, describe, expect, it } from 'vitest';
import { initialCompareState, useCompareStore } from './compare/compareStore';
import { applyUrlSettings, currentQuery } from './startup';
import { initialState, useAppStore } from './store';
import { decodeSettings } from './urlState';

describe('settings <-> URL', () => {
  beforeEach(() => {
    useAppStore.setState(useAppStore.getInitialState(), true);
    useCompareStore.setState(initialCompareState, true);
  });

  it('applies a shared URL to the settings and the comparison selection, ignoring invalid values', () => {
    applyUrlSettings('?p=two%20squares&seed=77&steps=8&model=fewstep-teacher&sampler=DDPMScheduler&cfg=5&ep=wasm&cm=fewstep-teacher:DDIMScheduler,fewstep-lcm:LCMScheduler&cs=1,4,50&bogus=1');
    expect(useAppStore.getState().settings).toMatchObject({
      prompt: 'two squares',
      seed: 77,
      steps: 8,
      modelId: 'fewstep-teacher',
      sampler: 'DDPMScheduler',
      guidanceScale: 5,
      provider: 'wasm',
    });
    expect(useCompareStore.getState().selectedRows).toEqual(['fewstep-teacher:DDIMScheduler', 'fewstep-lcm:LCMScheduler']);
    expect(useCompareStore.getState().selectedSteps).toEqual([1, 4, 50]);
    applyUrlSettings('?seed=-1&steps=abc&ep=cuda');
    expect(useAppStore.getState().settings).toMatchObject({ seed: 77, steps: 8, provider: 'wasm' });
  });

  it('round-trips the current state through the query string and keeps keys it does not own', () => {
    useAppStore.setState({ settings: { ...initialState.settings, prompt: 'a, b & c?', seed: 9, steps: 16, sampler: 'DDIMScheduler', modelId: 'fewstep-teacher', guidanceScale: 7.5 } });
    useCompareStore.setState({ selectedSteps: [1, 2] });
    const q = currentQuery('?fixtures&seed=1&steps=2');
    const params = new URLSearchParams(q);
    expect(params.has('fixtures')).toBe(true);
    expect(params.getAll('seed')).toEqual(['9']);
    expect(decodeSettings(q)).toMatchObject({ prompt: 'a, b & c?', seed: 9, steps: 16, sampler: 'DDIMScheduler', modelId: 'fewstep-teacher', guidanceScale: 7.5, compareSteps: [1, 2] });
    // The model's own sampler ('') is left out rather than written as an empty value.
    useAppStore.setState((s) => ({ settings: { ...s.settings, sampler: '' } }));
    expect(new URLSearchParams(currentQuery('')).has('sampler')).toBe(false);
  });
});
