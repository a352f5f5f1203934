/**
 * Where a LoRA file's bytes come from in the worker: the transferred buffer of a picked file, a plain fetch of a URL
 * (the shipped `models/loras/` files, same origin and small), or, for a catalog LoRA, the model store: the file is
 * downloaded once through the models' own downloader (download/downloadModel.ts: Range chunks, resume, retries with
 * backoff, size and sha256 checks against the catalog) and every later Apply reads it from storage.
 */
import type { CatalogEntry, LoraEntry } from '../catalog/schema';
import { DownloadError, EngineError } from '../errors';
import { downloadModel } from '../download/downloadModel';
import type { ModelStore } from '../download/store';
import type { LoadProgress } from '../pipeline/types';
import type { LoraRef } from '../protocol';

/** Options of {@link loraBytes}. */
export interface LoraBytesOptions {
  signal: AbortSignal;
  /** The download cache, for catalog LoRAs (only asked for when one is in the set). */
  store: () => Promise<ModelStore>;
  /** Download progress of a catalog LoRA, as load progress (phase 'fetch', file `<lora id>/<path>`). */
  onProgress?: (p: LoadProgress) => void;
  /** Default globalThis.fetch; for tests. */
  fetchImpl?: typeof fetch;
}

/**
 * The downloader's view of a catalog LoRA: a one-file entry under the LoRA's id (its storage key; catalog ids are
 * unique across models and LoRAs). downloadModel reads only id, name, source, files and tokenizer of an entry
 * (download/*.ts, catalog/files.ts layoutFilesFor); the pipeline fields it never reads are left out, hence the cast.
 * @throws EngineError BAD_REQUEST when the entry has no .safetensors file
 */
export function loraDownloadEntry(l: LoraEntry): CatalogEntry {
  const file = l.files.find((f) => f.path.endsWith('.safetensors'));
  if (!file) throw new EngineError('BAD_REQUEST', `Catalog LoRA ${l.id} lists no .safetensors file: fix its "files" in models/catalog.json.`);
  const entry: Pick<CatalogEntry, 'id' | 'name' | 'source' | 'files' | 'tokenizer'> = {
    id: l.id,
    name: l.name,
    source: l.source,
    files: [file],
    tokenizer: { source: 'model', path: 'tokenizer', padTokenId: null, maxLength: 77 },
  };
  return entry as CatalogEntry;
}

/** Key of a ref's file for the engine's pool (which set is merged): URL, catalog id + checksum, or bytes' hash. */
export function loraFileKey(ref: LoraRef): string | null {
  if (ref.url) return ref.url;
  if (ref.catalog) {
    const f = ref.catalog.entry.files.find((x) => x.path.endsWith('.safetensors'));
    return `catalog:${ref.catalog.entry.id}:${f?.sha256 ?? f?.size ?? ''}`;
  }
  return ref.bytes ? `bytes:${ref.bytes.byteLength}:${hashBytes(ref.bytes)}` : null;
}

/** 32-bit FNV-1a of a buffer (4 bytes at a time), to tell picked LoRA files apart without keeping them. */
function hashBytes(b: ArrayBuffer): string {
  const words = new Uint32Array(b, 0, Math.floor(b.byteLength / 4));
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
  const tail = new Uint8Array(b, words.length * 4);
  for (let i = 0; i < tail.length; i++) h = Math.imul(h ^ tail[i], 0x01000193);
  return (h >>> 0).toString(16);
}

/**
 * A LoRA file's bytes (the whole .safetensors file).
 * @throws EngineError BAD_REQUEST when the ref has not exactly one of url, bytes and catalog; for a URL:
 *   MODEL_FILE_MISSING for a 404 or a web page in its place, NETWORK for other failures; for a catalog LoRA the
 *   downloader's DownloadError (MODEL_FILE_MISSING, NETWORK, MODEL_FILE_CORRUPT for a size or sha256 mismatch,
 *   STORAGE), its message prefixed with the LoRA's name. Each names the file and what to do.
 * @throws DOMException AbortError when `opts.signal` aborts
 */
export async function loraBytes(ref: LoraRef, opts: LoraBytesOptions): Promise<Uint8Array> {
  const given = [ref.url, ref.bytes, ref.catalog].filter((x) => x !== undefined).length;
  if (given !== 1) throw new EngineError('BAD_REQUEST', `LoRA "${ref.name}" needs exactly one of url, bytes and catalog.`);
  if (ref.bytes) return new Uint8Array(ref.bytes);
  if (ref.catalog) return catalogLoraBytes(ref.name, ref.catalog, opts);
  const url = ref.url!;
  const fetchImpl = opts.fetchImpl ?? globalThis.fetch.bind(globalThis);
  let res: Response;
  try {
    res = await fetchImpl(url, { signal: opts.signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new EngineError('NETWORK', `Could not fetch LoRA "${ref.name}" from ${url}: ${(e as Error).message}. Is the server reachable?`, url);
  }
  if (res.status === 404 || (res.ok && (res.headers.get('content-type') ?? '').includes('text/html'))) {
    throw new EngineError('MODEL_FILE_MISSING', `LoRA "${ref.name}" is not at ${url} (${res.status === 404 ? '404' : 'the server returned a web page'}). Check the file name.`, url);
  }
  if (!res.ok) throw new EngineError('NETWORK', `Fetching LoRA "${ref.name}" failed: HTTP ${res.status} ${res.statusText} at ${url}.`, url);
  return new Uint8Array(await res.arrayBuffer());
}

/** A catalog LoRA from the model store, downloaded (or its download resumed) first when it is not stored and verified. */
async function catalogLoraBytes(name: string, cat: NonNullable<LoraRef['catalog']>, opts: LoraBytesOptions): Promise<Uint8Array> {
  const entry = loraDownloadEntry(cat.entry);
  const path = entry.files[0].path;
  const store = await opts.store();
  try {
    await downloadModel(entry, {
      store,
      signal: opts.signal,
      ...(opts.fetchImpl ? { fetchImpl: opts.fetchImpl } : {}),
      ...(cat.hubBase ? { hubBase: cat.hubBase } : {}),
      ...(cat.appBase ? { appBase: cat.appBase } : {}),
      onProgress: (p) =>
        opts.onProgress?.({
          phase: 'fetch',
          file: `${entry.id}/${p.file}`,
          status: p.status === 'done' || p.status === 'cached' ? 'done' : p.status === 'initiate' ? 'initiate' : 'progress',
          loaded: p.loaded,
          total: p.total,
          filesDone: p.overall.filesDone,
          filesTotal: p.overall.filesTotal,
          sessionsDone: 0,
          sessionsTotal: 1,
        }),
    });
  } catch (e) {
    if (e instanceof DownloadError) {
      throw new DownloadError(e.reason, `LoRA "${name}" (${entry.id}/${path}): ${e.message}`, e.details, { cause: e });
    }
    throw e;
  }
  try {
    return new Uint8Array(await store.readFile(entry.id, path));
  } catch (e) {
    throw new EngineError(
      'STORAGE',
      `LoRA "${name}": the stored ${entry.id}/${path} could not be read (${(e as Error).message}). Delete ${entry.id} in the Library's storage panel and apply again.`,
      path,
    );
  }
}
