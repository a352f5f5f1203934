/**
 * Minimal zlib (RFC 1950) / DEFLATE (RFC 1951) support without dependencies:
 *  - `zlibStored`: a valid zlib stream made of stored (uncompressed) blocks, synchronous, pure JS;
 *  - `zlibCompress`: real compression through the platform's CompressionStream('deflate') when
 *    available (browsers, workers, Node >= 18), falling back to `zlibStored`;
 *  - `zlibInflate`: a synchronous pure-JS inflater (stored, fixed and dynamic Huffman blocks),
 *    used to read compressed PNG text chunks (zTXt, compressed iTXt).
 */
import { adler32 } from './checksum';

export class ZlibError extends Error {
  override name = 'ZlibError';
}

const MAX_STORED = 0xffff;

/** Wraps `data` in a zlib stream of stored blocks (no compression). */
export function zlibStored(data: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(data.length / MAX_STORED));
  const out = new Uint8Array(2 + blocks * 5 + data.length + 4);
  // CMF 0x78: deflate, 32K window. FLG 0x01: no dict, level 0, (0x7801 % 31 === 0).
  out[0] = 0x78;
  out[1] = 0x01;
  let o = 2;
  for (let b = 0; b < blocks; b++) {
    const start = b * MAX_STORED;
    const len = Math.min(MAX_STORED, data.length - start);
    out[o++] = b === blocks - 1 ? 1 : 0; // BFINAL, BTYPE=00
    out[o++] = len & 0xff;
    out[o++] = len >>> 8;
    out[o++] = ~len & 0xff;
    out[o++] = (~len >>> 8) & 0xff;
    out.set(data.subarray(start, start + len), o);
    o += len;
  }
  const a = adler32(data);
  out[o++] = a >>> 24;
  out[o++] = (a >>> 16) & 0xff;
  out[o++] = (a >>> 8) & 0xff;
  out[o++] = a & 0xff;
  return out;
}

/** True when the platform offers CompressionStream with the 'deflate' (zlib) format. */
export function hasNativeDeflate(): boolean {
  if (typeof CompressionStream === 'undefined') return false;
  try {
    new CompressionStream('deflate');
    return true;
  } catch {
    return false;
  }
}

async function pipeThroughStream(
  data: Uint8Array,
  stream: { readable: ReadableStream<Uint8Array>; writable: WritableStream<BufferSource> },
): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  // Write concurrently with reading: awaiting the write first can deadlock on backpressure.
  const writing = writer.write(data as Uint8Array<ArrayBuffer>).then(() => writer.close());
  writing.catch(() => undefined);
  const reader = stream.readable.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    total += value.length;
  }
  await writing;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * zlib-compresses `data`. Uses CompressionStream('deflate') when available (unless
 * `native: false`), otherwise stored blocks. Always resolves to a valid zlib stream.
 */
export async function zlibCompress(data: Uint8Array, opts: { native?: boolean } = {}): Promise<Uint8Array> {
  if (opts.native !== false && hasNativeDeflate()) {
    try {
      return await pipeThroughStream(data, new CompressionStream('deflate'));
    } catch {
      // fall through to the pure-JS path
    }
  }
  return zlibStored(data);
}

// ---------------------------------------------------------------------------------------------
// Inflate

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Canonical Huffman table: number of codes per length and symbols ordered by code. */
interface Huffman {
  count: Uint16Array;
  symbol: Uint16Array;
}

function buildHuffman(lengths: ArrayLike<number>, n: number): Huffman {
  const count = new Uint16Array(16);
  const symbol = new Uint16Array(n);
  for (let s = 0; s < n; s++) count[lengths[s]]++;
  // Over-subscribed code sets are invalid; incomplete ones are allowed (single distance code).
  let left = 1;
  for (let len = 1; len < 16; len++) {
    left <<= 1;
    left -= count[len];
    if (left < 0) throw new ZlibError('Invalid deflate data: over-subscribed Huffman code');
  }
  const offs = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len] + count[len];
  for (let s = 0; s < n; s++) if (lengths[s] !== 0) symbol[offs[lengths[s]]++] = s;
  return { count, symbol };
}

let fixedTables: { lit: Huffman; dist: Huffman } | null = null;
function getFixedTables(): { lit: Huffman; dist: Huffman } {
  if (fixedTables) return fixedTables;
  const l = new Uint8Array(288);
  for (let i = 0; i < 144; i++) l[i] = 8;
  for (let i = 144; i < 256; i++) l[i] = 9;
  for (let i = 256; i < 280; i++) l[i] = 7;
  for (let i = 280; i < 288; i++) l[i] = 8;
  const d = new Uint8Array(30).fill(5);
  fixedTables = { lit: buildHuffman(l, 288), dist: buildHuffman(d, 30) };
  return fixedTables;
}

class Inflater {
  private pos: number;
  private bitBuf = 0;
  private bitCnt = 0;
  out: Uint8Array;
  outLen = 0;

  constructor(
    private readonly src: Uint8Array,
    start: number,
    private readonly maxOut: number,
  ) {
    this.pos = start;
    this.out = new Uint8Array(Math.min(maxOut, Math.max(1024, src.length * 4)));
  }

  get bytePos(): number {
    return this.pos;
  }

  private bits(n: number): number {
    let v = this.bitBuf;
    while (this.bitCnt < n) {
      if (this.pos >= this.src.length) throw new ZlibError('Truncated deflate data');
      v |= this.src[this.pos++] << this.bitCnt;
      this.bitCnt += 8;
    }
    this.bitBuf = v >>> n;
    this.bitCnt -= n;
    return v & ((1 << n) - 1);
  }

