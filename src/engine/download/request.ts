/**
 * The HTTP side of a download: what one download shares with its transfers ({@link Ctx}, {@link Job}), retries with
 * exponential backoff, status codes turned into {@link DownloadError}s, the size probe (HEAD, then a 1-byte Range
 * GET) and reading a body into exactly the expected number of bytes.
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

export async function doFetch(ctx: Ctx, url: string, file: string, init: RequestInit, signal: AbortSignal): Promise<Response> {
  try {
    return await ctx.fetch(url, { ...init, signal });
  } catch (err) {
    if (signal.aborted || isAbortError(err)) throw signal.aborted ? abortErrorFor(signal) : err;
    throw new Transient(
      new DownloadError('network', `Network error fetching ${file} from ${url}: ${(err as Error)?.message ?? String(err)}`, { file, url }, { cause: err }),
    );
  }
}

export function discard(res: Response): void {
  res.body?.cancel().catch(() => {});
}

function etagOf(res: Response): string | null {
  // Hugging Face puts the LFS object's hash in X-Linked-Etag on the (redirecting) resolve response.
  return res.headers.get('x-linked-etag') ?? res.headers.get('etag');
}

/** Size (and validator) of a file without downloading it: HEAD, then a 1-byte Range GET if HEAD has no length. */
export async function probe(ctx: Ctx, file: LayoutFile, url: string, signal: AbortSignal): Promise<{ size: number; etag: string | null } | 'absent'> {
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
export async function readExactly(
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

