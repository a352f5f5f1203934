import { mkdirSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { collectErrors, pixelStd, waitForImage } from './helpers';

// Issue 15's first screen and layout, in the "webgpu" project: its adapter is SwiftShader, a software fallback, so
// Auto must pick WASM by itself and say why. The README's screenshots (docs/screenshots/) are written here.
const SHOTS = 'docs/screenshots';
mkdirSync(SHOTS, { recursive: true });

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: false });
}

async function currentRequest(page: Page): Promise<string> {
  return (await page.getByTestId('image').getAttribute('data-request')) ?? '';
}

async function typeInPrompt(page: Page, text: string): Promise<void> {
  const box = page.getByTestId('prompt');
  await box.click();
  await box.press('ControlOrMeta+a');
  await box.press('Backspace');
  await box.pressSequentially(text, { delay: 30 });
}

test('opening the app shows an image without a click; Auto prefers WASM on a software adapter', async ({ page }) => {
  const errors = collectErrors(page);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto('/');
  await expect(page.getByTestId('ep-badge')).toHaveAttribute('data-provider', 'wasm');
  await expect(page.getByTestId('ep-reason')).toContainText(/software|fallback/i);
  const first = await waitForImage(page);
  expect(pixelStd(first)).toBeGreaterThan(2);
  await expect(page.getByTestId('prompt')).toHaveValue('a large yellow circle in the center on a navy background');
  await expect(page.getByTestId('capabilities')).toContainText('circles, squares and triangles');
  await expect(page.getByTestId('oov')).toHaveCount(0);
  // Pixel-crisp at a whole-number scale.
  const css = await page.getByTestId('image').evaluate((c: HTMLCanvasElement) => ({ w: c.getBoundingClientRect().width, iw: c.width, r: getComputedStyle(c).imageRendering }));
  expect(css.r).toBe('pixelated');
  expect(css.w % css.iw).toBe(0);
  expect(css.w / css.iw).toBeGreaterThanOrEqual(4);
  await shot(page, 'generate');
  expect(errors).toEqual([]);
});

test('typing changes the image live; suggestions, autocomplete and unknown words', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/?seed=7');
  const first = await waitForImage(page);
  // The image follows the prompt as you type, without pressing Generate.
  await typeInPrompt(page, 'a red circle');
  await expect(page.getByTestId('image')).toHaveAttribute('data-prompt', 'a red circle');
  expect(await currentRequest(page)).not.toBe(first.request);
  // Autocomplete of the words the model knows (from its tokenizer).
  await page.getByTestId('prompt').pressSequentially(' on a whi', { delay: 30 });
  await expect(page.getByTestId('completions')).toContainText('white');
  await page.getByTestId('prompt').press('Tab');
  await expect(page.getByTestId('prompt')).toHaveValue('a red circle on a white ');
  await expect(page.getByTestId('completions')).toHaveCount(0);
  // An unknown word is flagged as you type (once it is typed: not while it may still become a known word).
  await page.getByTestId('prompt').pressSequentially('ca', { delay: 30 });
  await expect(page.getByTestId('oov')).toHaveCount(0);
  await page.getByTestId('prompt').pressSequentially('t on a gr', { delay: 30 });
  await expect(page.getByTestId('oov')).toContainText("'cat' is not known to the embedded models");
  await expect(page.getByTestId('oov')).toContainText('real models in the');
  await expect(page.getByTestId('completions')).toContainText('green');
  await shot(page, 'prompt-help');
  // Plurals of known words are not flagged; a clicked example replaces the prompt and draws it.
  await page.getByTestId('examples').getByRole('button', { name: 'two squares on a white background' }).click();
  await expect(page.getByTestId('prompt')).toHaveValue('two squares on a white background');
  await expect(page.getByTestId('oov')).toHaveCount(0);
  await expect(page.getByTestId('image')).toHaveAttribute('data-prompt', 'two squares on a white background');
  expect(errors).toEqual([]);
});

test('history restores settings (click and arrow keys); A/B compares two results; shortcuts', async ({ page }) => {
  const errors = collectErrors(page);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto('/?seed=5&steps=1');
  const first = await waitForImage(page);
  // Ctrl/Cmd+Enter generates (here after a new seed), arrows move the steps when not typing.
  await page.getByTestId('seed').fill('6');
  await page.getByTestId('seed').press('ControlOrMeta+Enter');
  await expect(page.getByTestId('image')).toHaveAttribute('data-seed', '6');
  await page.locator('h1').click();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('steps-value')).not.toHaveText('1');
  const steps2 = (await page.getByTestId('steps-value').textContent()) ?? '';
  await expect(page.getByTestId('image')).toHaveAttribute('data-steps', steps2);
  await expect(page.getByTestId('running')).toHaveCount(0);
  const items = page.getByTestId('history').getByRole('option');
  await expect(items).toHaveCount(3);
  // Click the oldest: its image is shown and its settings come back.
  await items.nth(2).click();
  await expect(page.getByTestId('image')).toHaveAttribute('data-request', first.request);
  await expect(page.getByTestId('seed')).toHaveValue('5');
  await expect(page.getByTestId('steps-value')).toHaveText('1');
  await expect(page.getByTestId('caption')).toContainText('From history');
  // Keyboard: Left goes to the newer one.
  await page.getByTestId('history').focus();
  await page.keyboard.press('ArrowLeft');
  await expect(page.getByTestId('seed')).toHaveValue('6');
  await expect(page.getByTestId('image')).toHaveAttribute('data-seed', '6');
  await expect(items.nth(1)).toHaveAttribute('aria-selected', 'true');
  // A/B: the two newest by default, wipe then side by side.
  await page.getByTestId('ab-toggle').locator('summary').click();
  const ab = page.getByTestId('ab-view');
  await expect(ab).toHaveAttribute('data-mode', 'wipe');
  expect(await ab.getAttribute('data-a')).not.toBe(await ab.getAttribute('data-b'));
  await page.getByTestId('ab-wipe').fill('30');
  await expect(page.getByTestId('ab-canvas-b')).toBeVisible();
  const aFirst = await page.getByTestId('ab-a').locator('option').last().getAttribute('value');
  await page.getByTestId('ab-a').selectOption(aFirst!);
  await expect(ab).toHaveAttribute('data-a', first.request);
  await page.getByTestId('ab-mode-side').check();
  await expect(ab).toHaveAttribute('data-mode', 'side');
  await expect(page.getByTestId('ab-canvas-a')).toBeVisible();
  await expect(page.getByTestId('ab-canvas-b')).toBeVisible();
  await shot(page, 'history-ab');
  expect(errors).toEqual([]);
});

