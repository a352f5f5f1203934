/**
 * The engine worker, started once per page (main.tsx starts it before the rest of the app loads; engineBridge's
 * getEngine returns it). It is configured at once with the thread count, which also starts onnxruntime's warm-up
 * in the worker (engine/worker.ts).
 */
import { createWorkerEngine, type Engine } from '../engine';

let engine: Engine | null = null;

/** The page's engine: the worker is created and configured on the first call. */
export function startEngine(): Engine {
  if (!engine) {
    const worker = new Worker(new URL('../engine/worker.ts', import.meta.url), { type: 'module', name: 'fewstep-engine' });
    engine = createWorkerEngine(worker);
    // Multi-threaded WASM needs cross-origin isolation (SharedArrayBuffer); 4 threads at most.
    const threads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    void engine.request('configure', { numThreads: threads }).done;
  }
  return engine;
}
