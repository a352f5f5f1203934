/**
 * Resumable, verified model downloads. Runs on the main thread or in a Web Worker (no DOM use).
 *
 * For each file of a catalog entry: known size (catalog, or HEAD before anything starts, so the total is fixed),
 * then Range requests in fixed chunks; every finished chunk is stored with its bookkeeping (see chunks.ts) so an
 * interruption or a reload continues from the first missing chunk. Network errors, 5xx, 408 and 429 are retried
 * with exponential backoff; 404 and other 4xx are not. A short body, a wrong length or a sha256 mismatch each end
 * with a specific {@link DownloadError}. Cancellation through `signal` ends with an `AbortError`, a normal outcome.
 *
 * Concurrent downloads of the same file into the same store share one transfer (in-flight map, as transformers.js
 * does in utils/hub.js); each caller gets its own progress events, and the transfer stops only when every caller
 * has cancelled.
 */

import {
  layoutFilesFor,
  resolveLayoutFileUrl,
  type CatalogEntry,
  type LayoutFile,
} from '../catalog';
import {
  allChunksDone,
  bytesDone,
  chunkSpan,
  createManifest,
  manifestMismatch,
  markChunkDone,
  missingChunks,
  parseContentRange,
  type ChunkSpan,
  type FileManifest,
} from './chunks';
import { abortErrorFor, DownloadError, formatBytes, isAbortError, throwIfAborted } from './errors';
import { numbers, RateMeter, type DownloadProgress, type DownloadStatus } from './progress';
import { Sha256, sha256Hex, SUBTLE_MAX_BYTES } from './sha256';
import type { ModelStore } from './store';

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

interface Ctx {
  entry: CatalogEntry;
  store: ModelStore;
  fetch: typeof fetch;
  chunkSize: number;
  maxRetries: number;
  backoffMs: number;
  maxBackoffMs: number;
  now: () => number;
  meter: RateMeter;
}

interface Job {
  file: LayoutFile;
  url: string;
  size: number;
  etag: string | null;
  cached: boolean;
  /** Bytes already stored before this call (resume). */
  resumed: number;
}

/** A failure worth another attempt; `final` is what gets thrown once retries run out. */
class Transient extends Error {
  constructor(
    readonly final: DownloadError,
    readonly retryAfterMs?: number,
  ) {
    super(final.message);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Retry and HTTP helpers
// ---------------------------------------------------------------------------------------------------------------

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortErrorFor(signal));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortErrorFor(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function withRetries<T>(ctx: Ctx, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (signal.aborted) throw abortErrorFor(signal);
      if (isAbortError(err)) throw err;
      if (!(err instanceof Transient)) throw err;
      if (attempt >= ctx.maxRetries) {
        const f = err.final;
        throw new DownloadError(f.code, `${f.message}; gave up after ${attempt + 1} attempts`, f.details, { cause: f.cause });
      }
      const backoff = Math.min(ctx.maxBackoffMs, ctx.backoffMs * 2 ** attempt);
      await sleep(Math.min(ctx.maxBackoffMs, Math.max(backoff, err.retryAfterMs ?? 0)), signal);
    }
  }
}

function retryAfterMs(res: Response): number | undefined {
  const v = res.headers.get('retry-after');
  if (!v) return undefined;
  const s = Number(v);
  if (Number.isFinite(s)) return s * 1000;
  const d = Date.parse(v);
  return Number.isFinite(d) ? Math.max(0, d - Date.now()) : undefined;
}

/** Turn a non-success status into the right error: 404 specific, 5xx/408/429 transient, the rest final. */
function statusError(res: Response, file: string, url: string): Error {
  const status = res.status;
  const details = { file, url, status };
  if (status === 404 || status === 410) {
    return new DownloadError('not-found', `${file} not found (HTTP ${status}) at ${url}; check the repo, revision and file name in the catalog`, details);
  }
  if (status >= 500 || status === 408 || status === 429) {
    return new Transient(new DownloadError('network', `Server error HTTP ${status} for ${file} at ${url}`, details), retryAfterMs(res));
  }
  const hint = status === 401 || status === 403 ? ' (the repo may be gated or private; only public repos are supported)' : '';
  return new DownloadError('http', `Server refused ${file}: HTTP ${status}${hint} at ${url}`, details);
}

async function doFetch(ctx: Ctx, url: string, file: string, init: RequestInit, signal: AbortSignal): Promise<Response> {
  try {
    return await ctx.fetch(url, { ...init, signal });
  } catch (err) {
    if (signal.aborted || isAbortError(err)) throw signal.aborted ? abortErrorFor(signal) : err;
    throw new Transient(
      new DownloadError('network', `Network error fetching ${file} from ${url}: ${(err as Error)?.message ?? String(err)}`, { file, url }, { cause: err }),
    );
  }
}

