/**
 * The engine's message dispatch, independent of any Worker: tests drive it with a fake `post`.
 * Loaded pipelines stay in a small pool (so a comparison grid can switch models without reloading), one of them
 * "active"; pipelines of the same files with different LoRA sets share everything but the U-Net session; generations run one at a time (latest request wins, cancel stops at the next step boundary);
 * a failed load keeps every loaded model working.
 */
import { CancelledError, EngineError, errorToWire, isCancelled } from './errors';
import { gpuCounters } from './gpu/counters';
import { configureOrt, probeWebGpu, type ProviderPreference } from './ort';
import { Evaluator } from './evaluator';
import { Pipeline } from './pipeline';
import { warmUpOrt } from './pipeline/warmup';
import type { LoraAdapter } from './lora';
import { loraBytes, loraFileKey } from './lora/fetch';
import { loadUnetSession } from './lora/unetSession';
import type { LoadProgress } from './pipeline';
import type { EngineEvent, LoadedModel, LoraRef, ModelRef, Request } from './protocol';
import { LatestWinsRunner } from './queue';
import { FileMapSource, UrlSource, type ModelSource } from './source';
import { downloadModel } from './download/downloadModel';
import { abortErrorFor } from './download/abort';
import { selectModelStore } from './download/selectStore';
import type { ModelStore } from './download/store';
import { CatalogOverlaySource, StoreSource } from './sources/catalogSource';

export type Post = (event: EngineEvent, transfer?: Transferable[]) => void;

/**
 * Step events are progress hints, and each postMessage costs the worker 0.2-1 ms (measured in Chromium, about 5% of a
 * 4-step WASM generation). So a generation posts its first step (the UI sees it started), then at most one step per
 * STEP_EVENT_INTERVAL_MS, never its last step (the result follows at once), and every step that carries a preview.
 */
export const STEP_EVENT_INTERVAL_MS = 50;

/** Pool budget: total ONNX bytes kept loaded before the least recently used inactive pipelines are released. */
export const POOL_BUDGET_BYTES = 768 * 1024 * 1024;

interface PoolEntry {
  pipeline: Pipeline;
  model: LoadedModel;
  lastUsed: number;
  /** The provider choice it was loaded with ('auto', 'webgpu', 'wasm'). */
  preference: ProviderPreference;
  /** The LoRA set merged into its U-Net ({@link loraSetKey}); '' for the base model. */
  loraKey: string;
  /**
   * Which files it was loaded from ({@link familyKey}): entries of one family share their text encoder(s), VAE
   * decoder and tokenizers (Pipeline.withUnet) and differ only in the U-Net.
   */
  family: string;
  /** Bytes it holds on its own, for the pool budget: the whole model for a full load, the U-Net for one that shares. */
  ownBytes: number;
}

/**
 * The files a model ref stands for, as far as the engine can tell: its source's label, and for picked files each
 * path with its size and modification time (two folders of the same name are two families).
 */
function familyKey(ref: ModelRef, label: string): string {
  if (ref.kind !== 'files') return `${ref.kind}:${label}`;
  const files = ref.files.map((f) => `${f.path}:${f.blob.size}:${(f.blob as Partial<File>).lastModified ?? ''}`).sort();
  return `files:${label}:${files.join('|')}`;
}

/**
 * Identity of a LoRA set, in order: name, scale and where the file comes from (its URL, its catalog id and checksum,
 * or its length and hash for transferred bytes). A pooled model serves a load request only with the same key.
 */
export function loraSetKey(refs: readonly LoraRef[] | undefined): string {
  if (!refs?.length) return '';
  return JSON.stringify(refs.map((r) => [r.name, r.scale, loraFileKey(r)]));
}

/**
 * Whether a loaded pipeline serves a load request with `preference`: the same choice, its actual provider, or 'auto'
 * where Auto would pick that provider now (WebGPU on a hardware adapter, else WASM: a pipeline loaded on a
 * software adapter's WebGPU by an explicit choice is reloaded on WASM when the user switches to Auto).
 */
