/**
 * The only module both threads import: request payloads by type, and the events the engine sends back.
 * Every request carries an `id`; every event names the request it answers.
 */
import type { WireError } from './errors';
import type { GpuCapabilities, ProviderPreference } from './ort';
import type { EvaluatorScore } from './evaluator';
import type { RgbaImage as EvalImage } from './image';
import type { GenerateParams, GenerateResult, LoadProgress, ModelInfo, StepEvent } from './pipeline';
import type { CatalogEntry, LoraEntry } from './catalog/schema';
import type { PipelineDefaults } from './layout';
import type { DownloadResult } from './download/downloadModel';
import type { DownloadProgress } from './download/progress';
import type { StorageEstimateLike, StoredModelInfo, StoreKind } from './download/store';

export type { GenerateParams, GenerateResult, LoadProgress, ModelInfo, StepEvent, WireError, ProviderPreference };
export type { CatalogEntry, DownloadProgress, DownloadResult, StorageEstimateLike, StoredModelInfo, StoreKind };
export type { GpuCapabilities, PipelineDefaults };
export type { StageTimings, StageTotals, RngKind, LoopKind } from './pipeline';
import type { GpuCounters } from './gpu/counters';
export type { GpuCounters };
export type { RgbaImage } from './image';
export type { EvaluatorScore } from './evaluator';

/** Where to load a pipeline from. */
export type ModelRef =
  /**
   * `synthesizeIndex`: a custom source whose export may lack model_index.json (a default one is used then).
   */
  | { id: string; name: string; kind: 'url'; baseUrl: string; synthesizeIndex?: boolean }
  /**
   * Files picked from disk, keyed by path relative to the pipeline folder ("unet/model.onnx"). `entry`: the catalog
   * entry the folder is an export of (catalog/files.ts catalogEntryForFiles), whose overlay fills what the folder
   * lacks (scheduler, defaults, component configs) as for a download of it.
   */
  | { id: string; name: string; kind: 'files'; files: Array<{ path: string; blob: Blob }>; entry?: CatalogEntry }
  /**
   * A catalog entry downloaded into the model store (see `download`): read from OPFS / Cache Storage with no network
   * request; what the export lacks (model_index.json, scheduler and component configs) comes from the entry.
   */
  | { id: string; name: string; kind: 'cached'; entry: CatalogEntry };

/**
 * A LoRA adapter to merge into a model's U-Net at load time: a .safetensors file by URL (fetched by the worker, e.g.
 * the shipped `models/loras/<name>.safetensors`), by its bytes (a picked file; the client transfers the buffer,
 * so it is detached on the caller's side afterwards: send a copy to keep one), or a catalog entry (`catalog`:
 * downloaded once into the model store like a model, with Range resume, retries and the entry's size and sha256
 * checks, then read from the store). Exactly one of `url`, `bytes` and `catalog`.
 */
export interface LoraRef {
  /** Shown in reports and messages (e.g. "fewstep-lcm-lora"). */
  name: string;
  /** Strength: the multiplier of alpha / rank * up @ down; 1 as trained, 0 no change; within LORA_SCALE_RANGE (lora/scale.ts). */
  scale: number;
  url?: string;
  bytes?: ArrayBuffer;
  /** A catalog LoRA: its entry, and the hub / app base its URL resolves against (as a `download` request's). */
  catalog?: { entry: LoraEntry; hubBase?: string; appBase?: string };
}

/** Storage report: the cached models, the origin's quota, and which backend holds them. */
export interface CachedList {
  models: StoredModelInfo[];
  estimate: StorageEstimateLike;
  storeKind: StoreKind;
}

