/**
 * A built-in 5x7 bitmap font (plus one descender row) for printable ASCII 32..126, drawn by
 * plain pixel writes so labels render without canvas (Workers, Node). Characters outside the
 * range render as '?'.
 */
import type { RgbaImage } from './image';

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 8; // 7 rows above the baseline + 1 descender row
export const GLYPH_ADVANCE = 6; // glyph width + 1 column of spacing

// One entry per code point from 32 (space) to 126 (~), rows top to bottom, '#' = ink.
// Rows that are left out are blank.
// prettier-ignore
const GLYPHS: string[] = [
  '..... ..... ..... ..... ..... ..... .....', // space
  '..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..', // !
  '.#.#. .#.#. .#.#. ..... ..... ..... .....', // "
  '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.', // #
  '..#.. .#### #.#.. .###. ..#.# ####. ..#..', // $
  '##... ##..# ...#. ..#.. .#... #..## ...##', // %
  '.##.. #..#. #.#.. .#... #.#.# #..#. .##.#', // &
  '..#.. ..#.. .#... ..... ..... ..... .....', // '
  '...#. ..#.. .#... .#... .#... ..#.. ...#.', // (
  '.#... ..#.. ...#. ...#. ...#. ..#.. .#...', // )
  '..... ..#.. #.#.# .###. #.#.# ..#.. .....', // *
  '..... ..#.. ..#.. ##### ..#.. ..#.. .....', // +
  '..... ..... ..... ..... .##.. ..#.. .#...', // ,
  '..... ..... ..... ##### ..... ..... .....', // -
  '..... ..... ..... ..... ..... .##.. .##..', // .
  '..... ....# ...#. ..#.. .#... #.... .....', // /
  '.###. #...# #..## #.#.# ##..# #...# .###.', // 0
  '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.', // 1
  '.###. #...# ....# ...#. ..#.. .#... #####', // 2
  '##### ...#. ..#.. ...#. ....# #...# .###.', // 3
  '...#. ..##. .#.#. #..#. ##### ...#. ...#.', // 4
  '##### #.... ####. ....# ....# #...# .###.', // 5
  '..##. .#... #.... ####. #...# #...# .###.', // 6
  '##### ....# ...#. ..#.. .#... .#... .#...', // 7
  '.###. #...# #...# .###. #...# #...# .###.', // 8
  '.###. #...# #...# .#### ....# ...#. .##..', // 9
  '..... .##.. .##.. ..... .##.. .##.. .....', // :
  '..... .##.. .##.. ..... .##.. ..#.. .#...', // ;
  '...#. ..#.. .#... #.... .#... ..#.. ...#.', // <
  '..... ..... ##### ..... ##### ..... .....', // =
  '.#... ..#.. ...#. ....# ...#. ..#.. .#...', // >
  '.###. #...# ....# ...#. ..#.. ..... ..#..', // ?
  '.###. #...# ....# .##.# #.#.# #.#.# .###.', // @
  '.###. #...# #...# ##### #...# #...# #...#', // A
  '####. #...# #...# ####. #...# #...# ####.', // B
  '.###. #...# #.... #.... #.... #...# .###.', // C
  '###.. #..#. #...# #...# #...# #..#. ###..', // D
  '##### #.... #.... ####. #.... #.... #####', // E
  '##### #.... #.... ####. #.... #.... #....', // F
  '.###. #...# #.... #.### #...# #...# .####', // G
  '#...# #...# #...# ##### #...# #...# #...#', // H
  '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.', // I
  '..### ...#. ...#. ...#. ...#. #..#. .##..', // J
  '#...# #..#. #.#.. ##... #.#.. #..#. #...#', // K
  '#.... #.... #.... #.... #.... #.... #####', // L
  '#...# ##.## #.#.# #.#.# #...# #...# #...#', // M
  '#...# #...# ##..# #.#.# #..## #...# #...#', // N
  '.###. #...# #...# #...# #...# #...# .###.', // O
  '####. #...# #...# ####. #.... #.... #....', // P
  '.###. #...# #...# #...# #.#.# #..#. .##.#', // Q
  '####. #...# #...# ####. #.#.. #..#. #...#', // R
  '.#### #.... #.... .###. ....# ....# ####.', // S
  '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..', // T
  '#...# #...# #...# #...# #...# #...# .###.', // U
  '#...# #...# #...# #...# #...# .#.#. ..#..', // V
  '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.', // W
  '#...# #...# .#.#. ..#.. .#.#. #...# #...#', // X
  '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..', // Y
  '##### ....# ...#. ..#.. .#... #.... #####', // Z
  '.###. .#... .#... .#... .#... .#... .###.', // [
  '..... #.... .#... ..#.. ...#. ....# .....', // backslash
  '.###. ...#. ...#. ...#. ...#. ...#. .###.', // ]
  '..#.. .#.#. #...# ..... ..... ..... .....', // ^
  '..... ..... ..... ..... ..... ..... #####', // _
  '.#... ..#.. ...#. ..... ..... ..... .....', // `
  '..... ..... .###. ....# .#### #...# .####', // a
  '#.... #.... #.##. ##..# #...# #...# ####.', // b
  '..... ..... .###. #.... #.... #...# .###.', // c
  '....# ....# .##.# #..## #...# #...# .####', // d
  '..... ..... .###. #...# ##### #.... .###.', // e
  '..##. .#..# .#... ###.. .#... .#... .#...', // f
  '..... ..... .#### #...# #...# .#### ....# .###.', // g
  '#.... #.... #.##. ##..# #...# #...# #...#', // h
  '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.', // i
  '...#. ..... ..##. ...#. ...#. ...#. #..#. .##..', // j
  '#.... #.... #..#. #.#.. ##... #.#.. #..#.', // k
  '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.', // l
  '..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#', // m
  '..... ..... #.##. ##..# #...# #...# #...#', // n
  '..... ..... .###. #...# #...# #...# .###.', // o
  '..... ..... ####. #...# #...# ####. #.... #....', // p
  '..... ..... .#### #...# #...# .#### ....# ....#', // q
  '..... ..... #.##. ##..# #.... #.... #....', // r
  '..... ..... .###. #.... .###. ....# ####.', // s
  '.#... .#... ###.. .#... .#... .#..# ..##.', // t
  '..... ..... #...# #...# #...# #..## .##.#', // u
  '..... ..... #...# #...# #...# .#.#. ..#..', // v
  '..... ..... #...# #...# #.#.# #.#.# .#.#.', // w
  '..... ..... #...# .#.#. ..#.. .#.#. #...#', // x
  '..... ..... #...# #...# #...# .#### ....# .###.', // y
  '..... ..... ##### ...#. ..#.. .#... #####', // z
  '...#. ..#.. ..#.. .#... ..#.. ..#.. ...#.', // {
  '..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..', // |
  '.#... ..#.. ..#.. ...#. ..#.. ..#.. .#...', // }
  '..... ..... .#... #.#.# ...#. ..... .....', // ~
];

