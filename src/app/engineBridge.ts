/**
 * The one place the app talks to the engine worker. Turns store settings into requests and engine events into
 * store updates. A plain module (not a hook) so it can be tested and reused outside React.
 */
import { createWorkerEngine, type Engine } from '../engine/client';
import { isCancelled, type EngineError } from '../engine/errors';
import { discoverModels, modelRefOf, type ModelChoice } from './models';
import { updateSettings, useAppStore, type RunResult } from './store';

let engine: Engine | null = null;

function toWire(e: unknown): { code: EngineError['code']; name: string; message: string; file?: string } {
  const err = e as EngineError;
  return { code: err.code ?? 'INTERNAL', name: err.name ?? 'Error', message: err.message ?? String(e), ...(err.file ? { file: err.file } : {}) };
}

export function getEngine(): Engine {
  if (!engine) {
    const worker = new Worker(new URL('../engine/worker.ts', import.meta.url), { type: 'module', name: 'fewstep-engine' });
    engine = createWorkerEngine(worker);
    const threads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
    void engine.request('configure', { numThreads: threads }).done;
  }
  return engine;
}

/**
 * Extra model providers (the model library adds downloaded models): their choices join the shipped ones at startup,
 * so `?model=<cached id>` loads a downloaded model from the cache after a reload.
 */
const modelProviders: Array<() => Promise<ModelChoice[]>> = [];
export function addModelProvider(provider: () => Promise<ModelChoice[]>): void {
  modelProviders.push(provider);
}

/** Add or replace a model choice in the picker (downloaded, imported or custom models). */
export function upsertModelChoice(choice: ModelChoice): void {
  useAppStore.setState((s) => ({ models: [...s.models.filter((m) => m.id !== choice.id), choice] }));
}

/** Discover shipped models, then load the one in the settings (or the first). */
export async function initApp(): Promise<void> {
  // Read before any await: the URL is rewritten from the settings (startup.ts) once they change.
  const q = new URLSearchParams(location.search);
  const models = await discoverModels();
  for (const provider of modelProviders) {
    try {
      for (const c of await provider()) if (!models.some((m) => m.id === c.id)) models.push(c);
    } catch (e) {
      console.warn('[fewstep] a model provider failed', e);
    }
  }
  const { settings } = useAppStore.getState();
  const modelId = models.some((m) => m.id === settings.modelId) ? settings.modelId : (models[0]?.id ?? '');
  useAppStore.setState({ models, modelsReady: true });
  updateSettings({ modelId });
  if (!modelId) {
    useAppStore.setState({
      loadError: { code: 'MODEL_FILE_MISSING', name: 'EngineError', message: 'No models found under /models/. Run `make -C training all` or check that the models/ folder was served.' },
    });
    return;
  }
  // Settings given in the URL (a shared comparison, an imported PNG) win over the model's defaults.
  await loadModel(modelId, { keep: { steps: q.has('steps'), guidanceScale: q.has('cfg'), sampler: q.has('sampler') } });
}

export async function loadModel(
  modelId: string,
  opts: { applyDefaults?: boolean; generateAfter?: boolean; keep?: { steps?: boolean; guidanceScale?: boolean; sampler?: boolean } } = {},
): Promise<void> {
  const { models, settings } = useAppStore.getState();
  const choice = models.find((m) => m.id === modelId);
  if (!choice) return;
  const { id, done } = getEngine().request(
    'load',
    {
      model: modelRefOf(choice),
      provider: settings.provider,
    },
    (ev) => {
      if (ev.type === 'load-progress') useAppStore.setState((s) => (s.loading?.requestId === ev.id ? { loading: { ...s.loading, progress: ev.progress } } : {}));
    },
  );
  useAppStore.setState({ loading: { requestId: id, modelId, progress: null, startedAt: performance.now() }, loadError: null });
  try {
    const model = await done;
    useAppStore.setState({ loaded: model, loading: null });
    if (opts.applyDefaults !== false) {
      const keep = opts.keep ?? {};
      updateSettings({
        ...(keep.steps ? {} : { steps: model.defaults.steps }),
        ...(keep.guidanceScale ? {} : { guidanceScale: model.defaults.guidanceScale }),
        ...(keep.sampler ? {} : { sampler: '' }),
      });
    }
    if (opts.generateAfter !== false) void generate();
  } catch (e) {
    if (useAppStore.getState().loading?.requestId === id) useAppStore.setState({ loading: null });
    if (!isCancelled(e)) {
      // The previous model (if any) stays loaded in the engine: point the picker back at it.
      const prev = useAppStore.getState().loaded;
      useAppStore.setState({ loadError: toWire(e) });
      if (prev) updateSettings({ modelId: prev.id });
    }
  }
}

