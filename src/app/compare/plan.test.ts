import { describe, expect, it } from 'vitest';
import type { PipelineDefaults } from '../../engine';
import type { ModelChoice } from '../models';
import { buildColumns, buildRows, cellAllowed, cellKey, modelRank, runOrder, shortModelLabel, sliderPositions } from './plan';

const choice = (id: string, name = id): ModelChoice => ({ id, name, baseUrl: `/models/${id}/`, description: '', defaultSteps: null, guidanceScale: null, kind: 'shipped' });
const defaults = (sampler: string, allowedSteps: number[] | null, guidanceScale = 1): PipelineDefaults => ({ steps: 4, guidanceScale, sampler, allowedSteps, description: '' });

const SHIPPED = [
  { choice: choice('fewstep-turbo'), defaults: defaults('EulerDiscreteScheduler', [1, 2, 4], 0) },
  { choice: choice('fewstep-lcm'), defaults: defaults('LCMScheduler', [1, 2, 4, 8], 4) },
  { choice: choice('fewstep-progressive-2'), defaults: defaults('DDIMScheduler', [2], 1) },
  { choice: choice('fewstep-teacher'), defaults: defaults('DDIMScheduler', [1, 2, 4, 8, 16, 32, 50], 7.5) },
  { choice: choice('fewstep-progressive-8'), defaults: defaults('DDIMScheduler', [8], 1) },
  { choice: choice('my-model', 'My real model'), defaults: defaults('EulerAncestralDiscreteScheduler', null, 5) },
];

describe('comparison plan', () => {
  it('orders rows teacher (DDIM, DDPM), progressive 8 -> 1, LCM, Turbo, then other models', () => {
    const rows = buildRows(SHIPPED);
    expect(rows.map((r) => r.label)).toEqual([
      'Teacher · DDIM',
      'Teacher · DDPM',
      'Progressive 8 · DDIM',
      'Progressive 2 · DDIM',
      'Lcm · LCM',
      'Turbo · Euler',
      'My real model · Euler a',
    ]);
    const ddpm = rows[1];
    expect(ddpm).toMatchObject({ key: 'fewstep-teacher:DDPMScheduler', modelId: 'fewstep-teacher', sampler: 'DDPMScheduler', samplerClass: 'DDPMScheduler', guidanceScale: 7.5 });
    // The model's own sampler is sent as "no override".
    expect(rows[0].sampler).toBe('');
    expect(modelRank('fewstep-progressive-1')).toBeGreaterThan(modelRank('fewstep-progressive-2'));
  });

  it('labels shipped, fixture and other models briefly', () => {
    expect(shortModelLabel(choice('fewstep-progressive-4'))).toBe('Progressive 4');
    expect(shortModelLabel({ id: 'fixture-tiny-lcm', name: 'x', kind: 'fixture' })).toBe('Fixture tiny-lcm');
    expect(shortModelLabel({ id: 'hf:a/b', name: 'A very long model name that goes on and on', kind: 'remote' })).toHaveLength(28);
  });

  it('keeps only the step columns some row allows, and runs only allowed cells row by row', () => {
    const rows = buildRows(SHIPPED.slice(0, 3)); // turbo [1,2,4], lcm [1,2,4,8], progressive-2 [2]
    expect(buildColumns(rows)).toEqual([1, 2, 4, 8]);
    expect(buildColumns(rows, [50, 2, 2, 1])).toEqual([1, 2]);
    expect(buildColumns([], [4, 1])).toEqual([1, 4]);
    expect(cellAllowed(rows[0], 8)).toBe(false);
    expect(cellAllowed({ allowedSteps: null }, 37)).toBe(true);
    const order = runOrder(rows, [1, 2, 4, 8]).map(({ row, steps }) => cellKey(row.key, steps));
    expect(order).toEqual([
      'fewstep-progressive-2:DDIMScheduler@2',
      'fewstep-lcm:LCMScheduler@1',
      'fewstep-lcm:LCMScheduler@2',
      'fewstep-lcm:LCMScheduler@4',
      'fewstep-lcm:LCMScheduler@8',
      'fewstep-turbo:EulerDiscreteScheduler@1',
      'fewstep-turbo:EulerDiscreteScheduler@2',
      'fewstep-turbo:EulerDiscreteScheduler@4',
    ]);
  });

  it('slider positions are the allowed steps plus an off-list current value', () => {
    expect(sliderPositions([1, 2, 4], 2)).toEqual([1, 2, 4]);
    expect(sliderPositions([1, 2, 4], 3)).toEqual([1, 2, 3, 4]);
    expect(sliderPositions(null, 4)).toHaveLength(50);
    expect(sliderPositions(null, 100).at(-1)).toBe(100);
  });

  it('rows load their model the way the picker does: folder URL, or the choice\'s own ref (download cache, picked files)', () => {
    const picked: ModelChoice = { ...choice('folder-x', 'Folder x'), baseUrl: '', kind: 'local', ref: { id: 'folder-x', name: 'Folder x', kind: 'files', files: [] } };
    const rows = buildRows([
      { choice: choice('fewstep-turbo'), defaults: defaults('EulerDiscreteScheduler', [1, 2, 4], 0) },
      { choice: picked, defaults: defaults('LCMScheduler', null, 8) },
    ]);
    expect(rows[0].ref).toEqual({ id: 'fewstep-turbo', name: 'fewstep-turbo', kind: 'url', baseUrl: '/models/fewstep-turbo/' });
    expect(rows[1].ref).toBe(picked.ref);
  });
});
