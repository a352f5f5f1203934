import { afterEach, describe, expect, it } from 'vitest';
import { GENERATE_LIMITS } from '../engine';
import { applyUrlSettings, rejectedUrlKeys } from './startup';
import { initialState, useAppStore } from './store';
import { initialUiState, parseView, useUiStore } from './ui/uiStore';
import { decodeSettings } from './urlState';

afterEach(() => {
  useAppStore.setState(initialState, true);
  useUiStore.setState(initialUiState, true);
});

describe('nonsense in the URL', () => {
  it('names the settings it ignored', () => {
    const q = '?seed=-5&steps=abc&cfg=NaN&ep=quantum&model=..%2F..&view=nope&p=ok';
    expect(rejectedUrlKeys(q, decodeSettings(q))).toEqual(['seed=-5', 'steps=abc', 'model=../..', 'cfg=NaN', 'ep=quantum', 'view=nope']);
    expect(rejectedUrlKeys('?seed=4&steps=2&view=compare', decodeSettings('?seed=4&steps=2&view=compare'))).toEqual([]);
  });

  it('cuts an over-long prompt instead of dropping it, and says so', () => {
    const long = 'x'.repeat(10_000);
    applyUrlSettings(`?p=${long}&steps=zzz`);
    expect(useAppStore.getState().settings.prompt).toHaveLength(GENERATE_LIMITS.maxPromptLength);
    expect(useUiStore.getState().notice).toMatch(/cut to 1000 characters.*steps=zzz/);
  });

  it('reads the view from the URL', () => {
    applyUrlSettings('?view=charts');
    expect(useUiStore.getState().view).toBe('charts');
    expect(useUiStore.getState().notice).toBeNull();
    expect(parseView('?view=../x')).toBe('generate');
  });
});
