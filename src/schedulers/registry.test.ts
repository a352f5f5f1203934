import { describe, expect, it } from 'vitest';
import { registerSampler, samplerClassFor, samplerLabel, samplerRow, samplerRows, schedulerFromConfig, SUPPORTED_SCHEDULERS } from './index';

describe('sampler registry', () => {
  it('has one row per built-in class, with unique labels and names', () => {
    expect(samplerRows().map((r) => r.className)).toEqual([...SUPPORTED_SCHEDULERS]);
    const namesOf = (r: (typeof rows)[number]): Set<string> => new Set([r.label, r.a1111, ...r.aliases].map((x) => x.toLowerCase()));
    const rows = samplerRows();
    const all = rows.flatMap((r) => [...namesOf(r)]);
    expect(new Set(all).size, 'a name stands for one sampler only').toBe(all.length);
    for (const r of rows) {
      for (const n of namesOf(r)) expect(samplerClassFor(n)).toBe(r.className);
      expect(samplerClassFor(r.className.toLowerCase())).toBe(r.className);
      expect(samplerLabel(r.className)).toBe(r.label);
    }
  });

  it('states what each sampler needs, as its scheduler behaves', () => {
    for (const r of samplerRows()) {
      const s = schedulerFromConfig({ _class_name: r.className });
      expect(s.className).toBe(r.className);
      // gpuStep <-> the scheduler offers stepCoefficients
      expect(typeof s.stepCoefficients === 'function', r.className).toBe(r.needs.gpuStep);
      s.setTimesteps(4);
      const noisy = s.timesteps.map((t) => s.needsNoise(t));
      const withEta = s.timesteps.map((t) => s.needsNoise(t, { eta: 0.5 }));
      const etaZero = s.timesteps.map((t) => s.needsNoise(t, { eta: 0 }));
      const expected = {
        never: () => !noisy.some(Boolean) && !withEta.some(Boolean),
        // DDIM (eta defaults to 0): every step with eta > 0. TCD (gamma defaults to 0.3): all but the last.
        eta: () => !etaZero.some(Boolean) && withEta.slice(0, -1).every(Boolean),
        'most-steps': () => noisy.some(Boolean) && !noisy.every(Boolean),
        'every-step': () => noisy.every(Boolean),
      }[r.needs.noise];
      expect(expected(), `${r.className} noise ${r.needs.noise}: ${noisy}`).toBe(true);
      expect(r.needs.cfg !== r.needs.guidanceEmbedding).toBe(true);
    }
  });

  it('registers at run time, refuses a taken name, and unregisters', () => {
    const ddim = samplerRow('DDIMScheduler')!;
    expect(() => registerSampler(ddim)).toThrow(/already registered/);
    const off = registerSampler({ ...ddim, className: 'MyDDIMScheduler', label: 'My DDIM', a1111: 'My DDIM', aliases: ['MY_DDIM'] });
    expect(samplerClassFor('my_ddim')).toBe('MyDDIMScheduler');
    expect(schedulerFromConfig({}, { className: 'MyDDIMScheduler' }).className).toBe('DDIMScheduler'); // its factory's class
    expect(() => schedulerFromConfig({ _class_name: 'Nope' })).toThrow(/supported: .*MyDDIMScheduler/);
    off();
    expect(samplerRow('MyDDIMScheduler')).toBeUndefined();
    expect(samplerClassFor('my_ddim')).toBe('my_ddim');
  });
});