async function servesPreference(entry: PoolEntry, preference: ProviderPreference): Promise<boolean> {
  if (preference === entry.preference || preference === entry.model.provider) return true;
  if (preference !== 'auto') return false;
  const caps = await probeWebGpu();
  return entry.model.provider === (caps.available && !caps.software ? 'webgpu' : 'wasm');
}

export class EngineHandler {
  private readonly pool = new Map<string, PoolEntry>();
  private activeId: string | null = null;
  private useCounter = 0;
  private loadAbort: { id: string; controller: AbortController } | null = null;
  private readonly runner = new LatestWinsRunner<void>();
  /** Evaluators by folder URL (small; loaded on first use, kept). */
  private readonly evaluators = new Map<string, Promise<Evaluator>>();
  private storePromise: Promise<ModelStore> | null = null;
  /** Downloads in flight by request id, so `cancel {target}` can stop one. */
  private readonly downloads = new Map<string, AbortController>();
  /** The work running on a pipeline (a generation or a bare loop), so a release can wait for it. */
  private readonly busy = new Map<Pipeline, Promise<unknown>>();

  /** `store`: the download cache (tests pass a MemoryStore); default OPFS, then Cache Storage, then memory. */
  constructor(
    private readonly post: Post,
    store?: ModelStore,
  ) {
    if (store) this.storePromise = Promise.resolve(store);
  }

  private store(): Promise<ModelStore> {
    this.storePromise ??= selectModelStore({ onWarning: (m) => console.warn(`[fewstep] ${m}`) });
    return this.storePromise;
  }

  async handle(req: Request): Promise<void> {
    try {
      switch (req.type) {
        case 'configure':
          configureOrt({ numThreads: req.numThreads });
          this.post({ type: 'ack', id: req.id });
          return;
        case 'load':
          return await this.load(req);
        case 'generate':
          return await this.generate(req);
        case 'download':
          return await this.download(req);
        case 'listCached': {
          const store = await this.store();
          const [models, estimate] = await Promise.all([store.listModels(), store.estimate()]);
          this.post({ type: 'cached-list', id: req.id, list: { models, estimate, storeKind: store.kind } });
          return;
        }
        case 'deleteCached': {
          const e = this.pool.get(req.modelId);
          if (e && e.model.source.startsWith('download cache')) {
            await e.pipeline.release();
            this.pool.delete(req.modelId);
            if (this.activeId === req.modelId) this.activeId = null;
          }
          await (await this.store()).deleteModel(req.modelId);
          this.post({ type: 'ack', id: req.id });
          return;
        }
        case 'cancel':
          if (req.target !== undefined) this.downloads.get(req.target)?.abort(abortErrorFor());
          if (req.target === undefined || this.loadAbort?.id === req.target) this.loadAbort?.controller.abort();
          this.runner.cancel(req.target);
          this.post({ type: 'ack', id: req.id });
          return;
        case 'bare':
          return await this.bare(req);
        case 'score':
          return await this.score(req);
        case 'describe':
          return await this.describe(req);
        case 'gpuInfo':
          this.post({ type: 'gpu-info', id: req.id, gpu: await probeWebGpu() });
          return;
        case 'stats': {
          const mem = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory;
          this.post({ type: 'stats', id: req.id, stats: { jsHeapUsed: mem ? mem.usedJSHeapSize : null, gpu: gpuCounters(), loadedModels: this.pool.size } });
          return;
        }
        case 'unload': {
          this.runner.cancel();
          const ids = req.modelId ? [req.modelId] : [...this.pool.keys()];
          for (const id of ids) {
            await this.pool.get(id)?.pipeline.release();
            this.pool.delete(id);
            if (this.activeId === id) this.activeId = null;
          }
          this.post({ type: 'ack', id: req.id });
          return;
        }
        default: {
          const never: never = req;
          throw new EngineError('BAD_REQUEST', `Unknown request type ${(never as { type: string }).type}`);
        }
      }
    } catch (e) {
      this.fail(req.id, e);
    }
  }

