/**
 * The engine's public surface for Node hosts (src/cli, scripts): what index.ts cannot offer because it loads
 * onnxruntime-web and node:fs (index.ts is the browser main thread's entry and loads neither). Request and event
 * types, errors and limits stay in index.ts; import those from there.
 *
 * - createNodeEngine: the worker's EngineHandler in this process behind the app's Engine client (one request path).
 * - folderFiles: a folder on disk as the `files` ModelRef the app's folder picker makes.
 * - FsModelStore: the download cache on disk (`download` requests, `cached` ModelRefs).
 * - inspectModel: a pipeline folder's components, graph I/O and resolved scheduler config, without generating.
 * - configureOrt: ORT's WASM settings (threads, log level) for this process.
 */
export { createNodeEngine, folderFiles, type NodeEngineOptions } from './nodeHost';
export { FsModelStore } from './fsStore';
export { inspectModel, type BindingsReport, type GraphReport, type GraphValue, type InspectOptions, type ModelReport } from './inspect';
export { configureOrt, ortVersion, type OrtConfig } from './ort';
