/**
 * PNG writing and reading without canvas: 8-bit RGBA/RGB encoder, chunk parser, and text chunks
 * (tEXt, zTXt, iTXt). Works in the main thread, in Workers and in Node.
 *
 * Chunk layout (PNG spec, section 5.3): 4-byte big-endian data length, 4-byte ASCII type,
 * data, 4-byte CRC-32 over type + data.
 */
import { crc32 } from './checksum';
import { hasNativeDeflate, zlibCompress, zlibInflate, zlibStored } from './zlib';

export const PNG_SIGNATURE: Readonly<Uint8Array> = Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10);

/** Thrown for anything that is not a well-formed PNG (bad signature, truncation, bad CRC...). */
export class PngFormatError extends Error {
  override name = 'PngFormatError';
}

export interface TextChunk {
  keyword: string;
  text: string;
}

export interface PngChunk {
  /** Four-letter chunk type, e.g. "IHDR". */
  type: string;
  /** Chunk data (a view into the input). */
  data: Uint8Array;
  /** Byte offset of the chunk's length field in the file. */
  offset: number;
}

export interface PngTextEntry extends TextChunk {
  chunkType: 'tEXt' | 'zTXt' | 'iTXt';
  /** iTXt only. */
  languageTag?: string;
  translatedKeyword?: string;
}

export type PixelData = Uint8Array | Uint8ClampedArray;
export type PngBytes = Uint8Array | ArrayBuffer;

export interface EncodePngOptions {
  /** Text chunks written before the image data. */
  text?: TextChunk[];
  /**
   * 'auto' (default): CompressionStream('deflate') when available, else stored blocks.
   * 'none': stored blocks only.
   */
  compression?: 'auto' | 'none';
  /** Write colour type 2 (RGB) when every pixel is opaque. Default true. */
  dropOpaqueAlpha?: boolean;
}

const MAX_DIMENSION = 0x7fffffff;
const MAX_TEXT_INFLATE = 16 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Low-level helpers