  private ensure(extra: number): void {
    const need = this.outLen + extra;
    if (need > this.maxOut) throw new ZlibError(`Inflated data exceeds the limit of ${this.maxOut} bytes`);
    if (need <= this.out.length) return;
    let size = this.out.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(Math.min(size, this.maxOut));
    next.set(this.out.subarray(0, this.outLen));
    this.out = next;
  }

  private decode(h: Huffman): number {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len < 16; len++) {
      code |= this.bits(1);
      const count = h.count[len];
      if (code - first < count) return h.symbol[index + (code - first)];
      index += count;
      first += count;
      first <<= 1;
      code <<= 1;
    }
    throw new ZlibError('Invalid deflate data: bad Huffman code');
  }

  private stored(): void {
    this.bitBuf = 0;
    this.bitCnt = 0; // discard to byte boundary
    if (this.pos + 4 > this.src.length) throw new ZlibError('Truncated deflate data');
    const s = this.src;
    const len = s[this.pos] | (s[this.pos + 1] << 8);
    const nlen = s[this.pos + 2] | (s[this.pos + 3] << 8);
    this.pos += 4;
    if (len !== (~nlen & 0xffff)) throw new ZlibError('Invalid deflate data: stored block length mismatch');
    if (this.pos + len > s.length) throw new ZlibError('Truncated deflate data');
    this.ensure(len);
    this.out.set(s.subarray(this.pos, this.pos + len), this.outLen);
    this.outLen += len;
    this.pos += len;
  }

  private codes(lit: Huffman, dist: Huffman): void {
    for (;;) {
      let sym = this.decode(lit);
      if (sym < 256) {
        this.ensure(1);
        this.out[this.outLen++] = sym;
      } else if (sym === 256) {
        return;
      } else {
        sym -= 257;
        if (sym >= 29) throw new ZlibError('Invalid deflate data: bad length symbol');
        const len = LEN_BASE[sym] + this.bits(LEN_EXTRA[sym]);
        const dsym = this.decode(dist);
        if (dsym >= 30) throw new ZlibError('Invalid deflate data: bad distance symbol');
        const d = DIST_BASE[dsym] + this.bits(DIST_EXTRA[dsym]);
        if (d > this.outLen) throw new ZlibError('Invalid deflate data: distance too far back');
        this.ensure(len);
        const o = this.out;
        let p = this.outLen;
        for (let i = 0; i < len; i++, p++) o[p] = o[p - d];
        this.outLen = p;
      }
    }
  }

  private dynamic(): void {
    const nlen = this.bits(5) + 257;
    const ndist = this.bits(5) + 1;
    const ncode = this.bits(4) + 4;
    if (nlen > 286 || ndist > 30) throw new ZlibError('Invalid deflate data: bad code counts');
    const lengths = new Uint8Array(320);
    for (let i = 0; i < ncode; i++) lengths[CL_ORDER[i]] = this.bits(3);
    const lencode = buildHuffman(lengths, 19);
    lengths.fill(0);
    let i = 0;
    while (i < nlen + ndist) {
      const sym = this.decode(lencode);
      if (sym < 16) {
        lengths[i++] = sym;
        continue;
      }
      let len = 0;
      let rep: number;
      if (sym === 16) {
        if (i === 0) throw new ZlibError('Invalid deflate data: repeat with no previous length');
        len = lengths[i - 1];
        rep = 3 + this.bits(2);
      } else if (sym === 17) rep = 3 + this.bits(3);
      else rep = 11 + this.bits(7);
      if (i + rep > nlen + ndist) throw new ZlibError('Invalid deflate data: too many code lengths');
      while (rep--) lengths[i++] = len;
    }
    if (lengths[256] === 0) throw new ZlibError('Invalid deflate data: no end-of-block code');
    const lit = buildHuffman(lengths.subarray(0, nlen), nlen);
    const dist = buildHuffman(lengths.subarray(nlen, nlen + ndist), ndist);
    this.codes(lit, dist);
  }

  run(): void {
    let last = 0;
    while (!last) {
      last = this.bits(1);
      const type = this.bits(2);
      if (type === 0) this.stored();
      else if (type === 1) {
        const f = getFixedTables();
        this.codes(f.lit, f.dist);
      } else if (type === 2) this.dynamic();
      else throw new ZlibError('Invalid deflate data: reserved block type');
    }
  }
}

/**
 * Decompresses a zlib stream (header, deflate data, Adler-32 trailer). Throws ZlibError on
 * malformed or truncated input, or when the output would exceed `maxOutputLength`
 * (default 64 MiB, a guard against decompression bombs).
 */
export function zlibInflate(data: Uint8Array, opts: { maxOutputLength?: number } = {}): Uint8Array {
  const maxOut = opts.maxOutputLength ?? 64 * 1024 * 1024;
  if (data.length < 6) throw new ZlibError('Truncated zlib stream');
  const cmf = data[0];
  const flg = data[1];
  if ((cmf & 0x0f) !== 8 || cmf >>> 4 > 7) throw new ZlibError('Not a zlib deflate stream');
  if (((cmf << 8) | flg) % 31 !== 0) throw new ZlibError('Bad zlib header check');
  if (flg & 0x20) throw new ZlibError('zlib preset dictionaries are not supported');
  const inf = new Inflater(data, 2, maxOut);
  inf.run();
  const p = inf.bytePos;
  if (p + 4 > data.length) throw new ZlibError('Truncated zlib stream: missing Adler-32');
  const expected = ((data[p] << 24) | (data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3]) >>> 0;
  const out = inf.out.slice(0, inf.outLen);
  if (adler32(out) !== expected) throw new ZlibError('zlib Adler-32 mismatch');
  return out;
}
