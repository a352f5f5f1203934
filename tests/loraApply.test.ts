/**
 * The LoRA picker's Apply through the real engine bridge and a stand-in worker whose load replies the test releases
 * one at a time (review finding 3): strengths edited while an apply runs are applied once it ends (latest wins: one
 * follow-up apply with the newest draft however many edits came, and no second request while one runs); Cancel
 * stops an apply without a follow-up (item 6), and the picker's progress line names the step.
 */
import { describe, expect, it } from 'vitest';
import { useAppStore } from '../src/app/store';
import { applyFraction, applyStep } from '../src/app/lora/LoraPicker';
import { addLora, applyLoras, cancelApply, currentDraft, setLoraScale } from '../src/app/lora/loraBridge';
import { useLoraStore } from '../src/app/lora/loraStore';
import { HeldWorker, loads, release, tick, useHeldWorker } from './loraAppHarness';

useHeldWorker();

describe('LoRA Apply: latest wins', () => {
  it('strengths edited during an apply are applied once it ends, with one follow-up request', async () => {
    HeldWorker.hold = true;
    addLora('fewstep-style-ink');
    const done = applyLoras();
    await tick();
    expect(loads().map((l) => l.loras?.[0].scale)).toEqual([0.8]);
    // Edits while it runs, and an Apply press (Enter in the number field): no second request yet.
    setLoraScale('fewstep-style-ink', 0.5);
    setLoraScale('fewstep-style-ink', 0.3);
    const again = applyLoras();
    await tick();
    expect(loads()).toHaveLength(1);
    expect(currentDraft()).toEqual([{ id: 'fewstep-style-ink', scale: 0.3 }]);
    await release();
    // The running apply ended: the newest strength goes to the engine, once.
    expect(loads().map((l) => l.loras?.[0].scale)).toEqual([0.8, 0.3]);
    setLoraScale('fewstep-style-ink', 0.3); // unchanged value: nothing new
    await release();
    expect(await done).toBe(true);
    expect(await again).toBe(true);
    expect(loads()).toHaveLength(2);
    expect(useAppStore.getState().settings.loras).toEqual([{ id: 'fewstep-style-ink', scale: 0.3 }]);
    expect(useAppStore.getState().loaded?.lora?.adapters[0].scale).toBe(0.3);
    expect(useLoraStore.getState()).toMatchObject({ draft: null, applying: false });
  });

  it('an apply without edits meanwhile sends one request and clears the draft', async () => {
    addLora('fewstep-style-ink');
    expect(await applyLoras()).toBe(true);
    expect(loads()).toHaveLength(1);
    expect(useLoraStore.getState().draft).toBeNull();
  });
});

describe('LoRA Apply: cancel and progress', () => {
  it('Cancel stops the running apply with no follow-up; the draft stays and the model keeps its set', async () => {
    HeldWorker.hold = true;
    addLora('fewstep-style-ink');
    const done = applyLoras();
    await tick();
    setLoraScale('fewstep-style-ink', 0.5);
    const loadId = loads()[0].id;
    cancelApply();
    expect(await done).toBe(false);
    await tick();
    const cancels = HeldWorker.requests.filter((r) => r.type === 'cancel');
    expect(cancels).toMatchObject([{ target: loadId }]);
    expect(loads()).toHaveLength(1);
    expect(useAppStore.getState().settings.loras).toEqual([]);
    expect(useLoraStore.getState()).toMatchObject({ applying: false, draft: [{ id: 'fewstep-style-ink', scale: 0.5 }] });
    // Apply again works.
    HeldWorker.hold = false;
    expect(await applyLoras()).toBe(true);
    expect(useAppStore.getState().settings.loras).toEqual([{ id: 'fewstep-style-ink', scale: 0.5 }]);
  });

  it('the picker names the step and its share: reading, merging by weight bytes, making the session', () => {
    const base = { file: 'unet/model.onnx', filesDone: 0, filesTotal: 1, sessionsDone: 0, sessionsTotal: 1 };
    expect(applyStep(null)).toBe('starting…');
    expect(applyStep({ ...base, phase: 'fetch', status: 'progress', loaded: 1 << 20, total: 4 << 20 })).toBe('reading unet/model.onnx 1.0 MiB / 4.0 MiB');
    const merge = { ...base, phase: 'merge' as const, status: 'progress' as const, loaded: 3 << 20, total: 4 << 20 };
    expect(applyStep(merge)).toBe('merged 3.0 MiB of 4.0 MiB of weights');
    expect(applyFraction(merge)).toBe(0.75);
    expect(applyStep({ ...base, phase: 'session', status: 'initiate', loaded: 0, total: null })).toBe('creating the session of unet/model.onnx…');
  });
});
