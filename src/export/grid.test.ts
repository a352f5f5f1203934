import { afterEach, describe, expect, it, vi } from 'vitest';
import { decode } from 'fast-png';
import { composeGrid, gridLayout, type Rect } from './grid';
import { canvasLabels, fitText, FONT_PX, NO_LABELS, textHeight, type LabelPainter } from './labels';
import type { RgbaImage } from './image';
import { encodePng } from './png';

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

/**
 * A stand-in for canvas text: each character is 6 px wide (5 of ink, 1 of spacing) and inks the whole line box,
 * like a monospace font, so ink positions can be checked exactly.
 */
const BLOCKS: LabelPainter = {
  measure: (text, s) => Math.max(0, Array.from(text).length * 6 - 1) * s,
  draw(img, text, x, y, color, s) {
    Array.from(text).forEach((ch, n) => {
      if (ch === ' ') return;
      for (let py = y; py < y + textHeight(s); py++) {
        for (let px = x + n * 6 * s; px < x + (n * 6 + 5) * s; px++) {
          if (px >= 0 && py >= 0 && px < img.width && py < img.height) img.data.set(color, (py * img.width + px) * 4);
        }
      }
    });
  },
};

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('labels', () => {
  it('without a canvas: no painter, widths estimated at 0.6 em per character', () => {
    expect(canvasLabels()).toBeNull(); // Node has neither OffscreenCanvas nor document
    expect(NO_LABELS.measure('abc', 1)).toBe(Math.ceil(3 * FONT_PX * 0.6));
    expect(NO_LABELS.measure('abc', 2)).toBe(Math.ceil(6 * FONT_PX * 0.6));
    expect(NO_LABELS.measure('', 1)).toBe(0);
    expect(textHeight(2)).toBe(2 * textHeight(1));
  });

  it('fitText shortens with an ellipsis to the longest prefix that fits', () => {
    expect(fitText('short', 100, 1, BLOCKS)).toBe('short');
    const t = fitText('a much longer label than fits', 40, 1, BLOCKS);
    expect(t).toBe('a muc…'); // 6 characters: 6 x 6 - 1 = 35 <= 40; 'a much…' would be 41
    expect(BLOCKS.measure(t, 1)).toBeLessThanOrEqual(40);
    expect(fitText('abcdefghij', 41, 1, BLOCKS)).toBe('abcdef…');
    expect(fitText('abc', 3, 1, BLOCKS)).toBe('');
  });

  it('draws canvas text blended by its coverage, at the given box, clipped to the image', () => {
    // A fake OffscreenCanvas whose text covers [0, width) x [2, h - 2) with 50% coverage.
    const fonts: string[] = [];
    class FakeCanvas {
      width = 1;
      height = 1;
      getContext() {
        const size = (): number[] => [this.width, this.height];
        return {
          font: '',
          textBaseline: '',
          fillStyle: '',
          measureText(text: string) {
            fonts.push(this.font);
            return { width: text.length * 7.5 };
          },
          fillText() {},
          getImageData(_x: number, _y: number, w: number, h: number) {
            expect([w, h]).toEqual(size());
            const data = new Uint8ClampedArray(w * h * 4);
            for (let y = 2; y < h - 2; y++) for (let x = 0; x < w; x++) data[(y * w + x) * 4 + 3] = 128;
            return { data };
          },
        };
      }
    }
    vi.stubGlobal('OffscreenCanvas', FakeCanvas);
    const painter = canvasLabels()!;
    expect(painter.measure('ab', 2)).toBe(15);
    expect(fonts.at(-1)).toBe(`${2 * FONT_PX}px system-ui, sans-serif`);
    const img = solid(40, 30, [255, 255, 255]);
    painter.draw(img, 'ab', 3, 4, [0, 0, 0, 255], 1); // 15 px wide, 12 px line: ink rows 6..13
    for (let y = 0; y < 30; y++) {
      for (let x = 0; x < 40; x++) {
        const inside = x >= 3 && x < 18 && y >= 6 && y < 14;
        expect(px(img, x, y)[0], `(${x},${y})`).toBe(inside ? 127 : 255);
      }
    }
    expect(() => painter.draw(img, 'edge', 35, 25, [0, 0, 0, 255], 2)).not.toThrow();
    expect(() => painter.draw(img, 'edge', -10, -5, [0, 0, 0, 255], 1)).not.toThrow();
  });
});

