import { expect, test } from '@playwright/test';
import { collectErrors, waitForImage } from './helpers';

// Issue 14 in the app: custom timestep lists (text field, URL `ts`), TCD's gamma ("stochasticity", URL `gamma`),
// and the image caption naming the CPU loop when a WebGPU generation's sampler has no GPU step kernel.

test('custom timesteps and TCD stochasticity from a link, checked as typed; bad lists block Generate with the reason (WASM)', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/?ep=wasm&model=fewstep-teacher&seed=5&ts=999,499&sampler=TCDScheduler&gamma=0.5');
  await expect(page.getByTestId('ep-badge')).toHaveAttribute('data-provider', 'wasm');
  const first = await waitForImage(page);
  await expect(page.getByTestId('timesteps')).toHaveValue('999,499');
  await expect(page.getByTestId('steps-value')).toHaveText('2');
  await expect(page.getByTestId('steps')).toBeDisabled();
  await expect(page.getByTestId('image')).toHaveAttribute('data-steps', '2');
  await expect(page.getByTestId('caption')).toContainText('TCD (stochasticity 0.5) · 2 steps at t = 999,499');
  await expect(page.getByTestId('gamma-value')).toHaveText('0.50');
  await expect.poll(() => new URL(page.url()).searchParams.get('ts')).toBe('999,499');
  await expect.poll(() => new URL(page.url()).searchParams.get('gamma')).toBe('0.5');

  // Typed nonsense: the parser's message inline, Generate disabled and saying why; Ctrl+Enter sends nothing.
  const field = page.getByTestId('timesteps');
  await field.fill('499,999');
  await expect(page.getByTestId('timesteps-help')).toHaveText('`custom_timesteps` must be in descending order: 999 follows 499.');
  await expect(page.getByTestId('generate')).toBeDisabled();
  await expect(page.getByTestId('generate-blocked')).toContainText('Fix the timesteps to generate: `custom_timesteps` must be in descending order');
  await page.keyboard.press('Control+Enter');
  await expect(page.getByTestId('running')).toHaveCount(0);
  await expect(page.getByTestId('image')).toHaveAttribute('data-request', first.request);
  // The scheduler's own check: the teacher was trained on 1000 timesteps.
  await field.fill('1000,10');
  await expect(page.getByTestId('timesteps-help')).toContainText('must start before `self.config.train_timesteps`: 1000');
  // A valid list sets the step count; Enter generates with it.
  await field.fill('999,749,499,249');
  await expect(page.getByTestId('steps-value')).toHaveText('4');
  await expect(page.getByTestId('generate')).toBeEnabled();
  await field.press('Enter');
  const second = await waitForImage(page, first.request);
  await expect(page.getByTestId('caption')).toContainText('4 steps at t = 999,749,499,249');

  // Stochasticity only for TCD; clearing the list gives the slider back.
  await page.getByTestId('sampler').selectOption('DDIMScheduler');
  await expect(page.getByTestId('gamma')).toHaveCount(0);
  await waitForImage(page, second.request);
  await field.fill('');
  await expect(page.getByTestId('steps')).toBeEnabled();
  await expect(page.getByTestId('generate-blocked')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('a link with a timestep list that does not read: ignored with a notice, the image still comes (WASM)', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/?ep=wasm&ts=999,abc&steps=2');
  await expect(page.getByTestId('notice')).toContainText('The timesteps in the link (ts=999,abc) were ignored: Timestep 2 ("abc") is not a whole number');
  await waitForImage(page);
  await expect(page.getByTestId('timesteps')).toHaveValue('');
  await expect(page.getByTestId('image')).toHaveAttribute('data-steps', '2');
  expect(errors).toEqual([]);
});

test('WebGPU: a sampler without a GPU step kernel runs the CPU loop, and the caption says so', async ({ page }) => {
  test.setTimeout(600_000);
  const errors = collectErrors(page);
  await page.goto('/?ep=webgpu&model=fewstep-turbo&steps=1&sampler=DPMSolverMultistepScheduler');
  await expect(page.getByTestId('ep-badge')).toHaveAttribute('data-provider', 'webgpu', { timeout: 300_000 });
  await waitForImage(page);
  await expect(page.getByTestId('caption')).toContainText('DPM++ 2M');
  await expect(page.getByTestId('loop-fallback')).toHaveText('· CPU loop (DPM++ 2M has no GPU step kernel)');
  await expect(page.getByTestId('loop-note')).toContainText('CPU loop (DPM++ 2M has no GPU step kernel)');
  expect(errors).toEqual([]);
});
