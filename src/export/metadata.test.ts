import { describe, expect, it } from 'vitest';
import {
  isCompleteRecord,
  parseParametersText,
  pngChunksFor,
  recordFromChunks,
  samplerClassFor,
  samplerLabelFor,
  toParametersText,
  type GenerationRecord,
} from './metadata';
import { encodePngSync, readTextChunks } from './png';

const base: GenerationRecord = {
  prompt: 'a red circle',
  seed: 42,
  steps: 4,
  sampler: 'EulerDiscreteScheduler',
  samplerLabel: 'Euler',
  guidanceScale: 1,
  width: 64,
  height: 64,
  modelId: 'fewstep-turbo',
  modelName: 'Fewstep Turbo',
  rngKind: 'fewstep',
  latencyMs: 412.37,
  stageTimings: { textEncoder: 12.5, unet: 300.1, vae: 80 },
  executionProvider: 'webgpu',
  appVersion: '0.1.0',
  createdAt: '2026-11-25T20:10:00.000Z',
};

describe('sampler labels', () => {
  it('maps scheduler classes and labels both ways', () => {
    const pairs: [string, string][] = [
      ['DDIMScheduler', 'DDIM'],
      ['EulerDiscreteScheduler', 'Euler'],
      ['EulerAncestralDiscreteScheduler', 'Euler a'],
      ['LCMScheduler', 'LCM'],
      ['DDPMScheduler', 'DDPM'],
      ['DPMSolverMultistepScheduler', 'DPM++ 2M'],
      ['TCDScheduler', 'TCD'],
      ['CMStochasticIterativeScheduler', 'CM multistep'],
    ];
    for (const [cls, label] of pairs) {
      expect(samplerLabelFor(cls)).toBe(label);
      expect(samplerClassFor(label)).toBe(cls);
      expect(samplerClassFor(label.toLowerCase())).toBe(cls);
    }
    expect(samplerLabelFor('UniPCMultistepScheduler')).toBe('UniPCMultistepScheduler');
    expect(samplerClassFor('DPM++ 2M Karras')).toBe('DPM++ 2M Karras');
  });
});

describe('parameters text', () => {
  it('follows the A1111 layout', () => {
    const text = toParametersText({ ...base, negativePrompt: 'blurry' });
    const lines = text.split('\n');
    expect(lines[0]).toBe('a red circle');
    expect(lines[1]).toBe('Negative prompt: blurry');
    expect(lines[2].startsWith('Steps: 4, Sampler: Euler, CFG scale: 1, Seed: 42, Size: 64x64, Model: Fewstep Turbo, ')).toBe(true);
    expect(lines[2]).toContain('Model id: fewstep-turbo');
    expect(lines[2]).toContain('Execution provider: webgpu');
    expect(lines).toHaveLength(3);
    expect(toParametersText(base).split('\n')).toHaveLength(2); // no negative-prompt line
  });

  it('round-trips the fields it carries, including awkward values', () => {
    const r: GenerationRecord = {
      ...base,
      prompt: 'line one: "quoted", with commas\nline two — 猫 🐱',
      negativePrompt: 'ugly, blurry\nlow quality',
      modelName: 'My model, v2: "final"',
      sampler: 'EulerAncestralDiscreteScheduler',
      samplerLabel: 'Euler a',
      guidanceScale: 7.5,
      seed: 4294967295,
      eta: 0.3,
      rngKind: 'torch',
      executionProvider: 'wasm',
    };
    const parsed = parseParametersText(toParametersText(r));
    expect(parsed.prompt).toBe(r.prompt);
    expect(parsed.negativePrompt).toBe(r.negativePrompt);
    expect(parsed.record).toMatchObject({
      prompt: r.prompt,
      negativePrompt: r.negativePrompt,
      steps: 4,
      sampler: 'EulerAncestralDiscreteScheduler',
      samplerLabel: 'Euler a',
      guidanceScale: 7.5,
      seed: 4294967295,
      width: 64,
      height: 64,
      modelName: 'My model, v2: "final"',
      modelId: 'fewstep-turbo',
      eta: 0.3,
      rngKind: 'torch',
      executionProvider: 'wasm',
      latencyMs: 412,
      appVersion: '0.1.0',
    });
  });

  it('parses text written by other UIs, with unknown keys and quoted values', () => {
    const text = [
      'masterpiece, best quality, a castle',
      'on a hill',
      'Negative prompt: (worst quality:1.4), lowres',
      'Steps: 20, Sampler: DPM++ 2M Karras, Schedule type: Karras, CFG scale: 7, Seed: 2179987202, Size: 768x512, Model hash: 93b79e09ed, Model: anything-v4.5, Lora hashes: "add_detail: 7c6bad76eb54, x: 1", Version: v1.9.4',
    ].join('\r\n');
    const p = parseParametersText(text);
    expect(p.prompt).toBe('masterpiece, best quality, a castle\non a hill');
    expect(p.negativePrompt).toBe('(worst quality:1.4), lowres');
    expect(p.params['Lora hashes']).toBe('add_detail: 7c6bad76eb54, x: 1');
    expect(p.params['Model hash']).toBe('93b79e09ed');
    expect(p.params['Schedule type']).toBe('Karras');
    expect(p.record).toMatchObject({
      steps: 20,
      samplerLabel: 'DPM++ 2M Karras',
      sampler: 'DPM++ 2M Karras',
      guidanceScale: 7,
      seed: 2179987202,
      width: 768,
      height: 512,
      modelName: 'anything-v4.5',
    });
    expect(p.record.appVersion).toBeUndefined(); // "v1.9.4" is not a fewstep version
  });

  it('treats text without a settings line as all prompt, and drops invalid numbers', () => {
    expect(parseParametersText('just a prompt, nothing else').record).toEqual({ prompt: 'just a prompt, nothing else' });
    const p = parseParametersText('x\nSteps: -3, Seed: abc, CFG scale: 5, Size: 0x10');
    expect(p.record).toEqual({ prompt: 'x', guidanceScale: 5 });
    expect(parseParametersText('Steps: 2, Sampler: LCM, Seed: 1').record).toMatchObject({ prompt: '', steps: 2, sampler: 'LCMScheduler' });
  });
});

