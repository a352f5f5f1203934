/**
 * Label text for grid.ts, drawn with canvas: an OffscreenCanvas (pages and workers) or else a <canvas> element.
 * Where neither exists (Node, unit tests) `canvasLabels()` returns null and the grid keeps its layout but leaves the
 * label boxes blank (`NO_LABELS`).
 */
import type { RgbaImage } from './image';

export type Rgba = readonly [number, number, number, number];

/** Measures and draws one line of text at an integer text scale `s`. */
export interface LabelPainter {
  /** Width of `text` in pixels. */
  measure(text: string, s: number): number;
  /** Draws `text` with its line box's top-left corner at (x, y), blended by coverage, clipped to the image. */
  draw(img: RgbaImage, text: string, x: number, y: number, color: Rgba, s: number): void;
}

/** Type size and line height at scale 1. */
export const FONT_PX = 10;
const LINE_PX = 12;
const FONT_FAMILY = 'system-ui, sans-serif';
const ELLIPSIS = '…';

/** Line height in pixels at scale `s`. */
export function textHeight(s: number): number {
  return LINE_PX * s;
}

/** No canvas: nothing is drawn, and widths are estimated (0.6 em per character) so the grid keeps its shape. */
export const NO_LABELS: LabelPainter = {
  measure: (text, s) => Math.ceil(Array.from(text).length * FONT_PX * s * 0.6),
  draw: () => undefined,
};

/** `text`, shortened with an ellipsis when needed so that it fits in `maxWidth` pixels. */
export function fitText(text: string, maxWidth: number, s: number, painter: LabelPainter): string {
  if (painter.measure(text, s) <= maxWidth) return text;
  const chars = Array.from(text);
  let lo = 0; // longest prefix known to fit (with the ellipsis)
  let hi = chars.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (painter.measure(chars.slice(0, mid).join('') + ELLIPSIS, s) <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return lo === 0 ? '' : chars.slice(0, lo).join('').trimEnd() + ELLIPSIS;
}

type Context2D = OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D;

function makeCanvas(): OffscreenCanvas | HTMLCanvasElement | null {
  if (typeof OffscreenCanvas !== 'undefined') return new OffscreenCanvas(1, 1);
  if (typeof document !== 'undefined') return document.createElement('canvas');
  return null;
}

/** A painter backed by a 2D canvas, or null where there is no canvas. */
export function canvasLabels(): LabelPainter | null {
  const canvas = makeCanvas();
  const ctx = (canvas?.getContext('2d') ?? null) as Context2D | null;
  if (!canvas || !ctx) return null;
  const font = (s: number): string => `${FONT_PX * s}px ${FONT_FAMILY}`;
  const measure = (text: string, s: number): number => {
    ctx.font = font(s);
    return Math.ceil(ctx.measureText(text).width);
  };
  return {
    measure,
    draw(img, text, x, y, color, s) {
      const w = measure(text, s);
      const h = textHeight(s);
      if (w === 0) return;
      // Resizing clears the canvas and resets its state.
      canvas.width = w;
      canvas.height = h;
      ctx.font = font(s);
      ctx.textBaseline = 'middle';
      ctx.fillStyle = '#000';
      ctx.fillText(text, 0, h / 2);
      const coverage = ctx.getImageData(0, 0, w, h).data;
      const [r, g, b, a] = color;
      const x0 = Math.round(x);
      const y0 = Math.round(y);
      for (let cy = 0; cy < h; cy++) {
        const py = y0 + cy;
        if (py < 0 || py >= img.height) continue;
        for (let cx = 0; cx < w; cx++) {
          const px = x0 + cx;
          const k = (coverage[(cy * w + cx) * 4 + 3] / 255) * (a / 255);
          if (px < 0 || px >= img.width || k === 0) continue;
          const i = (py * img.width + px) * 4;
          const d = img.data;
          d[i] = Math.round(d[i] + (r - d[i]) * k);
          d[i + 1] = Math.round(d[i + 1] + (g - d[i + 1]) * k);
          d[i + 2] = Math.round(d[i + 2] + (b - d[i + 2]) * k);
          d[i + 3] = Math.max(d[i + 3], Math.round(255 * k));
        }
      }
    },
  };
}
