import { describe, expect, it } from 'vitest';
import { composeGrid, gridLayout, type Rect } from './grid';
import { drawText, fitText, glyphPixel, measureText, GLYPH_HEIGHT } from './font';
import type { RgbaImage } from './image';
import { encodePng } from './png';
import { decodePngWithNodeZlib } from './testPng';

function solid(w: number, h: number, rgb: [number, number, number]): RgbaImage {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...rgb, 255], i * 4);
  return { data, width: w, height: h };
}

function px(img: RgbaImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 4;
  return Array.from(img.data.subarray(i, i + 4));
}

/** Count of dark ("ink") pixels inside rect. */
function ink(img: RgbaImage, r: Rect): number {
  let n = 0;
  for (let y = r.y; y < r.y + r.h; y++) {
    for (let x = r.x; x < r.x + r.w; x++) {
      const [R, G, B] = px(img, x, y);
      if (R < 128 && G < 128 && B < 128) n++;
    }
  }
  return n;
}

const ROWS = ['Teacher DDIM', 'Turbo', 'LCM'];
const COLS = ['1', '2', '4', '8 steps'];

describe('bitmap font', () => {
  it('covers printable ASCII, with distinct glyphs', () => {
    const seen = new Set<string>();
    for (let c = 33; c <= 126; c++) {
      const ch = String.fromCharCode(c);
      let bits = '';
      for (let y = 0; y < GLYPH_HEIGHT; y++) for (let x = 0; x < 5; x++) bits += glyphPixel(ch, x, y) ? '1' : '0';
      expect(bits, `glyph ${ch}`).toContain('1');
      expect(seen.has(bits), `glyph ${ch} duplicates another`).toBe(false);
      seen.add(bits);
    }
  });

  it('draws exactly the glyph pixels, scaled', () => {
    const img = solid(20, 20, [255, 255, 255]);
    drawText(img, 'A', 2, 3, [0, 0, 0, 255], 2);
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 20; x++) {
        const expected = glyphPixel('A', Math.floor((x - 2) / 2), Math.floor((y - 3) / 2)) && x >= 2 && y >= 3;
        expect(px(img, x, y)[0], `(${x},${y})`).toBe(expected ? 0 : 255);
      }
    }
  });

  it('measures and truncates text', () => {
    expect(measureText('abc')).toBe(17);
    expect(measureText('abc', 2)).toBe(34);
    expect(measureText('')).toBe(0);
    expect(fitText('short', 100)).toBe('short');
    const t = fitText('a much longer label than fits', 40);
    expect(t.endsWith('..')).toBe(true);
    expect(measureText(t)).toBeLessThanOrEqual(40);
  });

  it('renders characters outside ASCII as "?" and clips at the edges', () => {
    const a = solid(12, 10, [255, 255, 255]);
    const b = solid(12, 10, [255, 255, 255]);
    drawText(a, '猫', 1, 1);
    drawText(b, '?', 1, 1);
    expect(a.data).toEqual(b.data);
    expect(() => drawText(a, 'edge', -3, 7)).not.toThrow();
  });
});

