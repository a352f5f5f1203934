/**
 * Resumable, verified model downloads. Runs on the main thread or in a Web Worker (no DOM use).
 *
 * For each file of a catalog entry: known size (catalog, or probed before anything starts, so the total is fixed),
 * then Range requests in fixed chunks; every finished chunk is stored with its bookkeeping (see chunks.ts) so an
 * interruption or a reload continues from the first missing chunk. Network errors, dropped and stalled connections,
 * 5xx, 408 and 429 are retried with exponential backoff; 404 and other 4xx are not. Hugging Face's behaviour is
 * expected: a 302 to a CDN on another host (fetch follows it), a Content-Range or ETag the page may not read (CORS),
 * a HEAD without Content-Length, a file that changes (ETag) between two chunks (it starts over). A short body, a
 * wrong length, a web page instead of the file, a full storage or a sha256 mismatch each end with a specific
 * {@link DownloadError} naming the file. Cancellation through `signal` ends with an `AbortError`, a normal outcome.
 * This file plans a download and reports its progress; request.ts holds the HTTP side (retries, probes), transfer.ts
 * one file's chunked transfer, shared between concurrent callers.
 */
import { layoutFilesFor, resolveLayoutFileUrl } from '../catalog/files';
import type { CatalogEntry } from '../catalog/schema';
import { formatBytes } from '../bytes';
import { DownloadError } from '../errors';
import { abortErrorFor, throwIfAborted } from './abort';
import { bytesDone, manifestMismatch } from './chunks';
import { numbers, RateMeter, type DownloadProgress, type DownloadStatus } from './progress';
import { probe, type Ctx, type Job } from './request';
import type { ModelStore } from './store';
import { sharedTransfer } from './transfer';

export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;

/** The subset of navigator.storage used here; injectable for tests. */
export interface StorageManagerLike {
  persist?(): Promise<boolean>;
  persisted?(): Promise<boolean>;
}

export interface DownloadOptions {
  store: ModelStore;
  /** Default globalThis.fetch. */
  fetchImpl?: typeof fetch;
  /** Hub base for `hf` sources, default https://huggingface.co (the stand-in hub in tests). */
  hubBase?: string;
  /** Base URL of the app, for `local` sources. */
  appBase?: string;
  signal?: AbortSignal;
  onProgress?: (event: DownloadProgress) => void;
  /** Range request size; default 8 MiB. Changing it restarts partially stored files. */
  chunkSize?: number;
  /** Retries per request after the first attempt; default 4. */
  maxRetries?: number;
  /** First backoff delay; attempt k waits backoffMs * 2^k (capped by maxBackoffMs). Default 500. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /**
   * A request that gets no response, or whose body brings no new byte, for this many ms is dropped and retried
   * (counts as one attempt). Default 30 000; 0 disables the watchdog.
   */
  stallTimeoutMs?: number;
  /** navigator.storage by default; null skips persist(). */
  storage?: StorageManagerLike | null;
  /** Free space to keep beyond the download itself; default 64 MiB. */
  quotaMarginBytes?: number;
  /** Minimum time between two `progress` events of a file; default 100 ms (0 = every read). */
  progressIntervalMs?: number;
  /** Clock in ms (performance.now by default); for tests. */
  now?: () => number;
}

export interface DownloadedFile {
  path: string;
  size: number;
  /** Already stored before this call. */
  cached: boolean;
  /** Set when verified against the catalog. */
  sha256?: string;
}

export interface DownloadResult {
  modelId: string;
  files: DownloadedFile[];
  /** Optional files the server does not have (404). */
  skipped: string[];
  /** Bytes that came over the network in this call. */
  bytesFetched: number;
  /** persist() result: true when the browser granted persistent storage, null when unavailable. */
  persisted: boolean | null;
}

/**
 * Download every file of `entry` into `opts.store` (skipping what is already stored), with progress, resume,
 * retries and integrity checks. Resolves when all files are stored and verified; a model already complete in the
 * store resolves without any network request, emitting one `cached` event per file.
 *
 * @throws DownloadError with reason not-found (404, or a web page instead of the file) | http | network | truncated |
 *   size-mismatch | integrity | quota (before the start, or when the store fills up mid-download) | storage
 * @throws DOMException named AbortError when `opts.signal` aborts (a normal outcome, not a failure)
 */
