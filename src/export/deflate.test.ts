import { afterEach, describe, expect, it, vi } from 'vitest';
import { deflateRawSync, deflateSync, inflateSync } from 'node:zlib';
import { InflateLimitError, zlibDeflate, zlibDeflateSync, zlibInflate } from './deflate';

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

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('zlibDeflate / zlibDeflateSync', () => {
  it('produce decodable, smaller zlib streams (CompressionStream in Node, fflate without it)', async () => {
    const data = sample(50_000);
    for (const z of [await zlibDeflate(data), zlibDeflateSync(data)]) {
      expect(z.length).toBeLessThan(data.length);
      expect(Buffer.from(inflateSync(z)).equals(Buffer.from(data))).toBe(true);
    }
    vi.stubGlobal('CompressionStream', undefined);
    expect(await zlibDeflate(data)).toEqual(zlibDeflateSync(data));
  });

  it('handle empty input', async () => {
    expect(inflateSync(await zlibDeflate(new Uint8Array(0))).length).toBe(0);
    expect(zlibInflate(zlibDeflateSync(new Uint8Array(0)))).toEqual(new Uint8Array(0));
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

  it('inflates highly repetitive data (long matches) and its own streams', () => {
    const data = new Uint8Array(1 << 20).fill(42);
    expect(Buffer.from(zlibInflate(zlibDeflateSync(data))).equals(Buffer.from(data))).toBe(true);
    expect(Buffer.from(zlibInflate(deflateSync(data))).equals(Buffer.from(data))).toBe(true);
  });

  it('rejects corrupt, truncated and oversized streams', () => {
    const z = deflateSync(sample(5000));
    expect(() => zlibInflate(z.subarray(0, z.length - 10))).toThrow();
    expect(() => zlibInflate(deflateRawSync(sample(100)))).toThrow();
    expect(() => zlibInflate(Uint8Array.of(1, 2, 3))).toThrow();
    expect(() => zlibInflate(deflateSync(new Uint8Array(10_000)), 1000)).toThrow(InflateLimitError);
    expect(() => zlibInflate(deflateSync(new Uint8Array(10_000)), 1000)).toThrow(/limit of 1000 bytes/);
    expect(zlibInflate(deflateSync(new Uint8Array(1000)), 1000).length).toBe(1000);
  });

  it('stops a zip bomb early instead of inflating it all', () => {
    const bomb = deflateSync(new Uint8Array(16 << 20), { level: 9 }); // 16 MiB of zeros in ~16 KiB
    const t0 = performance.now();
    expect(() => zlibInflate(bomb, 64 << 10)).toThrow(InflateLimitError);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
