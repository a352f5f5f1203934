/**
 * Storage behind the download manager. One small interface; in the browser, three implementations chosen by
 * priority (see `selectStore.ts`): OPFS, Cache Storage, memory. Node hosts use the disk (`../fsStore.ts`).
 *
 * Files are kept as their chunks (one stored object per chunk) plus a {@link FileManifest}. Reading a file
 * concatenates the chunks. This keeps writes append-only and resumable in every backend (OPFS `createWritable`
 * on an existing multi-GB file would copy it to a swap file on every commit), and needs no second copy at the end.
 */

import type { FileManifest } from './chunks';

export interface StoredModelInfo {
  id: string;
  /** Bytes stored for this model (complete files and partial chunks). */
  bytes: number;
  /** Every file of the model is stored and verified (set by {@link ModelStore.writeModelInfo}). */
  complete: boolean;
  /** Files recorded for the model when it completed, or the files seen so far. */
  files: string[];
  updatedAt: number;
}

export interface ModelInfoRecord {
  id: string;
  complete: boolean;
  files: string[];
  totalBytes: number;
  updatedAt: number;
}

export interface StorageEstimateLike {
  usage: number;
  quota: number;
}

/** The browser's stores, in selectModelStore's order of preference. */
export type BrowserStoreKind = 'opfs' | 'cache' | 'memory';
/** Where a store keeps its files: a browser store, or `disk` (FsModelStore, the CLI's download cache in Node). */
export type StoreKind = BrowserStoreKind | 'disk';

export interface ModelStore {
  readonly kind: StoreKind;
  /** True when the file is stored completely and was verified (its manifest says `complete`). */
  hasFile(modelId: string, path: string): Promise<boolean>;
  /** The whole file. Throws when it is not complete. */
  readFile(modelId: string, path: string, as?: 'arrayBuffer'): Promise<ArrayBuffer>;
  /** The whole file as a stream of its chunks, without holding it in memory. */
  readFile(modelId: string, path: string, as: 'stream'): Promise<ReadableStream<Uint8Array>>;
  /** One stored chunk, or null when absent (used to verify a file before it is finalized). */
  readChunk(modelId: string, path: string, index: number): Promise<Uint8Array | null>;
  /** Store chunk `index` (bytes `[index*chunkSize, ...)`), replacing any earlier copy of that chunk. */
  writeChunk(modelId: string, path: string, index: number, data: Uint8Array): Promise<void>;
  readManifest(modelId: string, path: string): Promise<FileManifest | null>;
  writeManifest(modelId: string, path: string, manifest: FileManifest): Promise<void>;
  /** Mark the file complete (after all chunks are stored and checked) and drop chunks beyond the last one. */
  finalize(modelId: string, path: string, manifest: FileManifest): Promise<void>;
  /** Forget one file's chunks and manifest (a restart after a changed server file, or a failed check). */
  deleteFile(modelId: string, path: string): Promise<void>;
  deleteModel(modelId: string): Promise<void>;
  writeModelInfo(info: ModelInfoRecord): Promise<void>;
  readModelInfo(modelId: string): Promise<ModelInfoRecord | null>;
  listModels(): Promise<StoredModelInfo[]>;
  estimate(): Promise<StorageEstimateLike>;
}

/** Chunk count/length helper shared by the store implementations when streaming a file back. */
function chunkIndices(manifest: FileManifest): number[] {
  const n = manifest.size === 0 ? 0 : Math.ceil(manifest.size / manifest.chunkSize);
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Build `readFile` results from a chunk getter: a stream that pulls chunks one at a time, or one ArrayBuffer
 * filled in place (a single allocation of the file's size).
 */
export async function assembleFile(
  manifest: FileManifest,
  getChunk: (index: number) => Promise<Uint8Array>,
  as: 'arrayBuffer' | 'stream',
  where: string,
): Promise<ArrayBuffer | ReadableStream<Uint8Array>> {
  const indices = chunkIndices(manifest);
  const check = (i: number, c: Uint8Array): Uint8Array => {
    const expected = Math.min(manifest.chunkSize, manifest.size - i * manifest.chunkSize);
    if (c.byteLength !== expected) {
      throw new Error(`Stored chunk ${i} of ${where} has ${c.byteLength} bytes, expected ${expected}; delete the model and download it again`);
    }
    return c;
  };
  if (as === 'stream') {
    let next = 0;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (next >= indices.length) {
          controller.close();
          return;
        }
        const i = indices[next++];
        controller.enqueue(check(i, await getChunk(i)));
      },
    });
  }
  const out = new Uint8Array(manifest.size);
  for (const i of indices) out.set(check(i, await getChunk(i)), i * manifest.chunkSize);
  return out.buffer;
}

export function notStoredError(modelId: string, path: string): Error {
  return new Error(`${modelId}/${path} is not stored completely; download the model first`);
}
