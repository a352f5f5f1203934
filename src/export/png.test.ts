import { afterEach, describe, expect, it, vi } from 'vitest';
import { deflateSync } from 'node:zlib';
import { crc32 } from './checksum';
import {
  decodePngSize,
  encodePng,
  encodePngSync,
  insertTextChunks,
  makeChunk,
  makeTextChunk,
  PngFormatError,
  readPngChunks,
  readTextChunks,
  readTextEntries,
} from './png';
import { decodePngWithNodeZlib } from './testPng';

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
  it('writes a PNG that node:zlib-based decoding reproduces pixel for pixel (RGBA, stored)', () => {
    const px = gradient(64, 48);
    const png = encodePngSync(px, 64, 48);
    const dec = decodePngWithNodeZlib(png);
    expect([dec.width, dec.height, dec.colorType]).toEqual([64, 48, 6]);
    expect(Buffer.from(dec.rgba).equals(Buffer.from(px))).toBe(true);
    expect(dec.chunkTypes).toEqual(['IHDR', 'IDAT', 'IEND']);
  });

  it('compresses with filters via CompressionStream and stays lossless (RGBA and opaque RGB)', async () => {
    for (const alpha of [true, false]) {
      const px = gradient(97, 61, alpha);
      const png = await encodePng(px, 97, 61);
      const dec = decodePngWithNodeZlib(png);
      expect(dec.colorType).toBe(alpha ? 6 : 2);
      expect(Buffer.from(dec.rgba).equals(Buffer.from(px))).toBe(true);
      expect(png.length).toBeLessThan(encodePngSync(px, 97, 61).length);
    }
  });

  it("compression 'none' is identical to the sync encoder and handles 1x1 and multi-block images", async () => {
    const one = Uint8Array.of(10, 20, 30, 40);
    expect(await encodePng(one, 1, 1, { compression: 'none' })).toEqual(encodePngSync(one, 1, 1));
    expect(decodePngWithNodeZlib(encodePngSync(one, 1, 1)).rgba).toEqual(one);
    const big = gradient(300, 300); // > 65535 bytes of scanlines -> several stored blocks
    expect(Buffer.from(decodePngWithNodeZlib(encodePngSync(big, 300, 300)).rgba).equals(Buffer.from(big))).toBe(true);
  });

  it('falls back to stored blocks when CompressionStream is unavailable', async () => {
    vi.stubGlobal('CompressionStream', undefined);
    const px = gradient(30, 20);
    const png = await encodePng(px, 30, 20);
    expect(png).toEqual(encodePngSync(px, 30, 20));
    expect(Buffer.from(decodePngWithNodeZlib(png).rgba).equals(Buffer.from(px))).toBe(true);
  });

  it('can keep the alpha channel of opaque images when asked', () => {
    const png = encodePngSync(gradient(4, 4, false), 4, 4, { dropOpaqueAlpha: false });
    expect(decodePngWithNodeZlib(png).colorType).toBe(6);
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

  it('insertTextChunks adds metadata to a PNG from another encoder, replacing same-keyword chunks', () => {
    // A PNG written the way canvas.toBlob would: IHDR, IDAT (zlib level 9 via node), IEND.
    const px = gradient(5, 4);
    const rows = Buffer.alloc(4 * (5 * 4 + 1));
    for (let y = 0; y < 4; y++) Buffer.from(px.buffer, y * 20, 20).copy(rows, y * 21 + 1);
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(5, 0);
    ihdr.writeUInt32BE(4, 4);
    ihdr[8] = 8;
    ihdr[9] = 6;
    const foreign = Buffer.concat([
      Buffer.from('89504e470d0a1a0a', 'hex'),
      makeChunk('IHDR', ihdr),
      makeTextChunk({ keyword: 'parameters', text: 'old' }),
      makeChunk('IDAT', deflateSync(rows, { level: 9 })),
      makeChunk('IEND', new Uint8Array(0)),
    ]);
    const out = insertTextChunks(foreign, [
      { keyword: 'parameters', text: 'new prompt' },
      { keyword: 'fewstep', text: '{"seed":42,"prompt":"猫"}' },
    ]);
    expect(chunkTypes(out)).toEqual(['IHDR', 'tEXt', 'iTXt', 'IDAT', 'IEND']);
    expect(readTextChunks(out)).toEqual({ parameters: 'new prompt', fewstep: '{"seed":42,"prompt":"猫"}' });
    expect(Buffer.from(decodePngWithNodeZlib(out).rgba).equals(Buffer.from(px))).toBe(true);
    // replace: false keeps the old chunk too (first one wins when reading)
    const both = insertTextChunks(foreign, [{ keyword: 'parameters', text: 'new' }], { replace: false });
    expect(readTextEntries(both).map((e) => e.text)).toEqual(['new', 'old']);
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
    expect(() => insertTextChunks(png.subarray(0, 60), [{ keyword: 'a', text: 'b' }])).toThrow(PngFormatError);
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
