/**
 * The LoRA picker's Apply through the real engine bridge and a stand-in worker whose load replies the test releases
 * one at a time (review finding 3): strengths edited while an apply runs are applied once it ends (latest wins: one
 * follow-up apply with the newest draft however many edits came, and no second request while one runs).
 */
import { describe, expect, it } from 'vitest';
import { useAppStore } from '../src/app/store';
import { addLora, applyLoras, currentDraft, setLoraScale } from '../src/app/lora/loraBridge';
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
