import { describe, expect, it } from 'vitest';
import { alignLatency, alignQuality, alignStages, latencyGroups, median, runKey, runLabel, seriesColor, singleStepBreakdown, stack } from './chartData';
import { familyLabel, methodFamily, qualitySeries, parseReport } from './quality';
import { fakeRun } from './testRuns';

describe('chart data', () => {
  it('median is robust to one slow warm-up run', () => {
    expect(median([100, 10, 12])).toBe(12);
    expect(median([1, 2, 3, 4])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('groups runs by pipeline+sampler and steps, aligns them on one step axis with gaps', () => {
    const runs = [
      fakeRun({ steps: 1, totalMs: 500 }),
      fakeRun({ steps: 1, totalMs: 50 }),
      fakeRun({ steps: 1, totalMs: 60 }),
      fakeRun({ steps: 4, totalMs: 200 }),
      fakeRun({ steps: 2, totalMs: 90, schedulerClass: 'DDPMScheduler' }),
      fakeRun({ steps: 2, totalMs: 999, provider: 'webgpu' }),
    ];
    expect(runKey(runs[4])).toBe('fewstep-teacher:DDPMScheduler');
    const groups = latencyGroups(runs, (r) => r.result.schedulerClass, { provider: 'wasm', order: ['fewstep-teacher:DDPMScheduler'] });
    expect(groups.map((g) => g.key)).toEqual(['fewstep-teacher:DDPMScheduler', 'fewstep-teacher:DDIMScheduler']);
    const a = alignLatency(groups);
    expect(a.x).toEqual([1, 2, 4]);
    expect(a.series[0].values).toEqual([null, 90, null]);
    expect(a.series[1].values).toEqual([60, null, 200]);
    const st = alignStages(groups[1]);
    expect(st.series.map((s) => s.label)).toEqual(['Text encoder', 'U-Net', 'Scheduler', 'VAE decode', 'Overhead']);
    expect(st.series[1].values).toEqual([20, 80]);
  });

  it('stacks series bottom-up and keeps gaps', () => {
    expect(stack([[1, 2, null], [10, null, 5], [100, 100, 100]])).toEqual([[1, 2, null], [11, null, 5], [111, 100, 105]]);
  });

  it('turns report.json rows into quality-vs-steps series (best guidance per point) and references', () => {
    const rows = parseReport([
      { pipeline: 'real', scheduler: null, steps: null, guidance_scale: null, prompt_accuracy: 0.95 },
      { pipeline: 'teacher', scheduler: 'DDIMScheduler', steps: 50, guidance_scale: 7.5, prompt_accuracy: 0.8 },
      { pipeline: 'teacher', scheduler: 'DDIMScheduler', steps: 50, guidance_scale: 3, prompt_accuracy: 0.7 },
      { pipeline: 'teacher', scheduler: 'DDIMScheduler', steps: 4, guidance_scale: 7.5, prompt_accuracy: 0.2 },
      { pipeline: 'fewstep-turbo', scheduler: 'EulerDiscreteScheduler', steps: 1, guidance_scale: 0, prompt_accuracy: 0.6 },
      { nope: true },
      'junk',
      // a LoRA section reference row (training/evaluate_lora.py): not a sampler ceiling, dropped
      { pipeline: 'real images (ink)', slug: 'reference-ink-real', loras: [], scheduler: null, steps: null, prompt_accuracy: 0.72 },
    ]);
    expect(rows).toHaveLength(5);
    const q = qualitySeries(rows);
    expect(q.references).toEqual([{ label: 'Real', value: 0.95 }]);
    expect(q.series).toEqual([
      { key: 'teacher:DDIMScheduler', label: 'Teacher · DDIM', points: [[4, 0.2], [50, 0.8]] },
      { key: 'fewstep-turbo:EulerDiscreteScheduler', label: 'Turbo · Euler', points: [[1, 0.6]] },
    ]);
    const a = alignQuality(q, [{ key: 'x', label: 'Turbo', points: [[1, 0.5]] }]);
    expect(a.x).toEqual([1, 4, 50]);
    expect(a.series.map((s) => s.label)).toEqual(['Teacher · DDIM (report)', 'Turbo · Euler (report)', 'Turbo (scored here)']);
    expect(a.series[2].values).toEqual([0.5, null, null]);
  });

  it('one curve per method from report.json: students per step count join one curve; new pipelines work unchanged', () => {
    const row = (pipeline: string, scheduler: string | null, steps: number | null, acc: number, extra: Record<string, unknown> = {}) => ({
      pipeline,
      scheduler,
      steps,
      guidance_scale: 1,
      prompt_accuracy: acc,
      ...extra,
    });
    const rows = parseReport([
      row('real', null, null, 1),
      row('vae-reconstruction', null, null, 0.89),
      ...[1, 2, 4, 8, 16, 32, 50].map((n, i) => row('fewstep-teacher', 'DDIMScheduler', n, 0.1 * i + 0.2, { prompt_accuracy_partial: 0.05 })),
      row('fewstep-teacher', 'DDPMScheduler', 1000, 0.9),
      row('fewstep-progressive-8', 'DDIMScheduler', 8, 0.7, { prompt_accuracy_partial: 0.3 }),
      row('fewstep-progressive-4', 'DDIMScheduler', 4, 0.73),
      row('fewstep-progressive-2', 'DDIMScheduler', 2, 0.73),
      row('fewstep-progressive-1', 'DDIMScheduler', 1, 0.68),
      ...[1, 2, 4, 8].map((n) => row('fewstep-lcm', 'LCMScheduler', n, 0.6)),
      ...[1, 2, 4].map((n) => row('fewstep-turbo', 'EulerDiscreteScheduler', n, 0.59)),
      row('fewstep-direct', 'DDIMScheduler', 1, 0.55, { method: 'direct distillation' }),
      ...[1, 2, 4].map((n) => row('fewstep-ict', 'CMStochasticIterativeScheduler', n, [0, 0.31, 0.32, 0, 0.34][n], { method: 'consistency training (iCT)' })),
      // A pipeline nobody told the app about, without a method: its own curve, named from its id.
      row('fewstep-shortcut_model', 'EulerDiscreteScheduler', 2, 0.5),
    ]);
    const q = qualitySeries(rows);
    expect(q.references).toEqual([{ label: 'Real', value: 1 }, { label: 'VAE reconstruction', value: 0.89 }]);
    const byLabel = Object.fromEntries(q.series.map((s) => [s.label, s.points.map((p) => p[0])]));
    expect(byLabel).toEqual({
      'Teacher · DDIM': [1, 2, 4, 8, 16, 32, 50],
      'Teacher · DDPM': [1000],
      'Progressive distillation · DDIM': [1, 2, 4, 8],
      'LCM · LCM': [1, 2, 4, 8],
      'Turbo · Euler': [1, 2, 4],
      'Direct distillation · DDIM': [1],
      'Consistency training (iCT) · CM multistep': [1, 2, 4],
      'Shortcut model · Euler': [2],
    });
    const progressive = q.series.find((s) => s.key === 'fewstep-progressive:DDIMScheduler')!;
    expect(progressive.points).toEqual([[1, 0.68], [2, 0.73], [4, 0.73], [8, 0.7]]);
    // y is prompt_accuracy, not the partial-caption number.
    expect(q.series.find((s) => s.label === 'Teacher · DDIM')!.points[0]).toEqual([1, 0.2]);
    // Aligned for uPlot: each curve has values only at its own step counts (null elsewhere, drawn across by spanGaps).
    const a = alignQuality(q, []);
    expect(a.x).toEqual([1, 2, 4, 8, 16, 32, 50, 1000]);
    const direct = a.series.find((s) => s.label === 'Direct distillation · DDIM (report)')!;
    expect(direct.values).toEqual([0.55, null, null, null, null, null, null, null]);
    const ict = a.series.find((s) => s.key === 'fewstep-ict:CMStochasticIterativeScheduler')!;
    expect(ict.values.filter((v) => v !== null)).toEqual([0.31, 0.32, 0.34]);
  });

  it('method families and labels: a step-count suffix joins a curve only when it is the step count measured', () => {
    expect(methodFamily({ pipeline: 'fewstep-progressive-4', steps: 4 })).toBe('fewstep-progressive');
    expect(methodFamily({ pipeline: 'fewstep-progressive-8', steps: 4 })).toBe('fewstep-progressive-8');
    expect(methodFamily({ pipeline: 'sd-2', steps: 4 })).toBe('sd-2');
    expect(familyLabel('fewstep-ict')).toBe('Consistency training (iCT)');
    expect(familyLabel('fewstep-new-method')).toBe('New method');
    expect(familyLabel('teacher')).toBe('Teacher');
  });

  it('labels a run with its LoRAs, so the teacher with the Ink LoRA is not a second "Teacher · DDIM"', () => {
    const names = new Map([['fewstep-teacher', 'Teacher']]);
    const loraNames = new Map([['fewstep-style-ink', 'Ink style']]);
    const plain = fakeRun();
    const ink = fakeRun({ params: { ...plain.params, loras: [{ id: 'fewstep-style-ink', scale: 1 }] } });
    const half = fakeRun({ params: { ...plain.params, loras: [{ id: 'fewstep-style-ink', scale: 0.5 }, { id: 'other', scale: 1 }] } });
    expect(runLabel(plain, names, loraNames)).toBe('Teacher · DDIM');
    expect(runLabel(ink, names, loraNames)).toBe('Teacher + Ink style · DDIM');
    expect(runLabel(half, names, loraNames)).toBe('Teacher + Ink style 0.5 + other · DDIM');
    expect(runLabel({ ...ink, rowLabel: 'Row' }, names, loraNames)).toBe('Row');
    expect(runLabel(plain, new Map())).toBe('Fewstep teacher · DDIM');
    const groups = latencyGroups([plain, ink], (r) => runLabel(r, names, loraNames));
    expect(groups.map((g) => g.label)).toEqual(['Teacher · DDIM', 'Teacher + Ink style · DDIM']);
  });

  it('gives every series of a chart its own colour', () => {
    const colors = Array.from({ length: 40 }, (_, i) => seriesColor(i));
    expect(new Set(colors).size).toBe(40);
    // The pairs that used to share a colour with a 10-colour palette.
    expect(seriesColor(0)).not.toBe(seriesColor(10));
    expect(seriesColor(1)).not.toBe(seriesColor(11));
  });

  it('says the breakdown in one line when only one step count was measured', () => {
    const one = alignStages(latencyGroups([fakeRun({ steps: 4 })], () => 'T')[0]);
    expect(singleStepBreakdown(one)).toBe('4 steps: Text encoder 11.0 ms, U-Net 80.0 ms, Scheduler 2.0 ms, VAE decode 17.0 ms, Overhead 3.0 ms (median).');
    const two = alignStages(latencyGroups([fakeRun({ steps: 4 }), fakeRun({ steps: 1 })], () => 'T')[0]);
    expect(singleStepBreakdown(two)).toBeNull();
  });
});