function discard(res: Response): void {
  res.body?.cancel().catch(() => {});
}

function etagOf(res: Response): string | null {
  // Hugging Face puts the LFS object's hash in X-Linked-Etag on the (redirecting) resolve response.
  return res.headers.get('x-linked-etag') ?? res.headers.get('etag');
}

/** Size (and validator) of a file without downloading it: HEAD, then a 1-byte Range GET if HEAD has no length. */
async function probe(ctx: Ctx, file: LayoutFile, url: string, signal: AbortSignal): Promise<{ size: number; etag: string | null } | 'absent'> {
  return withRetries(ctx, signal, async () => {
    const head = await doFetch(ctx, url, file.path, { method: 'HEAD' }, signal);
    if ((head.status === 404 || head.status === 410) && file.optional) return 'absent';
    if (head.status === 404 || head.status === 410 || head.status >= 500 || head.status === 429) throw statusError(head, file.path, url);
    const len = head.ok ? (head.headers.get('x-linked-size') ?? head.headers.get('content-length')) : null;
    if (len !== null && /^\d+$/.test(len)) return { size: Number(len), etag: etagOf(head) };
    // HEAD refused (405) or without a length: ask for the first byte and read the total from Content-Range.
    const res = await doFetch(ctx, url, file.path, { headers: { Range: 'bytes=0-0' } }, signal);
    discard(res);
    if ((res.status === 404 || res.status === 410) && file.optional) return 'absent';
    if (!res.ok) throw statusError(res, file.path, url);
    const total = res.status === 206 ? parseContentRange(res.headers.get('content-range'))?.total : Number(res.headers.get('content-length'));
    if (total == null || !Number.isFinite(total)) {
      throw new DownloadError('http', `The server did not report the size of ${file.path} (no Content-Length or Content-Range) at ${url}; add "size" to the catalog entry`, { file: file.path, url });
    }
    return { size: total, etag: etagOf(res) };
  });
}

