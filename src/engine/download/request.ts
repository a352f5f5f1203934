/**
 * The HTTP side of a download: what one download shares with its transfers ({@link Ctx}, {@link Job}), retries with
 * exponential backoff, a stall watchdog per request, status codes and web pages turned into {@link DownloadError}s,
 * the size probe (HEAD, then a 1-byte Range GET, then a plain GET's Content-Length, then the catalog's size) and
 * reading a body into exactly the expected number of bytes.
 *
 * What a page's fetch shows of Hugging Face (see e2e/hub/server.mjs, which reproduces it): `resolve` URLs answer
 * LFS files with a 302 to a CDN on another host, and fetch follows it, so every header read here is the CDN's.
 * Only the CORS-safelisted headers (Content-Length, Content-Type, ...) and those the CDN lists in
 * Access-Control-Expose-Headers are readable: Content-Range and ETag may be null even when the server sent them.
 */
import type { CatalogEntry } from '../catalog/schema';
import type { LayoutFile } from '../catalog/files';
import { DownloadError } from '../errors';
import { abortErrorFor, isAbortError } from './abort';
import { parseContentRange } from './chunks';
import type { RateMeter } from './progress';
import type { ModelStore } from './store';

/** What one downloadModel call shares with the transfers it starts. */
export interface Ctx {
  entry: CatalogEntry;
  store: ModelStore;
  fetch: typeof fetch;
  chunkSize: number;
  maxRetries: number;
  backoffMs: number;
  maxBackoffMs: number;
  now: () => number;
  meter: RateMeter;
  /** A request with no response, or a body with no new byte, for this long (ms) is dropped and retried. */
  stallTimeoutMs: number;
}

/** One file to fetch, with its size fixed before anything starts. */
export interface Job {
  file: LayoutFile;
  url: string;
  size: number;
  etag: string | null;
  cached: boolean;
  /** Bytes already stored before this call (resume). */
  resumed: number;
}


