/**
 * The one place the app talks to the engine worker. Turns store settings into requests and engine events into
 * store updates. A plain module (not a hook) so it can be tested and reused outside React.
 */
import { asEngineError, EngineError, isCancelled, type Engine, type LoadedModel } from '../engine';
import { lcmPresetTransition } from './lora/lcmPreset';
import { hubBaseFrom } from './library/format';
import { lcmLoraOf, lorasFromCatalog, mergeLoraLists, readLoraIndex } from './lora/loraIndex';
import { readCatalog } from './catalog';
import { poolIdFor, sameLoraSet, type LoraSetting } from './lora/loraSet';
import { carryOver, loraRefsFor, useLoraStore } from './lora/loraStore';
import { discoverModels, modelRefOf, type ModelChoice } from './models';
import { generateParams, runResult } from './runs';
import { addRun, updateSettings, useAppStore, type RunResult } from './store';
import { checkTimesteps, effectiveSampler } from './timesteps';
import { markRequest, markResult } from './ux/marks';
import { noteUnknownLinkModel } from './startup';
import { startEngine } from './engineWorker';

/** The page's engine worker (engineWorker.ts; main.tsx starts it before the app loads). */
export function getEngine(): Engine {
  return startEngine();
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
  // The engine worker started before the app loaded (main.tsx); here only for callers without main.tsx.
  getEngine();
  // Shipped models and the providers' (the library's cached downloads) are looked up at the same time (cold open).
  const [models, provided, loraIndex, catalogLoras] = await Promise.all([
    discoverModels(),
    Promise.all(
      modelProviders.map((provider) =>
        provider().catch((e: unknown) => {
          console.warn('[fewstep] a model provider failed', e);
          return [] as ModelChoice[];
        }),
      ),
    ),
    readLoraIndex(),
    // The catalog's LoRA entries (real-model adapters); a catalog that does not read has none (the library says why).
    // Hub entries resolve against the same hub as the library's downloads (`?hub=`, huggingface.co by default).
    readCatalog()
      .then((c) => lorasFromCatalog(c.loras ?? [], { hubBase: hubBaseFrom(location.search, location.origin).hubBase }))
      .catch(() => []),
  ]);
  useLoraStore.setState({ shipped: mergeLoraLists(loraIndex.loras, catalogLoras), indexProblems: loraIndex.problems, shippedReady: true });
  for (const list of provided) for (const c of list) if (!models.some((m) => m.id === c.id)) models.push(c);
  performance.mark('fewstep:models-discovered');
  const { settings } = useAppStore.getState();
  const modelId = models.some((m) => m.id === settings.modelId) ? settings.modelId : (models[0]?.id ?? '');
  // A `model=` in the link that names no model found: said in the notice (the first model loads instead).
  noteUnknownLinkModel(`?${q.toString()}`, models.map((m) => m.id));
  useAppStore.setState({ models, modelsReady: true });
  if (!modelId) {
    updateSettings({ modelId });
    useAppStore.setState({
      loadError: new EngineError('MODEL_FILE_MISSING', 'No models found under /models/. Run `make -C training all` or check that the models/ folder was served.'),
    });
    return;
  }
  // Settings given in the URL (a shared comparison, an imported PNG) win over the model's defaults. LoRAs named in the
  // link (`settings.loras`) follow as on any model change: the shipped ones made for this model; the LoRA picker's
  // note names the others.
  await loadModel(modelId, { keep: { steps: q.has('steps'), guidanceScale: q.has('cfg'), sampler: q.has('sampler') } });
}

/** How a load treats the settings: see {@link loadModel}. */
export interface LoadOptions {
  /** Apply the model's default steps, guidance and sampler (default true; a provider switch or a LoRA apply keeps them). */
  applyDefaults?: boolean;
  /** Generate once loaded (default true). */
  generateAfter?: boolean;
  /** Settings that win over the model's defaults and the LCM preset (given in a link, restored from a run or a PNG). */
  keep?: { steps?: boolean; guidanceScale?: boolean; sampler?: boolean };
  /**
   * The LoRA set to merge into the model's U-Net. Default: the applied set (`settings.loras`) on a reload of the same
   * model; on a model change, the shipped LoRAs of that set made for the new model (the others are named in a note).
   */
  loras?: LoraSetting[];
}

/**
 * Load a model and make it the selected one. The one writer of `settings.modelId` once the app runs (a URL or an
 * imported PNG only names the model to load): the picker shows it, the load in flight (`loading`) is for it, and a
 * failed load points it back at the model the engine still has loaded (`loaded`, the engine's active pipeline).
 *
 * With LoRAs the engine loads the model under its own pool id (lora/loraSet.poolIdFor) and merges them into the U-Net
 * before the session is created; `loaded.lora` reports the merge. `settings.loras` changes only when that succeeded.
 * A failed LoRA apply on the same model leaves the model as it was (the engine keeps it) and its error goes to the
 * LoRA picker; when no model was loaded yet, the model is loaded without the LoRAs so the page still draws.
 * Resolves true when the model is loaded.
 */
