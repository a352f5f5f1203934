#!/usr/bin/env node
/**
 * Draws the app icon once and writes public/favicon.svg, favicon.png (32), apple-touch-icon.png (180) and
 * icon-192/512.png for the web app manifest. The SVG and the PNGs come from the same shapes below: the PNGs are
 * rasterised here (8x8 samples per pixel) and encoded with fast-png, so no browser or image tool is needed.
 * Run: node scripts/make-icons.mjs   (the outputs are committed; rerun only when the design changes)
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { encode } from 'fast-png';

const OUT = resolve(import.meta.dirname, '../public');
const SIZE = 512; // design units

// Three rising steps ("few steps") on a dark rounded square; colours from src/app/styles.css.
const BACKGROUND = { x: 0, y: 0, w: 512, h: 512, r: 112, fill: '#1d1d22' };
const SHAPES = [
  BACKGROUND,
  { x: 88, y: 312, w: 96, h: 112, r: 20, fill: '#93c5fd' },
  { x: 208, y: 216, w: 96, h: 208, r: 20, fill: '#60a5fa' },
  { x: 328, y: 88, w: 96, h: 336, r: 20, fill: '#2563eb' },
];

function svg() {
  const rects = SHAPES.map((s) => `  <rect x="${s.x}" y="${s.y}" width="${s.w}" height="${s.h}" rx="${s.r}" fill="${s.fill}"/>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${SIZE} ${SIZE}">\n${rects.join('\n')}\n</svg>\n`;
}

function inside(s, x, y) {
  if (x < s.x || y < s.y || x > s.x + s.w || y > s.y + s.h) return false;
  const cx = Math.min(Math.max(x, s.x + s.r), s.x + s.w - s.r);
  const cy = Math.min(Math.max(y, s.y + s.r), s.y + s.h - s.r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= s.r ** 2;
}

const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

/** `square`: background without rounded corners (iOS rounds apple-touch-icon itself and fills transparency black). */
function raster(px, square = false) {
  const n = 8; // samples per axis
  const data = new Uint8Array(px * px * 4);
  const shapes = square ? [{ ...BACKGROUND, r: 0 }, ...SHAPES.slice(1)] : SHAPES;
  const colours = shapes.map((s) => rgb(s.fill));
  for (let py = 0; py < px; py++) {
    for (let pxx = 0; pxx < px; pxx++) {
      // Straight (unpremultiplied) average over the samples, painting shapes in order over transparency.
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const x = ((pxx + (sx + 0.5) / n) * SIZE) / px;
          const y = ((py + (sy + 0.5) / n) * SIZE) / px;
          let top = -1;
          shapes.forEach((s, i) => { if (inside(s, x, y)) top = i; });
          if (top < 0) continue;
          r += colours[top][0]; g += colours[top][1]; b += colours[top][2]; a += 1;
        }
      }
      const i = (py * px + pxx) * 4;
      if (a > 0) data.set([r / a, g / a, b / a].map(Math.round), i);
      data[i + 3] = Math.round((a * 255) / (n * n));
    }
  }
  return encode({ width: px, height: px, data, channels: 4, depth: 8 }, { zlib: { level: 9 } });
}

writeFileSync(resolve(OUT, 'favicon.svg'), svg());
for (const [name, px] of [['favicon.png', 32], ['icon-192.png', 192], ['icon-512.png', 512]]) {
  writeFileSync(resolve(OUT, name), raster(px));
}
writeFileSync(resolve(OUT, 'apple-touch-icon.png'), raster(180, true));
console.log(`wrote ${OUT}/favicon.svg, favicon.png, apple-touch-icon.png, icon-192.png, icon-512.png`);
