import { expect, test, type Response } from '@playwright/test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectErrors, pixelStd, waitForImage } from './helpers';

const ROOT_DIR = fileURLToPath(new URL('..', import.meta.url));

// The other specs block service workers (playwright.config.ts); this one needs the production build's (src/sw.ts).
test.use({ serviceWorkers: 'allow' });

// Turbo 1 step on WASM: the quickest image; what matters here is where the files come from, not the provider.
const QUERY = 'seed=7&steps=1&ep=wasm';

test('after one visit the app opens and generates with the network off (service worker precache)', async ({ page, context }) => {
  // 1. First visit, online: the app generates, the service worker installs (install = every precache entry fetched
  //    and stored) and activates.
  const t0 = Date.now();
  await page.goto(`/?${QUERY}`);
  const online = await waitForImage(page);
  const tImage = Date.now();
  expect(pixelStd(online)).toBeGreaterThan(2);
  const sw = await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return { scope: reg.scope, script: reg.active?.scriptURL ?? '' };
  });
  expect(sw.script).toMatch(/\/sw\.js$/);
  expect(new URL(sw.scope).pathname).toBe('/');
  await page.waitForFunction(() => navigator.serviceWorker.controller?.state === 'activated', null, { timeout: 120_000 });
  const tActive = Date.now();

  // Controlled now (clientsClaim). A Range request for a file the precache does not hold (as the model downloads
  // make to Hugging Face or /__hub/) reaches the network untouched: no route of the worker answers it.
  expect(await page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
  const passThrough = page.waitForResponse((r) => r.url().endsWith('/models/REPORT.md'));
  await page.evaluate(() => fetch('/models/REPORT.md', { headers: { Range: 'bytes=0-9' } }).then((r) => r.arrayBuffer()));
  expect((await passThrough).fromServiceWorker()).toBe(false);

  const precached = await page.evaluate(async () => {
    const name = (await caches.keys()).find((k) => k.startsWith('workbox-precache'));
    if (!name) return [];
    const keys = await (await caches.open(name)).keys();
    return keys.map((r) => new URL(r.url).pathname);
  });
  const has = (re: RegExp): boolean => precached.some((p) => re.test(p));
  expect(has(/^\/index\.html$/)).toBe(true);
  expect(has(/^\/assets\/ort-wasm-simd-threaded\.asyncify-[\w-]+\.wasm$/)).toBe(true);
  expect(has(/^\/assets\/ort-wasm-simd-threaded\.asyncify-[\w-]+\.mjs$/)).toBe(true);
  // The WASM-only build (src/engine/ort.ts loads it on WASM) and both builds' entry chunks.
  expect(has(/^\/assets\/ort-wasm-simd-threaded-[\w-]+\.wasm$/)).toBe(true);
  expect(has(/^\/assets\/ort-wasm-simd-threaded-[\w-]+\.mjs$/)).toBe(true);
  expect(has(/^\/assets\/ort\.wasm\.bundle\.min-[\w-]+\.js$/)).toBe(true);
  expect(has(/^\/assets\/ort\.webgpu\.bundle\.min-[\w-]+\.js$/)).toBe(true);
  expect(has(/^\/models\/catalog\.json$/)).toBe(true);
  expect(has(/^\/models\/fewstep-turbo\/unet\/model\.onnx$/)).toBe(true);
  expect(has(/\.map$/)).toBe(false);
  expect(has(/^\/models\/evaluator\/model\.onnx$/)).toBe(true);
  expect(has(/^\/models\/samples\//)).toBe(false);

  // 2. Network off, reload: every request the page and its engine worker make is answered by the service worker.
  await context.setOffline(true);
  const tOffline = Date.now();
  const errors = collectErrors(page);
  const responses: Response[] = [];
  page.on('response', (r) => responses.push(r));
  const failed: string[] = [];
  page.on('requestfailed', (r) => failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  await page.reload();
  // The service worker's own network is off too: a file it has not precached is unreachable from it.
  // (So what follows is served from the precache, not fetched by the worker on the page's behalf.)
  const [worker] = context.serviceWorkers();
  expect(worker).toBeDefined();
  const swReach = await worker.evaluate(() =>
    fetch('/models/REPORT.md', { cache: 'no-store' }).then(
      (r) => `status ${r.status}`,
      (e: Error) => `failed: ${e.message}`,
    ),
  );
  expect(swReach).toMatch(/^failed/);

  const offline = await waitForImage(page);
  const tOfflineImage = Date.now();
  expect(pixelStd(offline)).toBeGreaterThan(2);
  const http = responses.filter((r) => r.url().startsWith('http'));
  const notFromSw = http.filter((r) => !r.fromServiceWorker()).map((r) => `${r.request().method()} ${r.url()} ${r.status()}`);
  console.log(`[offline] ${http.length} responses after the reload, ${http.length - notFromSw.length} from the service worker`);
  expect(notFromSw).toEqual([]);
  // Cross-origin isolation survives (the precached index.html keeps its COOP/COEP headers): multi-threaded WASM.
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  // A Range request for a precached file gets a 206 cut from the precache.
  const range = await page.evaluate(() =>
    fetch('/models/fewstep-turbo/unet/model.onnx', { headers: { Range: 'bytes=0-9' } }).then(async (r) => `${r.status} ${(await r.arrayBuffer()).byteLength}`),
  );
  expect(range).toBe('206 10');
  // The picker offers every embedded pipeline: its HEAD probes (src/app/models.ts) are answered from the precache.
  const head = await page.evaluate(() => fetch('/models/fewstep-lcm/model_index.json', { method: 'HEAD' }).then((r) => `${r.status} ${r.headers.get('content-type')}`));
  expect(head).toBe('200 application/json');
  const models = await page.getByTestId('model').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  const shipped = readdirSync(join(ROOT_DIR, 'models')).filter((d) => d.startsWith('fewstep-') && existsSync(join(ROOT_DIR, 'models', d, 'model_index.json')));
  expect(models.filter((m) => m.startsWith('fewstep-')).sort()).toEqual(shipped.sort());
  // Nothing tried the network. (Chromium reports the worker's bodiless HEAD answers as ERR_ABORTED to the
  // DevTools protocol although fetch() resolves them with 200, as the HEAD above shows.)
  expect(failed.filter((f) => !f.startsWith('HEAD ') || !f.endsWith('net::ERR_ABORTED'))).toEqual([]);
  expect(http.some((r) => /\/models\/fewstep-turbo\/unet\/model\.onnx$/.test(r.url()))).toBe(true);
  // WASM with no hardware WebGPU adapter (headless Chromium's is SwiftShader): the engine fetched the WASM-only
  // onnxruntime build (14 MB), not the WebGPU one (27 MB) (src/engine/ort.ts buildFor).
  const ortWasm = http.map((r) => new URL(r.url()).pathname).filter((p) => /\/ort-wasm-simd-threaded[.\w-]*\.wasm$/.test(p));
  expect(ortWasm).toEqual([expect.stringMatching(/^\/assets\/ort-wasm-simd-threaded-[\w-]+\.wasm$/)]);
  expect(errors).toEqual([]);
  console.log(
    `[offline] first visit: image ${tImage - t0} ms, service worker active (precache stored) ${tActive - t0} ms; ` +
      `offline reload -> image ${tOfflineImage - tOffline} ms`,
  );
});
