/**
 * One file's transfer into the store: the missing chunks by Range request (or the whole body when the server ignores
 * Range), each stored with its bookkeeping so an interruption resumes at the first missing chunk; then the sha256
 * check and finalize. Concurrent downloads of the same file into the same store share one transfer (in-flight map,
 * as transformers.js does in utils/hub.js); each caller gets its own progress, and the transfer stops only when
 * every caller has cancelled. A cancelled transfer leaves the map at once and settles at its next step (body reads
 * race the abort, see readOrAbort); a later call starts a fresh transfer that resumes from the stored chunks.
 *
 * What a 206 must show: the bytes asked for. Its Content-Range is checked when the page can read it; a CDN that
 * does not expose it to pages (CORS) leaves it null, and the body is then accepted when its length is exactly the
 * span asked for. The last chunk is asked for open-ended (`bytes=N-`), so a server copy longer or shorter than the
 * expected size shows in that body's length even when no header gives the total. Every response's validator (ETag)
 * is compared with the one the stored chunks came with: a different one means the file changed on the server, and
 * the file starts over from its first chunk.
 */
import { DownloadError } from '../errors';
import { abortErrorFor, isAbortError, throwIfAborted } from './abort';
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
import {
  discard,
  htmlError,
  isHtml,
  lengthOf,
  openRequest,
  readExactly,
  readOrAbort,
  sleep,
  statusError,
  Transient,
  validatorOf,
  withRetries,
  type Ctx,
  type Job,
  type Watchdog,
} from './request';
import { Sha256, sha256Hex, SUBTLE_MAX_BYTES } from './sha256';
import type { ModelStore } from './store';

/** How many times one transfer starts a file over because its ETag changed, before giving up. */
export const MAX_CHANGE_RESTARTS = 2;

/**
 * A store write (chunk or manifest), with its failure turned into a DownloadError naming the file: `quota` for a
 * full origin (QuotaExceededError), `storage` otherwise. Chunks stored before stay, so a retry resumes.
 */
async function storeWrite(what: string, path: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (isAbortError(err)) throw err;
    const e = err as { name?: string; message?: string };
    const full = e?.name === 'QuotaExceededError' || /quota/i.test(e?.message ?? '');
    throw new DownloadError(
      full ? 'quota' : 'storage',
      full
        ? `Storage is full: could not save ${what} of ${path}. What was downloaded so far is kept; delete cached models in the storage panel or free disk space, then retry to resume`
        : `Could not save ${what} of ${path} in the download cache: ${e?.message ?? String(err)}. What was downloaded so far is kept; retry to resume`,
      { file: path },
      { cause: err },
    );
  }
}

/** What one Range request gave: a chunk's bytes, the whole file (200), or news that the file changed. */
type Outcome =
  | { data: Uint8Array }
  | { whole: Response; watchdog: Watchdog }
  | { changed: string; total: number | null };

/**
 * Download the missing chunks of one file into the store, verify it and finalize it. `report(n)` receives the
 * number of stored-or-received bytes of this file (may repeat a value; callers keep the maximum).
 *
 * Once `signal` aborts, the transfer ends at its next step with the AbortError; a chunk it has received whole is
 * still saved (the chunk, then its record), so nothing downloaded is lost, unless `superseded()` says that a newer
 * transfer of the file has started meanwhile: then it writes nothing more.
 */
