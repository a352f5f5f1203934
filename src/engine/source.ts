/**
 * Where a model's files come from. The engine reads every file through a ModelSource, so the same loader works
 * for the shipped models (same-origin URL), a remote hub (URL base), a local folder the user picked (File map)
 * and the persistent download cache (see download/).
 */
import { EngineError } from './errors';

export interface ReadOptions {
  /** When true a missing file resolves to null instead of throwing MODEL_FILE_MISSING. */
  optional?: boolean;
  signal?: AbortSignal;
  onProgress?: (loaded: number, total: number | null) => void;
}

export interface ModelSource {
  /** Human-readable location used in messages ("/models/fewstep-turbo/", "folder my-export"). */
  readonly label: string;
  read(path: string, opts?: ReadOptions): Promise<ArrayBuffer | null>;
}

function joinUrl(base: string, path: string): string {
  const b = base.endsWith('/') ? base : `${base}/`;
  return b + path.split('/').map(encodeURIComponent).join('/');
}

/** Files under a URL base (same-origin path or an https URL). Streams the body to report progress. */
export class UrlSource implements ModelSource {
  readonly label: string;
  constructor(
    readonly baseUrl: string,
    private readonly fetchImpl: typeof fetch = (...a: Parameters<typeof fetch>) => fetch(...a),
  ) {
    this.label = baseUrl;
  }

  async read(path: string, opts: ReadOptions = {}): Promise<ArrayBuffer | null> {
    const url = joinUrl(this.baseUrl, path);
    let res: Response;
    try {
      res = await this.fetchImpl(url, { signal: opts.signal });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      throw new EngineError('NETWORK', `Could not fetch ${url}: ${(e as Error).message}. Is the server reachable?`, path);
    }
    if (res.status === 404) {
      if (opts.optional) return null;
      throw new EngineError('MODEL_FILE_MISSING', `Missing model file ${path} (404 at ${url}).`, path);
    }
    if (!res.ok) {
      throw new EngineError('NETWORK', `Fetching ${path} failed: HTTP ${res.status} ${res.statusText} at ${url}.`, path);
    }
    // Vite's dev server answers unknown paths with index.html (SPA fallback): treat HTML as missing.
    const type = res.headers.get('content-type') ?? '';
    if (type.includes('text/html')) {
      if (opts.optional) return null;
      throw new EngineError('MODEL_FILE_MISSING', `Missing model file ${path} (the server returned a web page at ${url}).`, path);
    }
    const lenHeader = res.headers.get('content-length');
    const total = lenHeader !== null && res.headers.get('content-encoding') === null ? Number(lenHeader) : null;
    if (!res.body || !opts.onProgress) {
      const buf = await res.arrayBuffer();
      opts.onProgress?.(buf.byteLength, buf.byteLength);
      return buf;
    }
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    opts.onProgress(0, total);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      opts.onProgress(loaded, total);
    }
    if (total !== null && loaded !== total) {
      throw new EngineError('MODEL_FILE_CORRUPT', `${path} is truncated: got ${loaded} of ${total} bytes.`, path);
    }
    const out = new Uint8Array(loaded);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.byteLength;
    }
    return out.buffer;
  }
}

/** Files the user picked or dropped (webkitRelativePath-style keys, relative to the pipeline folder). */
export class FileMapSource implements ModelSource {
  constructor(
    readonly label: string,
    private readonly files: ReadonlyMap<string, Blob>,
  ) {}

  async read(path: string, opts: ReadOptions = {}): Promise<ArrayBuffer | null> {
    const blob = this.files.get(path);
    if (!blob) {
      if (opts.optional) return null;
      throw new EngineError('MODEL_FILE_MISSING', `The folder ${this.label} has no ${path}.`, path);
    }
    const buf = await blob.arrayBuffer();
    opts.onProgress?.(buf.byteLength, buf.byteLength);
    return buf;
  }

  paths(): string[] {
    return [...this.files.keys()];
  }
}
