/**
 * The engine's public surface for the app: an explicit list, nothing else of engine/ is imported from src/app.
 * Everything here runs on the main thread without onnxruntime-web (the worker, started by `createWorkerEngine`'s
 * caller from worker.ts, is the only place ORT loads). Request and event types are in protocol.ts.
 */
export { createWorkerEngine, type Engine, type EventListener } from './client';
export {
  asEngineError,
  CancelledError,
  DownloadError,
  EngineError,
  isCancelled,
  type DownloadFailure,
  type EngineErrorCode,
} from './errors';
export { GENERATE_LIMITS, isValidSeed } from './limits';
export { isLoraScale, LORA_SCALE_RANGE, mergeLoras, type LoraAdapter, type LoraFormat, type LoraMergeReport, type LoraMergeResult } from './lora';
export { formatBytes } from './bytes';
export { promptWords, unknownWords, vocabularyWords } from './vocab';
export type { Catalog, CatalogEntry, CatalogFile, LoraAlphaStorage, LoraBaseFamily, LoraEntry, LoraRole } from './catalog/schema';
export { getLoraEntry, lorasFor, validateCatalog } from './catalog/validate';
export { DEFAULT_HUB_BASE, slugId } from './catalog/urls';
export { CustomSourceError, validateCustomSource, type CustomSource } from './catalog/custom';
export { catalogEntryForFiles, checkLayout, layoutFilesFor, REQUIRED_LAYOUT, type LayoutCheck, type LayoutRequirement } from './catalog/files';
export type * from './protocol';
