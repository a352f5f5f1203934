/**
 * Labelled comparison grid (rows = samplers/pipelines, columns = step counts) composed into one
 * RGBA image. Images are placed by plain pixel writes; label text is drawn with canvas (labels.ts),
 * and where there is no canvas (Node) the grid keeps its layout with blank label boxes. Encode the
 * result with `encodePng(grid.data, grid.width, grid.height, ...)`.
 */
import { assertRgbaImage, type RgbaImage } from './image';
import { canvasLabels, fitText, NO_LABELS, textHeight, type LabelPainter, type Rgba } from './labels';

export interface GridOptions {
  /** Row labels, top to bottom. */
  rows: string[];
  /** Column labels, left to right. */
  cols: string[];
  /** cells[row][col]; null/undefined (or a missing row) draws a hatched "no image" box. */
  cells: (RgbaImage | null | undefined)[][];
  /** Side of each (square) cell in pixels; images are scaled nearest-neighbour to fit. */
  cellSize: number;
  /** Optional captions drawn under each cell, e.g. "412 ms". */
  captions?: (string | null | undefined)[][];
  title?: string;
  /** Integer text scale (1 = 10 px type); default 2 for cellSize >= 128, else 1. */
  textScale?: number;
  /** How label text is measured and drawn. Default: canvas where there is one, else `NO_LABELS`; null: `NO_LABELS`. */
  labels?: LabelPainter | null;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface GridLayout {
  width: number;
  height: number;
  textScale: number;
  /** False when label text is skipped (no canvas): the boxes below are then left blank. */
  labelsDrawn: boolean;
  /** Title text box (null without a title). */
  title: Rect | null;
  /** Column label boxes, one per column. */
  colLabels: Rect[];
  /** Row label boxes, one per row. */
  rowLabels: Rect[];
  /** cells[row][col]: the image area of each cell. */
  cells: Rect[][];
  /** captions[row][col]: caption box under each cell (null when the grid has no captions). */
  captions: (Rect | null)[][];
}

const BG: Rgba = [255, 255, 255, 255];
const INK: Rgba = [24, 24, 27, 255];
const CAPTION_INK: Rgba = [82, 82, 91, 255];
const MISSING_FILL: Rgba = [228, 228, 231, 255];
const MISSING_HATCH: Rgba = [180, 180, 186, 255];
const MAX_PIXELS = 1 << 28;
const MAX_LABEL_CHARS = 40;
const MAX_TITLE_CHARS = 160;

function hasText(list: (string | null | undefined)[][] | undefined): boolean {
  return !!list && list.some((row) => row?.some((c) => !!c));
}

function painterFor(labels: LabelPainter | null | undefined): LabelPainter {
  if (labels === undefined) return canvasLabels() ?? NO_LABELS;
  return labels ?? NO_LABELS;
}

/** Computes where everything goes; `composeGrid` draws into exactly these boxes. */
export function gridLayout(opts: Omit<GridOptions, 'cells'>): GridLayout {
  return layoutWith(opts, painterFor(opts.labels));
}

function layoutWith(opts: Omit<GridOptions, 'cells'>, painter: LabelPainter): GridLayout {
  const { rows, cols, cellSize } = opts;
  if (!Number.isInteger(cellSize) || cellSize < 1 || cellSize > 4096) throw new RangeError(`Invalid cellSize ${cellSize}`);
  const s = opts.textScale ?? (cellSize >= 128 ? 2 : 1);
  if (!Number.isInteger(s) || s < 1 || s > 16) throw new RangeError(`Invalid textScale ${s}`);
  const pad = 4 * s;
  const gap = 4 * s;
  const th = textHeight(s);
  const title = opts.title?.trim() ? opts.title.trim() : '';
  const titleH = title ? th + 2 * pad : 0;
  const headerH = th + 2 * pad;
  const labelTextW = Math.min(
    Math.max(0, ...rows.map((r) => painter.measure(r, s))),
    painter.measure('x'.repeat(MAX_LABEL_CHARS), s),
  );
  const labelW = labelTextW > 0 ? labelTextW + 2 * pad : pad;
  const captionH = hasText(opts.captions) ? th + pad : 0;
  const gridW = labelW + Math.max(0, cols.length * cellSize + (cols.length - 1) * gap) + pad;
  const titleW = title ? Math.min(painter.measure(title, s), painter.measure('x'.repeat(MAX_TITLE_CHARS), s)) + 2 * pad : 0;
  const width = Math.max(gridW, titleW, 1);
  const gridTop = titleH + headerH;
  const height = Math.max(gridTop + Math.max(0, rows.length * (cellSize + captionH + gap) - gap) + pad, 1);
  if (width * height > MAX_PIXELS) throw new RangeError(`Grid too large: ${width}x${height}`);

  const cells: Rect[][] = [];
  const captions: (Rect | null)[][] = [];
  for (let r = 0; r < rows.length; r++) {
    const y = gridTop + r * (cellSize + captionH + gap);
    cells.push(cols.map((_, c) => ({ x: labelW + c * (cellSize + gap), y, w: cellSize, h: cellSize })));
    captions.push(
      cols.map((_, c) => (captionH ? { x: labelW + c * (cellSize + gap), y: y + cellSize, w: cellSize, h: captionH } : null)),
    );
  }
  return {
    width,
    height,
    textScale: s,
    labelsDrawn: painter !== NO_LABELS,
    title: title ? { x: pad, y: pad, w: width - 2 * pad, h: th } : null,
    colLabels: cols.map((_, c) => ({ x: labelW + c * (cellSize + gap), y: titleH + pad, w: cellSize, h: th })),
    rowLabels: rows.map((_, r) => ({ x: pad, y: gridTop + r * (cellSize + captionH + gap), w: labelW - 2 * pad, h: cellSize })),
    cells,
    captions,
  };
}

function fillRect(img: RgbaImage, rect: Rect, color: Rgba): void {
  const x0 = Math.max(0, rect.x);
  const y0 = Math.max(0, rect.y);
  const x1 = Math.min(img.width, rect.x + rect.w);
  const y1 = Math.min(img.height, rect.y + rect.h);
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * img.width + x) * 4;
      img.data[i] = color[0];
      img.data[i + 1] = color[1];
      img.data[i + 2] = color[2];
      img.data[i + 3] = color[3];
    }
  }
}