async function transferFile(
  ctx: Ctx,
  job: Job,
  signal: AbortSignal,
  report: (loaded: number) => void,
  superseded: () => boolean = () => false,
): Promise<string | undefined> {
  const { store, entry } = ctx;
  const id = entry.id;
  const path = job.file.path;
  throwIfAborted(signal);
  const expect = { size: job.size, chunkSize: ctx.chunkSize, etag: job.etag, sha256: job.file.sha256 ?? null };

  let found = await store.readManifest(id, path);
  if (found && manifestMismatch(found, expect)) {
    await store.deleteFile(id, path);
    found = null;
  }
  let m: FileManifest = found ?? createManifest({ url: job.url, ...expect });
  if (!found) await storeWrite('the download record', path, () => store.writeManifest(id, path, m));
  let stored = bytesDone(m);
  report(stored);

  const rangeOf = (s: ChunkSpan) => `bytes ${s.start}-${s.end}`;
  let queue = missingChunks(m);
  let wholeAttempts = 0;
  let restarts = 0;
  while (queue.length > 0) {
    const span = queue[0];
    const lastChunk = span.end === job.size - 1;
    const etagBefore = m.etag;
    const outcome: Outcome = await withRetries(ctx, signal, async (): Promise<Outcome> => {
      throwIfAborted(signal);
      const range = lastChunk ? `bytes=${span.start}-` : `bytes=${span.start}-${span.end}`;
      const { res, watchdog } = await openRequest(ctx, job.url, path, { headers: { Range: range } }, signal);
      let keep = false;
      try {
        if (res.status !== 200 && res.status !== 206) {
          discard(res);
          throw statusError(res, path, job.url);
        }
        if (isHtml(res)) {
          discard(res);
          throw htmlError(res, path, job.url);
        }
        const cr = parseContentRange(res.headers.get('content-range'));
        const v = validatorOf(res);
        if (v && etagBefore && v !== etagBefore) {
          discard(res);
          return { changed: v, total: res.status === 206 ? (cr?.total ?? null) : lengthOf(res) };
        }
        if (res.status === 200) {
          keep = true;
          return { whole: res, watchdog };
        }
        if (cr && cr.total !== null && cr.total !== job.size) {
          discard(res);
          throw new DownloadError(
            'size-mismatch',
            `Wrong size for ${path}: the server reports ${cr.total} bytes, expected ${job.size} (${job.url}); the catalog or the server copy is out of date`,
            { file: path, url: job.url, expected: job.size, received: cr.total },
          );
        }
        if (cr && (cr.start !== span.start || cr.end !== span.end)) {
          discard(res);
          throw new DownloadError('http', `Unexpected Content-Range "${res.headers.get('content-range')}" for ${path}, asked for ${rangeOf(span)} at ${job.url}`, {
            file: path, url: job.url,
          });
        }
        // Without a readable Content-Range (absent, or not exposed to the page through CORS) the length decides:
        // Content-Length is always readable, and readExactly takes exactly the span's bytes.
        const len = res.headers.get('content-length');
        if (len !== null && Number(len) !== span.length && lastChunk && !cr) {
          discard(res);
          throw new DownloadError(
            'size-mismatch',
            `Wrong size for ${path}: the server's copy ends at byte ${span.start + Number(len)}, expected ${job.size} (${job.url}); the catalog or the server copy is out of date`,
            { file: path, url: job.url, expected: job.size, received: span.start + Number(len) },
          );
        }
        if (len !== null && Number(len) !== span.length) {
          discard(res);
          throw new DownloadError(
            'size-mismatch',
            `Wrong Content-Length for ${path}: ${len} bytes for ${rangeOf(span)}, expected ${span.length} (${job.url})` +
              (cr ? '' : '; the server did not say which bytes it sent (no readable Content-Range), so the body must be exactly the range asked for'),
            { file: path, url: job.url, expected: span.length, received: Number(len) },
          );
        }
        let got = 0;
        const data = await readExactly(res, span.length, { file: path, url: job.url, range: rangeOf(span) }, (n) => {
          got += n;
          ctx.meter.add(n);
          report(stored + got);
        }, signal, watchdog);
        if (v && !etagBefore) m = { ...m, etag: v }; // first validator seen: later chunks must match it
        return { data };
      } finally {
        if (!keep) watchdog.dispose();
      }
    });

    // Cancelled as the request ended: only a chunk received whole is still saved (below).
    if (signal.aborted && !('data' in outcome)) {
      if ('whole' in outcome) {
        discard(outcome.whole);
        outcome.watchdog.dispose();
      }
      throw abortErrorFor(signal);
    }

    if ('changed' in outcome) {
      // The file changed on the server between two requests: the stored chunks belong to the old version.
      restarts++;
      await store.deleteFile(id, path);
      if (outcome.total !== null && outcome.total !== job.size) {
        throw new DownloadError(
          'size-mismatch',
          `${path} changed on the server during the download (ETag ${etagBefore} -> ${outcome.changed}) and is now ${outcome.total} bytes, ` +
            `not ${job.size} (${job.url}). The partial copy was deleted; download again to fetch the new version (for a catalog model, its size in the catalog may need updating)`,
          { file: path, url: job.url, expected: job.size, received: outcome.total },
        );
      }
      if (restarts > MAX_CHANGE_RESTARTS) {
        throw new DownloadError(
          'http',
          `${path} keeps changing on the server (ETag changed ${restarts} times during the download, last ${outcome.changed}) at ${job.url}; try again later`,
          { file: path, url: job.url, expected: etagBefore ?? undefined, received: outcome.changed },
        );
      }
      m = createManifest({ url: job.url, ...expect, etag: outcome.changed });
      await storeWrite('the download record', path, () => store.writeManifest(id, path, m));
      stored = 0;
      queue = missingChunks(m);
      continue;
    }

    if ('data' in outcome) {
      if (superseded()) throw abortErrorFor(signal);
      await storeWrite(`chunk ${span.index}`, path, () => store.writeChunk(id, path, span.index, outcome.data));
      if (superseded()) throw abortErrorFor(signal);
      m = markChunkDone(m, span.index);
      await storeWrite('the download record', path, () => store.writeManifest(id, path, m));
      stored += span.length;
      queue = queue.slice(1);
      continue;
    }

    // The server ignored Range and sent the whole file (200): start the file over from this body, storing each
    // chunk as it fills. Progress keeps its high-water mark, so it pauses rather than going back.
    const { whole: res, watchdog } = outcome;
    try {
      const len = res.headers.get('content-length');
      if (len !== null && Number(len) !== job.size) {
        discard(res);
        throw new DownloadError('size-mismatch', `Wrong size for ${path}: the server reports ${len} bytes, expected ${job.size} (${job.url})`, {
          file: path, url: job.url, expected: job.size, received: Number(len),
        });
      }
      await store.deleteFile(id, path);
      m = createManifest({ url: job.url, ...expect, etag: validatorOf(res) ?? m.etag });
      await storeWrite('the download record', path, () => store.writeManifest(id, path, m));
      stored = 0;
      wholeAttempts++;
      try {
        await streamWholeFile(ctx, job, res, signal, watchdog, async (index, data) => {
          if (superseded()) throw abortErrorFor(signal);
          await storeWrite(`chunk ${index}`, path, () => store.writeChunk(id, path, index, data));
          if (superseded()) throw abortErrorFor(signal);
          m = markChunkDone(m, index);
          await storeWrite('the download record', path, () => store.writeManifest(id, path, m));
          stored = bytesDone(m);
        }, (n) => report(stored + n));
      } catch (err) {
        // Chunks stored so far stay; the next attempt (or a later call) asks for a Range again.
        if (err instanceof Transient) {
          if (wholeAttempts > ctx.maxRetries) {
            const f = err.final;
            throw new DownloadError(f.reason, `${f.message} (server ignores Range requests); gave up after ${wholeAttempts} attempts`, f.details, { cause: f.cause });
          }
          await sleep(Math.min(ctx.maxBackoffMs, ctx.backoffMs * 2 ** (wholeAttempts - 1)), signal);
          queue = missingChunks(m);
          continue;
        }
        throw err;
      }
    } finally {
      watchdog.dispose();
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
  await storeWrite('the finished file', path, () => store.finalize(id, path, m));
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
  watchdog: Watchdog,
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
        r = await readOrAbort(reader, watchdog.signal);
      } catch (err) {
        if (signal.aborted) throw abortErrorFor(signal);
        throw new Transient(
          watchdog.stalled
            ? new DownloadError('network', `Download of ${path} stalled: no data for ${watchdog.ms / 1000} s after ${total} of ${job.size} bytes from ${job.url}`, {
              file: path, url: job.url, expected: job.size, received: total,
            }, { cause: err })
            : new DownloadError('truncated', `Truncated response for ${path}: received ${total} of ${job.size} bytes from ${job.url}`, {
              file: path, url: job.url, expected: job.size, received: total,
            }, { cause: err }),
        );
      }
      if (r.done) break;
      watchdog.kick();
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

interface InFlight {
  promise: Promise<string | undefined>;
  controller: AbortController;
  listeners: Set<(loaded: number) => void>;
  high: number;
  /** Cancelled, and a newer transfer of the same file has started: write nothing more. */
  superseded: boolean;
}

/** The transfers of one store, by model and file. */
interface Flights {
  /** Running transfers: a new caller of the same file joins one. A cancelled transfer leaves at once. */
  live: Map<string, InFlight>;
  /**
   * Cancelled transfers still winding down (saving a chunk they had received whole), until they settle: the next
   * transfer of the same file waits for that, at most {@link DRAIN_WAIT_MS}, so that two do not write the same file
   * at once. One still not settled by then is marked superseded and writes nothing more.
   */
  draining: Map<string, InFlight>;
}

/** The longest a new transfer waits for a cancelled one of the same file to wind down before it starts anyway. */
export const DRAIN_WAIT_MS = 10_000;

const flightsOf = new WeakMap<ModelStore, Flights>();

/** Resolves when `p` settles or after `ms`, whichever comes first. */
function settledOrAfter(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    const settle = () => {
      clearTimeout(timer);
      resolve();
    };
    p.then(settle, settle);
  });
}

