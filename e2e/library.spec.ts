/**
 * Model library in Chromium against the stand-in Hugging Face hub (e2e/hub/server.mjs), started here on the port
 * the preview server proxies /__hub/ to (playwright.config.ts, vite.config.ts testHubProxy). The app is opened with
 * ?hub=/__hub so downloads stay same-origin under the shipped CSP, and /models/catalog.json is answered with the
 * real catalog plus the test-only overlay entries (e2e/hub/overlay.ts). Every test gets a fresh browser context,
 * so OPFS starts empty; a reload inside a test keeps it.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { startHub, type Hub, type HubLogEntry } from './hub/server.mjs';
import { hubRepos, overlayCatalog, standinPipelineDir } from './hub/overlay';
import { inView, pixelStd, waitForImage } from './helpers';

const HUB_PORT = Number(process.env.E2E_HUB_PORT || Number(process.env.E2E_PORT || 4179) + 1);
const CHUNK_KIB = 64;
const QUERY = `?ep=wasm&seed=7&hub=/__hub&chunkKiB=${CHUNK_KIB}&fixtures`;
const TURBO = 'standin-sd-turbo';
const COPY = 'standin-fewstep-copy';

let hub: Hub;
const dir = standinPipelineDir();
/** Hub root for repos made by a test (the throughput measurement). */
const hubRoot = mkdtempSync(join(tmpdir(), 'fewstep-hub-'));

test.beforeAll(async () => {
  hub = await startHub({ port: HUB_PORT, root: hubRoot, repos: hubRepos(dir) });
  console.log(`[library] stand-in hub on ${hub.url} serving ${dir}`);
});
test.afterAll(async () => {
  await hub?.close();
  rmSync(hubRoot, { recursive: true, force: true });
});
test.beforeEach(async ({ page }) => {
  hub.clearFaults();
  hub.clearLog();
  const catalog = JSON.stringify(overlayCatalog(dir));
  await page.route('**/models/catalog.json', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: catalog }));
});

/** Open the app and wait for the startup model's first image (the app is usable before any download). */
async function open(page: Page, extra = ''): Promise<void> {
  await page.goto(`/${QUERY}${extra}&view=library`);
  await expect(page.getByTestId(`library-entry-${COPY}`)).toBeVisible();
}

