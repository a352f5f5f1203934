/// <reference lib="webworker" />
/**
 * The service worker of the production build (vite-plugin-pwa, `injectManifest`: vite.config.ts lists what is
 * precached; the build replaces `self.__WB_MANIFEST` with that list, URL + revision each). After one visit the app
 * opens and generates with the network off: the app shell (index.html, JS, CSS, icons, manifest), onnxruntime-web's
 * wasm runtime and the embedded models (models/fewstep-*, catalog.json) are answered from the precache.
 *
 * Everything else goes to the network untouched: there is no runtime caching, so Hugging Face downloads (cross-origin),
 * the test hub (/__hub/) and their Range requests match no route, and the download store's own OPFS / Cache Storage
 * (src/engine/download, cache "fewstep-models-v1") is never read or written here. Downloaded models are not precached.
 * Only the production build registers it (dist/registerSW.js); the dev server (`npm start`) registers nothing.
 */
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, createHandlerBoundToURL, getCacheKeyForURL, matchPrecache, precacheAndRoute } from 'workbox-precaching';
import { createPartialResponse } from 'workbox-range-requests';
import { NavigationRoute, registerRoute } from 'workbox-routing';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: Array<string | { url: string; revision: string | null }> };

/** A same-origin URL the precache holds (query strings other than the revision are not stripped). */
const isPrecached = (url: URL): boolean => url.origin === self.location.origin && getCacheKeyForURL(url.href) !== undefined;

/**
 * Routes are tried in the order they are registered, so these two come before the precache's own GET route.
 *
 * Range requests for precached files get a 206 cut from the cached body (the precache route alone would answer the
 * whole file with 200). Range requests for anything else (downloads from Hugging Face or /__hub/) match no route and
 * go to the network as they are.
 */
registerRoute(
  ({ url, request }) => request.headers.has('range') && isPrecached(url),
  async ({ request }) => {
    const cached = await matchPrecache(request.url);
    return cached ? createPartialResponse(request, cached) : fetch(request);
  },
);

/**
 * HEAD for precached files: the app probes which shipped pipelines are served with HEAD (src/app/models.ts
 * `exists`), which the precache route (GET only) would leave to the network and so fail offline. Answer with the
 * precached response's status and headers, no body.
 */
registerRoute(
  ({ url }) => isPrecached(url),
  async ({ request }) => {
    const cached = await matchPrecache(request.url);
    if (!cached) return fetch(request);
    return new Response(null, { status: cached.status, statusText: cached.statusText, headers: cached.headers });
  },
  'HEAD',
);

// GET requests for precached URLs: cache first (hashed assets have their hash in the name, the others a revision).
precacheAndRoute(self.__WB_MANIFEST);
// A new build's worker drops the previous build's precache once it activates.
cleanupOutdatedCaches();
// Take over at once: the first visit's page is controlled (and its dedicated workers) without a second reload.
void self.skipWaiting();
clientsClaim();

/**
 * Navigations with a query (`/?seed=1&steps=2`: the app keeps its state in the URL) get the precached index.html.
 * Paths that are files, never pages, stay with the network (a missing model file must stay a 404, not the app).
 */
const scope = new URL(self.registration.scope).pathname;
const notPages = ['assets/', 'models/', 'fixtures/', '__hub/'].map((p) => new RegExp(`^${scope.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${p}`));
registerRoute(new NavigationRoute(createHandlerBoundToURL('index.html'), { denylist: notPages }));
