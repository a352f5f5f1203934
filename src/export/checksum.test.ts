import { describe, expect, it } from 'vitest';
import * as zlib from 'node:zlib';
import { crc32 } from './checksum';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('crc32', () => {
  it('matches the standard check values', () => {
    expect(crc32(ascii(''))).toBe(0);
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    // CRC of the IEND chunk type with no data, as seen at the end of every PNG.
    expect(crc32(ascii('IEND'))).toBe(0xae426082);
  });

  it('can be computed incrementally and over a sub-range', () => {
    const data = ascii('123456789');
    expect(crc32(data.subarray(4), crc32(data.subarray(0, 4)))).toBe(0xcbf43926);
    expect(crc32(ascii('xx123456789yy'), 0, 2, 11)).toBe(0xcbf43926);
  });

  it('agrees with node:zlib on random data', () => {
    const nodeCrc = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;
    const data = new Uint8Array(100_003);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    if (nodeCrc) expect(crc32(data)).toBe(nodeCrc(data));
    // Independent check through a zlib gzip trailer (CRC-32 little-endian before ISIZE).
    const gz = zlib.gzipSync(data);
    expect(crc32(data)).toBe(gz.readUInt32LE(gz.length - 8));
  });
});
