import { defineConfig, type Plugin } from 'vite';
import { createReadStream, existsSync, statSync, cpSync, mkdirSync, readdirSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import { request as httpRequest } from 'node:http';
import { VitePWA } from 'vite-plugin-pwa';

/**
 * The app serves everything it needs itself (no CDN). ORT's wasm runtimes (both builds) are imported with `?url` in
 * the worker, so Vite emits them as hashed assets; the shipped models are served under /models/ from models/ in dev and preview, and
 * the build copies them into dist/models/.
 */
const ROOT = import.meta.dirname;
const MIME: Record<string, string> = {
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.onnx_data': 'application/octet-stream',
  '.wasm': 'application/wasm',
  '.mjs': 'text/javascript',
  '.png': 'image/png',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** Cross-origin isolation lets ORT use multi-threaded WASM (SharedArrayBuffer). */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function staticDirs(): Array<{ prefix: string; dir: string }> {
  return [
    { prefix: '/models/', dir: resolve(ROOT, 'models') },
    // Random-weight fixture pipelines made by training/make_fixture.py (tests only; never in a build).
    { prefix: '/fixtures/', dir: resolve(ROOT, 'fixtures/generated') },
  ];
}

function serveStatic(): Plugin {
  const middleware = (req: { url?: string; method?: string }, res: import('node:http').ServerResponse, next: () => void): void => {
    const url = decodeURIComponent((req.url ?? '').split('?')[0]);
    for (const { prefix, dir } of staticDirs()) {
      if (!url.startsWith(prefix)) continue;
      const rel = normalize(url.slice(prefix.length));
      if (rel.startsWith('..')) break;
      const file = join(dir, rel);
      if (!existsSync(file) || !statSync(file).isFile()) {
        res.statusCode = 404;
        res.setHeader('Content-Type', 'text/plain');
        res.end(`Not found: ${url}`);
        return;
      }
      const size = statSync(file).size;
      res.setHeader('Content-Type', MIME[extname(file)] ?? 'application/octet-stream');
      res.setHeader('Content-Length', String(size));
      res.setHeader('Cache-Control', 'no-cache');
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      createReadStream(file).pipe(res);
      return;
    }
    next();
  };
  return {
    name: 'fewstep-static',
    configureServer(server) {
      server.middlewares.use(middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware);
    },
    writeBundle(options) {
      const out = options.dir ?? resolve(ROOT, 'dist');
      const models = resolve(ROOT, 'models');
      if (existsSync(models) && !out.includes('assets')) {
        mkdirSync(join(out, 'models'), { recursive: true });
        for (const entry of readdirSync(models)) {
          if (entry === 'README.md') continue;
          cpSync(join(models, entry), join(out, 'models', entry), { recursive: true });
        }
      }
    },
  };
}

/**
 * Content-Security-Policy: only our own origin, plus the model hosts the catalog names (Hugging Face and its LFS/CDN
 * hosts). 'wasm-unsafe-eval' is what WebAssembly compilation needs; there is no other eval. The dev server adds
 * ws: for Vite's hot-reload socket; the production build does not.
 */
export const MODEL_HOSTS = ['https://huggingface.co', 'https://*.huggingface.co', 'https://*.hf.co'];
function csp(dev: boolean): string {
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",
    `connect-src 'self' ${dev ? 'ws: ' : ''}${MODEL_HOSTS.join(' ')}`,
    "img-src 'self' data: blob:",
    "style-src 'self' 'unsafe-inline'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ].join('; ');
}

function cspPlugin(): Plugin {
  let dev = false;
  return {
    name: 'fewstep-csp',
    configResolved(config) {
      dev = config.command === 'serve';
    },
    transformIndexHtml() {
      return [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: csp(dev) }, injectTo: 'head-prepend' }];
    },
  };
}

