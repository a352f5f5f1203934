/**
 * {@link ModelStore} on the Origin Private File System (navigator.storage.getDirectory()).
 *
 * Layout: `fewstep-models/{modelId}/{encodeURIComponent(path)}/{manifest.json, 0.chunk, 1.chunk, ...}` and
 * `fewstep-models/{modelId}/model.json`. One directory per file keeps the layout flat and names safe.
 *
 * Writes: in a dedicated worker, `createSyncAccessHandle()` (worker-only, fast, no swap file); elsewhere
 * `createWritable()`. Each chunk is its own small file, so a commit never copies a multi-GB file.
 */

import { bytesDone, type FileManifest } from './chunks';
import { assembleFile, notStoredError, type ModelInfoRecord, type ModelStore, type StorageEstimateLike, type StoredModelInfo } from './store';

// Minimal shapes of the OPFS API we use; TS's DOM lib lacks the async iterators and sync access handles in some
// configurations, and tests pass a fake root.
export interface OpfsFileHandle {
  kind: 'file';
  name: string;
  getFile(): Promise<Blob>;
  createWritable?(options?: { keepExistingData?: boolean }): Promise<{ write(data: BufferSource | Blob | string): Promise<void>; close(): Promise<void> }>;
  createSyncAccessHandle?(): Promise<{
    truncate(size: number): void;
    write(buffer: BufferSource, options?: { at?: number }): number;
    flush(): void;
    close(): void;
  }>;
}

export interface OpfsDirectoryHandle {
  kind: 'directory';
  name: string;
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<OpfsDirectoryHandle>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<OpfsFileHandle>;
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
  entries(): AsyncIterableIterator<[string, OpfsDirectoryHandle | OpfsFileHandle]>;
}

const ROOT_DIR = 'fewstep-models';
const MANIFEST = 'manifest.json';
const MODEL_INFO = 'model.json';

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'NotFoundError' || name === 'TypeMismatchError';
}

function inDedicatedWorker(): boolean {
  const g = globalThis as { WorkerGlobalScope?: unknown; DedicatedWorkerGlobalScope?: unknown; document?: unknown };
  return typeof g.DedicatedWorkerGlobalScope !== 'undefined' && typeof g.document === 'undefined';
}

export interface OpfsStoreOptions {
  /** The OPFS root; default `navigator.storage.getDirectory()`. */
  root?: OpfsDirectoryHandle;
  /** Default `navigator.storage.estimate()`. */
  estimate?: () => Promise<StorageEstimate>;
}

export class OpfsStore implements ModelStore {
  readonly kind = 'opfs' as const;
  private rootPromise: Promise<OpfsDirectoryHandle> | null = null;

  constructor(private readonly opts: OpfsStoreOptions = {}) {}

  /** True where OPFS is available (it is missing in some private modes and older browsers). */
  static isAvailable(): boolean {
    const s = (globalThis as { navigator?: { storage?: { getDirectory?: unknown } } }).navigator?.storage;
    return typeof s?.getDirectory === 'function';
  }

  private root(): Promise<OpfsDirectoryHandle> {
    this.rootPromise ??= (async () => {
      const top = this.opts.root ?? ((await navigator.storage.getDirectory()) as unknown as OpfsDirectoryHandle);
      return top.getDirectoryHandle(ROOT_DIR, { create: true });
    })();
    return this.rootPromise;
  }

  private async modelDir(modelId: string, create: boolean): Promise<OpfsDirectoryHandle | null> {
    try {
      return await (await this.root()).getDirectoryHandle(modelId, { create });
    } catch (err) {
      if (!create && isNotFound(err)) return null;
      throw err;
    }
  }

  private async fileDir(modelId: string, path: string, create: boolean): Promise<OpfsDirectoryHandle | null> {
    const m = await this.modelDir(modelId, create);
    if (!m) return null;
    try {
      return await m.getDirectoryHandle(encodeURIComponent(path), { create });
    } catch (err) {
      if (!create && isNotFound(err)) return null;
      throw err;
    }
  }

  private async writeBytes(dir: OpfsDirectoryHandle, name: string, data: Uint8Array): Promise<void> {
    const fh = await dir.getFileHandle(name, { create: true });
    if (inDedicatedWorker() && typeof fh.createSyncAccessHandle === 'function') {
      const h = await fh.createSyncAccessHandle();
      try {
        h.truncate(0);
        h.write(data as Uint8Array<ArrayBuffer>, { at: 0 });
        h.flush();
      } finally {
        h.close();
      }
      return;
    }
    if (typeof fh.createWritable !== 'function') throw new Error('OPFS: neither createWritable nor createSyncAccessHandle is available');
    const w = await fh.createWritable();
    await w.write(data as Uint8Array<ArrayBuffer>);
    await w.close();
  }

