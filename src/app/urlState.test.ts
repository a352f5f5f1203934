import { describe, expect, it } from 'vitest';
import { decodeSettings, encodeSettings, loraLinkList, timestepsProblem, type Settings } from './urlState';

const full: Settings = {
  prompt: 'a red circle',
  negativePrompt: 'blurry',
  seed: 42,
  steps: 4,
  timesteps: [999, 749, 499, 249],
  modelId: 'fewstep-turbo',
  sampler: 'TCDScheduler',
  gamma: 0.3,
  guidanceScale: 7.5,
  provider: 'webgpu',
  loras: [
    { id: 'fewstep-style-ink', scale: 0.8 },
    { id: 'fewstep-lcm-lora', scale: 1 },
  ],
  compareModels: ['fewstep-turbo', 'fewstep-lcm', 'teacher'],
  compareSteps: [1, 2, 4, 8, 16, 32, 50],
};

describe('url state', () => {
  it('round-trips a full settings object with short keys in a stable order', () => {
    const q = encodeSettings(full);
    expect([...new URLSearchParams(q).keys()]).toEqual(['p', 'np', 'seed', 'steps', 'ts', 'model', 'sampler', 'gamma', 'cfg', 'ep', 'lora', 'cm', 'cs']);
    expect(new URLSearchParams(q).get('lora')).toBe('fewstep-style-ink:0.8,fewstep-lcm-lora:1');
    expect(q).toContain('cs=1%2C2%2C4%2C8%2C16%2C32%2C50');
    expect(q).toContain('ts=999%2C749%2C499%2C249');
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

  it('custom timesteps (ts): the step count follows the list; nonsense is dropped with a message saying why', () => {
    expect(decodeSettings('ts=999,749,499,249&steps=8')).toEqual({ timesteps: [999, 749, 499, 249], steps: 4 });
    expect(decodeSettings('ts=999+499')).toEqual({ timesteps: [999, 499], steps: 2 });
    expect(decodeSettings('ts=399')).toEqual({ timesteps: [399], steps: 1 });
    for (const bad of ['499,999', 'abc', '999,-1', '1.5', '', ',,']) {
      expect(decodeSettings(`ts=${encodeURIComponent(bad)}&seed=1`)).toEqual({ seed: 1 });
      expect(timestepsProblem(bad)).toMatch(/./);
    }
    expect(timestepsProblem('499,999')).toBe('`custom_timesteps` must be in descending order: 999 follows 499.');
    expect(timestepsProblem('abc')).toMatch(/Timestep 1 \("abc"\) is not a whole number >= 0/);
    expect(timestepsProblem('999,749')).toBeNull();
    expect(encodeSettings({ timesteps: [499, 999] })).toBe('');
  });

  it('TCD gamma: 0..1 only', () => {
    expect(decodeSettings('gamma=0')).toEqual({ gamma: 0 });
    expect(decodeSettings('gamma=1')).toEqual({ gamma: 1 });
    expect(decodeSettings('gamma=1.5')).toEqual({});
    expect(decodeSettings('gamma=-0.1')).toEqual({});
    expect(encodeSettings({ gamma: 2 })).toBe('');
  });

  it('LoRAs (lora=): shipped ones with strengths in -2..2; picked files and nonsense are left out, with the reason', () => {
    expect(decodeSettings('lora=fewstep-style-ink:0.8,fewstep-lcm-lora:1')).toEqual({
      loras: [
        { id: 'fewstep-style-ink', scale: 0.8 },
        { id: 'fewstep-lcm-lora', scale: 1 },
      ],
    });
    expect(decodeSettings('lora=fewstep-style-ink:-2,x:3,mine.safetensors:1')).toEqual({ loras: [{ id: 'fewstep-style-ink', scale: -2 }] });
    expect(loraLinkList('x:3,mine.safetensors:1').problems).toEqual([
      'x: strength "3" is not a number from -2 to 2.',
      'mine.safetensors is a file picked on another computer; links carry shipped LoRAs only.',
    ]);
    expect(decodeSettings('lora=&seed=1')).toEqual({ seed: 1 });
    // A picked file never goes into a link.
    expect(encodeSettings({ loras: [{ id: 'mine.safetensors', scale: 1 }, { id: 'fewstep-lcm-lora', scale: 0 }] })).toBe('lora=fewstep-lcm-lora%3A0');
    expect(encodeSettings({ loras: [{ id: 'mine.safetensors', scale: 1 }] })).toBe('');
  });

  it('keeps the first value when a key repeats', () => {
    expect(decodeSettings('steps=2&steps=8')).toEqual({ steps: 2 });
  });
});