/** Id of the newest interactive (non-grid) generation: only its result may replace `last` (latest wins). */
let latestInteractive = '';

/** The newest interactive request id: the comparison runner compares it to tell "superseded by the user" from "stopped". */
export function latestInteractiveId(): string {
  return latestInteractive;
}

/** Resolves once no interactive generation or model load is in flight (the comparison runner yields to the user). */
export function whenInteractiveIdle(): Promise<void> {
  const idle = (x: { running: unknown; loading: unknown }): boolean => !x.running && !x.loading;
  if (idle(useAppStore.getState())) return Promise.resolve();
  return new Promise((resolve) => {
    const unsub = useAppStore.subscribe((x) => {
      if (idle(x)) {
        unsub();
        resolve();
      }
    });
  });
}

export async function generate(): Promise<RunResult | null> {
  const st = useAppStore.getState();
  if (!st.loaded) return null;
  const s = st.settings;
  const preview = st.showPreviews;
  const { id, done } = getEngine().request(
    'generate',
    {
      params: {
        prompt: s.prompt,
        negativePrompt: s.negativePrompt,
        seed: s.seed,
        steps: s.steps,
        guidanceScale: s.guidanceScale,
        ...(s.sampler ? { scheduler: s.sampler } : {}),
        eta: s.eta,
        rng: s.rng,
        ...(preview ? { preview: true } : {}),
      },
    },
    (ev) => {
      if (ev.type === 'step') {
        const { preview: frame, ...step } = ev.step;
        useAppStore.setState((x) => {
          if (x.running?.requestId !== ev.id) return {};
          const running = { ...x.running, step: step.index + 1, total: step.total };
          if (!frame || x.previews?.requestId !== ev.id) return { running };
          return { running, previews: { requestId: ev.id, frames: [...x.previews.frames, { index: step.index, total: step.total, timestep: step.timestep, image: frame }] } };
        });
      }
    },
  );
  latestInteractive = id;
  useAppStore.setState({
    running: { requestId: id, step: 0, total: s.steps, startedAt: performance.now() },
    genError: null,
    ...(preview ? { previews: { requestId: id, frames: [] } } : {}),
  });
  try {
    const ev = await done;
    const loaded = useAppStore.getState().loaded;
    const run: RunResult = {
      requestId: id,
      modelId: ev.modelId,
      modelName: loaded?.name ?? ev.modelId,
      provider: ev.provider,
      params: s,
      result: ev.result,
      finishedAt: Date.now(),
      source: 'single',
    };
    useAppStore.setState((x) => ({
      ...(latestInteractive === id ? { last: run } : {}),
      runs: [...x.runs.slice(-499), run],
      ...(x.running?.requestId === id ? { running: null } : {}),
    }));
    return run;
  } catch (e) {
    useAppStore.setState((x) => (x.running?.requestId === id ? { running: null } : {}));
    if (!isCancelled(e)) useAppStore.setState({ genError: toWire(e) });
    return null;
  }
}

export function cancelAll(): void {
  if (engine) void engine.request('cancel', {}).done;
}
