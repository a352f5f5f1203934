/**
 * The engine hosted in a Node process: the same `EngineHandler` the app's Web Worker runs (worker.ts), behind the
 * same `Engine` client (`createWorkerEngine`), with a stand-in for the Worker that hands each request to the handler
 * in this thread. So the CLI and the browser run one request path: protocol, handler, model pool, Pipeline, sampling
 * loop, schedulers, tokenizer, ORT through ort.ts (onnxruntime-web's WASM backend runs in Node).
 *
 * Also here: a local folder as the `files` ModelRef the app's folder picker produces (`folderFiles`).
 */
import { openAsBlob } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { createWorkerEngine, type Engine } from './client';
import type { ModelStore } from './download/store';
import { EngineError } from './errors';
import { EngineHandler } from './handler';
import type { EngineEvent, Request } from './protocol';
import { registerFileBlob } from './sources/onDemandNode';

export interface NodeEngineOptions {
  /** Where `download` requests store models and `cached` ModelRefs are read from (FsModelStore for a disk cache). */
  store?: ModelStore;
}

/**
 * An in-process engine for Node, answering the same requests with the same events as the worker.
 * `terminate()` rejects pending requests with CancelledError and stops event delivery; it does not release loaded
 * pipelines (send `unload` first when the process goes on running, e.g. in tests).
 */
export function createNodeEngine(opts: NodeEngineOptions = {}): Engine {
  const target = new EventTarget();
  let open = true;
  const handler = new EngineHandler((event: EngineEvent) => {
    if (open) target.dispatchEvent(new MessageEvent('message', { data: event }));
  }, opts.store);
  // What createWorkerEngine uses of a Worker: postMessage, addEventListener('message' | 'error'), terminate.
  const worker = {
    postMessage: (req: Request) => void handler.handle(req),
    addEventListener: (type: string, listener: EventListenerOrEventListenerObject) => target.addEventListener(type, listener),
    removeEventListener: (type: string, listener: EventListenerOrEventListenerObject) => target.removeEventListener(type, listener),
    terminate: () => {
      open = false;
    },
  };
  return createWorkerEngine(worker as unknown as Worker);
}

/**
 * Every file under `dir` as {path relative to it ('/'-separated), Blob}: the ModelRef `{ kind: 'files' }` a folder
 * picked in the app gives. Blobs are backed by the files (`fs.openAsBlob`), so nothing is read before the load asks
 * for it. Entries whose name starts with '.' are skipped (.git, the download cache's .fewstep).
 * @throws EngineError MODEL_FILE_MISSING when `dir` does not exist or is not a folder.
 */
export async function folderFiles(dir: string): Promise<Array<{ path: string; blob: Blob }>> {
  const root = resolve(dir);
  const info = await stat(root).catch(() => null);
  if (!info?.isDirectory()) throw new EngineError('MODEL_FILE_MISSING', `${dir} is not a folder.`);
  const out: Array<{ path: string; blob: Blob }> = [];
  const walk = async (d: string, depth = 0): Promise<void> => {
    if (depth > 8) return; // a diffusers layout is two levels deep; this also stops link cycles
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      // Symbolic links are followed (a Hugging Face cache snapshot is links into its blobs folder).
      const s = e.isSymbolicLink() ? await stat(p).catch(() => null) : e;
      if (s?.isDirectory()) await walk(p, depth + 1);
      else if (s?.isFile()) {
        const blob = (await openAsBlob(p)) as unknown as Blob;
        registerFileBlob(blob, p); // sidecars are then read on demand while their session is made (sources/onDemand.ts)
        out.push({ path: relative(root, p).split('\\').join('/'), blob });
      }
    }
  };
  await walk(root);
  return out;
}
