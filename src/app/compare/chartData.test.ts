import { describe, expect, it } from 'vitest';
import { alignLatency, alignQuality, alignStages, latencyGroups, median, runKey, stack } from './chartData';
import { qualitySeries, parseReport } from './quality';
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
});
