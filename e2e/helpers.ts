import { expect, type Page } from '@playwright/test';
import { meanAbsDiff as engineDiff, pixelStd as engineStd, type RgbaImage } from '../src/engine/image';

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

const asImage = (p: Pixels): RgbaImage => ({ width: p.width, height: p.height, data: Uint8ClampedArray.from(p.data) });

/** Mean per-channel std of the pixels (0 = blank image), as the engine computes it. */
export function pixelStd(p: Pixels): number {
  return engineStd(asImage(p));
}

/** Mean absolute RGB difference in 0..255 units. */
export function meanAbsDiff(a: Pixels, b: Pixels): number {
  return engineDiff(asImage(a), asImage(b));
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

export type View = 'generate' | 'compare' | 'charts' | 'library' | 'bench';

/** Show one of the app's views (tabs, issue 15): the generator, comparison grid, charts, library or benchmark. */
export async function inView(page: Page, view: View): Promise<void> {
  const tab = page.getByTestId(`tab-${view}`);
  if ((await tab.getAttribute('aria-selected')) !== 'true') await tab.click();
  await expect(tab).toHaveAttribute('aria-selected', 'true');
}
