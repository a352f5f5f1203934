/**
 * Where a model's files come from. The engine reads every file through a ModelSource, so the same loader works
 * for the shipped models (same-origin URL), a remote hub (URL base), a local folder the user picked (File map)
 * and the persistent download cache (see download/).
 */
import { EngineError } from './errors';
import { syncBlobReader, type SyncRangeReader } from './sources/onDemand';

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
  /**
   * A synchronous reader of the file's byte ranges, when the bytes are on a local disk and this host can read them
   * synchronously (sources/onDemand.ts); null or absent otherwise. The loader hands sidecars read this way to
   * onnxruntime without holding them in memory.
   */
  syncReader?(path: string): SyncRangeReader | null;
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
    opts.onProgress(0, total);
    if (total !== null) {
      // Known length: one buffer of that size, filled as the body arrives (no list of chunks and no second,
      // concatenated copy: a 1.7 GB UNet costs 1.7 GB here, not 3.4).
      const out = new Uint8Array(total);
      const loaded = await readStream(res.body, (chunk, at) => {
        if (at + chunk.byteLength > total) {
          throw new EngineError('MODEL_FILE_CORRUPT', `${path} is longer than the ${total} bytes its Content-Length announced (${url}).`, path);
        }
        out.set(chunk, at);
        opts.onProgress?.(at + chunk.byteLength, total);
      });
      if (loaded !== total) throw new EngineError('MODEL_FILE_CORRUPT', `${path} is truncated: got ${loaded} of ${total} bytes.`, path);
      return out.buffer;
    }
    const chunks: Uint8Array[] = [];
    const loaded = await readStream(res.body, (chunk, at) => {
      chunks.push(chunk);
      opts.onProgress?.(at + chunk.byteLength, null);
    });
    const out = new Uint8Array(loaded);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.byteLength;
    }
    return out.buffer;
  }
}

/** Read a byte stream to its end, handing each chunk and its offset to `take`; returns the byte count. */
async function readStream(body: ReadableStream<Uint8Array>, take: (chunk: Uint8Array, at: number) => void): Promise<number> {
  const reader = body.getReader();
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return loaded;
      take(value, loaded);
      loaded += value.byteLength;
    }
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    throw e;
  }
}

/**
 * Files at least this large (bytes) are read from a Blob as a stream into one buffer of their size: Node's
 * `Blob.arrayBuffer()` (file-backed blobs from `openAsBlob`, the CLI's folders) collects the chunks and then
 * concatenates them, so a 1 GiB file peaked at 2 GiB (measured: 2058 MiB; streamed: 1055 MiB). Streaming also
 * reports progress. Smaller files take the one `arrayBuffer()` call.
 */
const STREAM_BLOB_BYTES = 64 * 1024 * 1024;

/** The bytes of a Blob in one ArrayBuffer of its size; `onProgress(loaded, total)` as they arrive. */
export async function blobBytes(blob: Blob, onProgress?: (loaded: number, total: number | null) => void): Promise<ArrayBuffer> {
  if (blob.size < STREAM_BLOB_BYTES || typeof blob.stream !== 'function') {
    const buf = await blob.arrayBuffer();
    onProgress?.(buf.byteLength, buf.byteLength);
    return buf;
  }
  const out = new Uint8Array(blob.size);
  const loaded = await readStream(blob.stream(), (chunk, at) => {
    if (at + chunk.byteLength > out.byteLength) throw new Error(`the file grew while it was read (more than ${out.byteLength} bytes)`);
    out.set(chunk, at);
    onProgress?.(at + chunk.byteLength, out.byteLength);
  });
  if (loaded !== out.byteLength) throw new Error(`the file shrank while it was read (${loaded} of ${out.byteLength} bytes)`);
  return out.buffer;
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
    try {
      return await blobBytes(blob, opts.onProgress);
    } catch (e) {
      throw new EngineError('MODEL_FILE_CORRUPT', `Could not read ${path} from ${this.label}: ${(e as Error).message}. Pick the folder again.`, path);
    }
  }

  /** Files of a folder are local: a synchronous reader where the host has one (Worker, Node folder). */
  syncReader(path: string): SyncRangeReader | null {
    const blob = this.files.get(path);
    return blob ? syncBlobReader(blob) : null;
  }

  paths(): string[] {
    return [...this.files.keys()];
  }
}