function toBytes(png: PngBytes): Uint8Array {
  if (png instanceof Uint8Array) return png;
  if (png instanceof ArrayBuffer) return new Uint8Array(png);
  throw new TypeError('Expected a Uint8Array or ArrayBuffer');
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

function typeBytes(type: string): Uint8Array {
  if (!/^[A-Za-z]{4}$/.test(type)) throw new RangeError(`Invalid PNG chunk type "${type}"`);
  return Uint8Array.from(type, (c) => c.charCodeAt(0));
}

/** Serialises one chunk: length, type, data, CRC. */
export function makeChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  writeU32(out, 0, data.length);
  out.set(typeBytes(type), 4);
  out.set(data, 8);
  writeU32(out, 8 + data.length, crc32(out, 0, 4, 8 + data.length));
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function latin1Encode(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function latin1Decode(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Parsing

function checkSignature(b: Uint8Array): void {
  if (b.length < 8 || PNG_SIGNATURE.some((v, i) => b[i] !== v)) {
    throw new PngFormatError('Not a PNG file: missing PNG signature');
  }
}

/**
 * Splits a PNG into chunks, validating the signature, chunk bounds, CRCs (unless
 * `verifyCrc: false`), that IHDR comes first and that the file ends with IEND.
 */
export function readPngChunks(png: PngBytes, opts: { verifyCrc?: boolean } = {}): PngChunk[] {
  const b = toBytes(png);
  const verify = opts.verifyCrc !== false;
  checkSignature(b);
  const chunks: PngChunk[] = [];
  let o = 8;
  for (;;) {
    if (o + 8 > b.length) {
      throw new PngFormatError(`Truncated PNG: file ends at byte ${b.length} before the IEND chunk`);
    }
    const len = readU32(b, o);
    const type = latin1Decode(b.subarray(o + 4, o + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) throw new PngFormatError(`Corrupt PNG: invalid chunk type at byte ${o}`);
    if (len > 0x7fffffff || o + 12 + len > b.length) {
      throw new PngFormatError(
        `Truncated PNG: chunk ${type} at byte ${o} declares ${len} bytes but only ${Math.max(0, b.length - o - 12)} remain`,
      );
    }
    if (verify) {
      const stored = readU32(b, o + 8 + len);
      if (crc32(b, 0, o + 4, o + 8 + len) !== stored) throw new PngFormatError(`Corrupt PNG: CRC mismatch in chunk ${type} at byte ${o}`);
    }
    if (chunks.length === 0 && type !== 'IHDR') throw new PngFormatError('Corrupt PNG: first chunk is not IHDR');
    chunks.push({ type, data: b.subarray(o + 8, o + 8 + len), offset: o });
    o += 12 + len;
    if (type === 'IEND') return chunks;
  }
}

/** Width and height from the IHDR chunk. Needs only the first 33 bytes of the file. */
export function decodePngSize(png: PngBytes): { width: number; height: number } {
  const b = toBytes(png);
  checkSignature(b);
  if (b.length < 33) throw new PngFormatError('Truncated PNG: file too short to contain an IHDR chunk');
  if (latin1Decode(b.subarray(12, 16)) !== 'IHDR' || readU32(b, 8) !== 13) {
    throw new PngFormatError('Corrupt PNG: first chunk is not a 13-byte IHDR');
  }
  const width = readU32(b, 16);
  const height = readU32(b, 20);
  if (width === 0 || height === 0 || width > MAX_DIMENSION || height > MAX_DIMENSION) {
    throw new PngFormatError(`Corrupt PNG: invalid dimensions ${width}x${height}`);
  }
  return { width, height };
}

function indexOfZero(b: Uint8Array, from: number): number {
  for (let i = from; i < b.length; i++) if (b[i] === 0) return i;
  return -1;
}

/** Decodes one tEXt/zTXt/iTXt chunk; returns null for malformed or unsupported chunks. */
export function decodeTextChunk(chunk: Pick<PngChunk, 'type' | 'data'>): PngTextEntry | null {
  const d = chunk.data;
  const nul = indexOfZero(d, 0);
  if (nul < 1 || nul > 79) return null;
  const keyword = latin1Decode(d.subarray(0, nul));
  try {
    if (chunk.type === 'tEXt') {
      return { chunkType: 'tEXt', keyword, text: latin1Decode(d.subarray(nul + 1)) };
    }
    if (chunk.type === 'zTXt') {
      if (d[nul + 1] !== 0) return null; // compression method 0 = zlib is the only one defined
      const raw = zlibInflate(d.subarray(nul + 2), { maxOutputLength: MAX_TEXT_INFLATE });
      return { chunkType: 'zTXt', keyword, text: latin1Decode(raw) };
    }
    if (chunk.type === 'iTXt') {
      const compressed = d[nul + 1];
      const method = d[nul + 2];
      const langEnd = indexOfZero(d, nul + 3);
      if (langEnd < 0) return null;
      const tkEnd = indexOfZero(d, langEnd + 1);
      if (tkEnd < 0) return null;
      let body = d.subarray(tkEnd + 1);
      if (compressed === 1) {
        if (method !== 0) return null;
        body = zlibInflate(body, { maxOutputLength: MAX_TEXT_INFLATE });
      } else if (compressed !== 0) return null;
      return {
        chunkType: 'iTXt',
        keyword,
        text: utf8Decoder.decode(body),
        languageTag: latin1Decode(d.subarray(nul + 3, langEnd)),
        translatedKeyword: utf8Decoder.decode(d.subarray(langEnd + 1, tkEnd)),
      };
    }
  } catch {
    return null; // corrupt compressed text: skip the chunk rather than fail the whole file
  }
  return null;
}

/** All text entries (tEXt, zTXt, iTXt) in file order. Throws PngFormatError for a bad file. */
export function readTextEntries(png: PngBytes): PngTextEntry[] {
  const out: PngTextEntry[] = [];
  for (const c of readPngChunks(png)) {
    if (c.type === 'tEXt' || c.type === 'zTXt' || c.type === 'iTXt') {
      const e = decodeTextChunk(c);
      if (e) out.push(e);
    }
  }
  return out;
}

/**
 * Text chunks as keyword -> text (the first chunk wins when a keyword repeats).
 * Reads tEXt, zTXt and iTXt (compressed or not). Throws PngFormatError for a bad file.
 */
export function readTextChunks(png: PngBytes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readTextEntries(png)) if (!Object.hasOwn(out, e.keyword)) out[e.keyword] = e.text;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing text chunks

/** PNG keyword rules: 1-79 Latin-1 printable characters, no leading/trailing/double spaces. */
export function isValidKeyword(keyword: string): boolean {
  if (keyword.length < 1 || keyword.length > 79) return false;
  if (keyword.startsWith(' ') || keyword.endsWith(' ') || keyword.includes('  ')) return false;
  for (let i = 0; i < keyword.length; i++) {
    const c = keyword.charCodeAt(i);
    if (!((c >= 32 && c <= 126) || (c >= 161 && c <= 255))) return false;
  }
  return true;
}

/**
 * Serialises a text chunk: tEXt when the text is Latin-1, otherwise uncompressed iTXt (UTF-8).
 * NUL characters are not allowed in PNG text and are removed.
 */
export function makeTextChunk({ keyword, text }: TextChunk): Uint8Array {
  if (!isValidKeyword(keyword)) throw new RangeError(`Invalid PNG text keyword "${keyword}"`);
  const clean = text.replaceAll('\0', '');
  const kw = latin1Encode(keyword);
  if (isLatin1(clean)) {
    const body = latin1Encode(clean);
    const data = new Uint8Array(kw.length + 1 + body.length);
    data.set(kw, 0);
    data.set(body, kw.length + 1);
    return makeChunk('tEXt', data);
  }
  const body = utf8Encoder.encode(clean);
  // keyword \0 compressionFlag(0) compressionMethod(0) languageTag "" \0 translatedKeyword "" \0 text
  const data = new Uint8Array(kw.length + 5 + body.length);
  data.set(kw, 0);
  data.set(body, kw.length + 5);
  return makeChunk('iTXt', data);
}

/**
 * Returns a copy of `png` with `chunks` inserted right after IHDR (before the image data).
 * Existing text chunks with the same keywords are removed unless `replace: false`.
 * Intended for PNGs from canvas.toBlob / OffscreenCanvas.convertToBlob.
 */
export function insertTextChunks(png: PngBytes, chunks: TextChunk[], opts: { replace?: boolean } = {}): Uint8Array {
  const b = toBytes(png);
  const parsed = readPngChunks(b);
  const encoded = chunks.map(makeTextChunk);
  const replaced = new Set(opts.replace === false ? [] : chunks.map((c) => c.keyword));
  const parts: Uint8Array[] = [PNG_SIGNATURE as Uint8Array];
  parsed.forEach((c, i) => {
    const raw = b.subarray(c.offset, c.offset + 12 + c.data.length);
    if (i === 0) {
      parts.push(raw, ...encoded);
      return;
    }
    if ((c.type === 'tEXt' || c.type === 'zTXt' || c.type === 'iTXt') && replaced.size > 0) {
      const nul = indexOfZero(c.data, 0);
      const kw = nul > 0 ? latin1Decode(c.data.subarray(0, nul)) : '';
      if (replaced.has(kw)) return;
    }
    parts.push(raw);
  });
  return concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Encoding

function validateImage(data: PixelData, width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > MAX_DIMENSION || height > MAX_DIMENSION) {
    throw new RangeError(`Invalid PNG dimensions ${width}x${height}`);
  }
  if (data.length !== width * height * 4) {
    throw new RangeError(`RGBA data has ${data.length} bytes, expected ${width * height * 4} for ${width}x${height}`);
  }
}

function isOpaque(data: PixelData): boolean {
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) return false;
  return true;
}

/** Raw scanlines (filter byte + pixels) for colour type 6 (bpp 4) or 2 (bpp 3). */
function packRows(data: PixelData, width: number, height: number, bpp: 3 | 4): Uint8Array {
  const stride = width * bpp;
  const out = new Uint8Array(height * (stride + 1));
  let o = 0;
  let i = 0;
  for (let y = 0; y < height; y++) {
    out[o++] = 0;
    if (bpp === 4) {
      out.set(data.subarray(i, i + stride), o);
      o += stride;
      i += stride;
    } else {
      for (let x = 0; x < width; x++, i += 4) {
        out[o++] = data[i];
        out[o++] = data[i + 1];
        out[o++] = data[i + 2];
      }
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Applies per-row adaptive filtering in place (the "minimum sum of absolute differences"
 * heuristic from the PNG spec's recommendations). Input rows have filter byte 0.
 */
function filterRows(raw: Uint8Array, height: number, stride: number, bpp: number): Uint8Array {
  const out = new Uint8Array(raw.length);
  const cand = Array.from({ length: 5 }, () => new Uint8Array(stride));
  for (let y = 0; y < height; y++) {
    const cur = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const prev = y > 0 ? raw.subarray((y - 1) * (stride + 1) + 1, y * (stride + 1)) : null;
    let best = 0;
    let bestSum = Infinity;
    for (let f = 0; f < 5; f++) {
      const c = cand[f];
      let sum = 0;
      for (let x = 0; x < stride; x++) {
        const a = x >= bpp ? cur[x - bpp] : 0;
        const b = prev ? prev[x] : 0;
        const cc = prev && x >= bpp ? prev[x - bpp] : 0;
        let v: number;
        switch (f) {
          case 0: v = cur[x]; break;
          case 1: v = cur[x] - a; break;
          case 2: v = cur[x] - b; break;
          case 3: v = cur[x] - ((a + b) >>> 1); break;
          default: v = cur[x] - paeth(a, b, cc);
        }
        v &= 0xff;
        c[x] = v;
        sum += v < 128 ? v : 256 - v;
      }
      if (sum < bestSum) {
        bestSum = sum;
        best = f;
      }
    }
    const o = y * (stride + 1);
    out[o] = best;
    out.set(cand[best], o + 1);
  }
  return out;
}

function assemble(width: number, height: number, colorType: 2 | 6, zdata: Uint8Array, text: TextChunk[]): Uint8Array {
  const ihdr = new Uint8Array(13);
  writeU32(ihdr, 0, width);
  writeU32(ihdr, 4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = colorType;
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  return concat([
    PNG_SIGNATURE as Uint8Array,
    makeChunk('IHDR', ihdr),
    ...text.map(makeTextChunk),
    makeChunk('IDAT', zdata),
    makeChunk('IEND', new Uint8Array(0)),
  ]);
}

/**
 * Encodes 8-bit RGBA pixels (row-major, width*height*4 bytes) as a PNG, synchronously, using
 * stored (uncompressed) deflate blocks. Larger files than `encodePng`, but no async and no
 * platform APIs needed.
 */
export function encodePngSync(data: PixelData, width: number, height: number, opts: Omit<EncodePngOptions, 'compression'> = {}): Uint8Array {
  validateImage(data, width, height);
  const rgb = opts.dropOpaqueAlpha !== false && isOpaque(data);
  const raw = packRows(data, width, height, rgb ? 3 : 4);
  return assemble(width, height, rgb ? 2 : 6, zlibStored(raw), opts.text ?? []);
}

/**
 * Encodes 8-bit RGBA pixels as a PNG with text chunks. With compression 'auto' (default) rows are
 * adaptively filtered and compressed with CompressionStream('deflate') where available; without
 * it (or with compression 'none') the result is byte-identical to `encodePngSync`.
 */
export async function encodePng(data: PixelData, width: number, height: number, opts: EncodePngOptions = {}): Promise<Uint8Array> {
  validateImage(data, width, height);
  const rgb = opts.dropOpaqueAlpha !== false && isOpaque(data);
  const bpp = rgb ? 3 : 4;
  let raw = packRows(data, width, height, bpp);
  let zdata: Uint8Array;
  if (opts.compression === 'none' || !hasNativeDeflate()) {
    zdata = zlibStored(raw);
  } else {
    raw = filterRows(raw, height, width * bpp, bpp);
    zdata = await zlibCompress(raw);
  }
  return assemble(width, height, rgb ? 2 : 6, zdata, opts.text ?? []);
}
