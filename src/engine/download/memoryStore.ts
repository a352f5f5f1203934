/**
 * In-memory {@link ModelStore}: tests, and the last-resort fallback when neither OPFS nor Cache Storage works
 * (nothing survives a reload then). Reusing one instance across `downloadModel` calls stands in for a reload.
 */

import type { FileManifest } from './chunks';
import { assembleFile, notStoredError, type ModelInfoRecord, type ModelStore, type StorageEstimateLike, type StoredModelInfo } from './store';

interface FileRecord {
  manifest: FileManifest | null;
  chunks: Map<number, Uint8Array>;
}

export interface MemoryStoreOptions {
  /** Quota reported by estimate(); default 8 GiB. */
  quota?: number;
  /** Usage added on top of the stored bytes (to simulate a nearly full origin). */
  baseUsage?: number;
}

export class MemoryStore implements ModelStore {
  readonly kind = 'memory' as const;
  private readonly models = new Map<string, Map<string, FileRecord>>();
  private readonly infos = new Map<string, ModelInfoRecord>();
  quota: number;
  baseUsage: number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.quota = opts.quota ?? 8 * 1024 ** 3;
    this.baseUsage = opts.baseUsage ?? 0;
  }

  private rec(modelId: string, path: string, create: true): FileRecord;
  private rec(modelId: string, path: string, create?: false): FileRecord | undefined;
  private rec(modelId: string, path: string, create = false): FileRecord | undefined {
    let m = this.models.get(modelId);
    if (!m) {
      if (!create) return undefined;
      m = new Map();
      this.models.set(modelId, m);
    }
    let r = m.get(path);
    if (!r && create) {
      r = { manifest: null, chunks: new Map() };
      m.set(path, r);
    }
    return r;
  }

  async hasFile(modelId: string, path: string): Promise<boolean> {
    return this.rec(modelId, path)?.manifest?.complete === true;
  }

  readFile(modelId: string, path: string, as?: 'arrayBuffer'): Promise<ArrayBuffer>;
  readFile(modelId: string, path: string, as: 'stream'): Promise<ReadableStream<Uint8Array>>;
  async readFile(modelId: string, path: string, as: 'arrayBuffer' | 'stream' = 'arrayBuffer'): Promise<never> {
    const r = this.rec(modelId, path);
    if (!r?.manifest?.complete) throw notStoredError(modelId, path);
    return (await assembleFile(
      r.manifest,
      async (i) => {
        const c = r.chunks.get(i);
        if (!c) throw new Error(`Chunk ${i} of ${modelId}/${path} is missing from the memory store`);
        return c;
      },
      as,
      `${modelId}/${path}`,
    )) as never;
  }

  async readChunk(modelId: string, path: string, index: number): Promise<Uint8Array | null> {
    return this.rec(modelId, path)?.chunks.get(index)?.slice() ?? null;
  }

  async writeChunk(modelId: string, path: string, index: number, data: Uint8Array): Promise<void> {
    // Copy: the caller may reuse or transfer its buffer.
    this.rec(modelId, path, true).chunks.set(index, data.slice());
  }

  async readManifest(modelId: string, path: string): Promise<FileManifest | null> {
    const m = this.rec(modelId, path)?.manifest;
    return m ? structuredClone(m) : null;
  }

  async writeManifest(modelId: string, path: string, manifest: FileManifest): Promise<void> {
    this.rec(modelId, path, true).manifest = structuredClone(manifest);
  }

  async finalize(modelId: string, path: string, manifest: FileManifest): Promise<void> {
    const r = this.rec(modelId, path, true);
    const n = manifest.size === 0 ? 0 : Math.ceil(manifest.size / manifest.chunkSize);
    for (const i of [...r.chunks.keys()]) if (i >= n) r.chunks.delete(i);
    r.manifest = structuredClone({ ...manifest, complete: true });
  }

  async deleteFile(modelId: string, path: string): Promise<void> {
    this.models.get(modelId)?.delete(path);
  }

  async deleteModel(modelId: string): Promise<void> {
    this.models.delete(modelId);
    this.infos.delete(modelId);
  }

  async writeModelInfo(info: ModelInfoRecord): Promise<void> {
    this.infos.set(info.id, structuredClone(info));
  }

  async readModelInfo(modelId: string): Promise<ModelInfoRecord | null> {
    const i = this.infos.get(modelId);
    return i ? structuredClone(i) : null;
  }

  async listModels(): Promise<StoredModelInfo[]> {
    const ids = new Set([...this.models.keys(), ...this.infos.keys()]);
    return [...ids].sort().map((id) => {
      const files = this.models.get(id) ?? new Map<string, FileRecord>();
      let bytes = 0;
      for (const r of files.values()) for (const c of r.chunks.values()) bytes += c.byteLength;
      const info = this.infos.get(id);
      return {
        id,
        bytes,
        complete: info?.complete === true,
        files: info?.files ?? [...files.keys()].sort(),
        updatedAt: info?.updatedAt ?? 0,
      };
    });
  }

  /** Bytes held, for tests. */
  storedBytes(): number {
    let n = 0;
    for (const m of this.models.values()) for (const r of m.values()) for (const c of r.chunks.values()) n += c.byteLength;
    return n;
  }

  async estimate(): Promise<StorageEstimateLike> {
    return { usage: this.baseUsage + this.storedBytes(), quota: this.quota };
  }
}
