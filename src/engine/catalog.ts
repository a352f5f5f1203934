/**
 * Model catalog: the typed view of `models/catalog.json`, its validation, and the URL and layout helpers the
 * download manager and the folder importer share.
 *
 * The catalog is data. Adding a model means adding an entry to `models/catalog.json` (documented in
 * `models/catalog.schema.md`); nothing here names a particular model.
 *
 * Keys follow the project split: camelCase for our own fields, snake_case only inside `sampler.config` and
 * `componentConfig`, which mirror diffusers JSON.
 */

// ---------------------------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------------------------

export type Precision = 'fp32' | 'fp16';
export type ModelKind = 'shipped' | 'remote';

/** Files served by the app itself, relative to the app's base URL (`models/fewstep-turbo`). */
export interface LocalSource {
  type: 'local';
  path: string;
}

/** A Hugging Face repository, fetched from `{hubBase}/{repo}/resolve/{revision}/{path}`. */
export interface HfSource {
  type: 'hf';
  repo: string;
  revision: string;
}

/** A user-supplied base URL (custom source); always produced by {@link validateCustomSource}, never by the JSON. */
export interface UrlSource {
  type: 'url';
  baseUrl: string;
}

export type ModelSource = LocalSource | HfSource | UrlSource;

export interface CatalogFile {
  /** Path inside the model's diffusers layout, `/`-separated, e.g. `unet/model.onnx`. */
  path: string;
  /** Exact byte size, or null when unknown (the downloader then asks the server with HEAD before starting). */
  size: number | null;
  /** Lower-case hex SHA-256 of the whole file; checked after download when present. */
  sha256?: string;
  /** When true, a 404 for this file means "this export does not have it" and the file is skipped. */
  optional?: boolean;
}

export interface SamplerDefaults {
  /** diffusers scheduler class name, e.g. `EulerDiscreteScheduler`, `LCMScheduler`, `DDIMScheduler`. */
  schedulerClass: string;
  steps: number;
  /** Inclusive [min, max] number of steps the UI allows. */
  stepRange: [number, number];
  guidanceScale: number;
  /** Inclusive [min, max] guidance the UI allows; [0, 0] means the model takes no guidance. */
  guidanceRange: [number, number];
  /** diffusers scheduler_config keys (snake_case) overriding or replacing the repo's scheduler_config.json. */
  config?: Record<string, unknown>;
}

export interface TokenizerFromModel {
  /** The tokenizer lives in the model's own layout, under `path` (normally `tokenizer`). */
  source: 'model';
  path: string;
  /** Pad id override; null keeps what tokenizer_config.json says. */
  padTokenId: number | null;
  maxLength: number;
}

export interface TokenizerFromHf {
  /** The tokenizer lives in another Hugging Face repo (SD-Turbo uses Xenova/clip-vit-base-patch16). */
  source: 'hf';
  repo: string;
  revision: string;
  /** Folder inside that repo holding the files; '' for the repo root. */
  path: string;
  /** Files to fetch, relative to `path`; they are stored under `tokenizer/` in the model's layout. */
  files: CatalogFile[];
  padTokenId: number | null;
  maxLength: number;
}

export type TokenizerSource = TokenizerFromModel | TokenizerFromHf;

export interface Size2D {
  width: number;
  height: number;
}

export interface CatalogEntry {
  /** Stable id, also the storage key: lower-case letters, digits, `-`, `_`, `.`. */
  id: string;
  name: string;
  kind: ModelKind;
  source: ModelSource;
  files: CatalogFile[];
  /** Precision of the weights. */
  precision: Precision;
  /** Precision of the graph inputs and outputs (fp16 I/O needs Float16Array/Uint16Array conversion). */
  ioPrecision: Precision;
  resolution: Size2D;
  latentSize: Size2D & { channels: number };
  /** WebGPU adapter features the model needs, e.g. `shader-f16` for fp16 weights. */
  requiredFeatures: string[];
  sampler: SamplerDefaults;
  tokenizer: TokenizerSource;
  /** Per-component config values (diffusers keys) for exports that ship no config.json. */
  componentConfig?: Record<string, Record<string, unknown>>;
  license: string;
  licenseUrl?: string;
  approxVramMB: number;
  notes: string[];
}

