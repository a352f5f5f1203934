import { beforeEach, describe, expect, it } from 'vitest';
import { initialCompareState, useCompareStore } from './compare/compareStore';
import { applyUrlSettings, currentQuery, noteUnknownLinkModel, withIgnoredSetting } from './startup';
import { initialState, useAppStore } from './store';
import { useUiStore } from './ui/uiStore';
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

  it('a link with custom timesteps and TCD gamma: the list and its step count; nonsense is ignored with a notice', () => {
    applyUrlSettings('?ts=999,749,499,249&steps=8&sampler=TCDScheduler&gamma=0.5');
    expect(useAppStore.getState().settings).toMatchObject({ timesteps: '999,749,499,249', steps: 4, sampler: 'TCDScheduler', gamma: 0.5 });
    expect(useUiStore.getState().notice).toBeNull();
    useAppStore.setState(useAppStore.getInitialState(), true);
    applyUrlSettings('?ts=499,999&steps=2&gamma=7');
    expect(useAppStore.getState().settings).toMatchObject({ timesteps: '', steps: 2, gamma: 0.3 });
    const notice = useUiStore.getState().notice ?? '';
    expect(notice).toContain('The timesteps in the link (ts=499,999) were ignored: `custom_timesteps` must be in descending order: 999 follows 499.');
    expect(notice).toContain("Using the scheduler's own spacing.");
    expect(notice).toContain('gamma=7');
    expect(notice).not.toContain('ts=499,999,');
  });

  it('writes ts while a list reads, and gamma only while TCD runs', () => {
    useAppStore.setState({ settings: { ...initialState.settings, timesteps: '999, 499', steps: 2, sampler: 'TCDScheduler', gamma: 0.4 } });
    expect(decodeSettings(currentQuery(''))).toMatchObject({ timesteps: [999, 499], steps: 2, sampler: 'TCDScheduler', gamma: 0.4 });
    useAppStore.setState((s) => ({ settings: { ...s.settings, timesteps: '999,', sampler: 'DDIMScheduler' } }));
    const q = new URLSearchParams(currentQuery(''));
    expect(q.get('ts')).toBe('999');
    expect(q.has('gamma')).toBe(false);
    useAppStore.setState((s) => ({ settings: { ...s.settings, timesteps: '999,x' } }));
    expect(new URLSearchParams(currentQuery('')).has('ts')).toBe(false);
  });

  it('LoRAs: from a link into the settings (applied by the first load), back into the link (shipped ones only), with a notice for what was left out', () => {
    applyUrlSettings('?model=fewstep-teacher&lora=fewstep-style-ink:0.8,fewstep-lcm-lora:1,mine.safetensors:1,x:9');
    expect(useAppStore.getState().settings.loras).toEqual([
      { id: 'fewstep-style-ink', scale: 0.8 },
      { id: 'fewstep-lcm-lora', scale: 1 },
    ]);
    const notice = useUiStore.getState().notice ?? '';
    expect(notice).toContain('Some LoRAs in the link were left out:');
    expect(notice).toContain('mine.safetensors is a file picked on another computer');
    expect(notice).toContain('x: strength "9" is not a number from -2 to 2.');
    expect(notice).not.toContain('Ignored settings');
    useAppStore.setState((s) => ({ settings: { ...s.settings, loras: [...s.settings.loras, { id: 'mine.safetensors', scale: 1 }] } }));
    expect(new URLSearchParams(currentQuery('')).get('lora')).toBe('fewstep-style-ink:0.8,fewstep-lcm-lora:1');
    useAppStore.setState((s) => ({ settings: { ...s.settings, loras: [] } }));
    expect(new URLSearchParams(currentQuery('')).has('lora')).toBe(false);
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

  it('a link model that is not known joins the ignored settings; an unknown view is listed and dropped from the rewritten link', () => {
    useUiStore.setState({ notice: null });
    applyUrlSettings('?model=nope&view=zzz&steps=abc');
    noteUnknownLinkModel('?model=nope&view=zzz&steps=abc', ['fewstep-turbo', 'fewstep-teacher']);
    const notice = useUiStore.getState().notice ?? '';
    expect(notice).toBe('Ignored settings in the link (out of range or not understood): steps=abc, view=zzz, model=nope (not a known model; known: fewstep-turbo, fewstep-teacher).');
    const q = new URLSearchParams(currentQuery('?model=nope&view=zzz&fixtures'));
    expect(q.has('view')).toBe(false);
    expect(q.has('fixtures')).toBe(true);
    expect(new URLSearchParams(currentQuery('?view=bench')).get('view')).toBe('bench');
    // A known model adds nothing; with no other notice the sentence is started.
    useUiStore.setState({ notice: null });
    noteUnknownLinkModel('?model=fewstep-teacher', ['fewstep-teacher']);
    expect(useUiStore.getState().notice).toBeNull();
    noteUnknownLinkModel('?model=x', []);
    expect(useUiStore.getState().notice).toBe('Ignored settings in the link (out of range or not understood): model=x (not a known model; known: none).');
    expect(withIgnoredSetting('The prompt in the link was cut to 1000 characters.', 'model=x')).toBe(
      'The prompt in the link was cut to 1000 characters. Ignored settings in the link (out of range or not understood): model=x.',
    );
  });
});
