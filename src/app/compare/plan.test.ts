import { describe, expect, it } from 'vitest';
import type { PipelineDefaults } from '../../engine';
import type { ModelChoice } from '../models';
import { buildColumns, buildRows, cellAllowed, cellKey, loraRowSpecs, modelRank, rowSelected, runOrder, shortModelLabel, sliderPositions } from './plan';
import { initialCompareState, toggleRow, useCompareStore } from './compareStore';
import { parseLoraIndex } from '../lora/loraIndex';
import { LORA_INDEX_FIXTURE } from '../lora/testIndex';
import { runKey } from './chartData';
import { fakeRun } from './testRuns';
import { decodeSettings, encodeSettings } from '../urlState';

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
    // The picker's display name (catalog.json), without its "(…)" explanation: "Fewstep LCM · LCM", not "Lcm · LCM".
    expect(shortModelLabel(choice('fewstep-lcm', 'Fewstep LCM (latent consistency distillation)'))).toBe('Fewstep LCM');
    expect(shortModelLabel(choice('fewstep-ict', 'Fewstep iCT (consistency training, no teacher)'))).toBe('Fewstep iCT');
    expect(shortModelLabel(choice('fewstep-teacher', 'Fewstep teacher (DDIM, many steps)'))).toBe('Fewstep teacher');
    // Too long without the step count: the id's short form.
    expect(shortModelLabel(choice('fewstep-progressive-8', 'Fewstep progressive distillation, 8 steps'))).toBe('Progressive 8');
    expect(shortModelLabel({ id: 'hf:a/b', name: 'SD-Turbo', kind: 'remote' })).toBe('SD-Turbo');
    expect(
      buildRows([{ choice: choice('fewstep-lcm', 'Fewstep LCM (latent consistency distillation)'), defaults: defaults('LCMScheduler', [1, 2, 4, 8]) }]).map((r) => r.label),
    ).toEqual(['Fewstep LCM · LCM']);
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

  it('base + LoRA set rows: teacher + LCM-LoRA with LCM at 1/2/4/8, style, style + LCM-LoRA, and the applied set; each under its own pool id', () => {
    const shipped = parseLoraIndex(LORA_INDEX_FIXTURE, '/models/loras/').loras;
    const specs = loraRowSpecs(shipped, { modelId: 'fewstep-teacher', loras: [{ id: 'fewstep-style-ink', scale: 0.3 }] });
    const rows = buildRows(SHIPPED.filter((m) => m.choice.id === 'fewstep-teacher' || m.choice.id === 'fewstep-turbo'), specs);
    expect(rows.map((r) => r.label)).toEqual([
      'Teacher · DDIM',
      'Teacher · DDPM',
      'Teacher + LCM-LoRA · LCM',
      'Teacher + Ink style · DDIM',
      'Teacher + Ink style + LCM-LoRA · LCM',
      'Teacher + LoRA fewstep-style-ink:0.3 · DDIM',
      'Turbo · Euler',
    ]);
    const lcm = rows[2];
    expect(lcm).toMatchObject({
      key: 'fewstep-teacher+lora:fewstep-lcm-lora:1:LCMScheduler',
      modelId: 'fewstep-teacher',
      poolId: 'fewstep-teacher+lora:fewstep-lcm-lora:1',
      loras: [{ id: 'fewstep-lcm-lora', scale: 1 }],
      sampler: 'LCMScheduler',
      guidanceScale: 1,
      allowedSteps: [1, 2, 3, 4, 5, 6, 7, 8],
    });
    // The model's own rows keep their plain keys, and the teacher's rows stay with the teacher's defaults.
    expect(rows[0]).toMatchObject({ key: 'fewstep-teacher:DDIMScheduler', poolId: 'fewstep-teacher', loras: [] });
    expect(rows[3]).toMatchObject({ sampler: '', samplerClass: 'DDIMScheduler', guidanceScale: 7.5, allowedSteps: [1, 2, 4, 8, 16, 32, 50] });
    expect(rows[4].loras.map((l) => l.id)).toEqual(['fewstep-style-ink', 'fewstep-lcm-lora']);
    // "teacher + LCM-LoRA, LCM 1/2/4/8" against "teacher DDIM 4/50".
    const order = runOrder([rows[0], lcm], [1, 2, 4, 8, 50]).map(({ row, steps }) => cellKey(row.key, steps));
    expect(order).toEqual([
      'fewstep-teacher:DDIMScheduler@1',
      'fewstep-teacher:DDIMScheduler@2',
      'fewstep-teacher:DDIMScheduler@4',
      'fewstep-teacher:DDIMScheduler@8',
      'fewstep-teacher:DDIMScheduler@50',
      'fewstep-teacher+lora:fewstep-lcm-lora:1:LCMScheduler@1',
      'fewstep-teacher+lora:fewstep-lcm-lora:1:LCMScheduler@2',
      'fewstep-teacher+lora:fewstep-lcm-lora:1:LCMScheduler@4',
      'fewstep-teacher+lora:fewstep-lcm-lora:1:LCMScheduler@8',
    ]);
    // A row key is a valid `cm=` id, and the charts group the row's runs under it (not with the base model's).
    expect(decodeSettings(encodeSettings({ compareModels: [lcm.key] })).compareModels).toEqual([lcm.key]);
    const run = fakeRun({ schedulerClass: 'LCMScheduler' });
    expect(runKey({ ...run, params: { ...run.params, loras: lcm.loras } })).toBe(lcm.key);
    expect(runKey(run)).toBe('fewstep-teacher:LCMScheduler');
    // LoRA rows are opt-in: off by default, on once ticked (the other rows stay as they were).
    expect(rows.filter((r) => rowSelected(r, null)).map((r) => r.label)).toEqual(['Teacher · DDIM', 'Teacher · DDPM', 'Turbo · Euler']);
    useCompareStore.setState({ ...initialCompareState, rows });
    toggleRow(lcm.key, true);
    expect(useCompareStore.getState().selectedRows).toEqual(['fewstep-teacher:DDIMScheduler', 'fewstep-teacher:DDPMScheduler', lcm.key, 'fewstep-turbo:EulerDiscreteScheduler']);
    expect(rowSelected(lcm, useCompareStore.getState().selectedRows)).toBe(true);
    // The applied set is not repeated when it is one of the shipped rows; no LoRAs, no rows for models they do not fit.
    expect(loraRowSpecs(shipped, { modelId: 'fewstep-teacher', loras: [{ id: 'fewstep-lcm-lora', scale: 1 }] })).toHaveLength(3);
    expect(buildRows(SHIPPED.filter((m) => m.choice.id === 'fewstep-turbo'), specs).map((r) => r.label)).toEqual(['Turbo · Euler']);
    expect(loraRowSpecs([])).toEqual([]);
  });
});