/** Row bitmasks, GLYPH_HEIGHT per glyph; bit 4 is the leftmost column. */
const BITMAPS: Uint8Array = (() => {
  const out = new Uint8Array(GLYPHS.length * GLYPH_HEIGHT);
  GLYPHS.forEach((g, i) => {
    const rows = g.split(' ');
    if (rows.length > GLYPH_HEIGHT || rows.some((r) => r.length !== GLYPH_WIDTH)) {
      throw new Error(`Malformed glyph for code ${i + 32}`);
    }
    rows.forEach((r, y) => {
      let bits = 0;
      for (let x = 0; x < GLYPH_WIDTH; x++) if (r[x] === '#') bits |= 1 << (GLYPH_WIDTH - 1 - x);
      out[i * GLYPH_HEIGHT + y] = bits;
    });
  });
  return out;
})();

function glyphIndex(ch: string): number {
  const c = ch.codePointAt(0) ?? 63;
  return c >= 32 && c <= 126 ? c - 32 : 63 - 32;
}

/** True when the glyph for `ch` has ink at column x, row y (0-based, unscaled). */
export function glyphPixel(ch: string, x: number, y: number): boolean {
  if (x < 0 || x >= GLYPH_WIDTH || y < 0 || y >= GLYPH_HEIGHT) return false;
  return ((BITMAPS[glyphIndex(ch) * GLYPH_HEIGHT + y] >> (GLYPH_WIDTH - 1 - x)) & 1) === 1;
}

/** Width in pixels of `text` drawn at `scale` (no trailing spacing column). */
export function measureText(text: string, scale = 1): number {
  const n = Array.from(text).length;
  return n === 0 ? 0 : (n * GLYPH_ADVANCE - 1) * scale;
}

/** Line height in pixels at `scale`. */
export function textHeight(scale = 1): number {
  return GLYPH_HEIGHT * scale;
}

/** Shortens `text` (ending with "..") so that it fits in `maxWidth` pixels at `scale`. */
export function fitText(text: string, maxWidth: number, scale = 1): string {
  const chars = Array.from(text);
  if (measureText(text, scale) <= maxWidth) return text;
  const maxChars = Math.floor((maxWidth / scale + 1) / GLYPH_ADVANCE);
  if (maxChars <= 2) return chars.slice(0, Math.max(0, maxChars)).join('');
  return chars.slice(0, maxChars - 2).join('') + '..';
}

export type Rgba = readonly [number, number, number, number];

/**
 * Draws `text` with its top-left corner at (x, y); pixels outside the image are clipped.
 * The colour is blended over the existing pixel by its alpha.
 */
export function drawText(img: RgbaImage, text: string, x: number, y: number, color: Rgba = [0, 0, 0, 255], scale = 1): void {
  const { data, width, height } = img;
  const [r, g, b, a] = color;
  const alpha = a / 255;
  let penX = Math.round(x);
  const top = Math.round(y);
  for (const ch of text) {
    const base = glyphIndex(ch) * GLYPH_HEIGHT;
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      const bits = BITMAPS[base + gy];
      if (bits === 0) continue;
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (!((bits >> (GLYPH_WIDTH - 1 - gx)) & 1)) continue;
        for (let sy = 0; sy < scale; sy++) {
          const py = top + gy * scale + sy;
          if (py < 0 || py >= height) continue;
          for (let sx = 0; sx < scale; sx++) {
            const px = penX + gx * scale + sx;
            if (px < 0 || px >= width) continue;
            const i = (py * width + px) * 4;
            data[i] = Math.round(data[i] + (r - data[i]) * alpha);
            data[i + 1] = Math.round(data[i + 1] + (g - data[i + 1]) * alpha);
            data[i + 2] = Math.round(data[i + 2] + (b - data[i + 2]) * alpha);
            data[i + 3] = Math.max(data[i + 3], a);
          }
        }
      }
    }
    penX += GLYPH_ADVANCE * scale;
  }
}
