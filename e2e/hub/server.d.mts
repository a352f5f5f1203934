// Types for server.mjs (the stand-in Hugging Face hub), for TypeScript tests and Playwright specs.

export type HubRedirect = 'same-origin' | 'cross-origin';

/**
 * One injected behaviour (see the list at the top of server.mjs). Every active fault matching a request applies;
 * later ones override earlier ones field by field. All but `redirect` shape the response that carries the bytes
 * (the CDN's when the file is redirected).
 */
export interface HubFault {
  /** HTTP status to answer with instead of the file. */
  status?: number;
  /** Apply to this many matching requests, then stop (default: every request). */
  times?: number;
  /** Let this many matching requests through untouched first (e.g. a file that changes after 2 chunks). */
  after?: number;
  /** Default: GET for body faults, HEAD for `headNoLength` alone, else GET and HEAD. */
  methods?: Array<'GET' | 'HEAD'>;
  /** Answer /resolve/ for this file with a 302: to /__cdn/ on the hub, or to the CDN on its own port. */
  redirect?: HubRedirect;
  delayMs?: number;
  /** Body speed in bytes per second. */
  throttle?: number;
  /** Send this many body bytes without a Content-Length, then end cleanly. */
  truncate?: number;
  /** Announce the full length, send this many bytes, then drop the connection. */
  closeAfter?: number;
  /** Announce the full length, send this many bytes, then send nothing more (the connection stays open). */
  stallAfter?: number;
  /** Destroy the connection before any response. */
  reset?: boolean;
  /** Wrong Content-Length header. */
  contentLength?: number;
  /** Pretend the file has this many bytes (HEAD Content-Length and Content-Range total). */
  reportSize?: number;
  /** Ignore Range: answer 200 with the whole file and no Accept-Ranges. */
  noRange?: boolean;
  /** Flip the byte at file offset `corruptAt` (default 0). */
  corrupt?: boolean;
  corruptAt?: number;
  /** HEAD answers 200 without Content-Length. */
  headNoLength?: boolean;
  /** Access-Control-Expose-Headers list, replacing the default (which exposes Content-Range, ETag, ...). */
  exposeHeaders?: string[];
  /** Headers not sent at all, e.g. ['Content-Range']. */
  omitHeaders?: string[];
  /** No Access-Control-Allow-Origin: a page's fetch rejects. */
  noCors?: boolean;
  /** ETag to send instead of the file's own. */
  etag?: string;
  /** Serve this other file of the same repo (repo-relative path) instead: its bytes, size and ETag. */
  swapTo?: string;
  /** Answer 200 text/html with a web page instead of the file. */
  html?: boolean;
}

/** Access-Control-Expose-Headers of a response without an `exposeHeaders` fault. */
export const DEFAULT_EXPOSED: readonly string[];

export interface HubLogEntry {
  id: number;
  time: number;
  method: string;
  /** URL path as requested. */
  path: string;
  /** `owner/name/path` of the file, or null for unparseable paths. */
  key: string | null;
  /** Which server answered: the hub itself or the CDN it redirects to. */
  origin: 'hub' | 'cdn';
  range: string | null;
  status: number;
  /** Body bytes actually sent. */
  bytes: number;
  /** Pattern(s) of the fault(s) applied, if any (`a + b` when several matched). */
  fault: string | null;
  /** The connection closed before the response finished. */
  aborted: boolean;
}

export interface HubOptions {
  /** Directory holding `{owner}/{name}/...` trees. */
  root?: string;
  /** `owner/name` -> directory, overriding `root` for that repo. */
  repos?: Record<string, string>;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  faults?: Array<HubFault & { pattern: string }>;
  /**
   * Answer /resolve/ with a 302, like huggingface.co does for LFS files: `true` or 'same-origin' to /__cdn/ on the
   * hub, 'cross-origin' to the CDN (a second server on another port, `cdnUrl`). Default: no redirect.
   */
  redirect?: boolean | HubRedirect;
  /** Port of the CDN; 0 (default) picks a free one. */
  cdnPort?: number;
}

export interface Hub {
  /** `http://127.0.0.1:{port}`: pass as `hubBase`. */
  url: string;
  port: number;
  /** Origin of the CDN that 'cross-origin' redirects point at (`http://127.0.0.1:{cdnPort}`). */
  cdnUrl: string;
  cdnPort: number;
  root: string;
  /** `pattern` is `owner/name/path` with `*` wildcards. */
  setFault(pattern: string, fault: HubFault): void;
  clearFaults(): void;
  log(): HubLogEntry[];
  clearLog(): void;
  close(): Promise<void>;
}

export function startHub(opts?: HubOptions): Promise<Hub>;
