/**
 * Chunk bookkeeping for resumable downloads. Pure functions over a small per-file manifest that the store
 * persists next to the chunks. A file of `size` bytes is split into fixed `chunkSize` chunks (the last one
 * shorter); a chunk is either fully stored or absent, so resuming never re-fetches a finished chunk and never
 * trusts a partial one.
 *
 * Write order that keeps this crash-safe: store the chunk bytes first, then the manifest that lists it. A crash in
 * between leaves bytes that the manifest does not claim, and the chunk is simply fetched again.
 */

export const MANIFEST_VERSION = 1;

export interface FileManifest {
  version: typeof MANIFEST_VERSION;
  /** URL the bytes came from (informational; a different URL does not invalidate the chunks by itself). */
  url: string;
  size: number;
  chunkSize: number;
  /** Sorted indices of the chunks that are fully stored. */
  done: number[];
  /** Validator from the server (ETag); when the server later reports a different one, the file starts over. */
  etag: string | null;
  sha256: string | null;
  /** All chunks stored and checked (size, and sha256 when known). */
  complete: boolean;
  updatedAt: number;
}

export interface ChunkSpan {
  index: number;
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive (HTTP Range style). */
  end: number;
  length: number;
}

export function chunkCount(size: number, chunkSize: number): number {
  if (!(chunkSize > 0)) throw new RangeError(`chunkSize must be > 0, received ${chunkSize}`);
  return size === 0 ? 0 : Math.ceil(size / chunkSize);
}

export function chunkSpan(size: number, chunkSize: number, index: number): ChunkSpan {
  const n = chunkCount(size, chunkSize);
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new RangeError(`Chunk index ${index} out of range for a ${size}-byte file in ${n} chunks`);
  }
  const start = index * chunkSize;
  const end = Math.min(size, start + chunkSize) - 1;
  return { index, start, end, length: end - start + 1 };
}

export function createManifest(init: { url: string; size: number; chunkSize: number; etag?: string | null; sha256?: string | null }): FileManifest {
  return {
    version: MANIFEST_VERSION,
    url: init.url,
    size: init.size,
    chunkSize: init.chunkSize,
    done: [],
    etag: init.etag ?? null,
    sha256: init.sha256 ?? null,
    complete: false,
    updatedAt: Date.now(),
  };
}

/** Record chunk `index` as stored. Returns a new manifest; indices stay sorted and unique. */
export function markChunkDone(m: FileManifest, index: number): FileManifest {
  chunkSpan(m.size, m.chunkSize, index); // range check
  if (m.done.includes(index)) return m;
  const done = [...m.done, index].sort((a, b) => a - b);
  return { ...m, done, updatedAt: Date.now() };
}

/** Chunk spans still to fetch, in order. */
export function missingChunks(m: FileManifest): ChunkSpan[] {
  const have = new Set(m.done);
  const out: ChunkSpan[] = [];
  for (let i = 0, n = chunkCount(m.size, m.chunkSize); i < n; i++) if (!have.has(i)) out.push(chunkSpan(m.size, m.chunkSize, i));
  return out;
}

/** Bytes already stored according to the manifest. */
export function bytesDone(m: FileManifest): number {
  let total = 0;
  for (const i of m.done) total += chunkSpan(m.size, m.chunkSize, i).length;
  return total;
}

export function allChunksDone(m: FileManifest): boolean {
  return m.done.length === chunkCount(m.size, m.chunkSize);
}

/**
 * Whether stored chunks can be reused for a download of `expect`. Reasons are returned so the caller can say why
 * a file starts over. The chunk size must match because chunk indices are positions.
 */
export function manifestMismatch(
  m: FileManifest | null,
  expect: { size: number; chunkSize: number; etag?: string | null; sha256?: string | null },
): string | null {
  if (!m) return 'no manifest';
  if (m.version !== MANIFEST_VERSION) return `manifest version ${String(m.version)} != ${MANIFEST_VERSION}`;
  if (m.size !== expect.size) return `size changed (${m.size} -> ${expect.size})`;
  if (m.chunkSize !== expect.chunkSize) return `chunk size changed (${m.chunkSize} -> ${expect.chunkSize})`;
  if (expect.etag && m.etag && m.etag !== expect.etag) return `server file changed (ETag ${m.etag} -> ${expect.etag})`;
  if (expect.sha256 && m.sha256 && m.sha256 !== expect.sha256) return 'catalog sha256 changed';
  if (!Array.isArray(m.done) || m.done.some((i) => !Number.isInteger(i) || i < 0 || i >= chunkCount(m.size, m.chunkSize))) {
    return 'corrupt chunk list';
  }
  return null;
}

/** Parse `Content-Range: bytes start-end/total` (total may be `*`). */
export function parseContentRange(header: string | null): { start: number; end: number; total: number | null } | null {
  if (!header) return null;
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}