  private fail(id: string, e: unknown): void {
    if (isCancelled(e)) this.post({ type: 'cancelled', id, reason: (e as Error).message || 'Cancelled' });
    else this.post({ type: 'error', id, error: errorToWire(e) });
  }

  private async load(req: Extract<Request, { type: 'load' }>): Promise<void> {
    this.loadAbort?.controller.abort();
    const controller = new AbortController();
    this.loadAbort = { id: req.id, controller };
    // A generation in flight would compete with session creation; stop it at its next step.
    this.runner.cancel();
    const ref = req.model;
    const { source } = await this.sourceFor(ref);
    // Same model on the same provider with the same LoRA set already loaded: just make it active. Another LoRA set
    // (or none) reads the U-Net again from its source (fresh bytes, so the base weights come back exactly) and shares
    // the loaded pipeline's other sessions (below: familyMember, Pipeline.withUnet).
    const loraKey = loraSetKey(req.loras);
    const existing = this.pool.get(req.model.id);
    if (
      existing &&
      ref.kind !== 'files' &&
      existing.model.source === source.label &&
      existing.loraKey === loraKey &&
      (await servesPreference(existing, req.provider))
    ) {
      existing.lastUsed = ++this.useCounter;
      if (req.activate !== false) await this.activate(req.model.id, existing.family);
      this.post({ type: 'loaded', id: req.id, model: existing.model });
      if (this.loadAbort?.id === req.id) this.loadAbort = null;
      return;
    }
    try {
      const loras: LoraAdapter[] = [];
      const onProgress = (progress: LoadProgress): void => this.post({ type: 'load-progress', id: req.id, progress });
      for (const r of req.loras ?? []) {
        loras.push({ name: r.name, scale: r.scale, bytes: await loraBytes(r, { signal: controller.signal, store: () => this.store(), onProgress }) });
      }
      const family = familyKey(ref, source.label);
      // The same files already loaded on a provider this request accepts: make only a U-Net with this LoRA set (or the
      // base U-Net again) and share the rest of that pipeline, instead of loading a second whole pipeline.
      const sibling = await this.familyMember(family, req.provider);
      let next: Pipeline;
      let ownBytes: number;
      if (sibling) {
        const base = sibling.pipeline;
        const unet = await loadUnetSession(source, base.layout.components.unet, base.info.provider, loras, { signal: controller.signal, onProgress });
        try {
          const { lora: _old, ...info } = base.info;
          next = base.withUnet(unet.handle, { ...info, name: req.model.name, loadMs: unet.ms, ...(unet.lora ? { lora: unet.lora } : {}) });
        } catch (e) {
          await unet.handle.release().catch(() => undefined);
          throw e;
        }
        ownBytes = unet.bytes;
      } else {
        next = await Pipeline.load(source, {
          name: req.model.name,
          provider: req.provider,
          signal: controller.signal,
          onProgress,
          ...(ref.kind === 'cached' ? { requiredFeatures: ref.entry.requiredFeatures } : {}),
          ...(loras.length ? { loras } : {}),
        });
        ownBytes = next.info.bytes;
      }
      if (controller.signal.aborted) {
        await next.release();
        throw new CancelledError('Load cancelled');
      }
      const model: LoadedModel = { ...next.info, id: req.model.id };
      const old = this.pool.get(req.model.id);
      this.pool.set(req.model.id, { pipeline: next, model, lastUsed: ++this.useCounter, preference: req.provider, loraKey, family, ownBytes });
      if (old) await this.releaseWhenIdle(old.pipeline);
      if (req.activate !== false) await this.activate(req.model.id, family);
      else if (this.activeId === null) this.activeId = req.model.id;
      await this.evict();
      this.post({ type: 'loaded', id: req.id, model });
    } finally {
      if (this.loadAbort?.id === req.id) this.loadAbort = null;
    }
  }