/** Read a body into exactly `expected` bytes; a short body is a transient `truncated` failure. */
async function readExactly(
  res: Response,
  expected: number,
  where: { file: string; url: string; range: string },
  onBytes: (n: number) => void,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const out = new Uint8Array(expected);
  let got = 0;
  const tooLong = () =>
    new DownloadError('size-mismatch', `Wrong size for ${where.file}: the server sent more than the ${expected} bytes expected for ${where.range} at ${where.url}`, {
      file: where.file, url: where.url, expected,
    });
  const truncated = (cause?: unknown) =>
    new Transient(
      new DownloadError(
        'truncated',
        `Truncated response for ${where.file}: received ${got} of ${expected} bytes (${where.range}) from ${where.url}`,
        { file: where.file, url: where.url, expected, received: got },
        { cause },
      ),
    );
  if (!res.body) {
    const buf = new Uint8Array(await res.arrayBuffer());
    if (buf.length > expected) throw tooLong();
    got = buf.length;
    if (got < expected) throw truncated();
    onBytes(got);
    return buf;
  }
  const reader = res.body.getReader();
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (err) {
        if (signal.aborted) throw abortErrorFor(signal);
        throw truncated(err);
      }
      if (r.done) break;
      if (got + r.value.length > expected) throw tooLong();
      out.set(r.value, got);
      got += r.value.length;
      onBytes(r.value.length);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  if (got < expected) throw truncated();
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// One file
// ---------------------------------------------------------------------------------------------------------------

/**
 * Download the missing chunks of one file into the store, verify it and finalize it. `report(n)` receives the
 * number of stored-or-received bytes of this file (may repeat a value; callers keep the maximum).
 */
async function transferFile(ctx: Ctx, job: Job, signal: AbortSignal, report: (loaded: number) => void): Promise<string | undefined> {
  const { store, entry } = ctx;
  const id = entry.id;
  const path = job.file.path;
  const expect = { size: job.size, chunkSize: ctx.chunkSize, etag: job.etag, sha256: job.file.sha256 ?? null };

  let m = await store.readManifest(id, path);
  if (m && manifestMismatch(m, expect)) {
    await store.deleteFile(id, path);
    m = null;
  }
  if (!m) {
    m = createManifest({ url: job.url, ...expect });
    await store.writeManifest(id, path, m);
  }
  let stored = bytesDone(m);
  report(stored);

  const rangeOf = (s: ChunkSpan) => `bytes ${s.start}-${s.end}`;
  let queue = missingChunks(m);
  let wholeAttempts = 0;
  while (queue.length > 0) {
    const span = queue[0];
    const outcome = await withRetries(ctx, signal, async () => {
      throwIfAborted(signal);
      const res = await doFetch(ctx, job.url, path, { headers: { Range: `bytes=${span.start}-${span.end}` } }, signal);
      if (res.status === 200) return { whole: res };
      if (res.status !== 206) {
        discard(res);
        throw statusError(res, path, job.url);
      }
      const cr = parseContentRange(res.headers.get('content-range'));
      if (cr && cr.total !== null && cr.total !== job.size) {
        discard(res);
        throw new DownloadError(
          'size-mismatch',
          `Wrong size for ${path}: the server reports ${cr.total} bytes, expected ${job.size} (${job.url}); the catalog or the server copy is out of date`,
          { file: path, url: job.url, expected: job.size, received: cr.total },
        );
      }
      if (!cr || cr.start !== span.start || cr.end !== span.end) {
        discard(res);
        throw new DownloadError('http', `Unexpected Content-Range "${res.headers.get('content-range')}" for ${path}, asked for ${rangeOf(span)} at ${job.url}`, {
          file: path, url: job.url,
        });
      }
      const len = res.headers.get('content-length');
      if (len !== null && Number(len) !== span.length) {
        discard(res);
        throw new DownloadError(
          'size-mismatch',
          `Wrong Content-Length for ${path}: ${len} bytes for ${rangeOf(span)}, expected ${span.length} (${job.url})`,
          { file: path, url: job.url, expected: span.length, received: Number(len) },
        );
      }
      let got = 0;
      const data = await readExactly(res, span.length, { file: path, url: job.url, range: rangeOf(span) }, (n) => {
        got += n;
        ctx.meter.add(n);
        report(stored + got);
      }, signal);
      return { data };
    });

    if (outcome.data) {
      await store.writeChunk(id, path, span.index, outcome.data);
      m = markChunkDone(m, span.index);
      await store.writeManifest(id, path, m);
      stored += span.length;
      queue = queue.slice(1);
      continue;
    }

    // The server ignored Range and sent the whole file (200): start the file over from this body, storing each
    // chunk as it fills. Progress keeps its high-water mark, so it pauses rather than going back.
    const res = outcome.whole!;
    const len = res.headers.get('content-length');
    if (len !== null && Number(len) !== job.size) {
      discard(res);
      throw new DownloadError('size-mismatch', `Wrong size for ${path}: the server reports ${len} bytes, expected ${job.size} (${job.url})`, {
        file: path, url: job.url, expected: job.size, received: Number(len),
      });
    }
    await store.deleteFile(id, path);
    m = createManifest({ url: job.url, ...expect });
    await store.writeManifest(id, path, m);
    stored = 0;
    wholeAttempts++;
    try {
      await streamWholeFile(ctx, job, res, signal, async (index, data) => {
        await store.writeChunk(id, path, index, data);
        m = markChunkDone(m!, index);
        await store.writeManifest(id, path, m);
        stored = bytesDone(m);
      }, (n) => report(stored + n));
    } catch (err) {
      // Chunks stored so far stay; the next attempt (or a later call) asks for a Range again.
      if (err instanceof Transient) {
        if (wholeAttempts > ctx.maxRetries) {
          const f = err.final;
          throw new DownloadError(f.code, `${f.message} (server ignores Range requests); gave up after ${wholeAttempts} attempts`, f.details, { cause: f.cause });
        }
        await sleep(Math.min(ctx.maxBackoffMs, ctx.backoffMs * 2 ** (wholeAttempts - 1)), signal);
        queue = missingChunks(m);
        continue;
      }
      throw err;
    }
    queue = missingChunks(m);
  }

  if (!allChunksDone(m)) throw new DownloadError('storage', `Internal error: ${path} has missing chunks after download`, { file: path });

  let digest: string | undefined;
  if (job.file.sha256) {
    digest = await hashStoredChunks(store, m, id, path, signal);
    if (digest !== job.file.sha256) {
      await store.deleteFile(id, path);
      throw new DownloadError(
        'integrity',
        `Integrity check failed for ${path}: sha256 ${digest} does not match the catalog's ${job.file.sha256} (${job.url}); the stored copy was deleted, download again`,
        { file: path, url: job.url, expected: job.file.sha256, received: digest },
      );
    }
  }
  await store.finalize(id, path, m);
  return digest;
}

/**
 * SHA-256 of a file from its stored chunks: one crypto.subtle call for files up to SUBTLE_MAX_BYTES, the
 * incremental hash above that (no single multi-GB buffer).
 */
async function hashStoredChunks(store: ModelStore, m: FileManifest, id: string, path: string, signal: AbortSignal): Promise<string> {
  const n = m.size === 0 ? 0 : Math.ceil(m.size / m.chunkSize);
  const chunk = async (i: number) => {
    throwIfAborted(signal);
    const c = await store.readChunk(id, path, i);
    if (!c) throw new DownloadError('storage', `Chunk ${i} of ${path} vanished from storage before verification`, { file: path });
    return c;
  };
  if (m.size <= SUBTLE_MAX_BYTES) {
    const all = new Uint8Array(m.size);
    for (let i = 0; i < n; i++) all.set(await chunk(i), i * m.chunkSize);
    return sha256Hex(all);
  }
  const h = new Sha256();
  for (let i = 0; i < n; i++) h.update(await chunk(i));
  return h.hex();
}

async function streamWholeFile(
  ctx: Ctx,
  job: Job,
  res: Response,
  signal: AbortSignal,
  onChunk: (index: number, data: Uint8Array) => Promise<void>,
  onPartial: (bytesInCurrentChunk: number) => void,
): Promise<void> {
  const path = job.file.path;
  if (!res.body) throw new DownloadError('http', `Empty body for ${path} at ${job.url}`, { file: path, url: job.url });
  const reader = res.body.getReader();
  let index = 0;
  let span = job.size > 0 ? chunkSpan(job.size, ctx.chunkSize, 0) : null;
  let buf = new Uint8Array(span ? span.length : 0);
  let fill = 0;
  let total = 0;
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (err) {
        if (signal.aborted) throw abortErrorFor(signal);
        throw new Transient(
          new DownloadError('truncated', `Truncated response for ${path}: received ${total} of ${job.size} bytes from ${job.url}`, {
            file: path, url: job.url, expected: job.size, received: total,
          }, { cause: err }),
        );
      }
      if (r.done) break;
      let v = r.value;
      total += v.length;
      ctx.meter.add(v.length);
      while (v.length > 0) {
        if (!span) {
          throw new DownloadError('size-mismatch', `Wrong size for ${path}: the server sent more than ${job.size} bytes (${job.url})`, {
            file: path, url: job.url, expected: job.size,
          });
        }
        const take = Math.min(v.length, span.length - fill);
        buf.set(v.subarray(0, take), fill);
        fill += take;
        v = v.subarray(take);
        if (fill === span.length) {
          await onChunk(index, buf);
          index++;
          span = index < Math.ceil(job.size / ctx.chunkSize) ? chunkSpan(job.size, ctx.chunkSize, index) : null;
          buf = new Uint8Array(span ? span.length : 0);
          fill = 0;
        }
      }
      onPartial(fill);
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  if (total < job.size) {
    throw new Transient(
      new DownloadError('truncated', `Truncated response for ${path}: received ${total} of ${job.size} bytes from ${job.url}`, {
        file: path, url: job.url, expected: job.size, received: total,
      }),
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// In-flight sharing
// ---------------------------------------------------------------------------------------------------------------

interface InFlight {
  promise: Promise<string | undefined>;
  controller: AbortController;
  listeners: Set<(loaded: number) => void>;
  high: number;
}

const inFlight = new WeakMap<ModelStore, Map<string, InFlight>>();

async function sharedTransfer(
  ctx: Ctx,
  job: Job,
  signal: AbortSignal | undefined,
  onLoaded: (loaded: number) => void,
): Promise<string | undefined> {
  let map = inFlight.get(ctx.store);
  if (!map) {
    map = new Map();
    inFlight.set(ctx.store, map);
  }
  const key = `${ctx.entry.id}\u0000${job.file.path}`;
  let f = map.get(key);
  if (f && f.controller.signal.aborted) {
    // Every earlier caller cancelled; let that transfer wind down before starting a fresh one on the same chunks.
    await f.promise.catch(() => {});
    f = map.get(key);
  }
  if (!f) {
    const controller = new AbortController();
    const created: InFlight = { controller, listeners: new Set(), high: 0, promise: Promise.resolve(undefined) };
    created.promise = transferFile(ctx, job, controller.signal, (loaded) => {
      if (loaded <= created.high) return;
      created.high = loaded;
      for (const l of created.listeners) l(loaded);
    }).finally(() => {
      if (map!.get(key) === created) map!.delete(key);
    });
    created.promise.catch(() => {}); // observed through the waiters below
    map.set(key, created);
    f = created;
  }
  const flight = f;
  flight.listeners.add(onLoaded);
  if (flight.high > 0) onLoaded(flight.high);
  return new Promise<string | undefined>((resolve, reject) => {
    const cleanup = () => {
      flight.listeners.delete(onLoaded);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      cleanup();
      if (flight.listeners.size === 0) flight.controller.abort(abortErrorFor(signal));
      reject(abortErrorFor(signal));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    flight.promise.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (e) => {
        cleanup();
        reject(e);
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Public entry point
// ---------------------------------------------------------------------------------------------------------------

/**
 * Download every file of `entry` into `opts.store` (skipping what is already stored), with progress, resume,
 * retries and integrity checks. Resolves when all files are stored and verified; a model already complete in the
 * store resolves without any network request, emitting one `cached` event per file.
 *
 * @throws DownloadError with code not-found | http | network | truncated | size-mismatch | integrity | quota | storage
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
