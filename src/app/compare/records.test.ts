import { describe, expect, it } from 'vitest';
import { isCompleteRecord, pngChunksFor, recordFromChunks } from '../../export/metadata';
import { decodePngSize, encodePngSync, readTextChunks } from '../../export/png';
import { parseCsvObjects, runsToCsv, runsToJson } from '../../export/runs';
import { fakeRun } from './testRuns';
import { breakdownOf, settingsFromRecord, stagesOf, toGenerationRecord, toRunRecord } from './records';

describe('run records', () => {
  it('splits latency into stages with a non-negative overhead', () => {
    const run = fakeRun({ steps: 4 });
    const s = stagesOf(run.result.timings);
    expect(s).toEqual({ tokenize: 1, textEncoder: 10, unet: 80, scheduler: 2, vae: 15, readback: 2, overhead: expect.closeTo(3, 6) });
    expect(breakdownOf(run.result.timings)).toEqual({ textEncoder: 11, unet: 80, scheduler: 2, vae: 17, overhead: expect.closeTo(3, 6) });
    expect(stagesOf({ ...run.result.timings, totalMs: 1 }).overhead).toBe(0);
  });

  it('CSV rows match the runs (steps, seed, sampler, latency, stages, prompt with comma/quote/newline)', () => {
    const runs = [fakeRun({ steps: 1 }), fakeRun({ steps: 8, schedulerClass: 'DDPMScheduler', rowLabel: 'Teacher · DDPM', source: 'grid' })];
    const rows = parseCsvObjects(runsToCsv(runs.map(toRunRecord)));
    expect(rows).toHaveLength(2);
    rows.forEach((row, i) => {
      const run = runs[i];
      expect(row.id).toBe(run.requestId);
      expect(Number(row.steps)).toBe(run.params.steps);
      expect(Number(row.seed)).toBe(1234);
      expect(row.prompt).toBe(run.params.prompt);
      expect(Number(row.totalMs)).toBeCloseTo(run.result.timings.totalMs, 2);
      expect(Number(row.unetMs)).toBeCloseTo(20 * run.params.steps, 2);
      expect(row.executionProvider).toBe('wasm');
    });
    expect(rows[1].sampler).toBe('DDPM');
    expect(rows[1].pipeline).toBe('Teacher · DDPM');
    expect(rows[0].pipeline).toBe('Fewstep teacher · DDIM');
    const json = JSON.parse(runsToJson(runs.map(toRunRecord)));
    expect(json.runs.map((r: { steps: number }) => r.steps)).toEqual([1, 8]);
    expect(json.runs[1].stages.unet).toBe(160);
  });

  it('an exported PNG carries parameters + fewstep chunks that restore prompt, seed, steps, sampler, model', () => {
    const run = fakeRun({ steps: 8, schedulerClass: 'DDPMScheduler', provider: 'webgpu' });
    const record = toGenerationRecord(run);
    expect(isCompleteRecord(record)).toBe(true);
    const png = encodePngSync(run.result.image.data, 8, 6, { text: pngChunksFor(record) });
    expect(decodePngSize(png)).toEqual({ width: 8, height: 6 });
    const chunks = readTextChunks(png);
    expect(chunks.parameters).toContain('Steps: 8, Sampler: DDPM, CFG scale: 7.5, Seed: 1234, Size: 8x6, Model: Fewstep teacher');
    const json = JSON.parse(chunks.fewstep);
    expect(json).toMatchObject({ executionProvider: 'webgpu', steps: 8, sampler: 'DDPMScheduler', latencyMs: run.result.timings.totalMs });
    const back = recordFromChunks(chunks)!;
    const { patch, modelFound, notes } = settingsFromRecord(back, [{ id: 'fewstep-teacher', name: 'Fewstep teacher' }]);
    expect(patch).toMatchObject({ prompt: run.params.prompt, seed: 1234, steps: 8, sampler: 'DDPMScheduler', guidanceScale: 7.5, modelId: 'fewstep-teacher' });
    expect(modelFound).toBe(true);
    expect(notes).toEqual([]);
    // Only the parameters text (another UI's PNG): still restores the core settings.
    const fromText = settingsFromRecord(recordFromChunks({ parameters: chunks.parameters })!, []);
    expect(fromText.patch).toMatchObject({ prompt: run.params.prompt, seed: 1234, steps: 8, sampler: 'DDPMScheduler' });
    expect(fromText.modelFound).toBe(false);
    expect(fromText.notes[0]).toContain('fewstep-teacher');
  });

  it('custom timesteps and TCD gamma: in the PNG (both chunks), the CSV record, and back to settings', () => {
    const base = fakeRun({ steps: 4, schedulerClass: 'TCDScheduler' });
    const run = { ...base, params: { ...base.params, sampler: 'TCDScheduler', timesteps: '999, 749,499,249', gamma: 0.5 } };
    const record = toGenerationRecord(run);
    expect(record).toMatchObject({ steps: 4, sampler: 'TCDScheduler', timesteps: [999, 749, 499, 249], gamma: 0.5 });
    expect(record).not.toHaveProperty('eta');
    const chunks = readTextChunks(encodePngSync(run.result.image.data, 8, 6, { text: pngChunksFor(record) }));
    expect(chunks.parameters).toContain('Steps: 4, Sampler: TCD,');
    expect(chunks.parameters).toContain('Timesteps: "999,749,499,249", TCD gamma: 0.5');
    for (const c of [chunks, { parameters: chunks.parameters }]) {
      const { patch } = settingsFromRecord(recordFromChunks(c)!, []);
      expect(patch).toMatchObject({ steps: 4, timesteps: '999,749,499,249', sampler: 'TCDScheduler', gamma: 0.5 });
    }
    expect(toRunRecord(run)).toMatchObject({ steps: 4, timesteps: '999,749,499,249', gamma: 0.5, sampler: 'TCD' });
    // A run on the scheduler's own spacing writes neither, and restoring it clears a custom list.
    const plain = fakeRun({ steps: 2 });
    const plainRecord = toGenerationRecord(plain);
    expect(plainRecord).not.toHaveProperty('timesteps');
    expect(plainRecord).not.toHaveProperty('gamma');
    expect(plainRecord.eta).toBe(0);
    expect(toRunRecord(plain)).not.toHaveProperty('timesteps');
    expect(settingsFromRecord(plainRecord, []).patch.timesteps).toBe('');
    // A TCD PNG from elsewhere carrying its gamma as eta (diffusers' name for it).
    expect(settingsFromRecord({ prompt: 'x', sampler: 'TCDScheduler', eta: 0.7 }, []).patch.gamma).toBe(0.7);
  });

  it('LoRAs: in the PNG (Lora: text and fewstep JSON), the CSV/JSON run record, and back to the set to apply', () => {
    const base = fakeRun({ steps: 4, schedulerClass: 'LCMScheduler' });
    const loras = [
      { id: 'fewstep-style-ink', scale: 0.8 },
      { id: 'my, odd: file.safetensors', scale: -0.5 },
    ];
    const run = { ...base, params: { ...base.params, sampler: 'LCMScheduler', guidanceScale: 1, loras } };
    const record = toGenerationRecord(run);
    expect(record.loras).toEqual([
      { name: 'fewstep-style-ink', scale: 0.8 },
      { name: 'my, odd: file.safetensors', scale: -0.5 },
    ]);
    const chunks = readTextChunks(encodePngSync(run.result.image.data, 8, 6, { text: pngChunksFor(record) }));
    expect(chunks.parameters).toContain('Lora: "fewstep-style-ink:0.8, my_odd_file.safetensors:-0.5", RNG: fewstep');
    expect(JSON.parse(chunks.fewstep).loras).toEqual(record.loras);
    expect(settingsFromRecord(recordFromChunks(chunks)!, []).patch.loras).toEqual(loras);
    // Another UI's PNG (parameters only): the names as written there.
    expect(settingsFromRecord(recordFromChunks({ parameters: chunks.parameters })!, []).patch.loras).toEqual([
      { id: 'fewstep-style-ink', scale: 0.8 },
      { id: 'my_odd_file.safetensors', scale: -0.5 },
    ]);
    const csv = parseCsvObjects(runsToCsv([toRunRecord(run), toRunRecord(base)]));
    expect(csv[0].loras).toBe('fewstep-style-ink:0.8, my_odd_file.safetensors:-0.5');
    expect(csv[1].loras).toBe('');
    expect(JSON.parse(runsToJson([toRunRecord(run)])).runs[0].loras).toBe('fewstep-style-ink:0.8, my_odd_file.safetensors:-0.5');
    // No LoRAs: no field, and restoring such a record goes back to the base model.
    expect(toGenerationRecord(base)).not.toHaveProperty('loras');
    expect(pngChunksFor(toGenerationRecord(base))[0].text).not.toContain('Lora:');
    expect(settingsFromRecord(toGenerationRecord(base), []).patch.loras).toEqual([]);
    // Strengths outside -2..2 are not applied.
    const wild = settingsFromRecord({ prompt: 'x', loras: [{ name: 'a', scale: 5 }, { name: 'b', scale: 1 }] }, []);
    expect(wild.patch.loras).toEqual([{ id: 'b', scale: 1 }]);
    expect(wild.notes).toContain('LoRA strengths outside -2..2 were left out');
  });

  it('drops out-of-range values and unknown samplers from an imported record', () => {
    const { patch, notes } = settingsFromRecord({ prompt: 'x', seed: 2 ** 40, steps: 0, sampler: 'KarrasVe', guidanceScale: 99 }, []);
    expect(patch).toEqual({ prompt: 'x', negativePrompt: '', timesteps: '', loras: [] });
    expect(notes[0]).toContain('KarrasVe');
  });
});