  /**
   * Make `id` the active model. The picker's Apply: the active model it replaces, when it is the same files with another
   * LoRA set, leaves the pool, so its U-Net session is released now that the new one is ready (its text encoder and
   * VAE live on in the new pipeline). A model of other files stays pooled (the grid, switching back).
   */
  private async activate(id: string, family: string): Promise<void> {
    const previousId = this.activeId;
    this.activeId = id;
    const previous = previousId !== null && previousId !== id ? this.pool.get(previousId) : undefined;
    if (previous && previous.family === family) {
      this.pool.delete(previousId!);
      await this.releaseWhenIdle(previous.pipeline);
    }
  }

  /**
   * Release a pipeline already taken out of the pool once the generation or bare loop running on it (cancelled by
   * the load) has stopped: its sessions must not go away under a session.run.
   */
  private async releaseWhenIdle(p: Pipeline): Promise<void> {
    await this.busy.get(p)?.catch(() => undefined);
    await p.release();
  }

  /** A loaded pipeline of `family` that serves `preference` (the active one first, else the most recently used). */
  private async familyMember(family: string, preference: ProviderPreference): Promise<PoolEntry | null> {
    const entries = [...this.pool.entries()]
      .filter(([, e]) => e.family === family)
      .sort(([a, x], [b, y]) => (a === this.activeId ? -1 : b === this.activeId ? 1 : y.lastUsed - x.lastUsed));
    for (const [, e] of entries) if (await servesPreference(e, preference)) return e;
    return null;
  }

  /** Where a model's files come from: its URL, the picked files, or the download cache (with the catalog overlay). */
  private async sourceFor(ref: ModelRef): Promise<{ source: ModelSource }> {
    if (ref.kind === 'url') {
      const url = new UrlSource(ref.baseUrl);
      return { source: ref.synthesizeIndex ? new CatalogOverlaySource(url, null) : url };
    }
    if (ref.kind === 'files') {
      return { source: new CatalogOverlaySource(new FileMapSource(ref.name, new Map(ref.files.map((f) => [f.path, f.blob]))), ref.entry ?? null) };
    }
    const store = await this.store();
    return { source: new CatalogOverlaySource(new StoreSource(store, ref.entry.id), ref.entry) };
  }

  private async describe(req: Extract<Request, { type: 'describe' }>): Promise<void> {
    const { source } = await this.sourceFor(req.model);
    this.post({ type: 'described', id: req.id, defaults: await Pipeline.describe(source) });
  }

  private async download(req: Extract<Request, { type: 'download' }>): Promise<void> {
    const controller = new AbortController();
    this.downloads.set(req.id, controller);
    try {
      const result = await downloadModel(req.entry, {
        store: await this.store(),
        signal: controller.signal,
        ...(req.hubBase ? { hubBase: req.hubBase } : {}),
        ...(req.chunkSize ? { chunkSize: req.chunkSize } : {}),
        ...(req.appBase ? { appBase: req.appBase } : {}),
        onProgress: (progress) => this.post({ type: 'download-progress', id: req.id, progress }),
      });
      this.post({ type: 'downloaded', id: req.id, result });
    } finally {
      this.downloads.delete(req.id);
    }
  }

  private async score(req: Extract<Request, { type: 'score' }>): Promise<void> {
    let ev = this.evaluators.get(req.evaluatorUrl);
    if (!ev) {
      // WASM: the classifier is tiny, and keeping it off the GPU leaves the device to the pipelines.
      ev = Evaluator.load(req.evaluatorUrl, 'wasm');
      this.evaluators.set(req.evaluatorUrl, ev);
      ev.catch(() => this.evaluators.delete(req.evaluatorUrl));
    }
    const score = await (await ev).score(req.image, req.prompt);
    this.post({ type: 'scored', id: req.id, score });
    this.post({ type: 'ack', id: req.id });
  }

