/**
 * Download errors. Each has a string-literal `code` and a message naming the file, the URL and the fix, so the
 * worker can send `{code, name, message}` across the boundary and the client can rebuild it.
 *
 * NOTE: cancellation is not an error class here. It surfaces as a DOMException named `AbortError` (the same thing
 * `fetch` throws), which callers treat as a normal outcome; see {@link isAbortError}.
 */

export type DownloadErrorCode =
  | 'not-found' // 404/410: the file is not on the server (no retry)
  | 'http' // another non-retryable HTTP status (401, 403, 416, ...)
  | 'network' // network failure or 5xx/429 that outlasted every retry
  | 'truncated' // the body ended before the announced length
  | 'size-mismatch' // the server's size differs from the catalog, or a chunk has the wrong length
  | 'integrity' // sha256 mismatch
  | 'quota' // not enough storage for the download
  | 'storage'; // the store failed (OPFS/Cache Storage error)

export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  constructor(
    readonly code: DownloadErrorCode,
    message: string,
    readonly details: { file?: string; url?: string; status?: number; expected?: number | string; received?: number | string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True for the AbortError thrown on cancellation (ours or fetch's). */
export function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}

/** The error to throw when `signal` is aborted: its reason if that is an AbortError, else a fresh AbortError. */
export function abortErrorFor(signal?: AbortSignal): Error {
  const r = signal?.reason;
  if (isAbortError(r)) return r as Error;
  return new DOMException('Download cancelled', 'AbortError');
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortErrorFor(signal);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