export interface Catalog {
  schemaVersion: 1;
  doc?: string;
  models: CatalogEntry[];
}

/** Thrown by {@link validateCatalog}; `issues` lists every problem found, each naming the JSON path. */
export class CatalogError extends Error {
  readonly code = 'catalog-invalid' as const;
  override readonly name = 'CatalogError';
  constructor(readonly issues: string[]) {
    super(
      issues.length === 1
        ? `Invalid model catalog: ${issues[0]}`
        : `Invalid model catalog (${issues.length} problems):\n- ${issues.join('\n- ')}`,
    );
  }
}

/** Thrown by {@link validateCustomSource}. */
export class CustomSourceError extends Error {
  readonly code = 'custom-source-invalid' as const;
  override readonly name = 'CustomSourceError';
}

// ---------------------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------------------

const ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
// Hugging Face: owner and name of letters, digits, '-', '_', '.'; no '..' and no leading/trailing '.'/'-'.
const REPO_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}\/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$/;
const SHA256_RE = /^[0-9a-f]{64}$/;
const SCHEDULER_RE = /^[A-Z][A-Za-z0-9]*Scheduler$/;
const FEATURES = ['shader-f16', 'timestamp-query', 'subgroups'] as const;

type Json = unknown;

function show(value: Json): string {
  if (value === undefined) return 'nothing';
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(value);
  }
}

/** Small path-tracking checker: each check records "path: received X, expected Y" and returns the value. */
class Checker {
  readonly issues: string[] = [];

  fail(path: string, value: Json, expected: string): void {
    this.issues.push(`${path}: received ${show(value)}, expected ${expected}`);
  }

  obj(path: string, value: Json): Record<string, Json> | null {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, Json>;
    this.fail(path, value, 'an object');
    return null;
  }

  str(path: string, value: Json, re?: RegExp, what?: string): string | null {
    if (typeof value === 'string' && value.length > 0 && (!re || re.test(value))) return value;
    this.fail(path, value, what ?? (re ? `a string matching ${re}` : 'a non-empty string'));
    return null;
  }

  oneOf<T extends string>(path: string, value: Json, allowed: readonly T[]): T | null {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    this.fail(path, value, `one of: ${allowed.join(', ')}`);
    return null;
  }

  num(path: string, value: Json, opts: { int?: boolean; min?: number; max?: number } = {}): number | null {
    const ok =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      (!opts.int || Number.isInteger(value)) &&
      (opts.min === undefined || value >= opts.min) &&
      (opts.max === undefined || value <= opts.max);
    if (ok) return value as number;
    const parts = [opts.int ? 'an integer' : 'a number'];
    if (opts.min !== undefined) parts.push(`>= ${opts.min}`);
    if (opts.max !== undefined) parts.push(`<= ${opts.max}`);
    this.fail(path, value, parts.join(' '));
    return null;
  }

  arr(path: string, value: Json, { nonEmpty = false } = {}): Json[] | null {
    if (Array.isArray(value) && (!nonEmpty || value.length > 0)) return value;
    this.fail(path, value, nonEmpty ? 'a non-empty array' : 'an array');
    return null;
  }

  range(path: string, value: Json, opts: { int?: boolean; min?: number }): [number, number] | null {
    const a = this.arr(path, value);
    if (!a) return null;
    if (a.length !== 2) {
      this.fail(path, value, '[min, max]');
      return null;
    }
    const lo = this.num(`${path}[0]`, a[0], opts);
    const hi = this.num(`${path}[1]`, a[1], opts);
    if (lo === null || hi === null) return null;
    if (lo > hi) {
      this.fail(path, value, 'min <= max');
      return null;
    }
    return [lo, hi];
  }

