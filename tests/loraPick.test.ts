/**
 * Identity of LoRA files picked from disk (review finding 4), through the real engine bridge and a stand-in worker:
 * a file picked again under the same name is a new pick that Apply merges (its new bytes reach the engine), and a set
 * naming an earlier pick (a history entry) is not sent with the newer bytes.
 */
import { describe, expect, it } from 'vitest';
import { loadModel } from '../src/app/engineBridge';
import { useAppStore } from '../src/app/store';
import { applyLoras, draftPending, pickLoraFile } from '../src/app/lora/loraBridge';
import { useLoraStore } from '../src/app/lora/loraStore';
import { loads, useHeldWorker } from './loraAppHarness';

useHeldWorker();

describe('LoRA identity of picked files', () => {
  it('a file picked again under the same name is a new pick: Apply is offered and sends the new bytes', async () => {
    await pickLoraFile(new File([new Uint8Array([1, 1, 1, 1])], 'mine.safetensors'));
    expect(await applyLoras()).toBe(true);
    expect([...new Uint8Array(loads()[0].loras![0].bytes!)]).toEqual([1, 1, 1, 1]);
    expect(draftPending(useLoraStore.getState().draft, useAppStore.getState().settings.loras)).toBe(false);

    await pickLoraFile(new File([new Uint8Array([2, 2, 2, 2, 2])], 'mine.safetensors'));
    expect(useLoraStore.getState().files.map((f) => [f.id, f.size, f.pick])).toEqual([['mine.safetensors', 5, 2]]);
    expect(draftPending(useLoraStore.getState().draft, useAppStore.getState().settings.loras)).toBe(true);
    expect(await applyLoras()).toBe(true);
    expect(loads()).toHaveLength(2);
    expect([...new Uint8Array(loads()[1].loras![0].bytes!)]).toEqual([2, 2, 2, 2, 2]);
    // Records and links still name the file only.
    expect(loads()[1].loras![0].name).toBe('mine.safetensors');
    expect(useAppStore.getState().settings.loras).toEqual([{ id: 'mine.safetensors', scale: 1, pick: 2 }]);
  });
});

describe('an earlier pick', () => {
  it('is not sent with the newer bytes: a set naming it reports the file as not available', async () => {
    await pickLoraFile(new File([new Uint8Array([1, 1, 1, 1])], 'mine.safetensors'));
    expect(await applyLoras()).toBe(true);
    await pickLoraFile(new File([new Uint8Array([2, 2, 2, 2, 2])], 'mine.safetensors'));
    expect(await applyLoras()).toBe(true);
    // A history entry made with the first pick.
    expect(await loadModel('fewstep-teacher', { generateAfter: false, loras: [{ id: 'mine.safetensors', scale: 1 }] })).toBe(true);
    expect(loads().at(-1)!.loras).toBeUndefined();
    expect(useLoraStore.getState().note).toContain('Not available in this session: mine.safetensors');
  });
});
