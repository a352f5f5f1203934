/**
 * CRC-32 of PNG chunks (ISO-HDLC, polynomial 0xEDB88320, reflected).
 *
 * Kept on purpose: fflate and fast-png both compute it internally but export neither, and this table CRC is
 * 20 lines checked against node:zlib's in checksum.test.ts; a package for it would add more than it removes.
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
