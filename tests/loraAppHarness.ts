/**
 * Test harness for the LoRA picker's bridge (tests/loraApply.test.ts, tests/loraPick.test.ts): a stand-in engine
 * worker whose load replies can be held and released one at a time, the teacher as the only model, and a reset of
 * the stores with the teacher loaded before each test.
 */
import { afterAll, beforeAll, beforeEach, expect, vi } from 'vitest';
import type { EngineEvent, LoadedModel, Request } from '../src/engine';
import { loadModel } from '../src/app/engineBridge';
import type { ModelChoice } from '../src/app/models';
import { DEFAULT_SETTINGS, useAppStore } from '../src/app/store';
import { parseLoraIndex } from '../src/app/lora/loraIndex';
import { initialLoraState, useLoraStore } from '../src/app/lora/loraStore';
import { LORA_INDEX_FIXTURE } from '../src/app/lora/testIndex';

export type LoadRequest = Extract<Request, { type: 'load' }>;

/** Answers like the engine worker; while `hold` is set, each load waits until the test calls `release()`. */
export class HeldWorker {
  static requests: Request[] = [];
  static hold = false;
  static pending: Array<() => void> = [];
  /** Held loads by request id, for a cancel. */
  static held = new Map<string, () => void>();
  private listeners: Array<(e: { data: EngineEvent }) => void> = [];
  addEventListener(type: string, fn: (e: { data: EngineEvent }) => void): void {
    if (type === 'message') this.listeners.push(fn);
  }
  terminate(): void {}
  postMessage(req: Request): void {
    HeldWorker.requests.push(req);
    const reply = (ev: EngineEvent): void => void queueMicrotask(() => this.listeners.forEach((fn) => fn({ data: ev })));
    if (req.type === 'load') {
      const loras = req.loras ?? [];
      const lora = loras.length
        ? { adapters: loras.map((l) => ({ name: l.name, scale: l.scale, format: 'peft' as const, rank: 8, alpha: 8, matched: 4, unmatched: 0, textEncoderKeys: 0 })), weightsChanged: 4, ms: 1 }
        : undefined;
      const send = () => reply({ type: 'loaded', id: req.id, model: { ...model(), id: req.model.id, ...(lora ? { lora } : {}) } });
      if (HeldWorker.hold) {
        HeldWorker.pending.push(send);
        HeldWorker.held.set(req.id, send);
      } else send();
    } else if (req.type === 'generate') reply({ type: 'cancelled', id: req.id, reason: 'test' });
    else if (req.type === 'cancel' && req.target && HeldWorker.held.has(req.target)) {
      // The engine ends a cancelled load with `cancelled`; the held reply never comes.
      const send = HeldWorker.held.get(req.target)!;
      HeldWorker.held.delete(req.target);
      HeldWorker.pending = HeldWorker.pending.filter((f) => f !== send);
      reply({ type: 'cancelled', id: req.target, reason: 'Cancelled' });
      reply({ type: 'ack', id: req.id });
    }
    else reply({ type: 'ack', id: req.id });
  }
}

function model(): LoadedModel {
  return {
    name: 'Teacher',
    provider: 'wasm',
    schedulerClass: 'DDIMScheduler',
    schedulerConfig: {},
    defaults: { sampler: 'DDIMScheduler', steps: 50, guidanceScale: 7.5, allowedSteps: null },
  } as unknown as LoadedModel;
}

const MODELS: ModelChoice[] = [{ id: 'fewstep-teacher', name: 'Teacher', baseUrl: '/models/fewstep-teacher/', description: '', defaultSteps: 50, guidanceScale: 7.5, kind: 'shipped' }];
export const loads = (): LoadRequest[] => HeldWorker.requests.filter((r): r is LoadRequest => r.type === 'load');
export const tick = () => new Promise((r) => setTimeout(r, 0));
/** Answer the oldest held load and let the bridge react. */
export async function release(): Promise<void> {
  await tick();
  const send = HeldWorker.pending.shift();
  if (!send) throw new Error('no load is waiting');
  send();
  await tick();
}

/** Installs the stand-in worker and the per-test reset in the calling test file. */
export function useHeldWorker(): void {
  beforeAll(() => vi.stubGlobal('Worker', HeldWorker));
  afterAll(() => vi.unstubAllGlobals());
  beforeEach(async () => {
    HeldWorker.requests = [];
    HeldWorker.hold = false;
    HeldWorker.pending = [];
    HeldWorker.held.clear();
    useAppStore.setState(useAppStore.getInitialState(), true);
    useLoraStore.setState({ ...initialLoraState, shipped: parseLoraIndex(LORA_INDEX_FIXTURE, '/models/loras/').loras, shippedReady: true }, true);
    useAppStore.setState({ models: MODELS, modelsReady: true, settings: { ...DEFAULT_SETTINGS, modelId: 'fewstep-teacher' } });
    expect(await loadModel('fewstep-teacher', { generateAfter: false })).toBe(true);
    HeldWorker.requests = [];
  });
}
