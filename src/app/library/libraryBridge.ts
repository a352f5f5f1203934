/**
 * The model library's actions: read the catalog, download / cancel / resume / delete through the engine worker
 * (downloads run there, next to OPFS sync access handles), list the storage, and turn downloaded models, picked
 * folders and custom URLs into model choices the picker loads. A plain module, like engineBridge.ts.
 */
import { asEngineError, CustomSourceError, isCancelled, validateCustomSource, type CatalogEntry, type ModelRef } from '../../engine';
import { readCatalog } from '../catalog';
import { getEngine, loadModel, upsertModelChoice, type ModelProvider } from '../engineBridge';
import type { ModelChoice } from '../models';
import { useAppStore } from '../store';
import { chunkSizeFrom, hubBaseFrom, planFolder, slugId, type PickedFile } from './format';
import { useLibraryStore, type DownloadState } from './libraryStore';

const BASE = import.meta.env.BASE_URL;

function setDownload(id: string, patch: Partial<DownloadState>): void {
  useLibraryStore.setState((s) => {
    const prev = s.downloads[id];
    if (!prev) return {};
    return { downloads: { ...s.downloads, [id]: { ...prev, ...patch } } };
  });
}

/** Model choice for a downloaded catalog entry: loads from the cache with no network request. */
function cachedChoice(entry: CatalogEntry): ModelChoice {
  const ref: ModelRef = { id: entry.id, name: entry.name, kind: 'cached', entry };
  return {
    id: entry.id,
    name: `${entry.name} (downloaded)`,
    baseUrl: '',
    description: entry.notes.join(' '),
    defaultSteps: entry.sampler.steps,
    guidanceScale: entry.sampler.guidanceScale,
    kind: 'remote',
    ref,
  };
}

let catalogPromise: Promise<CatalogEntry[]> | null = null;

/** The validated catalog (read once for the app, see ../catalog.ts). A broken catalog is shown in the library, never thrown. */
export function loadCatalog(): Promise<CatalogEntry[]> {
  catalogPromise ??= (async () => {
    try {
      const catalog = await readCatalog();
      useLibraryStore.setState({ catalog: catalog.models, catalogError: null });
      return catalog.models;
    } catch (e) {
      useLibraryStore.setState({ catalogError: (e as Error).message });
      return [];
    }
  })();
  return catalogPromise;
}

/** What WebGPU offers, from the engine's own probe (the adapter it loads models on). */
async function probeGpu(): Promise<void> {
  let gpu = { available: false, shaderF16: false, maxBufferSize: 0 };
  try {
    gpu = await getEngine().request('gpuInfo', {}).done;
  } catch {
    // engine unavailable: report no WebGPU, as a failed probe does
  }
  useLibraryStore.setState({
    gpu: { checked: true, available: gpu.available, shaderF16: gpu.shaderF16, maxBufferSize: gpu.maxBufferSize },
  });
}

/** Storage report from the worker's store. */
export async function refreshStorage(): Promise<void> {
  try {
    const list = await getEngine().request('listCached', {}).done;
    useLibraryStore.setState({ cached: list, storageError: null });
  } catch (e) {
    useLibraryStore.setState({ storageError: (e as Error).message });
  }
}

/** Catalog entries that are completely downloaded, as model choices (startup: `?model=<id>` works from the cache). */
async function cachedChoices(): Promise<ModelChoice[]> {
  const [entries] = await Promise.all([loadCatalog(), refreshStorage()]);
  const cached = useLibraryStore.getState().cached?.models ?? [];
  return entries.filter((e) => e.kind === 'remote' && cached.some((c) => c.id === e.id && c.complete)).map(cachedChoice);
}

let started = false;
/** Called once when the library mounts and before the app picks its first model. */
export function initLibrary(): void {
  if (started) return;
  started = true;
  const { hubBase, warning } = hubBaseFrom(location.search, location.origin);
  useLibraryStore.setState({ hubBase, hubWarning: warning, chunkSize: chunkSizeFrom(location.search) });
  void probeGpu();
}
/** The library's models for the picker at startup (passed to initApp by main.tsx). */
export const libraryModels: ModelProvider = async () => {
  initLibrary();
  return cachedChoices();
};

/** Download (or resume) a catalog entry into the model store, with progress in the library store. */
export async function startDownload(entryId: string): Promise<void> {
  const { catalog, hubBase, chunkSize, downloads } = useLibraryStore.getState();
  const entry = catalog.find((e) => e.id === entryId);
  if (!entry || downloads[entryId]?.status === 'downloading') return;
  const { id, done } = getEngine().request(
    'download',
    { entry, hubBase, appBase: new URL(BASE, location.href).href, ...(chunkSize ? { chunkSize } : {}) },
    (ev) => {
      if (ev.type !== 'download-progress') return;
      const p = ev.progress;
      useLibraryStore.setState((s) => {
        const d = s.downloads[entryId];
        if (!d || d.requestId !== ev.id) return {};
        return {
          downloads: {
            ...s.downloads,
            [entryId]: { ...d, overall: p.overall, files: { ...d.files, [p.file]: { loaded: p.loaded, total: p.total, status: p.status } } },
          },
        };
      });
    },
  );
  useLibraryStore.setState((s) => ({
    downloads: {
      ...s.downloads,
      [entryId]: { requestId: id, status: 'downloading', overall: null, files: {}, error: null, startedAt: performance.now(), bytesFetched: null, finishedAt: null },
    },
  }));
  try {
    const result = await done;
    setDownload(entryId, { status: 'done', bytesFetched: result.bytesFetched, finishedAt: performance.now() });
    upsertModelChoice(cachedChoice(entry));
  } catch (e) {
    setDownload(entryId, isCancelled(e) ? { status: 'cancelled', finishedAt: performance.now() } : { status: 'error', error: asEngineError(e), finishedAt: performance.now() });
  } finally {
    await refreshStorage();
  }
}

