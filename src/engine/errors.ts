/**
 * The engine's one error vocabulary. Every error has a string-literal `code` from {@link EngineErrorCode} and a
 * message that says what went wrong and how to fix it; subclasses (CancelledError, DownloadError, CatalogError,
 * CustomSourceError) add detail but never a code of their own. Across the worker boundary they travel as
 * {code, name, message, file?, reason?} and `errorFromWire` rebuilds the same class, so the UI sees what the engine
 * threw.
 */
export type EngineErrorCode =
  | 'MODEL_FILE_MISSING'
  | 'MODEL_FILE_CORRUPT'
  | 'MODEL_LAYOUT_INVALID'
  | 'SCHEDULER_UNSUPPORTED'
  | 'TENSOR_SHAPE_MISMATCH'
  | 'NON_FINITE_OUTPUT'
  | 'WEBGPU_UNAVAILABLE'
  | 'GPU_FEATURE_MISSING'
  | 'SESSION_CREATE_FAILED'
  | 'RUN_FAILED'
  | 'NO_MODEL_LOADED'
  | 'BAD_REQUEST'
  | 'NETWORK'
  /** The download cache (OPFS / Cache Storage) is full or failed. */
  | 'STORAGE'
  | 'CANCELLED'
  /** models/catalog.json does not match its schema (catalog/validate.ts). */
  | 'CATALOG_INVALID'
  /** A user-supplied model URL was rejected before anything was fetched (catalog/custom.ts). */
  | 'CUSTOM_SOURCE_INVALID'
  /** A LoRA file is not a readable safetensors LoRA (lora/safetensors.ts, lora/keys.ts): malformed, wrong dtype. */
  | 'LORA_INVALID'
  /** A LoRA does not fit the U-Net it is applied to (lora/merge.ts): shapes differ, no key matches. */
  | 'LORA_MISMATCH'
  | 'INTERNAL';

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  /** Model-relative path of the file the error is about, when there is one (e.g. "unet/model.onnx"). */
  readonly file: string | undefined;
  constructor(code: EngineErrorCode, message: string, file?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.code = code;
    this.file = file;
  }
}

/** A run was superseded or cancelled; a normal outcome, not a failure. */
export class CancelledError extends EngineError {
  constructor(message = 'Cancelled') {
    super('CANCELLED', message);
    this.name = 'CancelledError';
  }
}

/** What went wrong in a download, finer than its code (which several kinds share). */
export type DownloadFailure =
  | 'not-found' // 404/410: the file is not on the server (no retry)
  | 'http' // another non-retryable HTTP status (401, 403, 416, ...)
  | 'network' // network failure or 5xx/429 that outlasted every retry
  | 'truncated' // the body ended before the announced length
  | 'size-mismatch' // the server's size differs from the catalog, or a chunk has the wrong length
  | 'integrity' // sha256 mismatch
  | 'quota' // not enough storage for the download
  | 'storage'; // the store failed (OPFS/Cache Storage error)

const DOWNLOAD_CODE: Record<DownloadFailure, EngineErrorCode> = {
  'not-found': 'MODEL_FILE_MISSING',
  http: 'NETWORK',
  network: 'NETWORK',
  truncated: 'MODEL_FILE_CORRUPT',
  'size-mismatch': 'MODEL_FILE_CORRUPT',
  integrity: 'MODEL_FILE_CORRUPT',
  quota: 'STORAGE',
  storage: 'STORAGE',
};

export interface DownloadErrorDetails {
  file?: string;
  url?: string;
  status?: number;
  expected?: number | string;
  received?: number | string;
}

/**
 * A download failure (download/): an EngineError whose `code` is the engine code of its `reason`, with the message
 * naming the file, the URL and the fix. Cancellation is not one of these: it is an AbortError (download/abort.ts).
 */
export class DownloadError extends EngineError {
  constructor(
    readonly reason: DownloadFailure,
    message: string,
    readonly details: DownloadErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(DOWNLOAD_CODE[reason], message, details.file, options);
    this.name = 'DownloadError';
  }
}

export interface WireError {
  code: EngineErrorCode;
  name: string;
  message: string;
  file?: string;
  /** DownloadError's reason. */
  reason?: DownloadFailure;
}

export function errorToWire(err: unknown): WireError {
  if (err instanceof EngineError) {
    return {
      code: err.code,
      name: err.name,
      message: err.message,
      ...(err.file ? { file: err.file } : {}),
      ...(err instanceof DownloadError ? { reason: err.reason } : {}),
    };
  }
  if (err instanceof DOMException && err.name === 'AbortError') {
    return { code: 'CANCELLED', name: 'CancelledError', message: 'Cancelled' };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', name: 'Error', message: `Unexpected engine error: ${message}` };
}

/** The error the engine threw, rebuilt on this side of the boundary: same class (where the engine has it), code, message and file. */
export function errorFromWire(w: WireError): EngineError {
  if (w.code === 'CANCELLED') return new CancelledError(w.message);
  if (w.name === 'DownloadError' && w.reason) return new DownloadError(w.reason, w.message, w.file ? { file: w.file } : {});
  const e = new EngineError(w.code, w.message, w.file);
  // Catalog and custom-source errors are thrown on the app's side; others keep their name for messages and logs.
  if (w.name && w.name !== 'Error') e.name = w.name;
  return e;
}

/** Any thrown value as an EngineError: itself when it is one, else an INTERNAL error with its message. */
export function asEngineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  if (isCancelled(err)) return new CancelledError();
  return new EngineError('INTERNAL', err instanceof Error ? err.message : String(err));
}

export function isCancelled(err: unknown): boolean {
  return (
    err instanceof CancelledError ||
    (err instanceof EngineError && err.code === 'CANCELLED') ||
    (err instanceof DOMException && err.name === 'AbortError')
  );
}
