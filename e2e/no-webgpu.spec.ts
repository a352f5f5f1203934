import { expect, test } from '@playwright/test';
import { pixelStd, waitForImage } from './helpers';

// Launched without --enable-unsafe-webgpu: there is no adapter, so the app must fall back to WASM and say why.
test('falls back to WASM when WebGPU is unavailable, and still generates', async ({ page }) => {
  await page.goto('/?seed=5&steps=1');
  await expect(page.getByTestId('ep-badge')).toHaveAttribute('data-provider', 'wasm');
  await expect(page.getByTestId('ep-reason')).toContainText(/WASM fallback: (no WebGPU adapter|this browser exposes no WebGPU)/);
  const img = await waitForImage(page);
  expect(pixelStd(img)).toBeGreaterThan(2);
});
