import { defineConfig } from '@playwright/test';

/**
 * Browser tests in headless Chromium against the production build (vite preview).
 * scripts/e2e.mjs finds the browser (CHROMIUM_PATH) and builds first; never downloads a browser.
 * Two projects: "webgpu" (SwiftShader WebGPU via --enable-unsafe-webgpu) and "no-webgpu" (no adapter: the app must
 * fall back to WASM by itself).
 */
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const base = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run', '--disable-dev-shm-usage'];
const port = Number(process.env.E2E_PORT || 4179);
/** library.spec.ts starts the stand-in hub (e2e/hub/server.mjs) on this port; preview proxies /__hub/ to it. */
export const hubPort = Number(process.env.E2E_HUB_PORT || port + 1);

export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.ts/,
  timeout: 240_000,
  expect: { timeout: 120_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: '../test-results',
  use: {
    baseURL: `http://localhost:${port}`,
    trace: 'off',
    acceptDownloads: true,
    // The production build registers a service worker (src/sw.ts). Each test gets a fresh context, but a worker
    // answering from its precache would still hide what a spec routes or counts (page.route, requests to the
    // stand-in hub), so it is blocked everywhere except e2e/offline.spec.ts, which allows it. E2E_SERVICE_WORKERS=allow
    // registers it in every spec (downloads from the stand-in hub pass through it untouched, but a spec that
    // page.route()s a precached file, like library.spec.ts's catalog overlay, gets the precached one after a reload).
    serviceWorkers: process.env.E2E_SERVICE_WORKERS === 'allow' ? 'allow' : 'block',
  },
  projects: [
    {
      name: 'webgpu',
      testIgnore: /no-webgpu\.spec\.ts/,
      use: { launchOptions: { executablePath, args: [...base, '--enable-unsafe-webgpu'] } },
    },
    {
      name: 'no-webgpu',
      testMatch: /no-webgpu\.spec\.ts/,
      use: { launchOptions: { executablePath, args: base } },
    },
  ],
  webServer: {
    command: `npx vite preview --port ${port} --strictPort`,
    cwd: '..',
    url: `http://localhost:${port}`,
    reuseExistingServer: false,
    // npx alone can take a minute on a loaded 2-core machine.
    timeout: 180_000,
    // Test-only same-origin route to the stand-in hub (see testHubProxy in vite.config.ts).
    env: { FEWSTEP_TEST_HUB: `http://127.0.0.1:${hubPort}` },
  },
});
