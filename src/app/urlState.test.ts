import { describe, expect, it } from 'vitest';
import { decodeSettings, encodeSettings, type Settings } from './urlState';

const full: Settings = {
  prompt: 'a red circle',
  negativePrompt: 'blurry',
  seed: 42,
  steps: 4,
  modelId: 'fewstep-turbo',
  sampler: 'EulerDiscreteScheduler',
  guidanceScale: 7.5,
  provider: 'webgpu',
  compareModels: ['fewstep-turbo', 'fewstep-lcm', 'teacher'],
  compareSteps: [1, 2, 4, 8, 16, 32, 50],
};

describe('url state', () => {
  it('round-trips a full settings object with short keys in a stable order', () => {
    const q = encodeSettings(full);
    expect([...new URLSearchParams(q).keys()]).toEqual(['p', 'np', 'seed', 'steps', 'model', 'sampler', 'cfg', 'ep', 'cm', 'cs']);
    expect(q).toContain('cs=1%2C2%2C4%2C8%2C16%2C32%2C50');
    expect(decodeSettings(q)).toEqual(full);
    expect(decodeSettings('?' + q)).toEqual(full);
    expect(decodeSettings(`https://example.org/app/?${q}#grid`)).toEqual(full);
    expect(decodeSettings(new URLSearchParams(q))).toEqual(full);
  });

  it('round-trips unicode and reserved characters in prompts', () => {
    for (const prompt of ['一只红色的猫 🐱', 'a&b=c?d#e%f+g h', 'multi\nline\r\nprompt', 'ümlaut, "quotes", \'single\'', '  padded  ']) {
      const s = { prompt, negativePrompt: prompt + ' neg' };
      expect(decodeSettings(encodeSettings(s))).toEqual(s);
    }
  });

  it('omits undefined and empty fields', () => {
    expect(encodeSettings({})).toBe('');
    expect(encodeSettings({ prompt: '', seed: 0 })).toBe('seed=0');
    expect(decodeSettings('')).toEqual({});
    expect(decodeSettings('seed=0')).toEqual({ seed: 0 });
  });

  it('drops invalid and out-of-range values without throwing', () => {
    const q =
      'seed=-1&steps=0&cfg=31&ep=cuda&model=%3Cscript%3E&sampler=&cm=ok,%20bad%3Cid,,ok,also.ok,trailing%20&cs=4,abc,0,1001,4,2.5,8&unknown=1';
    expect(decodeSettings(q)).toEqual({ compareModels: ['ok', 'also.ok', 'trailing'], compareSteps: [4, 8] });
    expect(decodeSettings('seed=1e3&steps=0x10&cfg=Infinity')).toEqual({});
    expect(decodeSettings('seed=9007199254740992&steps=1.5&cfg=-0.5')).toEqual({});
    // The engine's limits (GENERATE_LIMITS): 32-bit seeds, prompts of at most 1000 characters.
    expect(decodeSettings('seed=4294967296')).toEqual({});
    expect(decodeSettings('seed=4294967295&steps=1000&cfg=0&ep=auto')).toEqual({ seed: 4294967295, steps: 1000, guidanceScale: 0, provider: 'auto' });
    expect(decodeSettings('p=' + 'x'.repeat(1001))).toEqual({});
    expect(decodeSettings('p=' + 'x'.repeat(1000))).toEqual({ prompt: 'x'.repeat(1000) });
    expect(decodeSettings('%E0%A4%A&p=ok')).toEqual({ prompt: 'ok' });
    expect(decodeSettings(null as unknown as string)).toEqual({});
    expect(decodeSettings('cm=,,&cs=')).toEqual({});
  });

  it('does not encode invalid values either', () => {
    const q = encodeSettings({ seed: 1.5, steps: 5000, guidanceScale: NaN, provider: 'cuda' as Settings['provider'], modelId: 'bad<id', compareSteps: [0, 3, 3] });
    expect(q).toBe('cs=3');
  });

  it('accepts sampler labels with inner spaces', () => {
    expect(decodeSettings(encodeSettings({ sampler: 'Euler a' }))).toEqual({ sampler: 'Euler a' });
    expect(decodeSettings('sampler=Euler+a+')).toEqual({});
  });

  it('keeps the first value when a key repeats', () => {
    expect(decodeSettings('steps=2&steps=8')).toEqual({ steps: 2 });
  });
});
