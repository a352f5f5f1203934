import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { decode } from 'fast-png';
import { decodePngSize, readTextChunks } from '../src/export/png';
import { parseCsvObjects } from '../src/export/runs';
import { collectErrors, inView, waitForImage } from './helpers';

// Issue 5 exports: each download decodes (PNG size, metadata chunks present and correct; CSV rows match the runs),
// and re-importing an exported PNG restores prompt, seed, steps and sampler.

async function download(page: Page, testId: string): Promise<{ name: string; bytes: Buffer }> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  const path = await dl.path();
  return { name: dl.suggestedFilename(), bytes: readFileSync(path!) };
}

async function exportAndReimport(page: Page, provider: 'wasm' | 'webgpu', query: string): Promise<void> {
  const errors = collectErrors(page);
  await page.goto(`/?${query}`);
  await expect(page.getByTestId('ep-badge')).toHaveAttribute('data-provider', provider);
  await waitForImage(page);
  // Pick an explicit sampler so the PNG has to carry it (DDPM for a DDIM model, LCM for an LCM one).
  const own = (await page.getByTestId('sampler').locator('option').first().textContent()) ?? '';
  const sampler = /LCM/.test(own) ? 'LCMScheduler' : /Euler/.test(own) ? 'EulerDiscreteScheduler' : 'DDPMScheduler';
  await page.getByTestId('sampler').selectOption(sampler);
  await page.getByTestId('prompt').fill('two blue squares, "big"');
  await page.getByTestId('seed').fill('4242');
  await page.getByTestId('generate').click();
  await expect(page.getByTestId('image')).toHaveAttribute('data-seed', '4242');
  await expect(page.getByTestId('running')).toHaveCount(0);
  const steps = Number(await page.getByTestId('image').getAttribute('data-steps'));
  const img = await waitForImage(page);

  const { name, bytes } = await download(page, 'export-image');
  expect(name).toMatch(new RegExp(`^fewstep_.+_${steps}step_seed4242_two-blue-squares-big\\.png$`));
  expect(decodePngSize(bytes)).toEqual({ width: img.width, height: img.height });
  const chunks = readTextChunks(bytes);
  const samplerLabel = { DDPMScheduler: 'DDPM', LCMScheduler: 'LCM', EulerDiscreteScheduler: 'Euler' }[sampler];
  expect(chunks.parameters.split('\n')[0]).toBe('two blue squares, "big"');
  expect(chunks.parameters).toMatch(new RegExp(`Steps: ${steps}, Sampler: ${samplerLabel}, CFG scale: [\\d.]+, Seed: 4242, Size: ${img.width}x${img.height}, Model: `));
  const meta = JSON.parse(chunks.fewstep);
  expect(meta).toMatchObject({ prompt: 'two blue squares, "big"', seed: 4242, steps, sampler, executionProvider: provider });
  expect(meta.latencyMs).toBeGreaterThan(0);
  expect(Object.keys(meta.stageTimings)).toEqual(expect.arrayContaining(['unet', 'vae', 'textEncoder']));

  // Change everything, then open the PNG: the settings come back and the image is regenerated with them.
  await page.getByTestId('prompt').fill('something else');
  await page.getByTestId('seed').fill('1');
  await page.getByTestId('sampler').selectOption('');
  await page.getByTestId('steps').focus();
  await page.keyboard.press(steps === 1 ? 'End' : 'Home');
  await expect(page.getByTestId('running')).toHaveCount(0);
  await page.getByTestId('import-file').setInputFiles({ name, mimeType: 'image/png', buffer: bytes });
  await expect(page.getByTestId('import-note')).toContainText(`Restored settings from ${name}`);
  await expect(page.getByTestId('prompt')).toHaveValue('two blue squares, "big"');
  await expect(page.getByTestId('seed')).toHaveValue('4242');
  await expect(page.getByTestId('steps-value')).toHaveText(String(steps));
  await expect(page.getByTestId('sampler')).toHaveValue(sampler);
  await expect(page.getByTestId('image')).toHaveAttribute('data-seed', '4242');
  await expect(page.getByTestId('image')).toHaveAttribute('data-steps', String(steps));
  expect(errors).toEqual([]);
}