describe('composeGrid', () => {
  const cell = solid(64, 64, [200, 30, 30]);
  const cells = ROWS.map((_, r) => COLS.map((_, c) => (r === 1 && c === 2 ? null : cell)));
  const captions = ROWS.map((_, r) => COLS.map((_, c) => `${(r + 1) * (c + 1) * 10} ms`));

  it('has the dimensions of its layout', () => {
    const g = composeGrid({ rows: ROWS, cols: COLS, cells, cellSize: 64, captions, title: 'a red circle, seed 42' });
    const L = gridLayout({ rows: ROWS, cols: COLS, cellSize: 64, captions, title: 'a red circle, seed 42' });
    expect([g.width, g.height]).toEqual([L.width, L.height]);
    expect(g.data.length).toBe(g.width * g.height * 4);
    // 3 rows x 4 cols of 64 px, labels, gaps, title and caption bands
    const s = 1;
    const labelW = measureText('Teacher DDIM') + 8 * s;
    expect(g.width).toBe(labelW + 4 * 64 + 3 * 4 + 4);
    expect(g.height).toBe(16 + 16 + 3 * (64 + 12) + 2 * 4 + 4);
    expect(L.cells[2][3]).toEqual({ x: labelW + 3 * 68, y: 32 + 2 * 80, w: 64, h: 64 });
  });

  it('puts label and caption ink where the layout says, and none elsewhere', () => {
    const g = composeGrid({ rows: ROWS, cols: COLS, cells, cellSize: 64, captions, title: 'Title' });
    const L = g.layout;
    expect(ink(g, L.title!)).toBeGreaterThan(10);
    L.colLabels.forEach((r) => expect(ink(g, r)).toBeGreaterThan(3));
    L.rowLabels.forEach((r) => expect(ink(g, r)).toBeGreaterThan(10));
    L.captions.flat().forEach((r) => expect(ink(g, r!)).toBeGreaterThan(10));
    // the label column's ink is only in the band where the text is drawn (vertically centred)
    const rl = L.rowLabels[0];
    const top = rl.y + Math.floor((rl.h - 8) / 2);
    expect(ink(g, { x: rl.x, y: rl.y, w: rl.w, h: top - rl.y })).toBe(0);
    expect(ink(g, { x: rl.x, y: top + 8, w: rl.w, h: rl.y + rl.h - top - 8 })).toBe(0);
    // total ink equals the sum over the label boxes (nothing stray); cells are red/grey, not ink
    const boxes = [L.title!, ...L.colLabels, ...L.rowLabels, ...(L.captions.flat() as Rect[])];
    const inBoxes = boxes.reduce((n, b) => n + ink(g, b), 0);
    expect(ink(g, { x: 0, y: 0, w: g.width, h: g.height })).toBe(inBoxes);
  });

  it('scales images nearest-neighbour and draws missing cells as a hatched grey box', () => {
    const checker = solid(2, 2, [0, 0, 255]);
    checker.data.set([0, 255, 0, 255], 0); // top-left pixel green
    const g = composeGrid({ rows: ['r'], cols: ['a', 'b'], cells: [[checker, null]], cellSize: 64 });
    const c = g.layout.cells[0][0];
    expect(px(g, c.x, c.y)).toEqual([0, 255, 0, 255]);
    expect(px(g, c.x + 31, c.y + 31)).toEqual([0, 255, 0, 255]);
    expect(px(g, c.x + 32, c.y + 31)).toEqual([0, 0, 255, 255]);
    expect(px(g, c.x + 63, c.y + 63)).toEqual([0, 0, 255, 255]);
    const m = g.layout.cells[0][1];
    const colours = new Set<string>();
    for (let y = m.y; y < m.y + m.h; y++) for (let x = m.x; x < m.x + m.w; x++) colours.add(px(g, x, y).join());
    expect(colours.size).toBe(2); // fill + hatch
    for (const col of colours) {
      const [r, gg, b] = col.split(',').map(Number);
      expect(Math.abs(r - gg)).toBeLessThan(10); // grey
      expect(Math.abs(r - b)).toBeLessThan(10);
      expect(r).toBeGreaterThan(150);
    }
  });

  it('fits non-square images, blends alpha over white, and treats missing rows as empty', () => {
    const wide = solid(4, 2, [10, 10, 10]);
    wide.data[3] = 0; // top-left transparent -> white
    const g = composeGrid({ rows: ['a', 'b'], cols: ['x'], cells: [[wide]], cellSize: 64 });
    const c = g.layout.cells[0][0];
    expect(px(g, c.x + 32, c.y)).toEqual([255, 255, 255, 255]); // letterbox band
    expect(px(g, c.x, c.y + 16)).toEqual([255, 255, 255, 255]); // transparent pixel
    expect(px(g, c.x + 20, c.y + 16)).toEqual([10, 10, 10, 255]);
    const missing = g.layout.cells[1][0];
    expect(px(g, missing.x + 5, missing.y + 6)[0]).toBeGreaterThan(150);
  });

  it('uses larger text for large cells, truncates long labels, and validates input', () => {
    const g = composeGrid({ rows: ['x'.repeat(100)], cols: ['c'], cells: [[null]], cellSize: 128 });
    expect(g.layout.textScale).toBe(2);
    expect(g.layout.rowLabels[0].w).toBe(measureText('x'.repeat(40), 2));
    expect(() => composeGrid({ rows: ['r'], cols: ['c'], cells: [[{ data: new Uint8Array(3), width: 1, height: 1 }]], cellSize: 8 })).toThrow(RangeError);
    expect(() => gridLayout({ rows: [], cols: [], cellSize: 0 })).toThrow(RangeError);
  });

  it('encodes to a PNG of the same size', async () => {
    const g = composeGrid({ rows: ROWS, cols: COLS, cells, cellSize: 64, captions });
    const dec = decodePngWithNodeZlib(await encodePng(g.data, g.width, g.height));
    expect([dec.width, dec.height]).toEqual([g.width, g.height]);
    expect(Buffer.from(dec.rgba).equals(Buffer.from(g.data))).toBe(true);
  });
});