export async function downloadModel(entry: CatalogEntry, opts: DownloadOptions): Promise<DownloadResult> {
  const { store, signal } = opts;
  const fetchImpl = opts.fetchImpl ?? globalThis.fetch.bind(globalThis);
  const now = opts.now ?? (() => performance.now());
  const ctx: Ctx = {
    entry,
    store,
    fetch: fetchImpl,
    chunkSize: opts.chunkSize ?? DEFAULT_CHUNK_SIZE,
    maxRetries: opts.maxRetries ?? 4,
    backoffMs: opts.backoffMs ?? 500,
    maxBackoffMs: opts.maxBackoffMs ?? 30_000,
    now,
    meter: new RateMeter(now),
    stallTimeoutMs: opts.stallTimeoutMs ?? 30_000,
  };
  if (!(ctx.chunkSize >= 1)) throw new RangeError(`chunkSize must be >= 1, received ${ctx.chunkSize}`);
  const interval = opts.progressIntervalMs ?? 100;
  const internal = new AbortController();
  const onOuterAbort = () => internal.abort(abortErrorFor(signal));
  if (signal?.aborted) throw abortErrorFor(signal);
  signal?.addEventListener('abort', onOuterAbort, { once: true });
  const sig = internal.signal;

  try {
    // 1. Plan: which files are stored, and the size of every other one (so the total is fixed from the start).
    const jobs: Job[] = [];
    const skipped: string[] = [];
    for (const file of layoutFilesFor(entry)) {
      const url = resolveLayoutFileUrl(entry, file, { hubBase: opts.hubBase, appBase: opts.appBase });
      const m = await store.readManifest(entry.id, file.path);
      const cachedOk =
        m?.complete === true && (file.size === null || m.size === file.size) && (!file.sha256 || m.sha256 === file.sha256);
      if (cachedOk) {
        jobs.push({ file, url, size: m!.size, etag: m!.etag, cached: true, resumed: m!.size });
        continue;
      }
      let size = file.size;
      let etag: string | null = null;
      if (size === null || file.optional) {
        const p = await probe(ctx, file, url, sig);
        if (p === 'absent') {
          skipped.push(file.path);
          continue;
        }
        if (size !== null && p.size !== size) {
          throw new DownloadError(
            'size-mismatch',
            `Wrong size for ${file.path}: the server reports ${p.size} bytes, the catalog expects ${size} (${url})`,
            { file: file.path, url, expected: size, received: p.size },
          );
        }
        size = p.size;
        etag = p.etag;
      }
      const reusable = m && !manifestMismatch(m, { size, chunkSize: ctx.chunkSize, etag, sha256: file.sha256 ?? null });
      jobs.push({ file, url, size, etag, cached: false, resumed: reusable ? bytesDone(m!) : 0 });
    }

    const total = jobs.reduce((s, j) => s + j.size, 0);
    const loadedOf = new Map<string, number>(jobs.map((j) => [j.file.path, j.resumed]));
    let filesDone = jobs.filter((j) => j.cached).length;
    const overallLoaded = () => [...loadedOf.values()].reduce((a, b) => a + b, 0);
    const emit = (status: DownloadStatus, job: Job) => {
      if (!opts.onProgress) return;
      const loaded = loadedOf.get(job.file.path)!;
      const rate = status === 'cached' ? 0 : ctx.meter.rate();
      opts.onProgress({
        status,
        modelId: entry.id,
        file: job.file.path,
        ...numbers(loaded, job.size, rate),
        overall: { ...numbers(overallLoaded(), total, ctx.meter.rate()), filesDone, filesTotal: jobs.length },
      });
    };

    // 2. Storage: ask for persistence (best effort), then check the quota for what is left to fetch.
    const pending = jobs.filter((j) => !j.cached);
    let persisted: boolean | null = null;
    if (pending.length > 0) {
      const storage = opts.storage === undefined ? (globalThis as { navigator?: { storage?: StorageManagerLike } }).navigator?.storage : opts.storage;
      try {
        persisted = storage?.persist ? await storage.persist() : null;
      } catch {
        persisted = null;
      }
      const needed = pending.reduce((s, j) => s + j.size - j.resumed, 0);
      const est = await store.estimate();
      const free = est.quota - est.usage;
      const margin = opts.quotaMarginBytes ?? 64 * 1024 * 1024;
      if (est.quota > 0 && needed + margin > free) {
        throw new DownloadError(
          'quota',
          `Not enough storage for ${entry.name}: it needs ${formatBytes(needed)} more, but only ${formatBytes(Math.max(0, free))} of the ` +
            `${formatBytes(est.quota)} quota is free. Delete cached models in the storage panel or free disk space, then retry`,
          { expected: needed, received: Math.max(0, free) },
        );
      }
      await store.writeModelInfo({
        id: entry.id, complete: false, files: jobs.map((j) => j.file.path), totalBytes: total, updatedAt: Date.now(),
      });
    }

    // 3. Files, one at a time (the store and the network are the bottleneck, not latency).
    for (const j of jobs) if (j.cached) emit('cached', j);
    const results: DownloadedFile[] = [];
    let fetched = 0;
    for (const job of jobs) {
      if (job.cached) {
        results.push({ path: job.file.path, size: job.size, cached: true, ...(job.file.sha256 ? { sha256: job.file.sha256 } : {}) });
        continue;
      }
      throwIfAborted(sig);
      emit('initiate', job);
      let lastEmit = -Infinity;
      const startLoaded = loadedOf.get(job.file.path)!;
      const digest = await sharedTransfer(ctx, job, sig, (loaded) => {
        if (loaded <= loadedOf.get(job.file.path)!) return;
        loadedOf.set(job.file.path, Math.min(loaded, job.size));
        const t = now();
        if (t - lastEmit >= interval && loaded < job.size) {
          lastEmit = t;
          emit('progress', job);
        }
      });
      loadedOf.set(job.file.path, job.size);
      fetched += job.size - startLoaded;
      filesDone++;
      emit('done', job);
      results.push({ path: job.file.path, size: job.size, cached: false, ...(digest ? { sha256: digest } : {}) });
    }

    if (pending.length > 0 || !(await store.readModelInfo(entry.id))?.complete) {
      await store.writeModelInfo({
        id: entry.id, complete: true, files: jobs.map((j) => j.file.path), totalBytes: total, updatedAt: Date.now(),
      });
    }
    return { modelId: entry.id, files: results, skipped, bytesFetched: fetched, persisted };
  } catch (err) {
    if (sig.aborted) throw abortErrorFor(sig);
    throw err;
  } finally {
    signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** Whether every required file of `entry` is stored (no network). */
export async function isModelStored(entry: CatalogEntry, store: ModelStore): Promise<boolean> {
  for (const f of layoutFilesFor(entry)) {
    if (f.optional) continue;
    if (!(await store.hasFile(entry.id, f.path))) return false;
  }
  return true;
}