test('views are tabs kept in the URL; phone width and dark mode', async ({ page }) => {
  const errors = collectErrors(page);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto('/?seed=3&steps=1&cs=1,2');
  await waitForImage(page);
  for (const v of ['compare', 'charts', 'library', 'bench'] as const) {
    await page.getByTestId(`tab-${v}`).click();
    await expect(page.getByTestId(`tab-${v}`)).toHaveAttribute('aria-selected', 'true');
    await expect.poll(() => new URL(page.url()).searchParams.get('view')).toBe(v);
    // The settings stay in the URL next to the view.
    expect(new URL(page.url()).searchParams.get('seed')).toBe('3');
    await expect(page.getByTestId('image')).toHaveCount(0);
    if (v === 'compare') {
      // A small grid (1 and 2 steps) for the screenshot; it also fills the charts.
      await page.getByTestId('compare-run').click();
      await expect(page.getByTestId('compare-progress')).toHaveAttribute('data-status', 'done');
    }
    await page.waitForTimeout(300);
    await shot(page, v);
  }
  // A URL with a view opens on it.
  await page.goto('/?seed=3&steps=1&view=library');
  await expect(page.getByTestId('tab-library')).toHaveAttribute('aria-selected', 'true');
  await page.getByTestId('tab-generate').click();
  await expect.poll(() => new URL(page.url()).searchParams.get('view')).toBe(null);
  await waitForImage(page);
  // Phone: one column, nothing wider than the screen, the image first.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(300);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(overflow).toBeLessThanOrEqual(390);
  const box = (await page.getByTestId('image').boundingBox())!;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(390);
  await shot(page, 'phone');
  // Dark mode follows the OS.
  await page.emulateMedia({ colorScheme: 'dark' });
  const bg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  const [r, g, b] = bg.match(/\d+/g)!.map(Number);
  expect(r + g + b).toBeLessThan(150);
  await page.setViewportSize({ width: 1280, height: 900 });
  await shot(page, 'dark');
  expect(errors).toEqual([]);
});

test('bad input: empty, 10,000 characters, unusual unicode, nonsense URL settings', async ({ page }) => {
  const errors = collectErrors(page);
  const long = 'a large red circle on the left on a black background '.repeat(200).slice(0, 10_000);
  await page.goto(`/?seed=-5&steps=abc&cfg=NaN&sampler=${encodeURIComponent('<script>')}&model=${encodeURIComponent('../../etc')}&ep=quantum&view=nope&p=${encodeURIComponent(long)}`);
  await expect(page.getByTestId('notice')).toContainText('cut to 1000 characters');
  await expect(page.getByTestId('notice')).toContainText('steps=abc');
  await expect(page.getByTestId('notice')).toContainText('seed=-5');
  const first = await waitForImage(page);
  expect((await page.getByTestId('prompt').inputValue()).length).toBe(1000);
  // Empty prompt: an image and a hint, no error.
  await page.getByTestId('prompt').fill('');
  await expect(page.getByTestId('empty-prompt')).toBeVisible();
  await page.getByTestId('generate').click();
  const empty = await waitForImage(page, first.request);
  await expect(page.getByTestId('gen-error')).toHaveCount(0);
  // 10,000 characters pasted: cut with a message.
  await page.getByTestId('prompt').fill(long);
  await expect(page.getByTestId('prompt-cut')).toBeVisible();
  expect((await page.getByTestId('prompt').inputValue()).length).toBe(1000);
  // Unusual unicode: combining marks, RTL override, emoji, CJK, zero-width joiners, lone surrogate.
  await page.getByTestId('prompt').fill('a re\u0301d ci\u200drcle \u202eon 🦄 日本語 \ud800 e\u0301\u0301\u0301');
  await page.getByTestId('generate').click();
  await waitForImage(page, empty.request);
  await expect(page.getByTestId('gen-error')).toHaveCount(0);
  await expect(page.getByTestId('oov')).toBeVisible();
  expect(errors).toEqual([]);
});