  unknownKeys(path: string, o: Record<string, Json>, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.issues.push(`${path}.${k}: unknown field. Allowed fields: ${allowed.join(', ')}`);
    }
  }
}

/** A relative `/`-separated path with no empty, `.` or `..` segments and no backslashes. */
function isSafeRelPath(p: string): boolean {
  if (p.startsWith('/') || p.includes('\\') || p.includes('\0')) return false;
  return p.split('/').every((s) => s.length > 0 && s !== '.' && s !== '..');
}

const SAFE_PATH = 'a relative path like "unet/model.onnx" (no leading /, no "." or ".." segments, no backslash)';

function checkFiles(c: Checker, path: string, value: Json, nonEmpty: boolean): CatalogFile[] {
  const list = c.arr(path, value, { nonEmpty });
  if (!list) return [];
  const out: CatalogFile[] = [];
  const seen = new Set<string>();
  list.forEach((f, i) => {
    const p = `${path}[${i}]`;
    const o = c.obj(p, f);
    if (!o) return;
    c.unknownKeys(p, o, ['path', 'size', 'sha256', 'optional']);
    const filePath = typeof o.path === 'string' && isSafeRelPath(o.path) ? o.path : null;
    if (filePath === null) c.fail(`${p}.path`, o.path, SAFE_PATH);
    else if (seen.has(filePath)) c.fail(`${p}.path`, o.path, 'a path not listed twice');
    else seen.add(filePath);
    let size: number | null = null;
    if (o.size !== null) size = c.num(`${p}.size`, o.size, { int: true, min: 0 });
    if (o.sha256 !== undefined) c.str(`${p}.sha256`, o.sha256, SHA256_RE, '64 lower-case hex characters');
    if (o.optional !== undefined && typeof o.optional !== 'boolean') c.fail(`${p}.optional`, o.optional, 'true or false');
    if (filePath !== null) {
      const file: CatalogFile = { path: filePath, size };
      if (typeof o.sha256 === 'string') file.sha256 = o.sha256;
      if (o.optional === true) file.optional = true;
      out.push(file);
    }
  });
  return out;
}