/** A failure worth another attempt; `final` is what gets thrown once retries run out. */
export class Transient extends Error {
  constructor(
    readonly final: DownloadError,
    readonly retryAfterMs?: number,
  ) {
    super(final.message);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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

/**
 * The stall watchdog of one request: `signal` aborts when the outer signal does, or when {@link kick} has not been
 * called for `ms` (no response yet, or no new body bytes). `stalled` tells the two apart. Call {@link dispose} when
 * the request is done; it stops the timer without aborting the request.
 */
export class Watchdog {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onOuterAbort: () => void;
  stalled = false;

  constructor(
    /** Allowed silence in ms; 0 or Infinity disables the timer. */
    readonly ms: number,
    private readonly outer: AbortSignal,
  ) {
    this.onOuterAbort = () => this.controller.abort(abortErrorFor(outer));
    if (outer.aborted) this.onOuterAbort();
    else outer.addEventListener('abort', this.onOuterAbort, { once: true });
    this.kick();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Progress was made: restart the countdown. */
  kick(): void {
    clearTimeout(this.timer);
    if (!(this.ms > 0 && Number.isFinite(this.ms))) return;
    this.timer = setTimeout(() => {
      this.stalled = true;
      this.controller.abort(new DOMException(`No data for ${this.ms} ms`, 'TimeoutError'));
    }, this.ms);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.outer.removeEventListener('abort', this.onOuterAbort);
  }
}

export async function withRetries<T>(ctx: Ctx, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (signal.aborted) throw abortErrorFor(signal);
      if (isAbortError(err)) throw err;
      if (!(err instanceof Transient)) throw err;
      if (attempt >= ctx.maxRetries) {
        const f = err.final;
        throw new DownloadError(f.reason, `${f.message}; gave up after ${attempt + 1} attempts`, f.details, { cause: f.cause });
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
export function statusError(res: Response, file: string, url: string): Error {
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

/**
 * Send one request under a {@link Watchdog} (which the caller disposes after reading the body). A rejected fetch is
 * a transient `network` failure; in a browser that is also what a CORS refusal or a Content-Security-Policy block
 * looks like (fetch gives no detail), so there the message says so.
 */
export async function openRequest(
  ctx: Ctx,
  url: string,
  file: string,
  init: RequestInit,
  signal: AbortSignal,
): Promise<{ res: Response; watchdog: Watchdog }> {
  const watchdog = new Watchdog(ctx.stallTimeoutMs, signal);
  try {
    const res = await ctx.fetch(url, { ...init, signal: watchdog.signal });
    watchdog.kick();
    return { res, watchdog };
  } catch (err) {
    watchdog.dispose();
    if (signal.aborted) throw abortErrorFor(signal);
    if (watchdog.stalled) {
      throw new Transient(
        new DownloadError('network', `No response for ${file} from ${url} within ${ctx.stallTimeoutMs / 1000} s (the connection stalled)`, { file, url }),
      );
    }
    if (isAbortError(err)) throw err;
    const why = (err as Error)?.message ?? String(err);
    // A page or worker has `location`; Node (the CLI, tests) has not, and there a TypeError is only a network failure.
    const inBrowser = typeof (globalThis as { location?: unknown }).location !== 'undefined';
    const hint =
      err instanceof TypeError && inBrowser
        ? ' (the connection failed, or the browser blocked the answer: the server, or the host it redirects to, may not allow this page to read it (CORS) or may not be allowed by the page\'s Content-Security-Policy)'
        : '';
    throw new Transient(new DownloadError('network', `Network error fetching ${file} from ${url}: ${why}${hint}`, { file, url }, { cause: err }));
  }
}

/** {@link openRequest} for requests whose body is not read (HEAD, probes): the watchdog only covers the headers. */
export async function doFetch(ctx: Ctx, url: string, file: string, init: RequestInit, signal: AbortSignal): Promise<Response> {
  const { res, watchdog } = await openRequest(ctx, url, file, init, signal);
  watchdog.dispose();
  return res;
}

export function discard(res: Response): void {
  res.body?.cancel().catch(() => {});
}

/**
 * The validator of a response's bytes: its ETag, weak prefix dropped (a HEAD and a GET of the same object may differ
 * only in that), else Hugging Face's X-Linked-Etag (only visible outside browsers, on the unfollowed 302). Null when
 * neither is readable (a CDN that does not expose ETag to pages).
 */
export function validatorOf(res: Response): string | null {
  const v = res.headers.get('etag') ?? res.headers.get('x-linked-etag');
  return v ? v.replace(/^W\//, '') : null;
}

/** True when the server answered with a web page (an error, login or single-page-app fallback) instead of a file. */
export function isHtml(res: Response): boolean {
  return /^\s*text\/html\b/i.test(res.headers.get('content-type') ?? '');
}

/** The error for {@link isHtml} responses, naming the file, the URL it was asked at and where the page came from. */
export function htmlError(res: Response, file: string, url: string): DownloadError {
  const from = res.redirected && res.url && res.url !== url ? ` (redirected to ${res.url})` : '';
  return new DownloadError(
    'not-found',
    `The server answered with a web page (text/html) instead of ${file} at ${url}${from}: the file is not at that address, ` +
      'or an error or sign-in page answered. Check the repo, revision and file name in the catalog (or the custom URL), ' +
      'and open the address in a browser tab to see the page',
    { file, url, status: res.status },
  );
}

/**
 * The size a response gives for its body or file, in bytes: X-Linked-Size (Hugging Face, outside browsers), else
 * Content-Length; digits only, and not a compressed length (Content-Encoding other than identity). Null otherwise.
 */
export function lengthOf(res: Response): number | null {
  const linked = res.headers.get('x-linked-size');
  if (linked !== null && /^\d+$/.test(linked)) return Number(linked);
  const enc = res.headers.get('content-encoding');
  if (enc !== null && enc.toLowerCase() !== 'identity') return null;
  const len = res.headers.get('content-length');
  return len !== null && /^\d+$/.test(len) ? Number(len) : null;
}

const missing = (status: number) => status === 404 || status === 410;

/**
 * Size (and validator) of a file without downloading it, in order of preference:
 * 1. HEAD's Content-Length (or X-Linked-Size);
 * 2. HEAD answered 200 but gave no length, and the catalog knows the size: the catalog's size;
 * 3. a 1-byte Range GET: the total of its Content-Range (a 200 instead: its Content-Length);
 * 4. the Content-Range is not readable (a CDN that does not expose it to pages): a plain GET's Content-Length, read
 *    from the headers before the body is cancelled;
 * 5. the catalog's size, else a `http` error asking for `size` in the catalog.
 * 'absent' when an optional file answers 404/410 or a web page.
 *
 * @throws DownloadError not-found (required file missing, or a web page instead of it) | http | network
 */
export async function probe(ctx: Ctx, file: LayoutFile, url: string, signal: AbortSignal): Promise<{ size: number; etag: string | null } | 'absent'> {
  const refuse = (res: Response): Error | 'absent' => {
    if (missing(res.status) && file.optional) return 'absent';
    return statusError(res, file.path, url);
  };
  const page = (res: Response): DownloadError | 'absent' => (file.optional ? 'absent' : htmlError(res, file.path, url));
  return withRetries(ctx, signal, async () => {
    const head = await doFetch(ctx, url, file.path, { method: 'HEAD' }, signal);
    if (missing(head.status) || head.status >= 500 || head.status === 429 || head.status === 408) {
      const r = refuse(head);
      if (r === 'absent') return r;
      throw r;
    }
    if (head.ok && isHtml(head)) {
      const r = page(head);
      if (r === 'absent') return r;
      throw r;
    }
    let etag = head.ok ? validatorOf(head) : null;
    const headLen = head.ok ? lengthOf(head) : null;
    if (headLen !== null) return { size: headLen, etag };
    if (head.ok && file.size !== null) return { size: file.size, etag };

    // HEAD refused (405, 403 from some CDNs) or without a length: ask for the first byte.
    const res = await doFetch(ctx, url, file.path, { headers: { Range: 'bytes=0-0' } }, signal);
    discard(res);
    if (!res.ok) {
      const r = refuse(res);
      if (r === 'absent') return r;
      throw r;
    }
    if (isHtml(res)) {
      const r = page(res);
      if (r === 'absent') return r;
      throw r;
    }
    etag = validatorOf(res) ?? etag;
    const total = res.status === 206 ? (parseContentRange(res.headers.get('content-range'))?.total ?? null) : lengthOf(res);
    if (total !== null) return { size: total, etag };
    if (file.size !== null) return { size: file.size, etag };

    // A 206 whose Content-Range the page may not read: the length of the whole body, without reading it.
    const full = await doFetch(ctx, url, file.path, {}, signal);
    discard(full);
    if (!full.ok) throw statusError(full, file.path, url);
    if (isHtml(full)) throw htmlError(full, file.path, url);
    const n = full.status === 200 ? lengthOf(full) : null;
    if (n !== null) return { size: n, etag: validatorOf(full) ?? etag };
    throw new DownloadError(
      'http',
      `The server did not report the size of ${file.path} at ${url} (no Content-Length on HEAD or GET, and no readable Content-Range); add "size" to the catalog entry`,
      { file: file.path, url },
    );
  });
}

/**
 * `reader.read()` that also settles when `signal` aborts (rejecting with its reason). Aborting a fetch should error
 * its body, but Node's fetch (undici) can leave a pending read unsettled when the abort comes just as the last bytes
 * of the body arrive; a transfer waiting on it would never end, and neither would a later download of the same file.
 */
export function readOrAbort<T>(reader: ReadableStreamDefaultReader<T>, signal: AbortSignal | undefined): Promise<ReadableStreamReadResult<T>> {
  if (!signal) return reader.read();
  if (signal.aborted) return Promise.reject(signal.reason ?? abortErrorFor(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? abortErrorFor(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    reader
      .read()
      .then(resolve, reject)
      .finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Read a body into exactly `expected` bytes. A short body, a dropped connection or a stalled one (no byte for
 * `ctx.stallTimeoutMs`, through `watchdog`) is a transient failure, retried by the caller; a longer one is a final
 * `size-mismatch`.
 */
export async function readExactly(
  res: Response,
  expected: number,
  where: { file: string; url: string; range: string },
  onBytes: (n: number) => void,
  signal: AbortSignal,
  watchdog?: Watchdog,
): Promise<Uint8Array> {
  const out = new Uint8Array(expected);
  let got = 0;
  const tooLong = () =>
    new DownloadError('size-mismatch', `Wrong size for ${where.file}: the server sent more than the ${expected} bytes expected for ${where.range} at ${where.url}`, {
      file: where.file, url: where.url, expected,
    });
  const truncated = (cause?: unknown) =>
    new Transient(
      watchdog?.stalled
        ? new DownloadError(
          'network',
          `Download of ${where.file} stalled: no data for ${watchdog.ms / 1000} s after ${got} of ${expected} bytes (${where.range}) from ${where.url}`,
          { file: where.file, url: where.url, expected, received: got },
          { cause },
        )
        : new DownloadError(
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
        r = await readOrAbort(reader, watchdog?.signal ?? signal);
      } catch (err) {
        if (signal.aborted) throw abortErrorFor(signal);
        throw truncated(err);
      }
      if (r.done) break;
      watchdog?.kick();
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
