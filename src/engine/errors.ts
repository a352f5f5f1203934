/**
 * Named engine errors. Each has a string-literal `code` and a message that says what went wrong and how to fix it.
 * Across the worker boundary they travel as {code, name, message, file?} and are rebuilt by `errorFromWire`.
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
  | 'INTERNAL';

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  /** Model-relative path of the file the error is about, when there is one (e.g. "unet/model.onnx"). */
  readonly file: string | undefined;
  constructor(code: EngineErrorCode, message: string, file?: string) {
    super(message);
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

export interface WireError {
  code: EngineErrorCode;
  name: string;
  message: string;
  file?: string;
}

export function errorToWire(err: unknown): WireError {
  if (err instanceof EngineError) {
    return { code: err.code, name: err.name, message: err.message, ...(err.file ? { file: err.file } : {}) };
  }
  if (err instanceof DOMException && err.name === 'AbortError') {
    return { code: 'CANCELLED', name: 'CancelledError', message: 'Cancelled' };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', name: 'Error', message: `Unexpected engine error: ${message}` };
}

export function errorFromWire(w: WireError): EngineError {
  const e = w.code === 'CANCELLED' ? new CancelledError(w.message) : new EngineError(w.code, w.message, w.file);
  return e;
}

export function isCancelled(err: unknown): boolean {
  return (
    err instanceof CancelledError ||
    (err instanceof EngineError && err.code === 'CANCELLED') ||
    (err instanceof DOMException && err.name === 'AbortError')
  );
}
