import { describe, expect, it } from 'vitest';
import { csvField, formatMs, parseCsv, parseCsvObjects, RUN_CSV_COLUMNS, runsToCsv, runsToJson, type RunRecord } from './runs';
import { fileNameFor, slugify } from './filenames';

function run(over: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 'r1',
    modelId: 'fewstep-turbo',
    pipeline: 'turbo',
    sampler: 'EulerDiscreteScheduler',
    steps: 1,
    guidanceScale: 0,
    seed: 42,
    prompt: 'a red circle',
    executionProvider: 'webgpu',
    totalMs: 412.3456,
    stages: { tokenize: 0.123, textEncoder: 12.005, unet: 300.999, scheduler: 0.0001, vae: 80, readback: 3.3333, overhead: 15.885 },
    qualityScore: 0.8123,
    createdAt: '2026-11-25T20:10:00.000Z',
    ...over,
  };
}

describe('runsToCsv', () => {
  it('writes a header and one row per run in a stable column order', () => {
    const csv = runsToCsv([run(), run({ id: 'r2', steps: 4 })]);
    expect(csv.endsWith('\r\n')).toBe(true);
    const rows = parseCsv(csv);
    expect(rows[0]).toEqual([...RUN_CSV_COLUMNS]);
    expect(rows[0]).toEqual([
      'id', 'createdAt', 'modelId', 'pipeline', 'sampler', 'steps', 'timesteps', 'gamma', 'loras', 'guidanceScale', 'seed', 'executionProvider',
      'totalMs', 'tokenizeMs', 'textEncoderMs', 'unetMs', 'schedulerMs', 'vaeMs', 'readbackMs', 'overheadMs',
      'qualityScore', 'prompt',
    ]);
    expect(rows).toHaveLength(3);
    const obj = parseCsvObjects(csv)[0];
    expect(obj).toMatchObject({
      id: 'r1', steps: '1', seed: '42', guidanceScale: '0', totalMs: '412.35', tokenizeMs: '0.12', textEncoderMs: '12.01',
      unetMs: '301', schedulerMs: '0', vaeMs: '80', readbackMs: '3.33', overheadMs: '15.89', qualityScore: '0.8123', prompt: 'a red circle',
    });
  });

  it('quotes fields with commas, quotes and newlines (RFC 4180) and round-trips them', () => {
    const nasty = 'a "quoted", comma\r\nnew line\nand 猫 🐱';
    const csv = runsToCsv([run({ prompt: nasty, id: 'x,y' }), run({ prompt: '', qualityScore: null })]);
    expect(csv).toContain('"a ""quoted"", comma\r\nnew line\nand 猫 🐱"');
    expect(csv).toContain('"x,y"');
    const objs = parseCsvObjects(csv);
    expect(objs[0].prompt).toBe(nasty);
    expect(objs[0].id).toBe('x,y');
    expect(objs[1].prompt).toBe('');
    expect(objs[1].qualityScore).toBe('');
  });

  it('writes custom timesteps (quoted: they hold commas) and TCD gamma, empty when a run has none', () => {
    const csv = runsToCsv([run({ steps: 4, timesteps: '999,749,499,249', gamma: 0.3, sampler: 'TCD' }), run()]);
    expect(csv).toContain(',"999,749,499,249",0.3,');
    const [a, b] = parseCsvObjects(csv);
    expect(a).toMatchObject({ steps: '4', timesteps: '999,749,499,249', gamma: '0.3' });
    expect(b).toMatchObject({ timesteps: '', gamma: '' });
  });

  it('writes only a header for no runs', () => {
    expect(parseCsv(runsToCsv([]))).toEqual([[...RUN_CSV_COLUMNS]]);
  });

  it('formats numbers without exponents or grouping', () => {
    expect(formatMs(1234567.891)).toBe('1234567.89');
    expect(formatMs(0.004)).toBe('0');
    expect(formatMs(-0.001)).toBe('0');
    expect(formatMs(NaN)).toBe('');
    expect(formatMs(undefined)).toBe('');
    expect(formatMs(1e21)).toBe('1000000000000000000000');
    expect(parseCsvObjects(runsToCsv([run({ qualityScore: 1e-7 })]))[0].qualityScore).toBe('0.0000001');
  });
});