  private async readBytes(dir: OpfsDirectoryHandle, name: string): Promise<Uint8Array | null> {
    try {
      const f = await (await dir.getFileHandle(name)).getFile();
      return new Uint8Array(await f.arrayBuffer());
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  private async readJson<T>(dir: OpfsDirectoryHandle, name: string): Promise<T | null> {
    const b = await this.readBytes(dir, name);
    if (!b) return null;
    try {
      return JSON.parse(new TextDecoder().decode(b)) as T;
    } catch {
      return null; // a torn write: treat as absent, the chunks get re-fetched
    }
  }

  async hasFile(modelId: string, path: string): Promise<boolean> {
    return (await this.readManifest(modelId, path))?.complete === true;
  }

  readFile(modelId: string, path: string, as?: 'arrayBuffer'): Promise<ArrayBuffer>;
  readFile(modelId: string, path: string, as: 'stream'): Promise<ReadableStream<Uint8Array>>;
  async readFile(modelId: string, path: string, as: 'arrayBuffer' | 'stream' = 'arrayBuffer'): Promise<never> {
    const dir = await this.fileDir(modelId, path, false);
    const m = dir ? await this.readJson<FileManifest>(dir, MANIFEST) : null;
    if (!dir || !m?.complete) throw notStoredError(modelId, path);
    return (await assembleFile(
      m,
      async (i) => {
        const b = await this.readBytes(dir, `${i}.chunk`);
        if (!b) throw new Error(`Chunk ${i} of ${modelId}/${path} is missing from OPFS; delete the model and download it again`);
        return b;
      },
      as,
      `${modelId}/${path}`,
    )) as never;
  }

  async readChunk(modelId: string, path: string, index: number): Promise<Uint8Array | null> {
    const dir = await this.fileDir(modelId, path, false);
    return dir ? this.readBytes(dir, `${index}.chunk`) : null;
  }

  async writeChunk(modelId: string, path: string, index: number, data: Uint8Array): Promise<void> {
    const dir = (await this.fileDir(modelId, path, true))!;
    await this.writeBytes(dir, `${index}.chunk`, data);
  }

  async readManifest(modelId: string, path: string): Promise<FileManifest | null> {
    const dir = await this.fileDir(modelId, path, false);
    return dir ? this.readJson<FileManifest>(dir, MANIFEST) : null;
  }

  async writeManifest(modelId: string, path: string, manifest: FileManifest): Promise<void> {
    const dir = (await this.fileDir(modelId, path, true))!;
    await this.writeBytes(dir, MANIFEST, new TextEncoder().encode(JSON.stringify(manifest)));
  }

  async finalize(modelId: string, path: string, manifest: FileManifest): Promise<void> {
    const dir = (await this.fileDir(modelId, path, true))!;
    const n = manifest.size === 0 ? 0 : Math.ceil(manifest.size / manifest.chunkSize);
    for await (const [name] of dir.entries()) {
      const m = /^(\d+)\.chunk$/.exec(name);
      if (m && Number(m[1]) >= n) await dir.removeEntry(name);
    }
    await this.writeManifest(modelId, path, { ...manifest, complete: true });
  }

  async deleteFile(modelId: string, path: string): Promise<void> {
    const m = await this.modelDir(modelId, false);
    if (!m) return;
    try {
      await m.removeEntry(encodeURIComponent(path), { recursive: true });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async deleteModel(modelId: string): Promise<void> {
    try {
      await (await this.root()).removeEntry(modelId, { recursive: true });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async writeModelInfo(info: ModelInfoRecord): Promise<void> {
    const dir = (await this.modelDir(info.id, true))!;
    await this.writeBytes(dir, MODEL_INFO, new TextEncoder().encode(JSON.stringify(info)));
  }

  async readModelInfo(modelId: string): Promise<ModelInfoRecord | null> {
    const dir = await this.modelDir(modelId, false);
    return dir ? this.readJson<ModelInfoRecord>(dir, MODEL_INFO) : null;
  }

  async listModels(): Promise<StoredModelInfo[]> {
    const out: StoredModelInfo[] = [];
    for await (const [id, handle] of (await this.root()).entries()) {
      if (handle.kind !== 'directory') continue;
      const info = await this.readJson<ModelInfoRecord>(handle, MODEL_INFO);
      let bytes = 0;
      const files: string[] = [];
      for await (const [name, fileDir] of handle.entries()) {
        if (fileDir.kind !== 'directory') continue;
        files.push(decodeURIComponent(name));
        const m = await this.readJson<FileManifest>(fileDir, MANIFEST);
        if (m) bytes += bytesDone(m);
      }
      out.push({ id, bytes, complete: info?.complete === true, files: info?.files ?? files.sort(), updatedAt: info?.updatedAt ?? 0 });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  async estimate(): Promise<StorageEstimateLike> {
    const e = await (this.opts.estimate ?? (() => navigator.storage.estimate()))();
    return { usage: e.usage ?? 0, quota: e.quota ?? 0 };
  }
}
