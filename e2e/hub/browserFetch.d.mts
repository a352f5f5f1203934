// Types for browserFetch.mjs: a fetch that filters cross-origin responses as a page's fetch does (CORS).

export interface BrowserFetchOptions {
  /** Origin of the page making the requests; default `http://localhost:5173`. */
  origin?: string;
  /** The fetch that does the requests; default globalThis.fetch. */
  fetchImpl?: typeof fetch;
}

export function browserFetch(opts?: BrowserFetchOptions): typeof fetch;
