/** URLs of catalog files: Hugging Face `resolve` URLs, custom base URLs and files the app serves itself. */
import { isSafeRelPath, REPO_RE, SAFE_PATH, type CatalogEntry } from './schema';

export interface ResolveUrlOptions {
  /** Hub origin (and optional path prefix); the stand-in hub in tests. Default `https://huggingface.co`. */
  hubBase?: string;
  /** Base URL the app is served from, for `local` sources (e.g. `location.href` or `new URL(import.meta.env.BASE_URL, location.href)`). */
  appBase?: string;
}

export const DEFAULT_HUB_BASE = 'https://huggingface.co';

/** Percent-encode each segment of a relative path, keeping the `/` separators. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

export function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

/** `{hubBase}/{repo}/resolve/{revision}/{path}`, with the revision and each path segment encoded. */
export function hfResolveUrl(repo: string, revision: string, path: string, hubBase: string = DEFAULT_HUB_BASE): string {
  if (!REPO_RE.test(repo)) throw new RangeError(`Invalid Hugging Face repo "${repo}". Should look like "owner/name"`);
  return `${trimSlash(hubBase)}/${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(path)}`;
}

/** The URL of one file of `entry` (a path of its layout, e.g. `unet/model.onnx`). */
export function resolveFileUrl(entry: Pick<CatalogEntry, 'source'>, path: string, opts: ResolveUrlOptions = {}): string {
  if (!isSafeRelPath(path)) throw new RangeError(`Invalid file path "${path}". Should be ${SAFE_PATH}`);
  const src = entry.source;
  switch (src.type) {
    case 'hf':
      return hfResolveUrl(src.repo, src.revision, path, opts.hubBase);
    case 'url':
      return `${trimSlash(src.baseUrl)}/${encodePath(path)}`;
    case 'local': {
      const appBase = opts.appBase ?? (globalThis as { location?: { href: string } }).location?.href;
      if (!appBase) throw new RangeError(`resolveFileUrl: appBase is required for local source "${src.path}" outside a page`);
      return new URL(`${encodePath(trimSlash(src.path))}/${encodePath(path)}`, appBase).href;
    }
  }
}

/**
 * A storage-safe model id for an imported folder or custom source: lower case, runs of other characters as '-',
 * 48 characters at most, `<prefix>-model` when nothing is left. Shared by the app's library and the CLI so that
 * the same folder or URL gets the same cache id in both.
 */
export function slugId(prefix: string, name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/^https?:\/\//, '')
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
  return `${prefix}-${slug || 'model'}`;
}