/**
 * Test-only: with FEWSTEP_TEST_HUB=http://127.0.0.1:PORT in the environment, the dev and preview servers forward
 * /__hub/* to the stand-in Hugging Face hub (e2e/hub/server.mjs), and the app is opened with ?hub=/__hub. The hub
 * thereby becomes same-origin ('self' in the CSP above), so the shipped policy needs no test exception and the
 * production build contains nothing of this (the variable is read by the server process, not bundled). Bodies are
 * streamed both ways and a dropped upstream connection drops the client's, so interruption tests see what a
 * browser sees when huggingface.co drops a download.
 */
function testHubProxy(): Plugin | null {
  const target = process.env.FEWSTEP_TEST_HUB;
  if (!target) return null;
  const middleware = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, next: () => void): void => {
    if (!req.url?.startsWith('/__hub/')) return next();
    const url = new URL(req.url.slice('/__hub'.length), target);
    const headers: Record<string, string> = {};
    for (const k of ['range', 'if-range', 'if-none-match']) if (typeof req.headers[k] === 'string') headers[k] = req.headers[k] as string;
    const up = httpRequest(url, { method: req.method, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.on('close', () => {
        if (!upRes.complete) res.destroy();
      });
      upRes.pipe(res);
    });
    up.on('error', (e) => {
      if (res.headersSent) res.destroy();
      else {
        res.statusCode = 502;
        res.end(`stand-in hub unreachable: ${e.message}`);
      }
    });
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    up.end();
  };
  return {
    name: 'fewstep-test-hub-proxy',
    configureServer(server) {
      server.middlewares.use(middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware);
    },
  };
}

/**
 * The installable offline app: a Workbox service worker (src/sw.ts, built by vite-plugin-pwa) that precaches the app
 * shell, ORT's wasm runtime and the embedded models, so after one visit the app opens and generates offline. Only
 * `vite build` emits it (dist/sw.js plus dist/registerSW.js, a same-origin <script> in index.html, so the CSP's
 * script-src/worker-src 'self' cover both); the dev server registers nothing. The web app manifest is the static
 * public/manifest.webmanifest (manifest: false: the plugin writes no second one). Downloaded real models are not
 * here: they live in the download store (OPFS / Cache Storage, src/engine/download), and the worker has no runtime
 * caching, so Hugging Face downloads and their Range requests never pass through it. The e2e suites block service
 * workers except e2e/offline.spec.ts (e2e/playwright.config.ts).
 */
export const PRECACHE = {
  globPatterns: [
    // app shell: index.html, registerSW.js, favicon/icons, manifest
    '*.{html,js,png,svg,webmanifest}',
    // hashed JS/CSS chunks, the engine worker, onnxruntime-web's two builds (src/engine/ort.ts: the WebGPU entry
    // chunk + ort-wasm-simd-threaded.asyncify.{mjs,wasm}, the WASM-only entry chunk + ort-wasm-simd-threaded.{mjs,wasm}),
    // served by the app, so either provider works offline
    'assets/*.{js,mjs,css,wasm}',
    // the embedded pipelines the app loads with no download, the catalog that lists them, the bench panel's scores
    'models/catalog.json',
    'models/report.json',
    'models/fewstep-*/**/*',
    // the in-browser evaluator that scores the comparison grid (1.7 MB)
    'models/evaluator/*',
    // the shipped LoRAs and their index (LoRA picker; 0.7 MB)
    'models/loras/*',
  ],
  globIgnores: ['**/*.map', 'sw.js'],
  // onnxruntime-web's wasm runtimes are 27 MB (WebGPU build) and 14 MB (WASM-only); the embedded U-Nets ~5 MB each.
  maximumFileSizeToCacheInBytes: 64 * 1024 * 1024,
};
function pwa(): Plugin[] {
  return VitePWA({
    strategies: 'injectManifest',
    srcDir: 'src',
    filename: 'sw.ts',
    injectRegister: 'script-defer',
    manifest: false,
    includeManifestIcons: false,
    injectManifest: PRECACHE,
  });
}

export default defineConfig({
  plugins: [cspPlugin(), serveStatic(), testHubProxy(), pwa()],
  server: { headers: ISOLATION_HEADERS, port: 5173, strictPort: false },
  preview: { headers: ISOLATION_HEADERS, port: 4173 },
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 4096 },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
});
