import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  allChunksDone,
  bytesDone,
  chunkCount,
  chunkSpan,
  createManifest,
  manifestMismatch,
  markChunkDone,
  missingChunks,
  parseContentRange,
} from './chunks';
import { Sha256, sha256Hex } from './sha256';

describe('chunk bookkeeping', () => {
  it('splits a file into fixed chunks with a shorter last one', () => {
    expect(chunkCount(0, 10)).toBe(0);
    expect(chunkCount(10, 10)).toBe(1);
    expect(chunkCount(25, 10)).toBe(3);
    expect(chunkSpan(25, 10, 0)).toEqual({ index: 0, start: 0, end: 9, length: 10 });
    expect(chunkSpan(25, 10, 2)).toEqual({ index: 2, start: 20, end: 24, length: 5 });
    expect(() => chunkSpan(25, 10, 3)).toThrow(/Chunk index 3 out of range for a 25-byte file in 3 chunks/);
    expect(() => chunkCount(10, 0)).toThrow(/chunkSize must be > 0/);
  });

  it('records finished chunks sorted and once, and lists what is missing', () => {
    let m = createManifest({ url: 'u', size: 25, chunkSize: 10 });
    expect(missingChunks(m).map((s) => s.index)).toEqual([0, 1, 2]);
    m = markChunkDone(m, 2);
    m = markChunkDone(m, 0);
    m = markChunkDone(m, 2);
    expect(m.done).toEqual([0, 2]);
    expect(bytesDone(m)).toBe(15);
    expect(missingChunks(m)).toEqual([{ index: 1, start: 10, end: 19, length: 10 }]);
    expect(allChunksDone(m)).toBe(false);
    m = markChunkDone(m, 1);
    expect(allChunksDone(m)).toBe(true);
    expect(bytesDone(m)).toBe(25);
    expect(() => markChunkDone(m, 7)).toThrow(/out of range/);
  });

  it('does not mutate the manifest it is given', () => {
    const m = createManifest({ url: 'u', size: 25, chunkSize: 10 });
    markChunkDone(m, 1);
    expect(m.done).toEqual([]);
  });

  it('says why stored chunks cannot be reused', () => {
    const m = markChunkDone(createManifest({ url: 'u', size: 25, chunkSize: 10, etag: '"a"', sha256: 'x' }), 0);
    expect(manifestMismatch(null, { size: 25, chunkSize: 10 })).toBe('no manifest');
    expect(manifestMismatch(m, { size: 25, chunkSize: 10 })).toBeNull();
    expect(manifestMismatch(m, { size: 25, chunkSize: 10, etag: '"a"', sha256: 'x' })).toBeNull();
    expect(manifestMismatch(m, { size: 26, chunkSize: 10 })).toBe('size changed (25 -> 26)');
    expect(manifestMismatch(m, { size: 25, chunkSize: 5 })).toBe('chunk size changed (10 -> 5)');
    expect(manifestMismatch(m, { size: 25, chunkSize: 10, etag: '"b"' })).toBe('server file changed (ETag "a" -> "b")');
    expect(manifestMismatch(m, { size: 25, chunkSize: 10, sha256: 'y' })).toBe('catalog sha256 changed');
    expect(manifestMismatch({ ...m, done: [0, 9] }, { size: 25, chunkSize: 10 })).toBe('corrupt chunk list');
    expect(manifestMismatch({ ...m, version: 2 as 1 }, { size: 25, chunkSize: 10 })).toMatch(/manifest version/);
  });

  it('parses Content-Range', () => {
    expect(parseContentRange('bytes 0-9/25')).toEqual({ start: 0, end: 9, total: 25 });
    expect(parseContentRange('bytes 10-19/*')).toEqual({ start: 10, end: 19, total: null });
    expect(parseContentRange('bytes */25')).toBeNull();
    expect(parseContentRange(null)).toBeNull();
  });
});

describe('sha256', () => {
  const ref = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

  it.each([0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100_003])('incremental hash matches node:crypto for %i bytes', (n) => {
    const data = new Uint8Array(randomBytes(n));
    expect(new Sha256().update(data).hex()).toBe(ref(data));
  });

  it('gives the same digest however the input is split', () => {
    const data = new Uint8Array(randomBytes(10_000));
    const h = new Sha256();
    for (let i = 0; i < data.length; ) {
      const n = 1 + ((i * 7919) % 97);
      h.update(data.subarray(i, i + n));
      i += n;
    }
    expect(h.hex()).toBe(ref(data));
  });

  it('crypto.subtle path agrees', async () => {
    const data = new Uint8Array(randomBytes(4096));
    expect(await sha256Hex(data)).toBe(ref(data));
  });
});