export async function loadModel(modelId: string, opts: LoadOptions = {}): Promise<boolean> {
  const { models, settings, loaded: before } = useAppStore.getState();
  const choice = models.find((m) => m.id === modelId);
  if (!choice) return false;
  const modelChanged = before?.id !== modelId;
  const lora = useLoraStore.getState();
  let wanted = opts.loras ?? settings.loras;
  const notes: string[] = [];
  if (!opts.loras && modelChanged && wanted.length) {
    const { kept, left } = carryOver(wanted, modelId, lora.shipped);
    if (left.length) notes.push(`Not applied to ${choice.name}: ${left.join(', ')}. Add them again from the list if they fit.`);
    wanted = kept;
  }
  const { refs, missing } = loraRefsFor(wanted);
  if (missing.length) {
    notes.push(`Not available in this session: ${missing.join(', ')} (pick the file again with "Add LoRA file…").`);
    wanted = wanted.filter((l) => !missing.includes(l.id));
  }
  // A new model starts with a fresh note: what was left behind, or nothing (the old model's preset note goes).
  if (notes.length || modelChanged) useLoraStore.setState({ note: notes.length ? notes.join(' ') : null });
  if (settings.modelId !== modelId) updateSettings({ modelId });
  performance.mark(`fewstep:load-requested:${modelId}`);
  const { id, done } = getEngine().request(
    'load',
    {
      model: { ...modelRefOf(choice), id: poolIdFor(modelId, wanted) },
      provider: settings.provider,
      ...(refs.length ? { loras: refs } : {}),
    },
    (ev) => {
      if (ev.type !== 'load-progress') return;
      const p = ev.progress;
      // Start-up marks for bench/ux.mjs's cold-open breakdown: each file read and each session made, as it arrives here.
      if (p.status !== 'progress') performance.mark(`fewstep:load:${p.phase}-${p.status}:${p.file}`);
      useAppStore.setState((s) => (s.loading?.requestId === ev.id ? { loading: { ...s.loading, progress: p } } : {}));
    },
  );
  useAppStore.setState({ loading: { requestId: id, progress: null, startedAt: performance.now(), loras: wanted.length }, loadError: null });
  try {
    const model = await done;
    performance.mark('fewstep:model-loaded');
    // The app knows the model by its choice id; which LoRAs it carries is `settings.loras` and `model.lora`.
    useAppStore.setState({ loaded: { ...model, id: modelId }, loading: null });
    updateSettings({ loras: wanted });
    // A new model starts from its applied set: a draft edited for the previous model is dropped.
    useLoraStore.setState(modelChanged ? { error: null, draft: null } : { error: null });
    const keep = opts.keep ?? {};
    if (opts.applyDefaults !== false) {
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
    applyLcmPreset(model, modelChanged, keep);
    if (opts.generateAfter !== false) void generate();
    return true;
  } catch (e) {
    if (useAppStore.getState().loading?.requestId === id) useAppStore.setState({ loading: null });
    if (isCancelled(e)) return false;
    const err = asEngineError(e);
    const prev = useAppStore.getState().loaded;
    const loraApply = refs.length > 0 || !sameLoraSet(wanted, settings.loras);
    if (loraApply && (!modelChanged || !prev)) {
      // The LoRA picker shows the engine's message in place; the model stays as it was.
      useLoraStore.setState({ error: err });
      if (!prev && refs.length) {
        useLoraStore.setState({ note: `Loaded ${choice.name} without LoRAs.` });
        return loadModel(modelId, { ...opts, loras: [] });
      }
    } else useAppStore.setState({ loadError: err });
    // The previous model (if any) stays loaded in the engine: point the picker back at it.
    if (prev) updateSettings({ modelId: prev.id });
    return false;
  }
}

/** The LCM preset after a load: switch to an arriving LCM-LoRA's recommendation, restore when it leaves. */
function applyLcmPreset(model: LoadedModel, modelChanged: boolean, keep: NonNullable<LoadOptions['keep']>): void {
  const { settings } = useAppStore.getState();
  const { preset, shipped } = useLoraStore.getState();
  const defaults = { sampler: '', steps: model.defaults.steps, guidanceScale: model.defaults.guidanceScale, timesteps: '' };
  const out = lcmPresetTransition({
    preset,
    lcm: lcmLoraOf(settings.loras, shipped),
    settings: { sampler: settings.sampler, steps: settings.steps, guidanceScale: settings.guidanceScale, timesteps: settings.timesteps },
    // Removing the LCM-LoRA later restores the settings from before it, unless this load changed the model or took its
    // settings from a link, a run or a PNG: then it restores the model's defaults.
    restoreTo: modelChanged || keep.steps || keep.guidanceScale || keep.sampler ? defaults : undefined,
    modelChanged,
    ownSamplerClass: model.schedulerClass,
    keep,
  });
  useLoraStore.setState({ preset: out.preset, ...(out.note !== undefined ? { note: out.note } : {}) });
  if (Object.keys(out.patch).length) updateSettings(out.patch);
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
    markResult(id, ev.result.timings);
    const params = check.list ? { ...s, steps: check.list.length } : s;
    const now = useAppStore.getState().loaded;
    // The engine names the pipeline by its pool id ("<model>+lora(...)"); the run names the model and keeps its LoRAs.
    const run = runResult(ev, { requestId: id, modelId: now?.id, modelName: now?.name ?? ev.modelId, params, source: 'single' });
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
  void getEngine().request('cancel', {}).done;
}
