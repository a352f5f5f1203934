import { afterEach, describe, expect, it, vi } from 'vitest';
import { deflateSync } from 'node:zlib';
import { decode, encode as encodeUnfiltered } from 'fast-png';
import { crc32 } from './checksum';
import {
  decodePngSize,
  encodePng,
  encodePngSync,
  makeChunk,
  makeTextChunk,
  MAX_TEXT_INFLATE,
  PngFormatError,
  readPngChunks,
  readTextChunks,
  readTextEntries,
} from './png';

/** Independent decoding (fast-png): size, colour type (2 RGB / 6 RGBA) and the pixels as RGBA. */
function decodeRgba(png: Uint8Array): { width: number; height: number; colorType: number; rgba: Uint8Array } {
  const d = decode(png);
  expect(d.depth).toBe(8);
  const n = d.width * d.height;
  const rgba = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) rgba[i * 4 + k] = d.data[i * d.channels + k];
    rgba[i * 4 + 3] = d.channels === 4 ? d.data[i * 4 + 3] : 255;
  }
  return { width: d.width, height: d.height, colorType: d.channels === 4 ? 6 : 2, rgba };
}

function gradient(w: number, h: number, alpha = true): Uint8ClampedArray {
  const d = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      d[i] = (x * 255) / Math.max(1, w - 1);
      d[i + 1] = (y * 255) / Math.max(1, h - 1);
      d[i + 2] = (x * 7 + y * 13) & 0xff;
      d[i + 3] = alpha ? (x + y) & 0xff : 255;
    }
  }
  return d;
}

