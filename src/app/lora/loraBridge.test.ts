/**
 * The LoRA picker's store logic through the real engine bridge, with a stand-in worker that answers like the engine:
 * the load request it sends (pool id, LoRA refs), the LCM preset applied and restored, errors kept in the picker
 * while the model stays, and which LoRAs follow a model change.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EngineEvent, LoadedModel, Request } from '../../engine';
import { loadModel } from '../engineBridge';
import type { ModelChoice } from '../models';
import { DEFAULT_SETTINGS, useAppStore } from '../store';
import { parseLoraIndex } from './loraIndex';
import { addLora, applyLoras, currentDraft, draftPending, pickLoraFile, removeLora, setFastLcm, setLoraScale } from './loraBridge';
import { initialLoraState, useLoraStore } from './loraStore';
import { LORA_INDEX_FIXTURE } from './testIndex';

type LoadRequest = Extract<Request, { type: 'load' }>;

/** Answers configure/load/generate like the engine worker; a LoRA named "bad.safetensors" fails as malformed. */
class FakeWorker {
  static requests: Request[] = [];
  private listeners: Array<(e: { data: EngineEvent }) => void> = [];
  addEventListener(type: string, fn: (e: { data: EngineEvent }) => void): void {
    if (type === 'message') this.listeners.push(fn);
  }
  terminate(): void {}
  postMessage(req: Request): void {
    FakeWorker.requests.push(req);
    const reply = (ev: EngineEvent): void => void queueMicrotask(() => this.listeners.forEach((fn) => fn({ data: ev })));
    if (req.type === 'load') {
      const loras = req.loras ?? [];
      if (loras.some((l) => l.name === 'bad.safetensors')) {
        reply({ type: 'error', id: req.id, error: { code: 'LORA_INVALID', name: 'EngineError', message: 'bad.safetensors is not a valid safetensors file: header length 4096 is beyond the file (12 bytes).' } });
        return;
      }
      const lora = loras.length
        ? { adapters: loras.map((l) => ({ name: l.name, scale: l.scale, format: 'peft' as const, rank: 8, alpha: 8, matched: 64, unmatched: 0, textEncoderKeys: 0 })), weightsChanged: 64 * loras.length, ms: 12 }
        : undefined;
      reply({ type: 'loaded', id: req.id, model: { ...model(req.model.name), id: req.model.id, ...(lora ? { lora } : {}) } });
    } else if (req.type === 'generate') reply({ type: 'cancelled', id: req.id, reason: 'test' });
    else reply({ type: 'ack', id: req.id });
  }
}

function model(name: string): LoadedModel {
  const turbo = name === 'Turbo';
  return {
    name,
    provider: 'wasm',
    schedulerClass: turbo ? 'EulerDiscreteScheduler' : 'DDIMScheduler',
    schedulerConfig: {},
    defaults: { sampler: turbo ? 'EulerDiscreteScheduler' : 'DDIMScheduler', steps: turbo ? 1 : 50, guidanceScale: turbo ? 0 : 7.5, allowedSteps: null },
  } as unknown as LoadedModel;
}

const MODELS: ModelChoice[] = [
  { id: 'fewstep-teacher', name: 'Teacher', baseUrl: '/models/fewstep-teacher/', description: '', defaultSteps: 50, guidanceScale: 7.5, kind: 'shipped' },
  { id: 'fewstep-turbo', name: 'Turbo', baseUrl: '/models/fewstep-turbo/', description: '', defaultSteps: 1, guidanceScale: 0, kind: 'shipped' },
];

const loads = (): LoadRequest[] => FakeWorker.requests.filter((r): r is LoadRequest => r.type === 'load');

beforeAll(() => vi.stubGlobal('Worker', FakeWorker));
afterAll(() => vi.unstubAllGlobals());

beforeEach(async () => {
  FakeWorker.requests = [];
  useAppStore.setState(useAppStore.getInitialState(), true);
  useLoraStore.setState({ ...initialLoraState, shipped: parseLoraIndex(LORA_INDEX_FIXTURE, '/models/loras/').loras, shippedReady: true }, true);
  useAppStore.setState({ models: MODELS, modelsReady: true, settings: { ...DEFAULT_SETTINGS, modelId: 'fewstep-teacher' } });
  expect(await loadModel('fewstep-teacher', { generateAfter: false })).toBe(true);
  FakeWorker.requests = [];
});

