/**
 * The only module both threads import: request payloads by type, and the events the engine sends back.
 * Every request carries an `id`; every event names the request it answers.
 */
import type { WireError } from './errors';
import type { ProviderPreference } from './ort';
import type { GenerateParams, GenerateResult, LoadProgress, ModelInfo, StepEvent } from './pipeline';

export type { GenerateParams, GenerateResult, LoadProgress, ModelInfo, StepEvent, WireError, ProviderPreference };
export type { StageTimings, RngKind } from './pipeline';
export type { RgbaImage } from './image';

/** Where to load a pipeline from. */
export type ModelRef =
  | { id: string; name: string; kind: 'url'; baseUrl: string }
  /** Files picked from disk, keyed by path relative to the pipeline folder ("unet/model.onnx"). */
  | { id: string; name: string; kind: 'files'; files: Array<{ path: string; blob: Blob }> };

export interface Requests {
  configure: { numThreads?: number };
  /** Load (or re-activate) a pipeline. `activate: false` adds it to the pool without making it the default. */
  load: { model: ModelRef; provider: ProviderPreference; activate?: boolean };
  /** Generate with `modelId` (a loaded pipeline) or the active one. */
  generate: { params: GenerateParams; modelId?: string };
  /** Cancel one request by id, or everything (the running generation and any load) when omitted. */
  cancel: { target?: string };
  /** Release one pipeline, or all when modelId is omitted. */
  unload: { modelId?: string };
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
  | { type: 'ack'; id: string };

/** What each request resolves with on the client. */
export interface Responses {
  configure: void;
  load: LoadedModel;
  generate: Extract<EngineEvent, { type: 'result' }>;
  cancel: void;
  unload: void;
}
