/**
 * {@link ModelStore} on Cache Storage (`caches`), the fallback where OPFS is missing. Each chunk, manifest and
 * model record is one cached Response under a synthetic URL:
 * `https://fewstep-models.invalid/{modelId}/{encodeURIComponent(path)}/{index|manifest}` and `.../{modelId}/model`.
 * The Cache API only requires http(s) keys, not reachable ones; `.invalid` can never collide with a real request.
 */

import { bytesDone, type FileManifest } from './chunks';
import { assembleFile, notStoredError, type ModelInfoRecord, type ModelStore, type StorageEstimateLike, type StoredModelInfo } from './store';

const KEY_BASE = 'https://fewstep-models.invalid';
export const CACHE_NAME = 'fewstep-models-v1';

export interface CacheLike {
  match(request: string): Promise<Response | undefined>;
  put(request: string, response: Response): Promise<void>;
  delete(request: string): Promise<boolean>;
  keys(): Promise<ReadonlyArray<{ url: string }>>;
}

export interface CacheStoreOptions {
  /** Default `caches` (CacheStorage). */
  caches?: { open(name: string): Promise<CacheLike> };
  cacheName?: string;
  /** Default `navigator.storage.estimate()`. */
  estimate?: () => Promise<StorageEstimate>;
}

function fileKey(modelId: string, path: string, leaf: string | number): string {
  return `${KEY_BASE}/${encodeURIComponent(modelId)}/${encodeURIComponent(path)}/${leaf}`;
}

function infoKey(modelId: string): string {
  return `${KEY_BASE}/${encodeURIComponent(modelId)}/model`;
}

/** Parse a key back: [modelId, path|null, leaf]. */
function parseKey(url: string): { modelId: string; path: string | null; leaf: string } | null {
  if (!url.startsWith(`${KEY_BASE}/`)) return null;
  const parts = url.slice(KEY_BASE.length + 1).split('/');
  if (parts.length === 2 && parts[1] === 'model') return { modelId: decodeURIComponent(parts[0]), path: null, leaf: 'model' };
  if (parts.length === 3) return { modelId: decodeURIComponent(parts[0]), path: decodeURIComponent(parts[1]), leaf: parts[2] };
  return null;
}

export class CacheStore implements ModelStore {
  readonly kind = 'cache' as const;
  private cachePromise: Promise<CacheLike> | null = null;

  constructor(private readonly opts: CacheStoreOptions = {}) {}

  static isAvailable(): boolean {
    return typeof (globalThis as { caches?: unknown }).caches !== 'undefined';
  }

  private cache(): Promise<CacheLike> {
    this.cachePromise ??= (this.opts.caches ?? (globalThis.caches as unknown as { open(n: string): Promise<CacheLike> })).open(
      this.opts.cacheName ?? CACHE_NAME,
    );
    return this.cachePromise;
  }

  private async getJson<T>(key: string): Promise<T | null> {
    const r = await (await this.cache()).match(key);
    if (!r) return null;
    try {
      return (await r.json()) as T;
    } catch {
      return null;
    }
  }

  private async putJson(key: string, value: unknown): Promise<void> {
    await (await this.cache()).put(key, new Response(JSON.stringify(value), { headers: { 'Content-Type': 'application/json' } }));
  }

  async hasFile(modelId: string, path: string): Promise<boolean> {
    return (await this.readManifest(modelId, path))?.complete === true;
  }

  readFile(modelId: string, path: string, as?: 'arrayBuffer'): Promise<ArrayBuffer>;
  readFile(modelId: string, path: string, as: 'stream'): Promise<ReadableStream<Uint8Array>>;
  async readFile(modelId: string, path: string, as: 'arrayBuffer' | 'stream' = 'arrayBuffer'): Promise<never> {
    const m = await this.readManifest(modelId, path);
    if (!m?.complete) throw notStoredError(modelId, path);
    const cache = await this.cache();
    return (await assembleFile(
      m,
      async (i) => {
        const r = await cache.match(fileKey(modelId, path, i));
        if (!r) throw new Error(`Chunk ${i} of ${modelId}/${path} is missing from Cache Storage; delete the model and download it again`);
        return new Uint8Array(await r.arrayBuffer());
      },
      as,
      `${modelId}/${path}`,
    )) as never;
  }

  async readChunk(modelId: string, path: string, index: number): Promise<Uint8Array | null> {
    const r = await (await this.cache()).match(fileKey(modelId, path, index));
    return r ? new Uint8Array(await r.arrayBuffer()) : null;
  }

  async writeChunk(modelId: string, path: string, index: number, data: Uint8Array): Promise<void> {
    await (await this.cache()).put(
      fileKey(modelId, path, index),
      new Response(data as Uint8Array<ArrayBuffer>, { headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(data.byteLength) } }),
    );
  }

  readManifest(modelId: string, path: string): Promise<FileManifest | null> {
    return this.getJson<FileManifest>(fileKey(modelId, path, 'manifest'));
  }

  writeManifest(modelId: string, path: string, manifest: FileManifest): Promise<void> {
    return this.putJson(fileKey(modelId, path, 'manifest'), manifest);
  }

  async finalize(modelId: string, path: string, manifest: FileManifest): Promise<void> {
    const cache = await this.cache();
    const n = manifest.size === 0 ? 0 : Math.ceil(manifest.size / manifest.chunkSize);
    for (const k of await cache.keys()) {
      const p = parseKey(k.url);
      if (p && p.modelId === modelId && p.path === path && /^\d+$/.test(p.leaf) && Number(p.leaf) >= n) await cache.delete(k.url);
    }
    await this.writeManifest(modelId, path, { ...manifest, complete: true });
  }

  async deleteFile(modelId: string, path: string): Promise<void> {
    const cache = await this.cache();
    for (const k of await cache.keys()) {
      const p = parseKey(k.url);
      if (p && p.modelId === modelId && p.path === path) await cache.delete(k.url);
    }
  }

  async deleteModel(modelId: string): Promise<void> {
    const cache = await this.cache();
    for (const k of await cache.keys()) if (parseKey(k.url)?.modelId === modelId) await cache.delete(k.url);
  }

  writeModelInfo(info: ModelInfoRecord): Promise<void> {
    return this.putJson(infoKey(info.id), info);
  }

  readModelInfo(modelId: string): Promise<ModelInfoRecord | null> {
    return this.getJson<ModelInfoRecord>(infoKey(modelId));
  }

  async listModels(): Promise<StoredModelInfo[]> {
    const byModel = new Map<string, Set<string>>();
    for (const k of await (await this.cache()).keys()) {
      const p = parseKey(k.url);
      if (!p) continue;
      const set = byModel.get(p.modelId) ?? new Set<string>();
      if (p.path !== null) set.add(p.path);
      byModel.set(p.modelId, set);
    }
    const out: StoredModelInfo[] = [];
    for (const [id, paths] of byModel) {
      let bytes = 0;
      for (const path of paths) {
        const m = await this.readManifest(id, path);
        if (m) bytes += bytesDone(m);
      }
      const info = await this.readModelInfo(id);
      out.push({ id, bytes, complete: info?.complete === true, files: info?.files ?? [...paths].sort(), updatedAt: info?.updatedAt ?? 0 });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  async estimate(): Promise<StorageEstimateLike> {
    const e = await (this.opts.estimate ?? (() => navigator.storage.estimate()))();
    return { usage: e.usage ?? 0, quota: e.quota ?? 0 };
  }
}
