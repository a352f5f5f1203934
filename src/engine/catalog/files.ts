/**
 * The files of a catalog entry (its own plus a tokenizer from another repo) with their URLs, and the check of a
 * picked folder against the files the pipeline needs (the names come from layout.ts's LAYOUT_FILES).
 */
import { LAYOUT_FILES } from '../layout';
import type { CatalogEntry } from './schema';
import { hfResolveUrl, resolveFileUrl, trimSlash, type ResolveUrlOptions } from './urls';

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
  { path: LAYOUT_FILES.unet, what: 'the UNet (denoiser) graph' },
  { path: LAYOUT_FILES.textEncoder, what: 'the CLIP text encoder graph' },
  { path: LAYOUT_FILES.vaeDecoder, what: 'the VAE decoder graph' },
  { path: LAYOUT_FILES.schedulerConfig, what: 'the scheduler settings' },
  { path: LAYOUT_FILES.tokenizer, what: 'the tokenizer vocabulary (transformers.js format)' },
  { path: LAYOUT_FILES.tokenizerConfig, what: 'the tokenizer settings' },
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
