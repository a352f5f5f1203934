// A fetch that lets Node tests see a cross-origin response the way a page does (Fetch standard, CORS mode), so the
// downloader can be tested against the stand-in hub's CORS faults without a browser:
//   - every response on the way (each redirect, then the final one) must carry Access-Control-Allow-Origin `*` or
//     the page's origin, else the call rejects with a TypeError, as a browser's fetch does ("Failed to fetch");
//   - the final response shows only the CORS-safelisted response headers (Cache-Control, Content-Language,
//     Content-Length, Content-Type, Expires, Last-Modified, Pragma) plus those listed in its
//     Access-Control-Expose-Headers; `url` and `redirected` are those of the final response.
// Not modelled: preflight requests (a single `Range: bytes=a-b` is a CORS-safelisted request header, and the
// downloader sends nothing else), credentials, opaque responses, CSP.
//
//   import { browserFetch } from '../../../e2e/hub/browserFetch.mjs';
//   await downloadModel(entry, { fetchImpl: browserFetch({ origin: 'http://localhost:5173' }), ... });

const SAFELISTED = ['cache-control', 'content-language', 'content-length', 'content-type', 'expires', 'last-modified', 'pragma'];
const MAX_REDIRECTS = 20;

function corsAllows(res, origin) {
  const allow = res.headers.get('access-control-allow-origin');
  return allow === '*' || allow === origin;
}

function filteredHeaders(res) {
  const exposed = (res.headers.get('access-control-expose-headers') ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const all = exposed.includes('*');
  const out = new Headers();
  for (const [k, v] of res.headers) if (SAFELISTED.includes(k) || all || exposed.includes(k)) out.append(k, v);
  return out;
}

/**
 * @param {{ origin?: string, fetchImpl?: typeof fetch }} [opts] origin of the page (default http://localhost:5173)
 * @returns {typeof fetch}
 */
export function browserFetch(opts = {}) {
  const origin = opts.origin ?? 'http://localhost:5173';
  const inner = opts.fetchImpl ?? globalThis.fetch.bind(globalThis);
  return async (input, init = {}) => {
    let url = String(input instanceof Request ? input.url : input);
    let redirected = false;
    for (let hop = 0; ; hop++) {
      const res = await inner(url, { ...init, redirect: 'manual' });
      const crossOrigin = new URL(url).origin !== origin;
      if (crossOrigin && !corsAllows(res, origin)) {
        res.body?.cancel().catch(() => {});
        throw new TypeError(`Failed to fetch (CORS: no Access-Control-Allow-Origin for ${origin} on ${url})`);
      }
      const loc = res.headers.get('location');
      if ([301, 302, 303, 307, 308].includes(res.status) && loc && init.redirect !== 'manual') {
        res.body?.cancel().catch(() => {});
        if (hop >= MAX_REDIRECTS) throw new TypeError('Failed to fetch (too many redirects)');
        url = new URL(loc, url).href;
        redirected = true;
        continue;
      }
      const headers = crossOrigin ? filteredHeaders(res) : res.headers;
      const finalUrl = url;
      return new Proxy(res, {
        get(target, prop) {
          if (prop === 'headers') return headers;
          if (prop === 'url') return finalUrl;
          if (prop === 'redirected') return redirected;
          const v = Reflect.get(target, prop, target);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    }
  };
}
