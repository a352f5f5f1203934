/**
 * Checksums used by PNG and zlib: CRC-32 (ISO-HDLC / PNG, polynomial 0xEDB88320, reflected)
 * and Adler-32 (RFC 1950).
 */

let crcTable: Uint32Array | null = null;

function getCrcTable(): Uint32Array {
  if (crcTable) return crcTable;
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  crcTable = t;
  return t;
}

/**
 * Continue a CRC-32 over `bytes[start, end)`. Pass the previous return value as `crc`
 * (start with 0) to checksum data in pieces.
 */
export function crc32(bytes: Uint8Array, crc = 0, start = 0, end = bytes.length): number {
  const t = getCrcTable();
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = start; i < end; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Adler-32 of `bytes`; pass a previous value as `adler` (start with 1) to continue. */
export function adler32(bytes: Uint8Array, adler = 1, start = 0, end = bytes.length): number {
  let a = adler & 0xffff;
  let b = (adler >>> 16) & 0xffff;
  let i = start;
  while (i < end) {
    // 5552 is the largest n such that 255n(n+1)/2 + (n+1)(65520) < 2^32 (zlib's NMAX).
    const n = Math.min(5552, end - i);
    const stop = i + n;
    for (; i < stop; i++) {
      a += bytes[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}
