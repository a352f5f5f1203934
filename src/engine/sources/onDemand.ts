/**
 * Sidecars read on demand (issue 12, memory): instead of holding a whole `model.onnx_data` in one JS buffer while
 * onnxruntime-web makes the session (the file in JS memory and its tensors in the WASM heap at the same moment: 2x an
 * fp32 model), onnxruntime is handed an object that reads each tensor's byte range from the file when onnxruntime
 * asks for it, so JS holds one tensor at a time.
 *
 * How onnxruntime-web 1.30 reads external data (its wasm glue, `ort-wasm-simd-threaded*.mjs`, the EM_ASM called from
 * `tensorprotoutils.cc` for each external initializer): `externalData[i].data` is kept as given when it is a
 * Uint8Array (`loadFile`), mounted by name, and for every tensor the glue checks `offset + length <= data.byteLength`
 * and copies `data.subarray(offset, offset + length)` into the WASM heap (`HEAPU8.set`) or a GPU buffer (WebGPU's
 * `jsepUploadExternalBuffer`). Those two members are all it uses, synchronously. {@link OnDemandBytes} is a
 * Uint8Array whose `byteLength` is the file's size and whose `subarray` reads that range through a synchronous
 * reader. Anything else that touches it (`buffer`, indexing) sees an empty array, so a future onnxruntime that reads
 * the data another way fails to create the session instead of reading wrong bytes; the loader then reads the whole
 * file and tries again (pipeline/load.ts).
 *
 * Synchronous readers exist where the bytes are on a local disk: Node (`fs.readSync`, registered by the Node host for
 * the blobs of a folder, `registerFileBlob`) and a Web Worker (`FileReaderSync` over any Blob: a picked folder's Files).
 * Downloads from the network or the download store have none and are read whole, as before.
 */

/** Synchronous reads of byte ranges of one file. */
export interface SyncRangeReader {
  /** The file's size in bytes. */
  readonly size: number;
  /**
   * The bytes [offset, offset + length) of the file, exactly `length` of them.
   * @throws Error when the file cannot be read or is shorter than asked for.
   */
  read(offset: number, length: number): Uint8Array;
  /** Release what the reader holds (a file descriptor); reads afterwards throw. */
  close?(): void;
}

/** Makes a synchronous reader for a Blob this host can read synchronously, else null. */
export type SyncBlobReaderFactory = (blob: Blob) => SyncRangeReader | null;

const hostFactories: SyncBlobReaderFactory[] = [];

/**
 * Register a host's synchronous reader for some Blobs (the Node host: blobs of files on disk, by path). Factories are
 * asked in registration order before `FileReaderSync`.
 */
export function registerSyncBlobReader(factory: SyncBlobReaderFactory): void {
  if (!hostFactories.includes(factory)) hostFactories.push(factory);
}

interface FileReaderSyncLike {
  readAsArrayBuffer(blob: Blob): ArrayBuffer;
}

/**
 * A synchronous reader of `blob`'s bytes, or null when this host has none (the main thread of a page, or Node for a
 * Blob that is not a registered file). In a Web Worker every Blob has one (`FileReaderSync`).
 */
export function syncBlobReader(blob: Blob): SyncRangeReader | null {
  for (const f of hostFactories) {
    const r = f(blob);
    if (r) return r;
  }
  const Frs = (globalThis as { FileReaderSync?: new () => FileReaderSyncLike }).FileReaderSync;
  if (typeof Frs !== 'function') return null;
  const reader = new Frs();
  return {
    size: blob.size,
    read(offset, length) {
      const out = new Uint8Array(reader.readAsArrayBuffer(blob.slice(offset, offset + length)));
      if (out.byteLength !== length) throw new Error(`read ${out.byteLength} of ${length} bytes at offset ${offset}`);
      return out;
    },
  };
}

/**
 * A sidecar as onnxruntime-web's `externalData[].data` without its bytes in memory: `byteLength` is the file's size
 * and `subarray(begin, end)` reads that range from the file (a fresh Uint8Array of end - begin bytes, not a view).
 * Counts what was read (`bytesRead`, `reads`) for the loader's progress and the memory bench.
 *
 * Errors inside `subarray` are rethrown naming the file; onnxruntime turns them into a failed session creation.
 */
export class OnDemandBytes extends Uint8Array {
  /** Bytes read so far, and how many ranges. */
  bytesRead = 0;
  reads = 0;
  constructor(
    private readonly reader: SyncRangeReader,
    /** The sidecar's layout path, for messages: `unet/model.onnx_data`. */
    readonly file: string,
  ) {
    super(0);
  }

  override get byteLength(): number {
    return this.reader.size;
  }

  override subarray(begin = 0, end = this.reader.size): Uint8Array<ArrayBuffer> {
    const a = begin < 0 ? Math.max(0, this.reader.size + begin) : Math.min(begin, this.reader.size);
    const b = end < 0 ? Math.max(0, this.reader.size + end) : Math.min(end, this.reader.size);
    if (b <= a) return new Uint8Array(0);
    try {
      const out = this.reader.read(a, b - a);
      this.bytesRead += out.byteLength;
      this.reads++;
      return out as Uint8Array<ArrayBuffer>;
    } catch (e) {
      throw new Error(`could not read bytes ${a}-${b} of ${this.file}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Close the reader (the loader calls it once the session exists). */
  close(): void {
    this.reader.close?.();
  }
}

/** True for a sidecar handed over as an {@link OnDemandBytes}. */
export function isOnDemand(data: Uint8Array): data is OnDemandBytes {
  return data instanceof OnDemandBytes;
}
