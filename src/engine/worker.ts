/// <reference lib="webworker" />
// Worker entry: wires messages to the handler and nothing else.
// ORT's runtime files are imported as URLs so Vite serves and emits them with the app (never a CDN): the WebGPU
// build's (asyncify) and the WASM-only build's; ort.ts loads one of them (see its file comment).
import ortWebGpuMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWebGpuWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import ortWasmMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.mjs?url';
import ortWasmWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.wasm?url';
import { installGpuCounters } from './gpu/counters';
import { EngineHandler } from './handler';
import { configureOrt } from './ort';
import type { Request } from './protocol';

// Count readbacks and live GPU buffers (ours and ORT's) before any device exists; the benchmark reads them.
installGpuCounters();
configureOrt({
  runtimeFiles: { webgpu: { mjs: ortWebGpuMjsUrl, wasm: ortWebGpuWasmUrl }, wasm: { mjs: ortWasmMjsUrl, wasm: ortWasmWasmUrl } },
});
const scope = self as unknown as DedicatedWorkerGlobalScope;
const handler = new EngineHandler((event, transfer) => scope.postMessage(event, transfer ?? []));
scope.onmessage = (e: MessageEvent<Request>) => {
  void handler.handle(e.data);
  // Cold open: the runtime starts as soon as its thread count is known, while the page discovers its model.
  if (e.data.type === 'configure') void handler.warmUp();
};
