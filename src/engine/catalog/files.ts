/**
 * The files of a catalog entry (its own plus a tokenizer from another repo) with their URLs, and the check of a
 * picked folder against the files the pipeline needs (the names come from layout.ts's LAYOUT_FILES).
 */
import { componentFilesFromList, LAYOUT_FILES } from '../layout';
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

/**
 * One file a diffusers ONNX folder must hold to run here. `anyOf`: other file sets that stand for it (the tokenizer
 * as vocab.json + merges.txt); `component`: a graph, which may also sit in the flat `onnx/<component>_model*.onnx`
 * layout of the WebNN exports (layout.ts componentFilesFromList).
 */
export interface LayoutRequirement {
  path: string;
  what: string;
  anyOf?: ReadonlyArray<readonly string[]>;
  component?: 'unet' | 'text_encoder' | 'vae_decoder';
  /** Short form for lists shown to people ("tokenizer/tokenizer.json or vocab.json + merges.txt"). */
  label?: string;
}

/** The files a diffusers ONNX folder must contain to run here, with what each one is for. */
export const REQUIRED_LAYOUT: ReadonlyArray<LayoutRequirement> = [
  { path: LAYOUT_FILES.unet, what: 'the UNet (denoiser) graph', component: 'unet' },
  { path: LAYOUT_FILES.textEncoder, what: 'the CLIP text encoder graph', component: 'text_encoder' },
  { path: LAYOUT_FILES.vaeDecoder, what: 'the VAE decoder graph', component: 'vae_decoder' },
  { path: LAYOUT_FILES.schedulerConfig, what: 'the scheduler settings' },
  {
    path: LAYOUT_FILES.tokenizer,
    what: 'the tokenizer: tokenizer.json, or vocab.json + merges.txt as diffusers exports ship it',
    anyOf: [['tokenizer/vocab.json', 'tokenizer/merges.txt']],
    label: 'tokenizer/tokenizer.json (or vocab.json + merges.txt)',
  },
  { path: LAYOUT_FILES.tokenizerConfig, what: 'the tokenizer settings' },
];

export interface LayoutCheck {
  ok: boolean;
  missing: string[];
  /** One sentence per missing file, e.g. `Missing unet/model.onnx (the UNet (denoiser) graph).` */
  messages: string[];
}

/** Whether the folder's files (a Set of relative paths) satisfy one requirement. */
function satisfied(r: LayoutRequirement, have: ReadonlySet<string>, graphs: ReturnType<typeof componentFilesFromList>): boolean {
  if (have.has(r.path)) return true;
  if (r.component && graphs[r.component]) return true;
  return (r.anyOf ?? []).some((set) => set.every((p) => have.has(p)));
}

/**
 * What a catalog entry's overlay (sources/catalogSource.ts CatalogOverlaySource) supplies when a folder lacks it:
 * the scheduler config always (from `sampler`), tokenizer_config.json when the entry sets `tokenizer.padTokenId`.
 */
function suppliedBy(entry: CatalogEntry): Set<string> {
  const out = new Set<string>([LAYOUT_FILES.schedulerConfig]);
  if (entry.tokenizer.padTokenId !== null) out.add(LAYOUT_FILES.tokenizerConfig);
  return out;
}

/**
 * Check the file list of a picked or dropped folder against {@link REQUIRED_LAYOUT}. Paths are relative to the
 * export's root; a single leading folder common to every path (the folder's own name) is ignored. Graphs may be in
 * the diffusers layout or the flat `onnx/` one, the tokenizer a tokenizer.json or vocab.json + merges.txt. With
 * `entry` (the catalog entry the folder is an export of, {@link catalogEntryForFiles}), what its overlay supplies
 * is not required.
 */
export function checkLayout(paths: Iterable<string>, required: ReadonlyArray<LayoutRequirement> = REQUIRED_LAYOUT, entry: CatalogEntry | null = null): LayoutCheck {
  let list = [...paths].map((p) => p.replace(/\\/g, '/').replace(/^\.?\//, ''));
  const hits = (l: string[]): number => {
    const set = new Set(l);
    const graphs = componentFilesFromList(l);
    return required.filter((r) => satisfied(r, set, graphs)).length;
  };
  const first = list[0]?.split('/')[0];
  if (first && list.every((p) => p.startsWith(`${first}/`))) {
    const stripped = list.map((p) => p.slice(first.length + 1));
    if (hits(stripped) > hits(list)) list = stripped;
  }
  const have = new Set(list);
  const graphs = componentFilesFromList(list);
  const supplied = entry ? suppliedBy(entry) : new Set<string>();
  const missing = required.filter((r) => !supplied.has(r.path) && !satisfied(r, have, graphs));
  return {
    ok: missing.length === 0,
    missing: missing.map((m) => m.path),
    messages: missing.map((m) => `Missing ${m.path} (${m.what}).`),
  };
}

const isModelFile = (p: string): boolean => /\.onnx(_data)?$|\.pb$|_data$/.test(p);

/**
 * The remote catalog entry a picked folder is an export of, so that it loads as that entry's download would
 * (scheduler, defaults and component configs from the catalog when the folder lacks them), or null. A folder
 * matches an entry when it holds every one of the entry's files and
 *  - the entry's graphs are outside the diffusers layout (webnn/sdxl-turbo's `onnx/unet_model_q4f16.onnx`, ...):
 *    such names identify the export (the folder may hold more: the repo's other variants); or
 *  - the folder has no scheduler config and its graph and weight files are exactly the entry's (SD-Turbo's three
 *    model.onnx files): plain diffusers names are shared by every SD export, so only an exact set counts.
 * Several matches: the one with the most files; a tie is no match.
 * @param paths the folder's files, relative to its root (as {@link checkLayout} takes them, root already stripped)
 */
export function catalogEntryForFiles(paths: Iterable<string>, entries: readonly CatalogEntry[]): CatalogEntry | null {
  const list = [...paths].map((p) => p.replace(/\\/g, '/').replace(/^\.?\//, ''));
  const have = new Set(list);
  const own = new Set(list.filter(isModelFile));
  const noScheduler = !have.has(LAYOUT_FILES.schedulerConfig);
  const matches = entries.filter((e) => {
    if (e.kind === 'shipped' || e.files.length === 0 || !e.files.every((f) => have.has(f.path))) return false;
    const graphs = componentFilesFromList(e.files.map((f) => f.path));
    const distinctive = Object.entries(graphs).some(([name, p]) => p !== `${name}/model.onnx`);
    if (distinctive) return true;
    const theirs = e.files.map((f) => f.path).filter(isModelFile);
    return noScheduler && theirs.length === own.size && theirs.every((p) => own.has(p));
  });
  if (matches.length === 0) return null;
  const best = Math.max(...matches.map((e) => e.files.length));
  const top = matches.filter((e) => e.files.length === best);
  return top.length === 1 ? top[0] : null;
}
