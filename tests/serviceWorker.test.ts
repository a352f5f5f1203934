import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { getManifest } from 'workbox-build';
import { PRECACHE } from '../vite.config';

// The service worker's precache (issue 15 item 7; src/sw.ts, PRECACHE in vite.config.ts). The build copies models/
// into dist/models/ as it is, so the models/ patterns are checked here against the checkout, with the same Workbox
// call the build makes; e2e/offline.spec.ts checks the built worker in Chromium.
const ROOT = resolve(import.meta.dirname, '..');
const modelPatterns = PRECACHE.globPatterns.filter((p) => p.startsWith('models/'));

describe('service worker precache', () => {
  it('holds every file of every embedded pipeline, the catalog and the evaluator; no samples or docs', async () => {
    const { manifestEntries, warnings, size } = await getManifest({ ...PRECACHE, globPatterns: modelPatterns, globDirectory: ROOT });
    expect(warnings).toEqual([]);
    const urls = new Set(manifestEntries.map((e) => e.url));
    const pipelines = readdirSync(resolve(ROOT, 'models')).filter((d) => d.startsWith('fewstep-'));
    expect(pipelines.length).toBeGreaterThan(0);
    for (const id of pipelines) {
      for (const f of readdirSync(resolve(ROOT, 'models', id), { recursive: true, withFileTypes: true })) {
        if (!f.isFile()) continue;
        const rel = resolve(f.parentPath, f.name).slice(ROOT.length + 1);
        expect(urls.has(rel), rel).toBe(true);
      }
    }
    for (const f of ['models/catalog.json', 'models/evaluator/model.onnx', 'models/evaluator/labels.json']) expect(urls.has(f), f).toBe(true);
    expect([...urls].filter((u) => /^models\/(samples\/|README|REPORT|catalog\.schema)/.test(u))).toEqual([]);
    // A first visit downloads all of it (plus ~28 MB of app shell and ORT wasm): keep it in sight.
    expect(size).toBeLessThan(64 * 1024 * 1024);
  });

  it('no second manifest, and the worker is same-origin under the CSP', () => {
    const config = readFileSync(resolve(ROOT, 'vite.config.ts'), 'utf8');
    expect(config).toMatch(/manifest: false/);
    expect(config).toContain(`"worker-src 'self' blob:"`);
    expect(config).toContain(`"script-src 'self' 'wasm-unsafe-eval'"`);
  });

  it('routes nothing but precached URLs and navigations (no runtime caching of downloads)', () => {
    const sw = readFileSync(resolve(ROOT, 'src/sw.ts'), 'utf8');
    // Three routes: Range and HEAD for precached URLs, navigations; plus the precache's own GET route.
    expect(sw.match(/registerRoute\(/g)).toHaveLength(3);
    expect(sw.match(/=> [^\n]*isPrecached\(url\),/g)).toHaveLength(2);
    expect(sw).not.toMatch(/workbox-strategies|runtimeCaching/);
  });
});