describe('PNG chunks and record recovery', () => {
  it('pngChunksFor gives parameters + JSON, and a written PNG restores the full record', () => {
    const r = { ...base, prompt: 'un cercle rouge — 赤い丸' };
    const chunks = pngChunksFor(r);
    expect(chunks.map((c) => c.keyword)).toEqual(['parameters', 'fewstep']);
    expect(JSON.parse(chunks[1].text)).toEqual(r);
    const png = encodePngSync(new Uint8Array(16).fill(255), 2, 2, { text: chunks });
    const restored = recordFromChunks(readTextChunks(png));
    expect(restored).toEqual(r);
    expect(isCompleteRecord(restored!)).toBe(true);
  });

  it('falls back to parameters text when the JSON chunk is missing or corrupt', () => {
    const text = toParametersText(base);
    const variants: Record<string, string>[] = [{ parameters: text }, { parameters: text, fewstep: '{not json' }];
    for (const chunks of variants) {
      const r = recordFromChunks(chunks)!;
      expect(r).toMatchObject({ prompt: 'a red circle', seed: 42, steps: 4, sampler: 'EulerDiscreteScheduler', samplerLabel: 'Euler' });
      expect(isCompleteRecord(r)).toBe(false); // createdAt is not in the text form
    }
  });

  it('prefers JSON fields, drops invalid ones, and fills gaps from the text', () => {
    const json = JSON.stringify({ prompt: 'from json', seed: 'nope', steps: 8, evil: 1, stageTimings: { unet: 'x' } });
    const r = recordFromChunks([
      { keyword: 'fewstep', text: json },
      { keyword: 'parameters', text: toParametersText(base) },
    ])!;
    expect(r.prompt).toBe('from json');
    expect(r.steps).toBe(8);
    expect(r.seed).toBe(42);
    expect(r).not.toHaveProperty('evil');
    expect(r.stageTimings).toBeUndefined();
  });

  it('custom timesteps and TCD gamma: written in both chunks, read back from each, bad values dropped', () => {
    const r: GenerationRecord = { ...base, sampler: 'TCDScheduler', samplerLabel: 'TCD', timesteps: [999, 749, 499, 249], gamma: 0.3 };
    const text = toParametersText(r);
    expect(text.split('\n')[1]).toContain('Steps: 4, Sampler: TCD,');
    expect(text).toContain('Timesteps: "999,749,499,249", TCD gamma: 0.3,');
    const png = encodePngSync(new Uint8Array(16).fill(255), 2, 2, { text: pngChunksFor(r) });
    const chunks = readTextChunks(png);
    expect(recordFromChunks(chunks)).toEqual(r);
    // The parameters text alone (the JSON chunk lost) still carries them.
    expect(recordFromChunks({ parameters: chunks.parameters })).toMatchObject({ steps: 4, sampler: 'TCDScheduler', timesteps: [999, 749, 499, 249], gamma: 0.3 });
    // Runs without them write neither key.
    expect(toParametersText(base)).not.toMatch(/Timesteps|gamma/);
    // Nonsense is dropped, never thrown: not descending, not numbers, gamma outside [0, 1].
    expect(parseParametersText('p\nSteps: 2, Sampler: DDIM, Timesteps: "499,999", TCD gamma: 1.5').record).not.toHaveProperty('timesteps');
    expect(parseParametersText('p\nSteps: 2, Sampler: DDIM, Timesteps: "a,b", TCD gamma: 1.5').record).not.toHaveProperty('gamma');
    const bad = recordFromChunks({ fewstep: JSON.stringify({ ...r, timesteps: [1, 2], gamma: -1 }) })!;
    expect(bad).not.toHaveProperty('timesteps');
    expect(bad).not.toHaveProperty('gamma');
  });

  it('returns null when there is nothing to recover', () => {
    expect(recordFromChunks({})).toBeNull();
    expect(recordFromChunks({ Software: 'x' })).toBeNull();
    expect(recordFromChunks({ fewstep: '[1,2]' })).toBeNull();
  });
});