export function cancelDownload(entryId: string): void {
  const d = useLibraryStore.getState().downloads[entryId];
  if (d?.status === 'downloading') void getEngine().request('cancel', { target: d.requestId }).done;
}

/** Pick a downloaded model: select it and load it from the cache (the app generates once it is loaded). */
export async function useCachedModel(entryId: string): Promise<void> {
  const entry = useLibraryStore.getState().catalog.find((e) => e.id === entryId);
  if (!entry) return;
  upsertModelChoice(cachedChoice(entry));
  await loadModel(entry.id);
}

/** Delete a cached model; a loaded copy is unloaded and the picker falls back to the first other model. */
export async function deleteCached(modelId: string): Promise<void> {
  try {
    await getEngine().request('deleteCached', { modelId }).done;
  } catch (e) {
    useLibraryStore.setState({ storageError: (e as Error).message });
  }
  useLibraryStore.setState((s) => {
    const { [modelId]: _gone, ...rest } = s.downloads;
    return { downloads: rest };
  });
  const app = useAppStore.getState();
  useAppStore.setState({ models: app.models.filter((m) => m.id !== modelId || m.kind !== 'remote' || !m.ref) });
  if (app.loaded?.id === modelId) {
    useAppStore.setState({ loaded: null });
    const next = useAppStore.getState().models[0];
    if (next) {
      void loadModel(next.id, { generateAfter: false });
    }
  }
  await refreshStorage();
}

/** Validate a picked or dropped folder first (specific message for what is missing), then load it. */
export async function importFolder(picked: PickedFile[]): Promise<void> {
  const plan = planFolder(picked, useLibraryStore.getState().catalog);
  if (plan.error) {
    useLibraryStore.setState({ folder: { status: 'error', message: plan.error, missing: plan.check.missing } });
    return;
  }
  const name = plan.root || 'picked folder';
  const id = slugId('folder', plan.root || 'import');
  useLibraryStore.setState({ folder: { status: 'loading', message: `Loading ${name} (${plan.files.length} files)…`, missing: [] } });
  upsertModelChoice({
    id,
    name: `Folder ${name}`,
    baseUrl: '',
    description: `Imported from disk (${plan.files.length} files)${plan.entry ? `, as ${plan.entry.name}` : ''}`,
    defaultSteps: null,
    guidanceScale: null,
    kind: 'local',
    ref: { id, name: `Folder ${name}`, kind: 'files', files: plan.files, ...(plan.entry ? { entry: plan.entry } : {}) },
  });
  await loadModel(id);
  const st = useAppStore.getState();
  if (st.loaded?.id === id) useLibraryStore.setState({ folder: { status: 'done', message: `Loaded ${name} from disk.`, missing: [] } });
  else {
    useAppStore.setState((s) => ({ models: s.models.filter((m) => m.id !== id) }));
    useLibraryStore.setState({ folder: { status: 'error', message: st.loadError?.message ?? `Could not load ${name}.`, missing: [] } });
  }
}

/** Load a diffusers ONNX export from any https base URL (or this origin), validated first. */
export async function loadCustomSource(url: string): Promise<void> {
  let baseUrl: string;
  try {
    baseUrl = validateCustomSource(url, location.origin).baseUrl;
  } catch (e) {
    useLibraryStore.setState({ custom: { status: 'error', message: e instanceof CustomSourceError ? e.message : String(e) } });
    return;
  }
  const id = slugId('custom', baseUrl);
  useLibraryStore.setState({ custom: { status: 'loading', message: `Loading ${baseUrl}…` } });
  upsertModelChoice({
    id,
    name: `Custom ${baseUrl}`,
    baseUrl: `${baseUrl}/`,
    description: 'Custom source',
    defaultSteps: null,
    guidanceScale: null,
    kind: 'remote',
    ref: { id, name: `Custom ${baseUrl}`, kind: 'url', baseUrl: `${baseUrl}/`, synthesizeIndex: true },
  });
  await loadModel(id);
  const st = useAppStore.getState();
  if (st.loaded?.id === id) useLibraryStore.setState({ custom: { status: 'done', message: `Loaded ${baseUrl}.` } });
  else {
    useAppStore.setState((s) => ({ models: s.models.filter((m) => m.id !== id) }));
    useLibraryStore.setState({ custom: { status: 'error', message: st.loadError?.message ?? `Could not load ${baseUrl}.` } });
  }
}
