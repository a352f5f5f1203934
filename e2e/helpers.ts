import { expect, type Page } from '@playwright/test';

export interface Pixels {
  width: number;
  height: number;
  data: number[];
  request: string;
}

/** Wait until the model is loaded and an image for a finished run is on the canvas; return its pixels. */
export async function waitForImage(page: Page, previousRequest = ''): Promise<Pixels> {
  await expect(page.getByTestId('image')).not.toHaveAttribute('data-request', previousRequest === '' ? '' : previousRequest);
  await expect(page.getByTestId('running')).toHaveCount(0);
  return page.getByTestId('image').evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
    return { width: c.width, height: c.height, data: Array.from(d.data), request: c.dataset.request ?? '' };
  });
}

export function pixelStd(p: Pixels): number {
  let total = 0;
  for (let c = 0; c < 3; c++) {
    let s = 0;
    let s2 = 0;
    const n = p.width * p.height;
    for (let i = 0; i < n; i++) {
      const v = p.data[i * 4 + c];
      s += v;
      s2 += v * v;
    }
    total += Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
  }
  return total / 3;
}

export function meanAbsDiff(a: Pixels, b: Pixels): number {
  expect(a.width).toBe(b.width);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    for (let c = 0; c < 3; c++) sum += Math.abs(a.data[i + c] - b.data[i + c]);
    n += 3;
  }
  return sum / n;
}

/** Collect console errors and page errors so a test can assert none happened. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // 404s are expected: optional component configs and catalog entries a checkout has not built are probed.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  return errors;
}
