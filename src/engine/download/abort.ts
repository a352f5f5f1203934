/**
 * Cancellation of downloads. It is not an error class: it surfaces as a DOMException named `AbortError` (the same
 * thing `fetch` throws), which callers treat as a normal outcome. Download failures are `DownloadError`s (errors.ts).
 */

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