describe('composeGrid', () => {
  const cell = solid(64, 64, [200, 30, 30]);
  const cells = ROWS.map((_, r) => COLS.map((_, c) => (r === 1 && c === 2 ? null : cell)));
  const captions = ROWS.map((_, r) => COLS.map((_, c) => `${(r + 1) * (c + 1) * 10} ms`));

  it('has the dimensions of its layout', () => {
    const opts = { rows: ROWS, cols: COLS, cellSize: 64, captions, title: 'a red circle, seed 42', labels: BLOCKS };
    const g = composeGrid({ ...opts, cells });
    const L = gridLayout(opts);
    expect([g.width, g.height]).toEqual([L.width, L.height]);
    expect(g.data.length).toBe(g.width * g.height * 4);
    // 3 rows x 4 cols of 64 px, labels, gaps, title and caption bands (12 px lines, 4 px padding)
    const s = 1;
    const labelW = BLOCKS.measure('Teacher DDIM', 1) + 8 * s;
    expect(g.width).toBe(labelW + 4 * 64 + 3 * 4 + 4);
    expect(g.height).toBe(20 + 20 + 3 * (64 + 16) + 2 * 4 + 4);
    expect(L.cells[2][3]).toEqual({ x: labelW + 3 * 68, y: 40 + 2 * 84, w: 64, h: 64 });
    expect(L.labelsDrawn).toBe(true);
  });

  it('puts label and caption ink where the layout says, and none elsewhere', () => {
    const g = composeGrid({ rows: ROWS, cols: COLS, cells, cellSize: 64, captions, title: 'Title', labels: BLOCKS });
    const L = g.layout;
    expect(ink(g, L.title!)).toBeGreaterThan(10);
    L.colLabels.forEach((r) => expect(ink(g, r)).toBeGreaterThan(3));
    L.rowLabels.forEach((r) => expect(ink(g, r)).toBeGreaterThan(10));
    L.captions.flat().forEach((r) => expect(ink(g, r!)).toBeGreaterThan(10));
    // the label column's ink is only in the band where the text is drawn (vertically centred)
    const rl = L.rowLabels[0];
    const th = textHeight(1);
    const top = rl.y + Math.floor((rl.h - th) / 2);
    expect(ink(g, { x: rl.x, y: rl.y, w: rl.w, h: top - rl.y })).toBe(0);
    expect(ink(g, { x: rl.x, y: top + th, w: rl.w, h: rl.y + rl.h - top - th })).toBe(0);
    // total ink equals the sum over the label boxes (nothing stray); cells are red/grey, not ink
    const boxes = [L.title!, ...L.colLabels, ...L.rowLabels, ...(L.captions.flat() as Rect[])];
    const inBoxes = boxes.reduce((n, b) => n + ink(g, b), 0);
    expect(ink(g, { x: 0, y: 0, w: g.width, h: g.height })).toBe(inBoxes);
  });

  it('without a canvas keeps the same layout boxes but draws no text', () => {
    const opts = { rows: ROWS, cols: COLS, cellSize: 64, captions, title: 'Title' };
    const g = composeGrid({ ...opts, cells }); // default painter: none in Node
    expect(g.layout).toEqual(gridLayout({ ...opts, labels: NO_LABELS }));
    expect(g.layout).toEqual(gridLayout({ ...opts, labels: null }));
    expect(g.layout.labelsDrawn).toBe(false);
    expect(ink(g, { x: 0, y: 0, w: g.width, h: g.height })).toBe(0);
    // every label box has room for its text at the estimated width
    g.layout.rowLabels.forEach((r, i) => expect(r.w).toBeGreaterThanOrEqual(NO_LABELS.measure(ROWS[i], 1)));
    // the cells are the same pixels as with text drawn
    const drawn = composeGrid({ ...opts, cells, labels: BLOCKS });
    const a = g.layout.cells[0][0];
    const b = drawn.layout.cells[0][0];
    expect(px(g, a.x + 10, a.y + 10)).toEqual(px(drawn, b.x + 10, b.y + 10));
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
    const g = composeGrid({ rows: ['x'.repeat(100)], cols: ['c'], cells: [[null]], cellSize: 128, labels: BLOCKS });
    expect(g.layout.textScale).toBe(2);
    expect(g.layout.rowLabels[0].w).toBe(BLOCKS.measure('x'.repeat(40), 2));
    expect(() => composeGrid({ rows: ['r'], cols: ['c'], cells: [[{ data: new Uint8Array(3), width: 1, height: 1 }]], cellSize: 8 })).toThrow(RangeError);
    expect(() => gridLayout({ rows: [], cols: [], cellSize: 0 })).toThrow(RangeError);
  });

  it('encodes to a PNG of the same size', async () => {
    const g = composeGrid({ rows: ROWS, cols: COLS, cells, cellSize: 64, captions, labels: BLOCKS });
    const dec = decode(await encodePng(g.data, g.width, g.height));
    expect([dec.width, dec.height, dec.channels]).toEqual([g.width, g.height, 3]); // opaque -> RGB
    const rgb = g.data.filter((_, i) => i % 4 !== 3);
    expect(Buffer.from(dec.data).equals(Buffer.from(rgb))).toBe(true);
  });
});
