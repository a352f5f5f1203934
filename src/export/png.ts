/**
 * PNG writing and reading without canvas: 8-bit RGBA/RGB encoder, chunk parser, and text chunks
 * (tEXt, zTXt, iTXt). Works in the main thread, in Workers and in Node. Deflate is fflate (or the
 * platform's CompressionStream, see deflate.ts); the row filters are in scanlines.ts.
 *
 * Chunk layout (PNG spec, section 5.3): 4-byte big-endian data length, 4-byte ASCII type,
 * data, 4-byte CRC-32 over type + data.
 *
 * Kept on purpose (the chunk and text layer below): fast-png 8 reads and writes only tEXt, writes it after
 * the image data, and decodes it as windows-1252 rather than Latin-1; our `fewstep` chunk is iTXt (UTF-8)
 * whenever a prompt is not Latin-1, and files from other Stable Diffusion UIs carry zTXt/iTXt. The chunk
 * packages (png-chunks-extract/-encode, png-chunk-text) are single 1.0.0 releases and handle tEXt only.
 */
import { crc32 } from './checksum';
import { concatBytes, zlibDeflate, zlibDeflateSync, zlibInflate } from './deflate';
import { filteredScanlines } from './scanlines';

const PNG_SIGNATURE: Readonly<Uint8Array> = Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10);

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
  /** Write colour type 2 (RGB) when every pixel is opaque. Default true. */
  dropOpaqueAlpha?: boolean;
}

const MAX_DIMENSION = 0x7fffffff;
/** Compressed text chunks that inflate to more than this are skipped. */
export const MAX_TEXT_INFLATE = 16 * 1024 * 1024;

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
function decodeTextChunk(chunk: Pick<PngChunk, 'type' | 'data'>): PngTextEntry | null {
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
      const raw = zlibInflate(d.subarray(nul + 2), MAX_TEXT_INFLATE);
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
        body = zlibInflate(body, MAX_TEXT_INFLATE);
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
    return null; // corrupt or oversized compressed text: skip the chunk rather than fail the whole file
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
function isValidKeyword(keyword: string): boolean {
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

function assemble(width: number, height: number, colorType: 2 | 6, zdata: Uint8Array, text: TextChunk[]): Uint8Array {
  const ihdr = new Uint8Array(13);
  writeU32(ihdr, 0, width);
  writeU32(ihdr, 4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = colorType;
  ihdr[10] = 0; // compression: deflate
  ihdr[11] = 0; // filter method 0
  ihdr[12] = 0; // no interlace
  return concatBytes([
    PNG_SIGNATURE as Uint8Array,
    makeChunk('IHDR', ihdr),
    ...text.map(makeTextChunk),
    makeChunk('IDAT', zdata),
    makeChunk('IEND', new Uint8Array(0)),
  ]);
}

/** Filtered scanlines and colour type: 2 (RGB) when every pixel is opaque, unless asked to keep alpha. */
function scanlines(data: PixelData, width: number, height: number, opts: EncodePngOptions): { rows: Uint8Array; colorType: 2 | 6 } {
  validateImage(data, width, height);
  const rgb = opts.dropOpaqueAlpha !== false && isOpaque(data);
  return { rows: filteredScanlines(data, width, height, rgb ? 3 : 4), colorType: rgb ? 2 : 6 };
}

/**
 * Encodes 8-bit RGBA pixels (row-major, width*height*4 bytes) as a PNG with text chunks, synchronously
 * (fflate deflate, adaptive row filters).
 */
export function encodePngSync(data: PixelData, width: number, height: number, opts: EncodePngOptions = {}): Uint8Array {
  const { rows, colorType } = scanlines(data, width, height, opts);
  return assemble(width, height, colorType, zlibDeflateSync(rows), opts.text ?? []);
}

/**
 * Encodes 8-bit RGBA pixels as a PNG with text chunks, like `encodePngSync`, but deflates with the platform's
 * CompressionStream where there is one (faster, and off the main thread: deflate.ts).
 */
export async function encodePng(data: PixelData, width: number, height: number, opts: EncodePngOptions = {}): Promise<Uint8Array> {
  const { rows, colorType } = scanlines(data, width, height, opts);
  return assemble(width, height, colorType, await zlibDeflate(rows), opts.text ?? []);
}
