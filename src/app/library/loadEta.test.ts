import { describe, expect, it } from 'vitest';
import { loadEta, loadFraction } from '../components/ModelStatus';

describe('load progress estimate', () => {
  const p = { phase: 'fetch' as const, file: 'unet/model.onnx', status: 'progress' as const, loaded: 0, total: null, filesDone: 5, filesTotal: 10, sessionsDone: 0, sessionsTotal: 3 };
  it('counts files read, then sessions created', () => {
    expect(loadFraction(null)).toBe(0);
    expect(loadFraction(p)).toBeCloseTo(5 / 13);
    expect(loadFraction({ ...p, phase: 'session', sessionsDone: 2 })).toBeCloseTo(12 / 13);
  });
  it('estimates the time left from the elapsed time once it means something', () => {
    expect(loadEta(0.01, 5000)).toBe('');
    expect(loadEta(0.5, 200)).toBe('');
    expect(loadEta(0.5, 4000)).toBe('~4 s left');
    expect(loadEta(0.1, 60_000)).toBe('~9 min left');
    expect(loadEta(1, 4000)).toBe('');
  });
});
