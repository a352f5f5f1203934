/** Custom sources: a user-supplied base URL of a diffusers ONNX export, checked before anything is fetched. */
import { EngineError } from '../errors';
import { trimSlash } from './urls';

/** Thrown by {@link validateCustomSource}. */
export class CustomSourceError extends EngineError {
  override readonly name = 'CustomSourceError';
  constructor(message: string) {
    super('CUSTOM_SOURCE_INVALID', message);
  }
}

export interface CustomSource {
  /** Normalized base URL without a trailing slash; files are fetched from `{baseUrl}/{path}`. */
  baseUrl: string;
  /** Set when the URL pointed at a Hugging Face repo page (rewritten to its `/resolve/{revision}` base). */
  hf?: { repo: string; revision: string };
}

/**
 * Check a user-supplied base URL of a diffusers ONNX export. Allowed: `https:` anywhere, or any URL on the page's
 * own origin (so `http://localhost:5173/models/x` works in dev). Rejected with a message saying why: other schemes
 * (`javascript:`, `data:`, `blob:`, `file:`, plain `http:` on another origin), credentials in the URL, a query or
 * fragment. A Hugging Face page URL (`https://huggingface.co/owner/name` or `.../tree/rev`) becomes its
 * `/resolve/{rev}` base.
 */
export function validateCustomSource(url: string, pageOrigin: string): CustomSource {
  const raw = (url ?? '').trim();
  if (!raw) throw new CustomSourceError('Custom source is empty. Enter the https:// base URL of a diffusers ONNX export');
  let u: URL;
  try {
    u = new URL(raw, pageOrigin);
  } catch {
    throw new CustomSourceError(`Custom source "${raw}" is not a valid URL. Enter an https:// URL such as https://huggingface.co/owner/name`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  const sameOrigin = u.origin !== 'null' && u.origin === new URL(pageOrigin).origin;
  if (scheme !== 'https' && !(sameOrigin && scheme === 'http')) {
    const why =
      scheme === 'http'
        ? 'plain http is only allowed on this page\'s own origin'
        : `the "${scheme}:" scheme is not allowed`;
    throw new CustomSourceError(`Custom source "${raw}" rejected: ${why}. Use https:// or a path on ${new URL(pageOrigin).origin}`);
  }
  if (u.username || u.password) {
    throw new CustomSourceError(`Custom source "${u.host}${u.pathname}" rejected: the URL contains credentials (user:password@). Remove them; private repos are not supported`);
  }
  if (u.search || u.hash) {
    throw new CustomSourceError(`Custom source "${raw}" rejected: remove the query or fragment (${u.search}${u.hash}); file paths are appended to the base URL`);
  }
  let path = trimSlash(u.pathname);
  let hf: CustomSource['hf'];
  if (u.hostname === 'huggingface.co') {
    const m = /^\/([^/]+)\/([^/]+)(?:\/(?:tree|resolve)\/([^/]+))?$/.exec(path);
    if (m && !['api', 'datasets', 'spaces', 'docs'].includes(m[1])) {
      const revision = m[3] ? decodeURIComponent(m[3]) : 'main';
      hf = { repo: `${m[1]}/${m[2]}`, revision };
      path = `/${m[1]}/${m[2]}/resolve/${encodeURIComponent(revision)}`;
    }
  }
  return hf ? { baseUrl: `${u.origin}${path}`, hf } : { baseUrl: `${u.origin}${path}` };
}