function chunkTypes(png: Uint8Array): string[] {
  return readPngChunks(png).map((c) => c.type);
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('encodePng / encodePngSync', () => {
  it('writes a PNG that an independent decoder reproduces pixel for pixel (RGBA, sync)', () => {
    const px = gradient(64, 48);
    const png = encodePngSync(px, 64, 48);
    const dec = decodeRgba(png);
    expect([dec.width, dec.height, dec.colorType]).toEqual([64, 48, 6]);
    expect(Buffer.from(dec.rgba).equals(Buffer.from(px))).toBe(true);
    expect(chunkTypes(png)).toEqual(['IHDR', 'IDAT', 'IEND']);
  });

  it('compresses with filters via CompressionStream and stays lossless (RGBA and opaque RGB)', async () => {
    for (const alpha of [true, false]) {
      const px = gradient(97, 61, alpha);
      const png = await encodePng(px, 97, 61);
      const dec = decodeRgba(png);
      expect(dec.colorType).toBe(alpha ? 6 : 2);
      expect(Buffer.from(dec.rgba).equals(Buffer.from(px))).toBe(true);
      expect(png.length).toBeLessThan(px.length);
    }
  });

  it('filters rows: smaller than the same pixels written unfiltered (fast-png)', () => {
    const px = gradient(256, 256, false);
    const rgb = px.filter((_, i) => i % 4 !== 3);
    const unfiltered = encodeUnfiltered({ width: 256, height: 256, data: rgb, channels: 3, depth: 8 });
    expect(encodePngSync(px, 256, 256).length).toBeLessThan(unfiltered.length / 2);
  });

  it('the sync and async encoders handle 1x1 and large images, losslessly', async () => {
    const one = Uint8Array.of(10, 20, 30, 40);
    expect(decodeRgba(encodePngSync(one, 1, 1)).rgba).toEqual(one);
    expect(decodeRgba(await encodePng(one, 1, 1)).rgba).toEqual(one);
    const big = gradient(300, 300); // > 65535 bytes of scanlines
    expect(Buffer.from(decodeRgba(encodePngSync(big, 300, 300)).rgba).equals(Buffer.from(big))).toBe(true);
    expect(Buffer.from(decodeRgba(await encodePng(big, 300, 300)).rgba).equals(Buffer.from(big))).toBe(true);
  });

  it('deflates with fflate, like the sync encoder, when CompressionStream is unavailable', async () => {
    vi.stubGlobal('CompressionStream', undefined);
    const px = gradient(30, 20);
    const png = await encodePng(px, 30, 20);
    expect(png).toEqual(encodePngSync(px, 30, 20));
    expect(Buffer.from(decodeRgba(png).rgba).equals(Buffer.from(px))).toBe(true);
  });

  it('can keep the alpha channel of opaque images when asked', () => {
    const png = encodePngSync(gradient(4, 4, false), 4, 4, { dropOpaqueAlpha: false });
    expect(decodeRgba(png).colorType).toBe(6);
  });

  it('embeds text chunks before IDAT and validates input', async () => {
    const png = await encodePng(gradient(8, 8), 8, 8, { text: [{ keyword: 'parameters', text: 'a red circle' }] });
    expect(chunkTypes(png)).toEqual(['IHDR', 'tEXt', 'IDAT', 'IEND']);
    expect(readTextChunks(png)).toEqual({ parameters: 'a red circle' });
    expect(() => encodePngSync(new Uint8Array(10), 2, 2)).toThrow(RangeError);
    expect(() => encodePngSync(new Uint8Array(0), 0, 0)).toThrow(RangeError);
    expect(() => encodePngSync(new Uint8Array(8), 1.5, 1)).toThrow(RangeError);
  });

  it('writes correct chunk CRCs', () => {
    const png = encodePngSync(gradient(3, 3), 3, 3, { text: [{ keyword: 'k', text: 'v' }] });
    // readPngChunks verifies every CRC; also check IEND bytes literally.
    expect(() => readPngChunks(png)).not.toThrow();
    expect(Buffer.from(png.subarray(-12)).toString('hex')).toBe('0000000049454e44ae426082');
  });
});

describe('text chunks', () => {
  const latin = { keyword: 'parameters', text: 'café, naïve\nSteps: 4, Sampler: Euler' };
  const unicode = { keyword: 'fewstep', text: '{"prompt":"一只红色的猫 🐱 — Ünïcödé"}' };

  it('uses tEXt for Latin-1 and iTXt for other text, and round-trips both', () => {
    const png = encodePngSync(gradient(2, 2), 2, 2, { text: [latin, unicode] });
    const entries = readTextEntries(png);
    expect(entries.map((e) => e.chunkType)).toEqual(['tEXt', 'iTXt']);
    expect(readTextChunks(png)).toEqual({ parameters: latin.text, fewstep: unicode.text });
  });

  it('reads zTXt and compressed iTXt chunks written by other tools', () => {
    const kw = (s: string) => Buffer.from(s, 'latin1');
    const ztxt = makeChunk('zTXt', Buffer.concat([kw('Comment'), Buffer.of(0, 0), deflateSync(Buffer.from('zipped text é', 'latin1'))]));
    const itxt = makeChunk(
      'iTXt',
      Buffer.concat([kw('Title'), Buffer.of(0, 1, 0), kw('ja'), Buffer.of(0), Buffer.from('題名'), Buffer.of(0), deflateSync(Buffer.from('赤い丸 🔴'))]),
    );
    const base = encodePngSync(gradient(2, 2), 2, 2);
    // splice after IHDR (8 + 25 bytes)
    const png = Buffer.concat([base.subarray(0, 33), ztxt, itxt, base.subarray(33)]);
    expect(readTextChunks(png)).toEqual({ Comment: 'zipped text é', Title: '赤い丸 🔴' });
    const it = readTextEntries(png).find((e) => e.keyword === 'Title');
    expect(it?.languageTag).toBe('ja');
    expect(it?.translatedKeyword).toBe('題名');
  });

  it('reads metadata from a PNG of another encoder: text after IDAT too, the first of a repeated keyword wins', () => {
    // A PNG written the way canvas.toBlob would: IHDR, IDAT (zlib level 9 via node), IEND.
    const px = gradient(5, 4);
    const rows = Buffer.alloc(4 * (5 * 4 + 1));
    for (let y = 0; y < 4; y++) Buffer.from(px.buffer, y * 20, 20).copy(rows, y * 21 + 1);
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(5, 0);
    ihdr.writeUInt32BE(4, 4);
    ihdr[8] = 8;
    ihdr[9] = 6;
    const out = Buffer.concat([
      Buffer.from('89504e470d0a1a0a', 'hex'),
      makeChunk('IHDR', ihdr),
      makeTextChunk({ keyword: 'parameters', text: 'new prompt' }),
      makeChunk('IDAT', deflateSync(rows, { level: 9 })),
      makeTextChunk({ keyword: 'fewstep', text: '{"seed":42,"prompt":"猫"}' }),
      makeTextChunk({ keyword: 'parameters', text: 'old' }),
      makeChunk('IEND', new Uint8Array(0)),
    ]);
    expect(chunkTypes(out)).toEqual(['IHDR', 'tEXt', 'IDAT', 'iTXt', 'tEXt', 'IEND']);
    expect(readTextChunks(out)).toEqual({ parameters: 'new prompt', fewstep: '{"seed":42,"prompt":"猫"}' });
    expect(readTextEntries(out).map((e) => e.text)).toEqual(['new prompt', '{"seed":42,"prompt":"猫"}', 'old']);
    expect(Buffer.from(decodeRgba(out).rgba).equals(Buffer.from(px))).toBe(true);
  });

  it('validates keywords and strips NUL from text', () => {
    for (const bad of ['', ' lead', 'trail ', 'dou  ble', 'x'.repeat(80), 'nul\0', '猫']) {
      expect(() => makeTextChunk({ keyword: bad, text: 't' })).toThrow(RangeError);
    }
    const png = encodePngSync(gradient(1, 1), 1, 1, { text: [{ keyword: 'k', text: 'a\0b' }] });
    expect(readTextChunks(png)).toEqual({ k: 'ab' });
  });

  it('skips a corrupt compressed text chunk instead of failing the whole file', () => {
    const broken = makeChunk('zTXt', Buffer.concat([Buffer.from('bad'), Buffer.of(0, 0, 0x78, 0x9c, 1, 2, 3)]));
    const base = encodePngSync(gradient(1, 1), 1, 1, { text: [{ keyword: 'ok', text: 'fine' }] });
    const png = Buffer.concat([base.subarray(0, 33), broken, base.subarray(33)]);
    expect(readTextChunks(png)).toEqual({ ok: 'fine' });
  });

  it('skips a compressed text chunk that would inflate past MAX_TEXT_INFLATE', () => {
    const body = (n: number) => deflateSync(Buffer.alloc(n, 'a'), { level: 9 });
    const big = makeChunk('zTXt', Buffer.concat([Buffer.from('big'), Buffer.of(0, 0), body(MAX_TEXT_INFLATE + 1)]));
    const edge = makeChunk('zTXt', Buffer.concat([Buffer.from('edge'), Buffer.of(0, 0), body(MAX_TEXT_INFLATE)]));
    const base = encodePngSync(gradient(1, 1), 1, 1, { text: [{ keyword: 'ok', text: 'fine' }] });
    const text = readTextChunks(Buffer.concat([base.subarray(0, 33), big, edge, base.subarray(33)]));
    expect(Object.keys(text)).toEqual(['edge', 'ok']);
    expect(text.edge.length).toBe(MAX_TEXT_INFLATE);
  });
});

describe('validation and size', () => {
  const png = encodePngSync(gradient(123, 45), 123, 45, { text: [{ keyword: 'a', text: 'b' }] });

  it('decodePngSize reads IHDR, even from a prefix of the file', () => {
    expect(decodePngSize(png)).toEqual({ width: 123, height: 45 });
    expect(decodePngSize(png.subarray(0, 33))).toEqual({ width: 123, height: 45 });
    expect(decodePngSize(png.buffer.slice(png.byteOffset, png.byteOffset + png.byteLength) as ArrayBuffer)).toEqual({ width: 123, height: 45 });
  });

  it('gives clear errors for non-PNG, truncated and corrupt files', () => {
    const jpeg = Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46);
    expect(() => decodePngSize(jpeg)).toThrow(/Not a PNG/);
    expect(() => readTextChunks(jpeg)).toThrow(PngFormatError);
    expect(() => readTextChunks(new Uint8Array(0))).toThrow(/Not a PNG/);
    expect(() => decodePngSize(png.subarray(0, 20))).toThrow(/Truncated/);
    expect(() => readTextChunks(png.subarray(0, png.length - 5))).toThrow(/Truncated/);
    expect(() => readTextChunks(png.subarray(0, 60))).toThrow(/Truncated PNG: chunk IDAT at byte 48/);
    expect(() => readTextEntries(png.subarray(0, 60))).toThrow(PngFormatError);
    const corrupt = Uint8Array.from(png);
    corrupt[42] ^= 1; // inside the tEXt chunk data
    expect(() => readTextChunks(corrupt)).toThrow(/CRC mismatch in chunk tEXt/);
    expect(readPngChunks(corrupt, { verifyCrc: false }).length).toBe(4);
  });

  it('makeChunk stores the CRC over type and data', () => {
    const c = makeChunk('tEXt', Uint8Array.of(1, 2, 3));
    expect(Buffer.from(c).readUInt32BE(c.length - 4)).toBe(crc32(c.subarray(4, c.length - 4)));
  });
});
