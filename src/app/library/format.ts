/**
 * Pure helpers of the model library: number formatting for progress, catalog summaries, the hub base and chunk size
 * from the query string, and folder-path handling for imports. No DOM, no store: unit-tested in format.test.ts.
 */
import { catalogEntryForFiles, checkLayout, DEFAULT_HUB_BASE, formatBytes, layoutFilesFor, type CatalogEntry, type LayoutCheck } from '../../engine';
export { slugId } from '../../engine';

/** "3.4 MiB/s"; an em dash while the speed is unknown. */
export function formatSpeed(bytesPerSec: number): string {
  return bytesPerSec > 0 && Number.isFinite(bytesPerSec) ? `${formatBytes(Math.round(bytesPerSec))}/s` : '—';
}

/** "45 s", "3 min 05 s", "1 h 02 min"; an em dash when unknown. */
export function formatEta(sec: number | null): string {
  if (sec === null || !Number.isFinite(sec) || sec < 0) return '—';
  const s = Math.round(sec);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export function formatPercent(p: number): string {
  return `${p >= 100 ? 100 : p.toFixed(1)}%`;
}

/** Total download size of an entry as far as the catalog knows it (sizes can be null until the hub is asked). */
export function entrySize(entry: CatalogEntry): { known: number; unknownFiles: number; files: number } {
  let known = 0;
  let unknownFiles = 0;
  const files = layoutFilesFor(entry);
  for (const f of files) {
    if (f.size === null) unknownFiles++;
    else known += f.size;
  }
  return { known, unknownFiles, files: files.length };
}

export function describeSize(entry: CatalogEntry): string {
  const s = entrySize(entry);
  if (s.unknownFiles === 0) return formatBytes(s.known);
  if (s.known === 0) return `${s.files} files, size asked from the hub before downloading`;
  return `${formatBytes(s.known)} + ${s.unknownFiles} file(s) of unknown size`;
}

/** Where the library's downloads come from: `?hub=` when it is this origin or huggingface.co, else the public hub. */
export function hubBaseFrom(search: string, pageOrigin: string): { hubBase: string; warning: string | null } {
  const raw = new URLSearchParams(search).get('hub');
  if (!raw) return { hubBase: DEFAULT_HUB_BASE, warning: null };
  let u: URL;
  try {
    u = new URL(raw, pageOrigin);
  } catch {
    return { hubBase: DEFAULT_HUB_BASE, warning: `Ignored hub "${raw}": not a URL` };
  }
  const ok = u.origin === new URL(pageOrigin).origin || u.origin === DEFAULT_HUB_BASE;
  if (!ok || u.search || u.hash || u.username) {
    return { hubBase: DEFAULT_HUB_BASE, warning: `Ignored hub "${raw}": only this site's own origin or ${DEFAULT_HUB_BASE} may serve models` };
  }
  return { hubBase: `${u.origin}${u.pathname.replace(/\/+$/, '')}`, warning: null };
}

/** `?chunkKiB=64`: Range request size for downloads (16 KiB .. 64 MiB); undefined keeps the 8 MiB default. */
export function chunkSizeFrom(search: string): number | undefined {
  const v = new URLSearchParams(search).get('chunkKiB');
  if (!v || !/^\d+$/.test(v)) return undefined;
  const kib = Number(v);
  return kib >= 16 && kib <= 65536 ? kib * 1024 : undefined;
}

export interface PickedFile {
  /** Path as picked: `webkitRelativePath` ("my-export/unet/model.onnx") or the drop path. */
  path: string;
  file: Blob;
}

export interface FolderPlan {
  /** The picked folder's name ('' when the files were the export's root). */
  root: string;
  /** Files keyed by their path inside the export (`unet/model.onnx`). */
  files: Array<{ path: string; blob: Blob }>;
  check: LayoutCheck;
  /** One message naming every missing file, or null when the layout is complete. */
  error: string | null;
  bytes: number;
  /**
   * The remote catalog entry the folder is an export of (engine catalogEntryForFiles: webnn/sdxl-turbo's flat
   * onnx/ graphs, SD-Turbo's three bare graphs), or null; it loads as that entry's download would.
   */
  entry: CatalogEntry | null;
}

/**
 * Validate a picked or dropped folder before anything is loaded. The folder's own name (a single leading segment
 * common to every path) is stripped, the same way {@link checkLayout} does.
 */
export function planFolder(picked: PickedFile[], catalog: readonly CatalogEntry[] = []): FolderPlan {
  const norm = picked
    .map((p) => ({ path: p.path.replace(/\\/g, '/').replace(/^\.?\//, ''), file: p.file }))
    // hidden files (.DS_Store, .git/...) are not part of an export
    .filter((p) => p.path && !p.path.split('/').some((s) => s.startsWith('.')));
  if (norm.length === 0) {
    return {
      root: '',
      files: [],
      check: checkLayout([]),
      error: 'The folder is empty. Pick the folder of a diffusers ONNX export (the one holding unet/, text_encoder/, vae_decoder/).',
      bytes: 0,
      entry: null,
    };
  }
  const check = checkLayout(norm.map((p) => p.path));
  const first = norm[0].path.split('/')[0];
  let root = '';
  let files = norm.map((p) => ({ path: p.path, blob: p.file }));
  if (first && norm.every((p) => p.path.startsWith(`${first}/`))) {
    const stripped = norm.map((p) => p.path.slice(first.length + 1));
    if (checkLayout(stripped).missing.length <= check.missing.length) {
      root = first;
      files = norm.map((p, i) => ({ path: stripped[i], blob: p.file }));
    }
  }
  const bytes = files.reduce((a, f) => a + f.blob.size, 0);
  const entry = catalogEntryForFiles(files.map((f) => f.path), catalog);
  // With a matching entry, what its overlay supplies (the scheduler config) is not required of the folder.
  const final = entry ? checkLayout(files.map((f) => f.path), undefined, entry) : check;
  const where = root ? `The folder "${root}"` : 'The picked files';
  const error = final.ok
    ? null
    : `${where} is not a complete diffusers ONNX export. ${final.messages.join(' ')} ` +
      'Pick the export\'s top folder (the one holding model_index.json, unet/, text_encoder/, vae_decoder/, scheduler/, tokenizer/).';
  return { root, files, check: final, error, bytes, entry };
}

