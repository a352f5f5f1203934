import { expect, test } from '@playwright/test';
import { collectErrors, meanAbsDiff, pixelStd, waitForImage } from './helpers';

// The default model is the first shipped pipeline (Turbo, 1 step). Tests pin seed and steps in the URL.
const QUERY = 'seed=1234&steps=1';

test('loads on WebGPU and generates a non-blank image; WebGPU and WASM agree', async ({ page }) => {
  const errors = collectErrors(page);
  // Explicit WebGPU: on a software adapter (SwiftShader here) Auto prefers WASM (e2e/ux.spec.ts checks that).
  await page.goto(`/?${QUERY}&ep=webgpu`);
  await expect(page.getByTestId('ep-badge')).toHaveAttribute('data-provider', 'webgpu');
  const gpu = await waitForImage(page);
  expect(gpu.width).toBeGreaterThan(0);
  expect(pixelStd(gpu)).toBeGreaterThan(2);
  await expect(page.getByTestId('timings')).toContainText('U-Net');
  await expect(page.getByTestId('caption')).toContainText('WebGPU');

  // Same prompt and seed on WASM.
  await page.getByTestId('provider').selectOption('wasm');
  await expect(page.getByTestId('ep-badge')).toHaveAttribute('data-provider', 'wasm');
  const cpu = await waitForImage(page, gpu.request);
  expect(meanAbsDiff(gpu, cpu)).toBeLessThan(2);
  expect(errors).toEqual([]);
});

test('a missing model file is named in the UI and the previous model keeps working', async ({ page }) => {
  await page.goto(`/?${QUERY}&ep=wasm`);
  const first = await waitForImage(page);
  const options = await page.getByTestId('model').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  const current = await page.getByTestId('model').inputValue();
  const other = options.find((o) => o !== current);
  test.skip(!other, 'needs two models');
  await page.route(`**/${other!.replace(/^fixture-/, '')}/unet/model.onnx`, (route) => route.fulfill({ status: 404, body: 'nope' }));
  await page.getByTestId('model').selectOption(other!);
  await expect(page.getByTestId('load-error')).toContainText('unet/model.onnx');
  await expect(page.getByTestId('model')).toHaveValue(current);
  // Still usable: generate again with the previous model.
  await page.getByTestId('seed').fill('99');
  await page.getByTestId('generate').click();
  const again = await waitForImage(page, first.request);
  expect(pixelStd(again)).toBeGreaterThan(2);
});

test('a corrupt .onnx file is reported as not a valid ONNX model', async ({ page }) => {
  await page.goto(`/?${QUERY}&ep=wasm`);
  await waitForImage(page);
  const options = await page.getByTestId('model').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  const current = await page.getByTestId('model').inputValue();
  const other = options.find((o) => o !== current);
  test.skip(!other, 'needs two models');
  await page.route(`**/${other!.replace(/^fixture-/, '')}/vae_decoder/model.onnx`, (route) =>
    route.fulfill({ status: 200, contentType: 'application/octet-stream', body: Buffer.from('this is not a protobuf at all') }),
  );
  await page.getByTestId('model').selectOption(other!);
  await expect(page.getByTestId('load-error')).toContainText('vae_decoder/model.onnx');
  await expect(page.getByTestId('load-error')).toContainText(/not a (valid|readable) ONNX (model|file)|failed/i);
  await expect(page.getByTestId('generate')).toBeEnabled();
});