test('image PNG export carries parameters + fewstep chunks and re-imports (WASM)', async ({ page }) => {
  await exportAndReimport(page, 'wasm', 'ep=wasm&seed=3');
});

test('image PNG export carries parameters + fewstep chunks and re-imports (WebGPU)', async ({ page }) => {
  await page.goto('/?seed=3');
  const options = await page.getByTestId('model').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  const small = options.find((o) => /lcm|turbo/.test(o)) ?? options[0];
  await exportAndReimport(page, 'webgpu', `ep=webgpu&seed=3&steps=1&model=${encodeURIComponent(small)}`);
});

test('grid PNG and runs CSV/JSON downloads decode and match the measured runs (WASM)', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/?ep=wasm&seed=21&cs=1,2&p=a%20green%20circle');
  await waitForImage(page);
  await inView(page, 'compare');
  await expect(page.getByTestId('export-grid')).toBeDisabled();
  await page.getByTestId('compare-run').click();
  const progress = page.getByTestId('compare-progress');
  await expect(progress).toHaveAttribute('data-status', 'done');
  const nCells = Number(await progress.getAttribute('data-total'));
  const rows = await page.locator('.compare-grid tbody tr').count();
  const cols = await page.locator('.compare-grid thead th').count() - 1;

  const grid = await download(page, 'export-grid');
  expect(grid.name).toBe('fewstep-grid_seed21_a-green-circle.png');
  const size = decodePngSize(grid.bytes);
  // At least one 128 px cell per row/column, plus labels.
  expect(size.width).toBeGreaterThan(cols * 128);
  expect(size.height).toBeGreaterThan(rows * 128);
  // Labels are canvas text (src/export/labels.ts): the title band above the column labels (40 px at text scale 2)
  // holds the prompt in dark ink and nothing else.
  const px = decode(grid.bytes);
  let ink = 0;
  for (let i = 0; i < 40 * px.width * px.channels; i += px.channels) if (px.data[i] < 128 && px.data[i + 1] < 128 && px.data[i + 2] < 128) ink++;
  expect(ink).toBeGreaterThan(200);
  const gridMeta = JSON.parse(readTextChunks(grid.bytes)['fewstep-grid']);
  expect(gridMeta).toMatchObject({ prompt: 'a green circle', seed: 21, steps: [1, 2] });
  expect(gridMeta.rows).toHaveLength(rows);

  // Runs: the first image plus every grid cell, in the order they finished.
  const uiMs = await page.getByTestId('grid-cell').evaluateAll((els) => els.filter((e) => e.getAttribute('data-status') === 'done').map((e) => Number(e.getAttribute('data-ms'))));
  const csv = await download(page, 'export-csv');
  expect(csv.name).toMatch(/^fewstep-runs_\d{4}-\d\d-\d\dT\d\d-\d\d\.csv$/);
  const records = parseCsvObjects(csv.bytes.toString('utf8'));
  expect(records.length).toBe(nCells + 1);
  await expect(page.locator('.export .hint').first()).toContainText(`${records.length} runs measured`);
  const gridRows = records.slice(1);
  for (const r of gridRows) {
    expect(Number(r.seed)).toBe(21);
    expect(r.prompt).toBe('a green circle');
    expect(r.executionProvider).toBe('wasm');
    expect([1, 2]).toContain(Number(r.steps));
    expect(Number(r.totalMs)).toBeGreaterThan(0);
    expect(Number(r.unetMs)).toBeGreaterThan(0);
  }
  // Latencies in the CSV are the ones the grid shows (rounded to 0.1 ms there).
  const csvMs = gridRows.map((r) => Number(r.totalMs)).sort((a, b) => a - b);
  const shownMs = [...uiMs].sort((a, b) => a - b);
  expect(csvMs).toHaveLength(shownMs.length);
  csvMs.forEach((v, i) => expect(Math.abs(v - shownMs[i])).toBeLessThanOrEqual(0.06));

  const json = await download(page, 'export-json');
  expect(json.name).toMatch(/^fewstep-runs_.*\.json$/);
  const doc = JSON.parse(json.bytes.toString('utf8'));
  expect(doc.format).toBe('fewstep-runs');
  expect(doc.runs).toHaveLength(records.length);
  expect(doc.runs.map((r: { id: string }) => r.id)).toEqual(records.map((r) => r.id));
  expect(errors).toEqual([]);
});
