// Types for server.mjs (the stand-in Hugging Face hub), for TypeScript tests and Playwright specs.

export interface HubFault {
  /** HTTP status to answer with instead of the file. */
  status?: number;
  /** Apply to this many matching requests, then stop (default: every request). */
  times?: number;
  methods?: Array<'GET' | 'HEAD'>;
  delayMs?: number;
  /** Body speed in bytes per second. */
  throttle?: number;
  /** Send this many body bytes without a Content-Length, then end cleanly. */
  truncate?: number;
  /** Announce the full length, send this many bytes, then drop the connection. */
  closeAfter?: number;
  /** Wrong Content-Length header. */
  contentLength?: number;
  /** Pretend the file has this many bytes (HEAD Content-Length and Content-Range total). */
  reportSize?: number;
  /** Ignore Range: answer 200 with the whole file and no Accept-Ranges. */
  noRange?: boolean;
  /** Flip the byte at file offset `corruptAt` (default 0). */
  corrupt?: boolean;
  corruptAt?: number;
}

export interface HubLogEntry {
  id: number;
  time: number;
  method: string;
  /** URL path as requested. */
  path: string;
  /** `owner/name/path` of the file, or null for unparseable paths. */
  key: string | null;
  range: string | null;
  status: number;
  /** Body bytes actually sent. */
  bytes: number;
  /** Pattern of the fault applied, if any. */
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
  /** Answer /resolve/ with a 302 to a CDN-style path, like huggingface.co does for LFS files. */
  redirect?: boolean;
}

export interface Hub {
  /** `http://127.0.0.1:{port}`: pass as `hubBase`. */
  url: string;
  port: number;
  root: string;
  /** `pattern` is `owner/name/path` with `*` wildcards. */
  setFault(pattern: string, fault: HubFault): void;
  clearFaults(): void;
  log(): HubLogEntry[];
  clearLog(): void;
  close(): Promise<void>;
}

export function startHub(opts?: HubOptions): Promise<Hub>;