  /** Release least-recently-used inactive pipelines while the pool is over budget. */
  private async evict(): Promise<void> {
    const total = (): number => [...this.pool.values()].reduce((a, e) => a + e.ownBytes, 0);
    const victims = [...this.pool.entries()].filter(([id]) => id !== this.activeId).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [id, e] of victims) {
      if (total() <= POOL_BUDGET_BYTES) break;
      this.pool.delete(id);
      await e.pipeline.release();
    }
  }

  private warm: Promise<number | null> | null = null;

  /**
   * Start onnxruntime-web's runtime now (pipeline/warmup.ts): a one-node session made, run and released on WASM, so
   * the first model's sessions do not pay the runtime's fetch, compile and first-call costs. The worker calls it once
   * it is configured (thread count set), while the page is still finding its model; sessions made meanwhile queue
   * behind it. Idempotent. Resolves to its wall time in ms, or null when it failed (the model's load then reports
   * the same problem to the user).
   */
  warmUp(): Promise<number | null> {
    this.warm ??= warmUpOrt('wasm').catch(() => null);
    return this.warm;
  }

  /** Ids of the loaded pipelines (for tests and the UI). */
  loadedIds(): string[] {
    return [...this.pool.keys()];
  }

  private async generate(req: Extract<Request, { type: 'generate' }>): Promise<void> {
    await this.runner.submit(req.id, async (token) => {
      const targetId = req.modelId ?? this.activeId;
      const entry = targetId ? this.pool.get(targetId) : undefined;
      if (!entry) {
        throw new EngineError(
          'NO_MODEL_LOADED',
          targetId && req.modelId ? `Model ${targetId} is not loaded: load it before generating with it.` : 'No model is loaded yet: pick a model and wait for it to load.',
        );
      }
      entry.lastUsed = ++this.useCounter;
      const { pipeline, model } = entry;
      let lastPost = -Infinity;
      const result = await this.track(pipeline, pipeline.generate(req.params, token, (step) => {
        const t = performance.now();
        const due = step.index === 0 || t - lastPost >= STEP_EVENT_INTERVAL_MS;
        if (!step.preview && (step.index === step.total - 1 || !due)) return;
        lastPost = t;
        this.post({ type: 'step', id: req.id, step }, step.preview ? [step.preview.data.buffer as ArrayBuffer] : []);
      }));
      this.post({ type: 'result', id: req.id, result, modelId: model.id, provider: model.provider }, [
        result.image.data.buffer as ArrayBuffer,
      ]);
    });
  }

  /** Note `work` as running on `p` until it settles (see releaseWhenIdle). */
  private track<T>(p: Pipeline, work: Promise<T>): Promise<T> {
    this.busy.set(p, work);
    const clear = (): void => {
      if (this.busy.get(p) === work) this.busy.delete(p);
    };
    work.then(clear, clear);
    return work;
  }

  /** Benchmark: bare session.run loops on the same runner as generations (so they never overlap). */
  private async bare(req: Extract<Request, { type: 'bare' }>): Promise<void> {
    await this.runner.submit(req.id, async (token) => {
      const targetId = req.modelId ?? this.activeId;
      const entry = targetId ? this.pool.get(targetId) : undefined;
      if (!entry) throw new EngineError('NO_MODEL_LOADED', `Model ${targetId ?? '(active)'} is not loaded: load it before timing it.`);
      const ms = await this.track(entry.pipeline, entry.pipeline.bareLoop(req.params, Math.max(1, Math.floor(req.runs)), token));
      this.post({ type: 'bare-result', id: req.id, ms, modelId: entry.model.id, provider: entry.model.provider });
    });
  }
}