function drawMissing(img: RgbaImage, rect: Rect): void {
  const spacing = Math.max(6, Math.round(rect.w / 8));
  for (let y = Math.max(0, rect.y); y < Math.min(img.height, rect.y + rect.h); y++) {
    const ly = y - rect.y;
    for (let x = Math.max(0, rect.x); x < Math.min(img.width, rect.x + rect.w); x++) {
      const lx = x - rect.x;
      const edge = lx === 0 || ly === 0 || lx === rect.w - 1 || ly === rect.h - 1;
      const color = edge || (lx + ly) % spacing === 0 ? MISSING_HATCH : MISSING_FILL;
      const i = (y * img.width + x) * 4;
      img.data[i] = color[0];
      img.data[i + 1] = color[1];
      img.data[i + 2] = color[2];
      img.data[i + 3] = color[3];
    }
  }
}

/** Nearest-neighbour scale of `src` to fit `rect` (aspect kept, centred), alpha-blended onto the background. */
function drawScaled(img: RgbaImage, src: RgbaImage, rect: Rect): void {
  const k = Math.min(rect.w / src.width, rect.h / src.height);
  const dw = Math.max(1, Math.round(src.width * k));
  const dh = Math.max(1, Math.round(src.height * k));
  const ox = rect.x + Math.floor((rect.w - dw) / 2);
  const oy = rect.y + Math.floor((rect.h - dh) / 2);
  const d = img.data;
  const sd = src.data;
  for (let y = 0; y < dh; y++) {
    const sy = Math.min(src.height - 1, Math.floor(((y + 0.5) * src.height) / dh));
    const py = oy + y;
    if (py < 0 || py >= img.height) continue;
    for (let x = 0; x < dw; x++) {
      const px = ox + x;
      if (px < 0 || px >= img.width) continue;
      const sx = Math.min(src.width - 1, Math.floor(((x + 0.5) * src.width) / dw));
      const si = (sy * src.width + sx) * 4;
      const di = (py * img.width + px) * 4;
      const a = sd[si + 3] / 255;
      d[di] = Math.round(sd[si] * a + d[di] * (1 - a));
      d[di + 1] = Math.round(sd[si + 1] * a + d[di + 1] * (1 - a));
      d[di + 2] = Math.round(sd[si + 2] * a + d[di + 2] * (1 - a));
      d[di + 3] = 255;
    }
  }
}

function drawCentered(img: RgbaImage, text: string, rect: Rect, color: Rgba, s: number, painter: LabelPainter): void {
  const t = fitText(text, rect.w, s, painter);
  const x = rect.x + Math.floor((rect.w - painter.measure(t, s)) / 2);
  const y = rect.y + Math.floor((rect.h - textHeight(s)) / 2);
  painter.draw(img, t, x, y, color, s);
}

/** Composes the labelled grid into a new opaque RGBA image. */
export function composeGrid(opts: GridOptions): RgbaImage & { data: Uint8ClampedArray; layout: GridLayout } {
  const painter = painterFor(opts.labels);
  const layout = layoutWith(opts, painter);
  const s = layout.textScale;
  const img = { data: new Uint8ClampedArray(layout.width * layout.height * 4), width: layout.width, height: layout.height };
  fillRect(img, { x: 0, y: 0, w: img.width, h: img.height }, BG);

  if (layout.title && opts.title) {
    painter.draw(img, fitText(opts.title.trim(), layout.title.w, s, painter), layout.title.x, layout.title.y, INK, s);
  }
  opts.cols.forEach((label, c) => drawCentered(img, label, layout.colLabels[c], INK, s, painter));
  opts.rows.forEach((label, r) => {
    const box = layout.rowLabels[r];
    const t = fitText(label, box.w, s, painter);
    painter.draw(img, t, box.x, box.y + Math.floor((box.h - textHeight(s)) / 2), INK, s);
  });
  for (let r = 0; r < opts.rows.length; r++) {
    for (let c = 0; c < opts.cols.length; c++) {
      const rect = layout.cells[r][c];
      const cell = opts.cells[r]?.[c];
      if (cell) {
        assertRgbaImage(cell, `cells[${r}][${c}]`);
        drawScaled(img, cell, rect);
      } else drawMissing(img, rect);
      const caption = opts.captions?.[r]?.[c];
      const capRect = layout.captions[r][c];
      if (caption && capRect) drawCentered(img, caption, capRect, CAPTION_INK, s, painter);
    }
  }
  return { ...img, layout };
}