export interface Requests {
  configure: { numThreads?: number };
  /**
   * Load (or re-activate) a pipeline. `activate: false` adds it to the pool without making it the default.
   * `loras`: LoRA adapters merged into its U-Net before the session is made (ModelInfo.lora reports the merge). A
   * model id already loaded with a different set (or none) is loaded again from its source, so dropping a LoRA gives
   * the base weights back exactly; the same id with the same set is re-activated. A LoRA that does not fit fails the
   * load and leaves the pool as it was.
   */
  load: { model: ModelRef; provider: ProviderPreference; activate?: boolean; loras?: LoraRef[] };
  /** Generate with `modelId` (a loaded pipeline) or the active one. */
  generate: { params: GenerateParams; modelId?: string };
  /** Cancel one request by id, or everything (the running generation and any load) when omitted. */
  cancel: { target?: string };
  /** Release one pipeline, or all when modelId is omitted. */
  unload: { modelId?: string };
  /**
   * Download a catalog entry into the model store (resumable; cancel with `cancel {target: id}`). `hubBase` replaces
   * https://huggingface.co (the stand-in hub in tests); `appBase` resolves `local` sources; `chunkSize` is the Range request size (default 8 MiB).
   */
  download: { entry: CatalogEntry; hubBase?: string; appBase?: string; chunkSize?: number };
  /** List the cached models with their sizes and the storage estimate. */
  listCached: Record<string, never>;
  /** Delete one cached model (its pipeline is unloaded first if loaded). */
  deleteCached: { modelId: string };
  /**
   * Benchmark lower bound: time `runs` bare loops (only session.run calls, same sessions and inputs as
   * `generate {params}`) on `modelId` or the active pipeline. See Pipeline.bareLoop.
   */
  bare: { params: GenerateParams; modelId?: string; runs: number };
  /** Engine-side resource counters (JS heap of the engine thread, GPU buffers, readbacks). */
  stats: Record<string, never>;
  /**
   * A pipeline's defaults (sampler, steps, guidance, allowed step counts) from its model_index.json and scheduler
   * config, read through the same source a load would use (URL, picked files, download cache), without loading any
   * ONNX. The comparison grid plans its rows with it.
   */
  describe: { model: ModelRef };
  /**
   * Score a generated image with the attribute classifier in `evaluatorUrl` (models/evaluator/, loaded once and
   * kept). Answered by a `scored` event, then `ack`. See evaluator.ts.
   */
  score: { image: EvalImage; prompt: string; evaluatorUrl: string };
  /**
   * What WebGPU offers in the engine's thread (adapter, shader-f16, buffer limits): the one probe the engine also
   * uses to pick its provider (high-performance adapter), so the library and the loader never disagree.
   */
  gpuInfo: Record<string, never>;
}

/** Engine-side counters for the benchmark's memory and readback reports. */
export interface EngineStats {
  /** performance.memory.usedJSHeapSize of the engine thread where the browser exposes it, else null. */
  jsHeapUsed: number | null;
  gpu: GpuCounters;
  loadedModels: number;
}

export type RequestType = keyof Requests;
export type Request = { [K in RequestType]: { id: string; type: K } & Requests[K] }[RequestType];

export type LoadedModel = ModelInfo & { id: string };

export type EngineEvent =
  | { type: 'load-progress'; id: string; progress: LoadProgress }
  | { type: 'loaded'; id: string; model: LoadedModel }
  | { type: 'step'; id: string; step: StepEvent }
  | { type: 'result'; id: string; result: GenerateResult; modelId: string; provider: string }
  | { type: 'error'; id: string; error: WireError }
  | { type: 'cancelled'; id: string; reason: string }
  | { type: 'ack'; id: string }
  | { type: 'download-progress'; id: string; progress: DownloadProgress }
  | { type: 'downloaded'; id: string; result: DownloadResult }
  | { type: 'cached-list'; id: string; list: CachedList }
  | { type: 'bare-result'; id: string; ms: number[]; modelId: string; provider: string }
  | { type: 'stats'; id: string; stats: EngineStats }
  | { type: 'scored'; id: string; score: EvaluatorScore }
  | { type: 'described'; id: string; defaults: PipelineDefaults }
  | { type: 'gpu-info'; id: string; gpu: GpuCapabilities };

/** What each request resolves with on the client. */
export interface Responses {
  configure: void;
  load: LoadedModel;
  generate: Extract<EngineEvent, { type: 'result' }>;
  cancel: void;
  unload: void;
  download: DownloadResult;
  listCached: CachedList;
  deleteCached: void;
  bare: Extract<EngineEvent, { type: 'bare-result' }>;
  stats: EngineStats;
  /** The score arrives as the `scored` event (onEvent); the request itself settles with `ack`. */
  score: void;
  describe: PipelineDefaults;
  gpuInfo: GpuCapabilities;
}
