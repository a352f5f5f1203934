import { describe, expect, it } from 'vitest';
import { deflateRawSync, deflateSync, inflateSync } from 'node:zlib';
import { hasNativeDeflate, zlibCompress, zlibInflate, zlibStored, ZlibError } from './zlib';

function sample(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    // mix of runs and noise, so deflate uses both literals and matches
    out[i] = i % 97 < 40 ? (i >> 5) & 0xff : s >>> 24;
  }
  return out;
}

describe('zlibStored', () => {
  it('is a valid zlib stream for empty, small and multi-block input', () => {
    for (const n of [0, 1, 100, 65535, 65536, 200_000]) {
      const data = sample(n);
      const z = zlibStored(data);
      expect(Buffer.from(inflateSync(z)).equals(Buffer.from(data))).toBe(true);
      expect(z.length).toBe(2 + Math.max(1, Math.ceil(n / 65535)) * 5 + n + 4);
    }
  });
});

describe('zlibCompress', () => {
  it('uses CompressionStream in Node and produces a decodable, smaller stream', async () => {
    expect(hasNativeDeflate()).toBe(true);
    const data = sample(50_000);
    const z = await zlibCompress(data);
    expect(z.length).toBeLessThan(data.length);
    expect(Buffer.from(inflateSync(z)).equals(Buffer.from(data))).toBe(true);
  });

  it('falls back to stored blocks when native compression is disabled', async () => {
    const data = sample(1000);
    expect(await zlibCompress(data, { native: false })).toEqual(zlibStored(data));
  });
});

describe('zlibInflate', () => {
  it('inflates stored, fixed-Huffman and dynamic-Huffman streams from node:zlib', () => {
    const inputs = [new Uint8Array(0), new TextEncoder().encode('a'), sample(10), sample(5000, 7), sample(150_000, 3)];
    for (const data of inputs) {
      for (const level of [0, 1, 6, 9]) {
        const z = deflateSync(data, { level });
        expect(Buffer.from(zlibInflate(z)).equals(Buffer.from(data))).toBe(true);
      }
    }
    // fixed Huffman is what zlib picks for short strings
    const text = new TextEncoder().encode('hello hello hello hello, こんにちは');
    expect(new TextDecoder().decode(zlibInflate(deflateSync(text)))).toBe('hello hello hello hello, こんにちは');
  });

  it('inflates its own stored streams and highly repetitive data (long matches)', () => {
    const data = new Uint8Array(1 << 20).fill(42);
    expect(Buffer.from(zlibInflate(zlibStored(data))).equals(Buffer.from(data))).toBe(true);
    expect(Buffer.from(zlibInflate(deflateSync(data))).equals(Buffer.from(data))).toBe(true);
  });

  it('rejects corrupt, truncated and oversized streams with ZlibError', () => {
    const z = deflateSync(sample(5000));
    expect(() => zlibInflate(z.subarray(0, z.length - 10))).toThrow(ZlibError);
    const bad = Uint8Array.from(z);
    bad[bad.length - 1] ^= 0xff;
    expect(() => zlibInflate(bad)).toThrow(/Adler-32/);
    expect(() => zlibInflate(deflateRawSync(sample(100)))).toThrow(ZlibError);
    expect(() => zlibInflate(Uint8Array.of(1, 2, 3))).toThrow(ZlibError);
    expect(() => zlibInflate(deflateSync(new Uint8Array(10_000)), { maxOutputLength: 1000 })).toThrow(/limit/);
  });
});
