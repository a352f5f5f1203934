/**
 * `window.__fewstepBench`: the benchmark's entry into the production build. `npm run bench` (bench/run.mjs) drives
 * headless Chromium through it, so every number comes from the real app engine (the app's worker, its requests and
 * its UI for the responsiveness test). Installing it costs nothing until a method is called, apart from one
 * MutationObserver that stamps when the first image reaches the canvas (cold start).
 */
import { getEngine } from '../engineBridge';
import { selectLast, useAppStore } from '../store';
import { loadForBench, benchModelId, runBenchmark, type BenchOptions, type BenchProgress, type BenchProvider, type BenchRow } from './benchRunner';
import { defaultMatrix, type BenchConfig, type BenchPipeline, type MatrixOptions } from './matrix';
import { MemoryRun, type MemorySample } from './memoryRun';
import { benchPipelines } from './pipelines';

export interface BenchHook {
  version: 1;
  /** performance.now() when the first generated image was on the canvas (after the next frame), or null. */
  firstImageMs: number | null;
  pipelines(): Promise<BenchPipeline[]>;
  matrix(opts?: MatrixOptions): Promise<{ pipelines: BenchPipeline[]; configs: BenchConfig[] }>;
  run(pipelines: BenchPipeline[], configs: BenchConfig[], opts: Omit<BenchOptions, 'onProgress' | 'onRow' | 'signal'>): Promise<BenchRow[]>;
  memoryStart(pipeline: BenchPipeline, provider: BenchProvider, maxSteps?: number): Promise<{ modelId: string; provider: string; schedulerClass: string; baseline: MemorySample }>;
  memoryChunk(k: number): Promise<MemorySample>;
  memoryStop(): Promise<void>;
  /** Move the app's steps slider `n` times (back and forth) and time slider input -> new image painted, in ms. */
  slider(n: number): Promise<{ samples: number[]; model: string; provider: string; steps: number[] }>;
  /** What the app shows now (model, provider, whether it is busy). */
  appState(): { model: string | null; provider: string | null; busy: boolean; lastRequest: string | null };
}

declare global {
  interface Window {
    __fewstepBench?: BenchHook;
    /** Set by bench/run.mjs (page.exposeFunction) to stream progress to the terminal. */
    __fewstepBenchProgress?: (p: BenchProgress) => void;
  }
}

/** Resolve after the next frame has been painted (rAF, then a task). */
const afterPaint = (): Promise<number> =>
  new Promise((res) => requestAnimationFrame(() => setTimeout(() => res(performance.now()), 0)));

function canvas(): HTMLCanvasElement | null {
  return document.querySelector<HTMLCanvasElement>('canvas[data-testid="image"]');
}

/** Resolve when the image canvas shows a request other than `prev` (then after the next paint). */
function nextImage(prev: string, timeoutMs = 300_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const c = canvas();
      const r = c?.dataset.request ?? '';
      if (r && r !== prev) {
        obs.disconnect();
        clearTimeout(timer);
        void afterPaint().then(resolve);
        return true;
      }
      return false;
    };
    const obs = new MutationObserver(() => void check());
    obs.observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-request'], childList: true });
    const timer = setTimeout(() => {
      obs.disconnect();
      reject(new Error(`No new image within ${timeoutMs} ms`));
    }, timeoutMs);
    check();
  });
}

export function installBenchHook(): void {
  if (typeof window === 'undefined' || window.__fewstepBench) return;
  let memory: { run: MemoryRun; modelId: string } | null = null;
  const hook: BenchHook = {
    version: 1,
    firstImageMs: null,
    pipelines: benchPipelines,
    async matrix(opts = {}) {
      const pipelines = await benchPipelines();
      return { pipelines, configs: defaultMatrix(pipelines, opts) };
    },
    run(pipelines, configs, opts) {
      return runBenchmark(getEngine(), pipelines, configs, { ...opts, onProgress: (p) => window.__fewstepBenchProgress?.(p) });
    },
    async memoryStart(pipeline, provider, maxSteps = 8) {
      const engine = getEngine();
      const model = await loadForBench(engine, pipeline, provider);
      const modelId = benchModelId(pipeline.id, provider);
      const run = new MemoryRun(engine, modelId, model.schedulerClass, model.defaults.guidanceScale, maxSteps);
      memory = { run, modelId };
      const baseline = await run.chunk(0);
      return { modelId, provider: model.provider, schedulerClass: model.schedulerClass, baseline };
    },
    async memoryChunk(k) {
      if (!memory) throw new Error('memoryChunk: call memoryStart first');
      return memory.run.chunk(k);
    },
    async memoryStop() {
      if (!memory) return;
      await getEngine().request('unload', { modelId: memory.modelId }).done.catch(() => undefined);
      memory = null;
    },
    async slider(n) {
      const input = document.querySelector<HTMLInputElement>('input[data-testid="steps"][type="range"]');
      if (!input) throw new Error('slider: the app has no steps slider (input[data-testid=steps][type=range])');
      const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
      const samples: number[] = [];
      const steps: number[] = [];
      const move = async (to: number): Promise<number> => {
        const prev = canvas()?.dataset.request ?? '';
        const t0 = performance.now();
        setValue.call(input, String(to));
        input.dispatchEvent(new Event('input', { bubbles: true }));
        input.dispatchEvent(new Event('change', { bubbles: true }));
        return (await nextImage(prev)) - t0;
      };
      // Start at the lowest position, then alternate between the two lowest step counts (the few-step regime).
      if (Number(input.value) !== 0) {
        await move(0);
        await afterPaint();
      }
      for (let i = 0; i < n; i++) {
        const next = i % 2 === 0 ? Math.min(1, Number(input.max)) : 0;
        const prev = canvas()?.dataset.request ?? '';
        const t0 = performance.now();
        setValue.call(input, String(next));
        input.dispatchEvent(new Event('input', { bubbles: true }));
        input.dispatchEvent(new Event('change', { bubbles: true }));
        const t1 = await nextImage(prev);
        samples.push(t1 - t0);
        steps.push(Number(canvas()?.dataset.steps ?? NaN));
        // Settle: let the app finish any follow-up work before the next move.
        await afterPaint();
      }
      const s = hook.appState();
      return { samples, model: s.model ?? '', provider: s.provider ?? '', steps };
    },
    appState() {
      const st = useAppStore.getState();
      return {
        model: st.loaded?.id ?? null,
        provider: st.loaded?.provider ?? null,
        busy: st.running !== null || st.loading !== null,
        lastRequest: selectLast(st)?.requestId ?? null,
      };
    },
  };
  window.__fewstepBench = hook;
  void nextImage('', 24 * 3600_000)
    .then((t) => {
      hook.firstImageMs = t;
    })
    .catch(() => undefined);
}