describe('LoRA picker: draft, apply, LCM preset', () => {
  it('applying the LCM-LoRA merges it under its own pool id and switches to LCM, 4 steps, guidance 1; removing it restores DDIM 50 / 7.5', async () => {
    expect(useAppStore.getState().settings).toMatchObject({ sampler: '', steps: 50, guidanceScale: 7.5, loras: [] });
    addLora('fewstep-lcm-lora');
    expect(currentDraft()).toEqual([{ id: 'fewstep-lcm-lora', scale: 1 }]);
    expect(draftPending(useLoraStore.getState().draft, useAppStore.getState().settings.loras)).toBe(true);
    expect(await applyLoras()).toBe(true);
    const [load] = loads();
    expect(load.model.id).toBe('fewstep-teacher+lora:fewstep-lcm-lora:1');
    expect(load.loras).toEqual([{ name: 'fewstep-lcm-lora', scale: 1, url: '/models/loras/fewstep-lcm-lora.safetensors' }]);
    const st = useAppStore.getState();
    expect(st.loaded?.id).toBe('fewstep-teacher');
    expect(st.loaded?.lora?.adapters[0]).toMatchObject({ name: 'fewstep-lcm-lora', matched: 64 });
    expect(st.settings).toMatchObject({ sampler: 'LCMScheduler', steps: 4, guidanceScale: 1, loras: [{ id: 'fewstep-lcm-lora', scale: 1 }] });
    expect(useLoraStore.getState()).toMatchObject({ draft: null, applying: false, error: null, preset: { guidanceRange: [1, 2] } });
    expect(useLoraStore.getState().note).toContain('Removing it restores DDIM, 50 steps, guidance 7.5.');

    // A style LoRA on top keeps the preset (and the steps the user chose meanwhile).
    useAppStore.setState((s) => ({ settings: { ...s.settings, steps: 2 } }));
    addLora('fewstep-style-ink');
    setLoraScale('fewstep-style-ink', 0.5);
    setLoraScale('fewstep-style-ink', 7); // outside -2..2: ignored
    expect(await applyLoras()).toBe(true);
    expect(loads()[1].model.id).toBe('fewstep-teacher+lora:fewstep-lcm-lora:1+fewstep-style-ink:0.5');
    expect(useAppStore.getState().settings).toMatchObject({ sampler: 'LCMScheduler', steps: 2 });

    removeLora('fewstep-lcm-lora');
    removeLora('fewstep-style-ink');
    expect(await applyLoras()).toBe(true);
    const back = loads()[2];
    expect(back.model.id).toBe('fewstep-teacher');
    expect(back.loras).toBeUndefined();
    expect(useAppStore.getState().settings).toMatchObject({ sampler: '', steps: 50, guidanceScale: 7.5, loras: [] });
    expect(useLoraStore.getState().preset).toBeNull();
    expect(useLoraStore.getState().note).toBe('LCM-LoRA removed: back to DDIM, 50 steps, guidance 7.5.');
  });

  it('"Fast: LCM-LoRA" adds and applies in one go, and off takes it away again', async () => {
    expect(await setFastLcm(true)).toBe(true);
    expect(useAppStore.getState().settings).toMatchObject({ sampler: 'LCMScheduler', steps: 4, guidanceScale: 1 });
    expect(await setFastLcm(false)).toBe(true);
    expect(useAppStore.getState().settings).toMatchObject({ sampler: '', steps: 50, guidanceScale: 7.5, loras: [] });
  });

  it('a malformed picked file: the engine message in the picker, the model and its LoRAs unchanged, the file kept for the session', async () => {
    await setFastLcm(true);
    const before = useAppStore.getState().loaded;
    await pickLoraFile(new File([new Uint8Array(12)], 'bad.safetensors'));
    expect(currentDraft().map((l) => l.id)).toEqual(['fewstep-lcm-lora', 'bad.safetensors']);
    expect(await applyLoras()).toBe(false);
    const load = loads().at(-1)!;
    expect(load.loras?.[1]).toMatchObject({ name: 'bad.safetensors', scale: 1 });
    expect(load.loras?.[1].bytes?.byteLength).toBe(12);
    expect(useLoraStore.getState().error?.message).toContain('bad.safetensors is not a valid safetensors file');
    expect(useLoraStore.getState().error?.code).toBe('LORA_INVALID');
    expect(useAppStore.getState().loadError).toBeNull();
    expect(useAppStore.getState().loaded).toBe(before);
    expect(useAppStore.getState().settings).toMatchObject({ modelId: 'fewstep-teacher', sampler: 'LCMScheduler', loras: [{ id: 'fewstep-lcm-lora', scale: 1 }] });
    // Removing the bad file and applying works; the file stays offered for this session.
    removeLora('bad.safetensors');
    expect(useLoraStore.getState().files.map((f) => f.id)).toEqual(['bad.safetensors']);
    expect(useLoraStore.getState().draft).toEqual([{ id: 'fewstep-lcm-lora', scale: 1 }]);
    // A file that is not .safetensors is refused before the engine sees it.
    const n = FakeWorker.requests.length;
    await pickLoraFile(new File(['x'], 'notes.txt'));
    expect(useLoraStore.getState().error?.message).toBe('notes.txt is not a .safetensors file: pick a LoRA saved as .safetensors.');
    expect(FakeWorker.requests.length).toBe(n);
  });

  it('on a model change only the shipped LoRAs made for the new model follow; the preset ends with the model defaults', async () => {
    await setFastLcm(true);
    expect(await loadModel('fewstep-turbo', { generateAfter: false })).toBe(true);
    const load = loads().at(-1)!;
    expect(load.model.id).toBe('fewstep-turbo');
    expect(load.loras).toBeUndefined();
    expect(useAppStore.getState().settings).toMatchObject({ modelId: 'fewstep-turbo', loras: [], sampler: '', steps: 1, guidanceScale: 0 });
    expect(useLoraStore.getState().note).toBe('Not applied to Turbo: LCM-LoRA (fewstep-teacher) (made for fewstep-teacher). Add them again from the list if they fit.');
    expect(useLoraStore.getState().preset).toBeNull();
    // Back to the teacher with the set given explicitly (a history entry): merged again, preset again.
    expect(await loadModel('fewstep-teacher', { generateAfter: false, loras: [{ id: 'fewstep-lcm-lora', scale: 1 }] })).toBe(true);
    expect(useAppStore.getState().settings).toMatchObject({ sampler: 'LCMScheduler', steps: 4, guidanceScale: 1 });
  });
});
