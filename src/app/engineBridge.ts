/**
 * The one place the app talks to the engine worker. Turns store settings into requests and engine events into
 * store updates. A plain module (not a hook) so it can be tested and reused outside React.
 */
import { asEngineError, createWorkerEngine, EngineError, isCancelled, type Engine } from '../engine';
import { discoverModels, modelRefOf, type ModelChoice } from './models';
import { generateParams, runResult } from './runs';
import { addRun, updateSettings, useAppStore, type RunResult } from './store';
import { checkTimesteps, effectiveSampler } from './timesteps';
import { markRequest, markResult } from './ux/marks';

let engine: Engine | null = null;

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
 * Extra models offered at startup besides the shipped ones (the model library's downloaded models), so
 * `?model=<cached id>` loads a downloaded model from the cache after a reload. Passed to {@link initApp} by main.tsx.
 */
export type ModelProvider = () => Promise<ModelChoice[]>;

/** Add or replace a model choice in the picker (downloaded, imported or custom models). */
export function upsertModelChoice(choice: ModelChoice): void {
  useAppStore.setState((s) => ({ models: [...s.models.filter((m) => m.id !== choice.id), choice] }));
}

/** Discover shipped models and those of `modelProviders`, then load the one in the settings (or the first). */
export async function initApp(modelProviders: readonly ModelProvider[] = []): Promise<void> {
  // Read before any await: the URL is rewritten from the settings (startup.ts) once they change.
  const q = new URLSearchParams(location.search);
  // Start the engine worker now: its script loads and starts while the model list is discovered (cold open).
  getEngine();
  // Shipped models and the providers' (the library's cached downloads) are looked up at the same time (cold open).
  const [models, provided] = await Promise.all([
    discoverModels(),
    Promise.all(
      modelProviders.map((provider) =>
        provider().catch((e: unknown) => {
          console.warn('[fewstep] a model provider failed', e);
          return [] as ModelChoice[];
        }),
      ),
    ),
  ]);
  for (const list of provided) for (const c of list) if (!models.some((m) => m.id === c.id)) models.push(c);
  performance.mark('fewstep:models-discovered');
  const { settings } = useAppStore.getState();
  const modelId = models.some((m) => m.id === settings.modelId) ? settings.modelId : (models[0]?.id ?? '');
  useAppStore.setState({ models, modelsReady: true });
  if (!modelId) {
    updateSettings({ modelId });
    useAppStore.setState({
      loadError: new EngineError('MODEL_FILE_MISSING', 'No models found under /models/. Run `make -C training all` or check that the models/ folder was served.'),
    });
    return;
  }
  // Settings given in the URL (a shared comparison, an imported PNG) win over the model's defaults.
  await loadModel(modelId, { keep: { steps: q.has('steps'), guidanceScale: q.has('cfg'), sampler: q.has('sampler') } });
}

/**
 * Load a model and make it the selected one. The one writer of `settings.modelId` once the app runs (a URL or an
 * imported PNG only names the model to load): the picker shows it, the load in flight (`loading`) is for it, and a
 * failed load points it back at the model the engine still has loaded (`loaded`, the engine's active pipeline).
 */
export async function loadModel(
  modelId: string,
  opts: { applyDefaults?: boolean; generateAfter?: boolean; keep?: { steps?: boolean; guidanceScale?: boolean; sampler?: boolean } } = {},
): Promise<void> {
  const { models, settings } = useAppStore.getState();
  const choice = models.find((m) => m.id === modelId);
  if (!choice) return;
  if (settings.modelId !== modelId) updateSettings({ modelId });
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
  useAppStore.setState({ loading: { requestId: id, progress: null, startedAt: performance.now() }, loadError: null });
  try {
    const model = await done;
    performance.mark('fewstep:model-loaded');
    useAppStore.setState({ loaded: model, loading: null });
    if (opts.applyDefaults !== false) {
      const keep = opts.keep ?? {};
      // A custom timestep list stays (it is in training timesteps, which the next model's scheduler checks again in
      // the Timesteps field); while one reads, the step count is its length, not the model's default.
      const s = useAppStore.getState().settings;
      const list = checkTimesteps(s.timesteps, keep.sampler ? s.sampler : '', model);
      updateSettings({
        ...(keep.steps ? {} : list.ok && list.list ? { steps: list.list.length } : { steps: model.defaults.steps }),
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
      useAppStore.setState({ loadError: asEngineError(e) });
      if (prev) updateSettings({ modelId: prev.id });
    }
  }
}

/** Id of the newest interactive (non-grid) generation (latest wins). */
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

/**
 * Generate with the current settings (the control panel, live typing and sliding, Ctrl/Cmd+Enter). Returns null
 * without a request when no model is loaded or the custom timesteps do not fit the scheduler: the Timesteps field
 * and the Generate button say why (timesteps.checkTimesteps), so nothing is thrown or logged.
 */
export async function generate(): Promise<RunResult | null> {
  const st = useAppStore.getState();
  if (!st.loaded) return null;
  const s = st.settings;
  const check = checkTimesteps(s.timesteps, s.sampler, st.loaded);
  if (!check.ok) return null;
  const preview = st.showPreviews;
  const { id, done } = getEngine().request(
    'generate',
    { params: generateParams(s, { preview, schedulerClass: effectiveSampler(s.sampler, st.loaded) }) },
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
  markRequest(id, s.prompt);
  useAppStore.setState({
    running: { requestId: id, step: 0, total: check.list?.length ?? s.steps, startedAt: performance.now() },
    genError: null,
    ...(preview ? { previews: { requestId: id, frames: [] } } : {}),
  });
  try {
    const ev = await done;
    markResult(id, ev.result.timings.totalMs);
    const params = check.list ? { ...s, steps: check.list.length } : s;
    const run = runResult(ev, { requestId: id, modelName: useAppStore.getState().loaded?.name ?? ev.modelId, params, source: 'single' });
    addRun(run);
    useAppStore.setState((x) => (x.running?.requestId === id ? { running: null } : {}));
    return run;
  } catch (e) {
    useAppStore.setState((x) => (x.running?.requestId === id ? { running: null } : {}));
    if (!isCancelled(e)) useAppStore.setState({ genError: asEngineError(e) });
    return null;
  }
}

export function cancelAll(): void {
  if (engine) void engine.request('cancel', {}).done;
}