describe('parseCsv', () => {
  it('handles the RFC 4180 edge cases', () => {
    expect(parseCsv('a,b\r\n1,2')).toEqual([['a', 'b'], ['1', '2']]);
    expect(parseCsv('a,b\n1,2\n')).toEqual([['a', 'b'], ['1', '2']]);
    expect(parseCsv('"a,1","b""2"\r\n')).toEqual([['a,1', 'b"2']]);
    expect(parseCsv('"line\r\nbreak",x')).toEqual([['line\r\nbreak', 'x']]);
    expect(parseCsv(',,\r\n')).toEqual([['', '', '']]);
    expect(parseCsv('""')).toEqual([['']]);
    expect(parseCsv('')).toEqual([]);
    expect(() => parseCsv('"unterminated')).toThrow(SyntaxError);
  });

  it('csvField quotes only when needed', () => {
    expect(csvField('plain text')).toBe('plain text');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('cr\r')).toBe('"cr\r"');
  });
});

describe('runsToJson', () => {
  it('wraps the runs in a versioned document and round-trips them', () => {
    const runs = [run(), run({ id: 'r2', prompt: '猫, "cat"', qualityScore: null })];
    const doc = JSON.parse(runsToJson(runs, { exportedAt: '2026-11-25T20:10:00.000Z', appVersion: '0.1.0' }));
    expect(doc).toEqual({ format: 'fewstep-runs', version: 1, exportedAt: '2026-11-25T20:10:00.000Z', appVersion: '0.1.0', runs });
    expect(typeof JSON.parse(runsToJson([])).exportedAt).toBe('string');
  });
});

describe('file names', () => {
  it('matches the documented examples', () => {
    expect(fileNameFor('image', { modelId: 'turbo', sampler: 'EulerDiscreteScheduler', steps: 1, seed: 42, prompt: 'A red circle!' })).toBe(
      'fewstep_turbo_euler_1step_seed42_a-red-circle.png',
    );
    expect(fileNameFor('image', { modelId: 'fewstep-turbo', samplerLabel: 'Euler a', steps: 4, seed: 7, prompt: 'x' })).toBe(
      'fewstep_turbo_euler-a_4step_seed7_x.png',
    );
    expect(fileNameFor('grid', { seed: 42, prompt: 'a red circle' })).toBe('fewstep-grid_seed42_a-red-circle.png');
    expect(fileNameFor('runs-csv', { createdAt: '2026-11-25T20:10:33.123Z' })).toBe('fewstep-runs_2026-11-25T20-10.csv');
    expect(fileNameFor('runs-json', { createdAt: new Date('2026-11-25T20:10:33Z') })).toBe('fewstep-runs_2026-11-25T20-10.json');
    expect(fileNameFor('runs-csv')).toMatch(/^fewstep-runs_\d{4}-\d\d-\d\dT\d\d-\d\d\.csv$/);
  });

  it('slugifies safely with a length limit', () => {
    expect(slugify('Café crème — ÜBER/../../etc\\passwd')).toBe('cafe-creme-uber-etc-passwd');
    expect(slugify('一只猫')).toBe('untitled');
    expect(slugify('   ')).toBe('untitled');
    const long = slugify('a very long prompt about a red circle on a blue square in the style of an oil painting');
    expect(long.length).toBeLessThanOrEqual(48);
    expect(long).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(slugify('x'.repeat(100), { maxLength: 10 })).toBe('xxxxxxxxxx');
    const name = fileNameFor('image', { modelId: 'm'.repeat(200), samplerLabel: 's'.repeat(200), steps: 50, seed: 2 ** 40, prompt: 'p '.repeat(300) });
    expect(name.length).toBeLessThanOrEqual(120);
    expect(name).toMatch(/^[a-z0-9_-]+\.png$/);
  });
});