/** Record every value of the overall progress bar of `id` (attribute changes), from now on. */
async function recordProgress(page: Page, id: string): Promise<void> {
  await page.evaluate((testId) => {
    const w = window as unknown as { __progress: Array<{ loaded: number; total: number; percent: number }> };
    w.__progress = [];
    const seen = (el: Element) =>
      w.__progress.push({ loaded: Number(el.getAttribute('data-loaded')), total: Number(el.getAttribute('data-total')), percent: Number(el.getAttribute('data-percent')) });
    new MutationObserver((muts) => {
      for (const m of muts) {
        const els = m.type === 'attributes' ? [m.target as Element] : [...m.addedNodes].flatMap((n) => (n instanceof Element ? [n, ...n.querySelectorAll('*')] : []));
        for (const el of els) if (el instanceof Element && el.getAttribute('data-testid') === testId) seen(el);
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-loaded'] });
  }, `download-overall-${id}`);
}

async function progressValues(page: Page): Promise<Array<{ loaded: number; total: number; percent: number }>> {
  return page.evaluate(() => (window as unknown as { __progress: Array<{ loaded: number; total: number; percent: number }> }).__progress);
}

async function download(page: Page, id: string): Promise<void> {
  await page.getByTestId(`download-${id}`).click();
  await expect(page.getByTestId(`download-done-${id}`)).toBeVisible();
  await expect(page.getByTestId(`library-entry-${id}`)).toHaveAttribute('data-state', 'cached');
}

const gets = (log: HubLogEntry[], keyPart: string) => log.filter((l) => l.method === 'GET' && l.key?.includes(keyPart));
const sum = (log: HubLogEntry[]) => log.reduce((a, l) => a + l.bytes, 0);

test('SD-Turbo-shaped entry: download with monotonic progress -> cache -> generate -> reload -> generate from cache -> delete', async ({ page }) => {
  await open(page);
  await inView(page, 'generate');
  const startup = await waitForImage(page);
  await inView(page, 'library');
  await recordProgress(page, TURBO);
  const t0 = Date.now();
  await download(page, TURBO);
  const secs = (Date.now() - t0) / 1000;
  const values = await progressValues(page);
  expect(values.length).toBeGreaterThan(1);
  for (let i = 1; i < values.length; i++) expect(values[i].loaded).toBeGreaterThanOrEqual(values[i - 1].loaded);
  expect(new Set(values.map((v) => v.total)).size).toBe(1); // total fixed from the first event (HEAD before bytes)
  expect(values.at(-1)!.percent).toBe(100);
  const log = hub.log();
  expect(log.some((l) => l.method === 'HEAD')).toBe(true); // sizes are null in the entry: asked first
  expect(gets(log, 'standin/clip-vit-base-patch16/tokenizer.json').length).toBeGreaterThan(0); // tokenizer from its own repo
  const total = values.at(-1)!.total;
  if (process.env.LIBRARY_DEBUG) for (const l of log) console.log(l.time - log[0].time, l.method, l.key, l.range, l.status, l.bytes);
  console.log(`[library] ${TURBO}: ${total} bytes in ${secs.toFixed(2)} s (${(total / 1024 / secs).toFixed(0)} KiB/s incl. UI), ${log.length} hub requests`);

  await page.getByTestId(`use-${TURBO}`).click();
  await inView(page, 'generate');
  await expect(page.getByTestId('model')).toHaveValue(TURBO);
  const first = await waitForImage(page, startup.request);
  expect(pixelStd(first)).toBeGreaterThan(1);
  await expect(page.getByTestId('caption')).toContainText('SD-Turbo-shaped');

  // Reload straight into the cached model: no request may reach the hub.
  hub.clearLog();
  await page.goto(`/${QUERY}&model=${TURBO}`);
  await expect(page.getByTestId('model')).toHaveValue(TURBO);
  const again = await waitForImage(page);
  expect(pixelStd(again)).toBeGreaterThan(1);
  await inView(page, 'library');
  await expect(page.getByTestId(`library-entry-${TURBO}`)).toHaveAttribute('data-state', 'cached');
  // The comparison grid offers the cached model as a row, described from the cache (no hub request either).
  await inView(page, 'compare');
  await expect(page.locator(`[data-testid^="row-${TURBO}:"]`).first()).toBeVisible();
  expect(hub.log()).toEqual([]);

  // Delete: gone from the storage panel and from OPFS, the app falls back to another model and stays usable.
  await inView(page, 'library');
  await expect(page.getByTestId(`stored-${TURBO}`)).toBeVisible();
  await page.getByTestId(`delete-${TURBO}`).click();
  await expect(page.getByTestId(`stored-${TURBO}`)).toHaveCount(0);
  await expect(page.getByTestId(`library-entry-${TURBO}`)).toHaveAttribute('data-state', 'remote');
  const opfs = await page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle('fewstep-models', { create: true });
    const names: string[] = [];
    for await (const [name] of (dir as unknown as { entries(): AsyncIterable<[string, unknown]> }).entries()) names.push(name);
    return names;
  });
  expect(opfs).not.toContain(TURBO);
  await inView(page, 'generate');
  await expect(page.getByTestId('model')).not.toHaveValue(TURBO);
  await expect(page.getByTestId('generate')).toBeEnabled();
  await inView(page, 'compare');
  await expect(page.locator(`[data-testid^="row-${TURBO}:"]`)).toHaveCount(0);
});

test('an interrupted download (page reload) resumes without fetching finished chunks again', async ({ page }) => {
  await open(page);
  const unetKey = `${'standin/fewstep-copy'}/unet/model.onnx`;
  hub.setFault(unetKey, { throttle: 160 * 1024 });
  await page.getByTestId(`download-${COPY}`).click();
  const unetRow = page.getByTestId(`download-file-${COPY}-unet/model.onnx`);
  await expect(unetRow).toBeVisible();
  // Wait until a few 64 KiB chunks of the UNet itself are in (earlier files finish first and may already account
  // for most of the overall bytes), then pull the plug (reload kills the worker mid-transfer).
  await expect
    .poll(async () => Number((await unetRow.getAttribute('data-loaded')) ?? 0), { timeout: 60_000 })
    .toBeGreaterThan(3 * 64 * 1024);
  await page.reload();
  hub.clearFaults();
  const before = hub.log();
  await expect(page.getByTestId(`library-entry-${COPY}`)).toHaveAttribute('data-state', 'partial');
  const stored = Number(await page.getByTestId(`stored-${COPY}`).getAttribute('data-bytes'));
  expect(stored).toBeGreaterThan(0);
  await expect(page.getByTestId(`download-${COPY}`)).toContainText('Resume');

  hub.clearLog();
  await recordProgress(page, COPY);
  await download(page, COPY);
  const values = await progressValues(page);
  for (let i = 1; i < values.length; i++) expect(values[i].loaded).toBeGreaterThanOrEqual(values[i - 1].loaded);
  expect(values[0].loaded).toBeGreaterThanOrEqual(stored); // progress starts where the stored bytes end
  const total = values.at(-1)!.total;
  const after = hub.log();
  const fetchedAfter = sum(after.filter((l) => l.method === 'GET'));
  // Exactly the missing bytes came over the network after the reload: nothing stored was fetched again.
  expect(fetchedAfter).toBe(total - stored);
  const finishedBefore = gets(before, 'unet/model.onnx').filter((l) => l.status === 206 && !l.aborted).map((l) => l.range);
  const storedUnetRanges = finishedBefore.filter((r) => gets(after, 'unet/model.onnx').every((l) => l.range !== r));
  expect(storedUnetRanges.length).toBeGreaterThan(0);
  console.log(
    `[library] resume: ${stored} of ${total} bytes kept across the reload; ${fetchedAfter} fetched after it ` +
      `(saved ${(100 * stored / total).toFixed(0)}%); ${gets(after, 'unet/model.onnx').length} UNet range requests after the reload`,
  );
  await expect(page.getByTestId(`download-done-${COPY}`)).toContainText('over the network');

  // The resumed copy loads and generates.
  await page.getByTestId(`use-${COPY}`).click();
  await inView(page, 'generate');
  await expect(page.getByTestId('model')).toHaveValue(COPY);
  const img = await waitForImage(page);
  expect(pixelStd(img)).toBeGreaterThan(1);
});

test('404, 500 with retry, truncated, wrong size and corrupt .onnx each give a specific error; the app stays usable', async ({ page }) => {
  test.setTimeout(300_000);
  await open(page);
  await inView(page, 'generate');
  const startup = await waitForImage(page);
  await inView(page, 'library');
  const unetKey = 'standin/fewstep-copy/unet/model.onnx';
  const err = page.getByTestId(`download-error-${COPY}`);

  const fails = async (fault: Parameters<Hub['setFault']>[1], pattern: RegExp, code: string) => {
    hub.clearFaults();
    hub.setFault(unetKey, fault);
    await page.getByTestId(`download-${COPY}`).click();
    await expect(err).toBeVisible();
    await expect(err).toContainText(pattern);
    await expect(err).toContainText('unet/model.onnx');
    await expect(err).toHaveAttribute('data-code', code);
    // usable: download can be retried, the loaded model still generates
    await expect(page.getByTestId(`download-${COPY}`)).toBeEnabled();
    await inView(page, 'generate');
    await expect(page.getByTestId('generate')).toBeEnabled();
    await inView(page, 'library');
    hub.clearFaults();
  };

  await fails({ status: 404 }, /not found \(HTTP 404\)/, 'MODEL_FILE_MISSING');
  await fails({ status: 500 }, /Server error HTTP 500.*gave up after 5 attempts/, 'NETWORK');
  expect(gets(hub.log(), 'unet/model.onnx').filter((l) => l.status === 500).length).toBe(5);
  await fails({ truncate: 1000 }, /Truncated response for unet\/model\.onnx: received 1000 of/, 'MODEL_FILE_CORRUPT');
  await fails({ reportSize: 4242 }, /Wrong size for unet\/model\.onnx: the server reports 4242 bytes/, 'MODEL_FILE_CORRUPT');

  // 500 twice, then the hub recovers: retried with backoff, no error.
  hub.clearLog();
  hub.setFault(unetKey, { status: 500, times: 2 });
  await download(page, COPY);
  const unetGets = gets(hub.log(), 'unet/model.onnx');
  expect(unetGets.filter((l) => l.status === 500).length).toBe(2);
  expect(unetGets.at(-1)!.status).toBe(206);
  await expect(err).toHaveCount(0);
  await page.getByTestId(`delete-${COPY}`).click();
  await expect(page.getByTestId(`stored-${COPY}`)).toHaveCount(0);

  // Corrupt bytes (no sha256 in this entry): the download completes, the load names the file, the old model stays.
  hub.setFault(unetKey, { corrupt: true });
  await download(page, COPY);
  hub.clearFaults();
  await page.getByTestId(`use-${COPY}`).click();
  await expect(page.getByTestId('load-error')).toContainText(/unet\/model\.onnx is not a (valid|readable) ONNX (model|file)/);
  await inView(page, 'generate');
  await expect(page.getByTestId('model')).not.toHaveValue(COPY);
  await page.getByTestId('seed').fill('99');
  await page.getByTestId('generate').click();
  const img = await waitForImage(page, startup.request);
  expect(pixelStd(img)).toBeGreaterThan(1);
});

test('folder import: a shipped pipeline loads and generates; a folder without unet/model.onnx is refused naming it; custom source', async ({ page }) => {
  await open(page);
  await inView(page, 'generate');
  const startup = await waitForImage(page);
  await inView(page, 'library');
  const tmp = mkdtempSync(join(tmpdir(), 'fewstep-folder-'));
  try {
    const broken = join(tmp, 'broken-export');
    cpSync(dir, broken, { recursive: true });
    rmSync(join(broken, 'unet/model.onnx'));
    await page.getByTestId('folder-input').setInputFiles(broken);
    await expect(page.getByTestId('import-error')).toContainText('Missing unet/model.onnx');
    await expect(page.getByTestId('import-error')).toHaveAttribute('data-missing', 'unet/model.onnx');
    await inView(page, 'generate');
    await expect(page.getByTestId('generate')).toBeEnabled();
    await inView(page, 'library');

    const good = join(tmp, 'my-export');
    cpSync(dir, good, { recursive: true });
    await page.getByTestId('folder-input').setInputFiles(good);
    await expect(page.getByTestId('import-status')).toContainText('Loaded my-export');
    await inView(page, 'generate');
    await expect(page.getByTestId('model')).toHaveValue('folder-my-export');
    const img = await waitForImage(page, startup.request);
    expect(pixelStd(img)).toBeGreaterThan(1);
    expect(hub.log()).toEqual([]);
    // The comparison grid offers the imported folder as a row (described from the picked files, not a URL).
    await inView(page, 'compare');
    await expect(page.locator('[data-testid^="row-folder-my-export:"]').first()).toBeVisible();

    // Custom source: refused schemes and hosts are named; a same-origin export (no model_index needed) loads.
    await inView(page, 'library');
    await page.getByTestId('custom-url').fill('javascript:alert(1)');
    await page.getByTestId('custom-load').click();
    await expect(page.getByTestId('custom-error')).toContainText('the "javascript:" scheme is not allowed');
    await page.getByTestId('custom-url').fill('http://example.com/models/x');
    await page.getByTestId('custom-load').click();
    await expect(page.getByTestId('custom-error')).toContainText("plain http is only allowed on this page's own origin");
    await page.getByTestId('custom-url').fill('/fixtures/tiny/');
    await page.getByTestId('custom-load').click();
    await expect(page.getByTestId('custom-status')).toContainText('Loaded http://localhost');
    await inView(page, 'generate');
    await expect(page.getByTestId('model')).toHaveValue(/^custom-localhost/);
    const custom = await waitForImage(page, img.request);
    expect(pixelStd(custom)).toBeGreaterThan(1);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('fp16 entry on a WebGPU adapter without shader-f16: refused on WebGPU with the reason, runs on WASM under Auto', async ({ page }) => {
  const F16 = 'standin-sd-turbo-f16';
  await page.goto(`/${QUERY.replace('ep=wasm', 'ep=webgpu')}`);
  const hasF16 = await page.evaluate(async () => {
    const a = await (navigator as Navigator & { gpu?: GPU }).gpu?.requestAdapter();
    return a ? a.features.has('shader-f16') : null;
  });
  test.skip(hasF16 !== false, `needs a WebGPU adapter without shader-f16 (got ${hasF16})`);
  await inView(page, 'library');
  await expect(page.getByTestId(`f16-warning-${F16}`)).toBeVisible();
  await inView(page, 'generate');
  const startup = await waitForImage(page);
  await inView(page, 'library');
  await download(page, F16);
  await page.getByTestId(`use-${F16}`).click();
  await expect(page.getByTestId('load-error')).toContainText(/fp16 weights, which need the WebGPU feature shader-f16/);
  await expect(page.getByTestId('load-error')).toContainText('Choose WASM (slow) or Auto');
  await inView(page, 'generate');
  await expect(page.getByTestId('model')).not.toHaveValue(F16);
  await expect(page.getByTestId('generate')).toBeEnabled();

  // Auto on this adapter: SwiftShader is a software fallback, so Auto prefers WASM and says why (issue 15).
  await page.getByTestId('provider').selectOption('auto');
  await expect(page.getByTestId('ep-badge')).toHaveAttribute('data-provider', 'wasm');
  await expect(page.getByTestId('ep-reason')).toContainText(/software fallback/);
  const reloaded = await waitForImage(page, startup.request);
  await inView(page, 'library');
  await page.getByTestId(`use-${F16}`).click();
  await inView(page, 'generate');
  await expect(page.getByTestId('model')).toHaveValue(F16);
  await expect(page.getByTestId('ep-badge')).toHaveAttribute('data-provider', 'wasm');
  await expect(page.getByTestId('ep-reason')).toContainText(/WASM fallback: .*shader-f16/);
  const img = await waitForImage(page, reloaded.request);
  expect(pixelStd(img)).toBeGreaterThan(1);
});

// Throughput of the whole path (hub -> preview proxy -> worker fetch -> OPFS chunks -> progress events -> React),
// default 8 MiB chunks vs the 64 KiB the other tests use. Opt-in: LIBRARY_PERF=<MiB> node scripts/e2e.mjs ...
test('download throughput (LIBRARY_PERF=<MiB>)', async ({ page }) => {
  const mib = Number(process.env.LIBRARY_PERF || 0);
  test.skip(!(mib > 0), 'set LIBRARY_PERF=<MiB> to measure');
  test.setTimeout(600_000);
  const repoDir = join(hubRoot, 'standin', 'big');
  mkdirSync(join(repoDir, 'unet'), { recursive: true });
  const size = mib * 1024 * 1024;
  writeFileSync(join(repoDir, 'unet/model.onnx'), randomBytes(size));
  const big = {
    ...(overlayCatalog(dir).models as Array<Record<string, unknown>>).find((m) => m.id === COPY),
    id: 'standin-big',
    name: `Throughput ${mib} MiB`,
    source: { type: 'hf', repo: 'standin/big', revision: 'main' },
    files: [{ path: 'unet/model.onnx', size }],
  };
  const base = overlayCatalog(dir);
  const catalog = JSON.stringify({ ...base, models: [...(base.models as unknown[]), big] });
  await page.route('**/models/catalog.json', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: catalog }));
  for (const chunk of ['', `&chunkKiB=${CHUNK_KIB}`]) {
    await page.goto(`/${QUERY.replace(`&chunkKiB=${CHUNK_KIB}`, '')}${chunk}`);
    await waitForImage(page);
    await inView(page, 'library');
    const t0 = Date.now();
    await download(page, 'standin-big');
    const secs = (Date.now() - t0) / 1000;
    const text = await page.getByTestId('download-done-standin-big').textContent();
    console.log(`[library] throughput ${mib} MiB, chunk ${chunk ? `${CHUNK_KIB} KiB` : '8 MiB'}: ${secs.toFixed(2)} s = ${(mib / secs).toFixed(1)} MiB/s wall; app says: ${text}`);
    await page.getByTestId('delete-standin-big').click();
    await expect(page.getByTestId('stored-standin-big')).toHaveCount(0);
  }
});
