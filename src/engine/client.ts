/**
 * Main-thread side of the engine: turns requests into promises and forwards streaming events.
 * `createWorkerEngine` talks to worker.ts; tests drive `EngineHandler` directly.
 */
import { CancelledError, errorFromWire } from './errors';
import type { EngineEvent, Request, RequestType, Requests, Responses } from './protocol';

export type EventListener = (event: EngineEvent) => void;

export interface Engine {
  request<K extends RequestType>(type: K, payload: Requests[K], onEvent?: EventListener): { id: string; done: Promise<Responses[K]> };
  terminate(): void;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  onEvent?: EventListener;
}

let counter = 0;
const nextId = (): string => `r${++counter}-${Date.now().toString(36)}`;

class EngineClient implements Engine {
  private readonly pending = new Map<string, Pending>();
  constructor(
    private readonly send: (req: Request, transfer: Transferable[]) => void,
    private readonly onTerminate: () => void,
  ) {}

  receive = (ev: EngineEvent): void => {
    const p = this.pending.get(ev.id);
    if (!p) return;
    p.onEvent?.(ev);
    switch (ev.type) {
      case 'loaded':
        this.settle(ev.id, () => p.resolve(ev.model));
        break;
      case 'result':
        this.settle(ev.id, () => p.resolve(ev));
        break;
      case 'ack':
        this.settle(ev.id, () => p.resolve(undefined));
        break;
      case 'downloaded':
        this.settle(ev.id, () => p.resolve(ev.result));
        break;
      case 'cached-list':
        this.settle(ev.id, () => p.resolve(ev.list));
        break;
      case 'bare-result':
        this.settle(ev.id, () => p.resolve(ev));
        break;
      case 'stats':
        this.settle(ev.id, () => p.resolve(ev.stats));
        break;
      case 'described':
        this.settle(ev.id, () => p.resolve(ev.defaults));
        break;
      case 'gpu-info':
        this.settle(ev.id, () => p.resolve(ev.gpu));
        break;
      case 'error':
        this.settle(ev.id, () => p.reject(errorFromWire(ev.error)));
        break;
      case 'cancelled':
        this.settle(ev.id, () => p.reject(new CancelledError(ev.reason)));
        break;
      default:
        break;
    }
  };

  private settle(id: string, f: () => void): void {
    this.pending.delete(id);
    f();
  }

  request<K extends RequestType>(type: K, payload: Requests[K], onEvent?: EventListener): { id: string; done: Promise<Responses[K]> } {
    const id = nextId();
    const done = new Promise<Responses[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onEvent });
    });
    // A load's LoRA bytes (a picked file) are transferred, not copied: they can be tens of MB (see LoraRef).
    const transfer = type === 'load' ? [...new Set(((payload as Requests['load']).loras ?? []).flatMap((l) => (l.bytes ? [l.bytes] : [])))] : [];
    this.send({ id, type, ...payload } as Request, transfer);
    return { id, done };
  }

  /** Reject every pending request (the worker died or could not start). */
  failAll(message: string): void {
    for (const [id, p] of [...this.pending]) {
      this.pending.delete(id);
      p.reject(errorFromWire({ code: 'INTERNAL', name: 'EngineError', message }));
    }
  }

  terminate(): void {
    for (const [id, p] of this.pending) p.reject(new CancelledError(`Engine terminated before ${id} finished`));
    this.pending.clear();
    this.onTerminate();
  }
}

export function createWorkerEngine(worker: Worker): Engine {
  const client = new EngineClient(
    (req, transfer) => worker.postMessage(req, transfer),
    () => worker.terminate(),
  );
  worker.addEventListener('message', (e: MessageEvent<EngineEvent>) => client.receive(e.data));
  worker.addEventListener('error', (e) => {
    // A worker that fails to start (bad bundle, CSP) would otherwise hang every request.
    client.failAll(`The engine worker failed: ${e.message || 'it could not start (see the browser console)'}.`);
  });
  return client;
}