/**
 * {@link transferFile}, shared by every concurrent caller of the same file in the same store: each gets its own
 * progress, and a caller that cancels (its `signal`) gets an AbortError at once while the others carry on. When the
 * last caller cancels, the transfer is cancelled and leaves the shared map at once: a later call of the same file
 * starts a fresh transfer (after the cancelled one has wound down, see {@link Flights.draining}), which resumes from
 * the chunks stored so far.
 */
export async function sharedTransfer(
  ctx: Ctx,
  job: Job,
  signal: AbortSignal | undefined,
  onLoaded: (loaded: number) => void,
): Promise<string | undefined> {
  let flights = flightsOf.get(ctx.store);
  if (!flights) {
    flights = { live: new Map(), draining: new Map() };
    flightsOf.set(ctx.store, flights);
  }
  const { live, draining } = flights;
  const key = `${ctx.entry.id}\u0000${job.file.path}`;
  let flight = live.get(key);
  if (!flight || flight.controller.signal.aborted) {
    const controller = new AbortController();
    const created: InFlight = { controller, listeners: new Set(), high: 0, superseded: false, promise: Promise.resolve(undefined) };
    const before = draining.get(key);
    // Even when all callers cancel during this wait, it is waited out: a later transfer then waits for this one.
    const start = before ? settledOrAfter(before.promise, DRAIN_WAIT_MS) : Promise.resolve();
    created.promise = start
      .then(() => {
        if (before) before.superseded = true;
        return transferFile(
          ctx,
          job,
          controller.signal,
          (loaded) => {
            if (loaded <= created.high) return;
            created.high = loaded;
            for (const l of created.listeners) l(loaded);
          },
          () => created.superseded,
        );
      })
      .finally(() => {
        if (live.get(key) === created) live.delete(key);
      });
    created.promise.catch(() => {}); // observed through the callers below
    live.set(key, created);
    flight = created;
  }
  const f = flight;
  const cancelTransfer = (reason: Error) => {
    f.controller.abort(reason);
    if (live.get(key) !== f) return;
    live.delete(key);
    draining.set(key, f);
    const gone = () => {
      if (draining.get(key) === f) draining.delete(key);
    };
    f.promise.then(gone, gone);
  };
  f.listeners.add(onLoaded);
  if (f.high > 0) onLoaded(f.high);
  return new Promise<string | undefined>((resolve, reject) => {
    const cleanup = () => {
      f.listeners.delete(onLoaded);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      cleanup();
      if (f.listeners.size === 0) cancelTransfer(abortErrorFor(signal));
      reject(abortErrorFor(signal));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    f.promise.then(
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