function checkEntry(c: Checker, p: string, e: Record<string, Json>): void {
  c.unknownKeys(p, e, [
    'id', 'name', 'kind', 'source', 'files', 'precision', 'ioPrecision', 'resolution', 'latentSize',
    'requiredFeatures', 'sampler', 'tokenizer', 'componentConfig', 'license', 'licenseUrl', 'approxVramMB', 'notes',
  ]);
  c.str(`${p}.id`, e.id, ID_RE, 'an id of lower-case letters, digits, ".", "_", "-" (max 64, e.g. "sd-turbo")');
  c.str(`${p}.name`, e.name);
  const kind = c.oneOf(`${p}.kind`, e.kind, ['shipped', 'remote'] as const);

  const src = c.obj(`${p}.source`, e.source);
  if (src) {
    const type = c.oneOf(`${p}.source.type`, src.type, ['local', 'hf'] as const);
    if (type === 'local') {
      c.unknownKeys(`${p}.source`, src, ['type', 'path']);
      if (!(typeof src.path === 'string' && isSafeRelPath(src.path))) c.fail(`${p}.source.path`, src.path, SAFE_PATH);
      if (kind === 'remote') c.fail(`${p}.source.type`, src.type, '"hf" for a remote entry');
    } else if (type === 'hf') {
      c.unknownKeys(`${p}.source`, src, ['type', 'repo', 'revision']);
      c.str(`${p}.source.repo`, src.repo, REPO_RE, 'a Hugging Face repo "owner/name"');
      c.str(`${p}.source.revision`, src.revision, /^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/, 'a branch, tag or commit like "main"');
      if (kind === 'shipped') c.fail(`${p}.source.type`, src.type, '"local" for a shipped entry');
    }
  }

  checkFiles(c, `${p}.files`, e.files, true);
  const precision = c.oneOf(`${p}.precision`, e.precision, ['fp32', 'fp16'] as const);
  c.oneOf(`${p}.ioPrecision`, e.ioPrecision, ['fp32', 'fp16'] as const);

  const res = c.obj(`${p}.resolution`, e.resolution);
  if (res) {
    c.unknownKeys(`${p}.resolution`, res, ['width', 'height']);
    c.num(`${p}.resolution.width`, res.width, { int: true, min: 8, max: 4096 });
    c.num(`${p}.resolution.height`, res.height, { int: true, min: 8, max: 4096 });
  }
  const lat = c.obj(`${p}.latentSize`, e.latentSize);
  if (lat) {
    c.unknownKeys(`${p}.latentSize`, lat, ['width', 'height', 'channels']);
    const w = c.num(`${p}.latentSize.width`, lat.width, { int: true, min: 1, max: 512 });
    const h = c.num(`${p}.latentSize.height`, lat.height, { int: true, min: 1, max: 512 });
    c.num(`${p}.latentSize.channels`, lat.channels, { int: true, min: 1, max: 64 });
    if (res && w !== null && h !== null && typeof res.width === 'number' && typeof res.height === 'number') {
      if (res.width !== w * 8 || res.height !== h * 8) {
        c.fail(`${p}.latentSize`, lat, `8x smaller than resolution ${res.width}x${res.height} (the VAE downsamples by 8)`);
      }
    }
  }

  const feats = c.arr(`${p}.requiredFeatures`, e.requiredFeatures);
  if (feats) {
    feats.forEach((f, i) => c.oneOf(`${p}.requiredFeatures[${i}]`, f, FEATURES));
    if (precision === 'fp16' && !feats.includes('shader-f16')) {
      c.fail(`${p}.requiredFeatures`, feats, 'to include "shader-f16" because precision is "fp16"');
    }
  }

  const s = c.obj(`${p}.sampler`, e.sampler);
  if (s) {
    c.unknownKeys(`${p}.sampler`, s, ['schedulerClass', 'steps', 'stepRange', 'guidanceScale', 'guidanceRange', 'config']);
    c.str(`${p}.sampler.schedulerClass`, s.schedulerClass, SCHEDULER_RE, 'a diffusers scheduler class like "LCMScheduler"');
    const steps = c.num(`${p}.sampler.steps`, s.steps, { int: true, min: 1, max: 1000 });
    const sr = c.range(`${p}.sampler.stepRange`, s.stepRange, { int: true, min: 1 });
    if (steps !== null && sr && (steps < sr[0] || steps > sr[1])) {
      c.fail(`${p}.sampler.steps`, steps, `a value inside stepRange [${sr[0]}, ${sr[1]}]`);
    }
    const g = c.num(`${p}.sampler.guidanceScale`, s.guidanceScale, { min: 0, max: 50 });
    const gr = c.range(`${p}.sampler.guidanceRange`, s.guidanceRange, { min: 0 });
    if (g !== null && gr && (g < gr[0] || g > gr[1])) {
      c.fail(`${p}.sampler.guidanceScale`, g, `a value inside guidanceRange [${gr[0]}, ${gr[1]}]`);
    }
    if (s.config !== undefined) c.obj(`${p}.sampler.config`, s.config);
  }

  const t = c.obj(`${p}.tokenizer`, e.tokenizer);
  if (t) {
    const ts = c.oneOf(`${p}.tokenizer.source`, t.source, ['model', 'hf'] as const);
    if (t.padTokenId !== null) c.num(`${p}.tokenizer.padTokenId`, t.padTokenId, { int: true, min: 0 });
    c.num(`${p}.tokenizer.maxLength`, t.maxLength, { int: true, min: 1, max: 1024 });
    if (ts === 'model') {
      c.unknownKeys(`${p}.tokenizer`, t, ['source', 'path', 'padTokenId', 'maxLength']);
      if (!(typeof t.path === 'string' && isSafeRelPath(t.path))) c.fail(`${p}.tokenizer.path`, t.path, SAFE_PATH);
    } else if (ts === 'hf') {
      c.unknownKeys(`${p}.tokenizer`, t, ['source', 'repo', 'revision', 'path', 'files', 'padTokenId', 'maxLength']);
      c.str(`${p}.tokenizer.repo`, t.repo, REPO_RE, 'a Hugging Face repo "owner/name"');
      c.str(`${p}.tokenizer.revision`, t.revision);
      if (!(t.path === '' || (typeof t.path === 'string' && isSafeRelPath(t.path)))) {
        c.fail(`${p}.tokenizer.path`, t.path, `"" (repo root) or ${SAFE_PATH}`);
      }
      const files = checkFiles(c, `${p}.tokenizer.files`, t.files, true);
      if (files.length && !files.some((f) => f.path.endsWith('tokenizer.json'))) {
        c.fail(`${p}.tokenizer.files`, files.map((f) => f.path), 'to include tokenizer.json (transformers.js needs it)');
      }
    }
  }

  if (e.componentConfig !== undefined) {
    const cc = c.obj(`${p}.componentConfig`, e.componentConfig);
    if (cc) for (const [k, v] of Object.entries(cc)) c.obj(`${p}.componentConfig.${k}`, v);
  }
  c.str(`${p}.license`, e.license);
  if (e.licenseUrl !== undefined) c.str(`${p}.licenseUrl`, e.licenseUrl, /^https:\/\//, 'an https URL');
  c.num(`${p}.approxVramMB`, e.approxVramMB, { min: 0 });
  const notes = c.arr(`${p}.notes`, e.notes);
  if (notes) notes.forEach((n, i) => c.str(`${p}.notes[${i}]`, n));
}

/**
 * Validate parsed `catalog.json` and return it typed. Throws {@link CatalogError} listing every problem, each as
 * `models[3].sampler.steps: received 0, expected an integer >= 1`.
 */
export function validateCatalog(json: unknown): Catalog {
  const c = new Checker();
  const root = c.obj('catalog', json);
  if (!root) throw new CatalogError(c.issues);
  c.unknownKeys('catalog', root, ['schemaVersion', 'doc', 'models']);
  if (root.schemaVersion !== 1) c.fail('catalog.schemaVersion', root.schemaVersion, '1');
  const models = c.arr('catalog.models', root.models, { nonEmpty: true });
  const ids = new Set<string>();
  models?.forEach((m, i) => {
    const p = `models[${i}]`;
    const e = c.obj(p, m);
    if (!e) return;
    checkEntry(c, p, e);
    if (typeof e.id === 'string') {
      if (ids.has(e.id)) c.fail(`${p}.id`, e.id, 'an id not used by another entry');
      ids.add(e.id);
    }
  });
  if (c.issues.length) throw new CatalogError(c.issues);
  return json as Catalog;
}

/** Find an entry by id, with a message listing the ids that exist. */
export function getCatalogEntry(catalog: Catalog, id: string): CatalogEntry {
  const e = catalog.models.find((m) => m.id === id);
  if (!e) throw new RangeError(`Unknown model "${id}". Should be one of: ${catalog.models.map((m) => m.id).join(', ')}`);
  return e;
}

// ---------------------------------------------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------------------------------------------

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

function trimSlash(s: string): string {
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

// ---------------------------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------------------------

export type FileRole = 'weights' | 'config' | 'tokenizer';

export interface LayoutFile {
  /** Path in the model's diffusers layout; also the storage key (`tokenizer/tokenizer.json`). */
  path: string;
  role: FileRole;
  size: number | null;
  sha256?: string;
  optional: boolean;
  /** Where it is fetched from: the model's own source, or another Hugging Face repo (tokenizers). */
  origin: { type: 'model' } | { type: 'hf'; repo: string; revision: string; path: string };
}

function roleOf(path: string): FileRole {
  if (/\.onnx(_data)?$|\.pb$/.test(path)) return 'weights';
  if (path.startsWith('tokenizer/')) return 'tokenizer';
  return 'config';
}

/** Every file the pipeline needs, in layout order, including a tokenizer that lives in another repo. */
export function layoutFilesFor(entry: CatalogEntry): LayoutFile[] {
  const out: LayoutFile[] = entry.files.map((f) => ({
    path: f.path,
    role: roleOf(f.path),
    size: f.size,
    ...(f.sha256 ? { sha256: f.sha256 } : {}),
    optional: f.optional === true,
    origin: { type: 'model' as const },
  }));
  const t = entry.tokenizer;
  if (t.source === 'hf') {
    for (const f of t.files) {
      const path = `tokenizer/${f.path}`;
      if (out.some((o) => o.path === path)) continue;
      out.push({
        path,
        role: 'tokenizer',
        size: f.size,
        ...(f.sha256 ? { sha256: f.sha256 } : {}),
        optional: f.optional === true,
        origin: { type: 'hf', repo: t.repo, revision: t.revision, path: t.path ? `${trimSlash(t.path)}/${f.path}` : f.path },
      });
    }
  }
  return out;
}

/** URL of one {@link LayoutFile}, following its origin. */
export function resolveLayoutFileUrl(entry: CatalogEntry, file: LayoutFile, opts: ResolveUrlOptions = {}): string {
  return file.origin.type === 'hf'
    ? hfResolveUrl(file.origin.repo, file.origin.revision, file.origin.path, opts.hubBase)
    : resolveFileUrl(entry, file.path, opts);
}

/** The files a diffusers ONNX folder must contain to run here, with what each one is for. */
export const REQUIRED_LAYOUT: ReadonlyArray<{ path: string; what: string }> = [
  { path: 'unet/model.onnx', what: 'the UNet (denoiser) graph' },
  { path: 'text_encoder/model.onnx', what: 'the CLIP text encoder graph' },
  { path: 'vae_decoder/model.onnx', what: 'the VAE decoder graph' },
  { path: 'scheduler/scheduler_config.json', what: 'the scheduler settings' },
  { path: 'tokenizer/tokenizer.json', what: 'the tokenizer vocabulary (transformers.js format)' },
  { path: 'tokenizer/tokenizer_config.json', what: 'the tokenizer settings' },
];

export interface LayoutCheck {
  ok: boolean;
  missing: string[];
  /** One sentence per missing file, e.g. `Missing unet/model.onnx (the UNet (denoiser) graph).` */
  messages: string[];
}

/**
 * Check the file list of a picked or dropped folder against {@link REQUIRED_LAYOUT}. Paths are relative to the
 * export's root; a single leading folder common to every path (the folder's own name) is ignored.
 */
export function checkLayout(paths: Iterable<string>, required = REQUIRED_LAYOUT): LayoutCheck {
  let list = [...paths].map((p) => p.replace(/\\/g, '/').replace(/^\.?\//, ''));
  const first = list[0]?.split('/')[0];
  if (first && list.every((p) => p.startsWith(`${first}/`))) {
    const stripped = list.map((p) => p.slice(first.length + 1));
    const hits = (l: string[]) => required.filter((r) => l.includes(r.path)).length;
    if (hits(stripped) > hits(list)) list = stripped;
  }
  const have = new Set(list);
  const missing = required.filter((r) => !have.has(r.path));
  return {
    ok: missing.length === 0,
    missing: missing.map((m) => m.path),
    messages: missing.map((m) => `Missing ${m.path} (${m.what}).`),
  };
}
