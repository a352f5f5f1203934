/**
 * `--model` to a ModelRef, the way the app names the same model, tried in this order:
 *  1. an http(s) URL: a custom source (`validateCustomSource`, so a huggingface.co page URL becomes its /resolve/
 *     base), `{ kind: 'url', synthesizeIndex: true }`, id `custom-<slug>`, as the library's "custom URL";
 *     a file:// URL is read as the folder it names;
 *  2. an existing folder: its files as the app's folder picker gives them (`{ kind: 'files' }`, checked with
 *     `checkLayout` first), id `folder-<name>`, name "Folder <name>"; a shipped model's own folder
 *     (models/<id>) takes its catalog id and name, so the PNG's metadata names it as the app does; a folder that is
 *     a remote entry's export (catalogEntryForFiles) carries the entry, as the app's folder import does;
 *  3. a catalog id (models/catalog.json, or --catalog): a shipped one is its folder under the package root; a remote
 *     one is downloaded by the engine's downloader into the disk cache (resumable, verified), progress on stderr,
 *     then loaded from the cache (`{ kind: 'cached' }`) with the catalog's overlay, as the app's library does.
 * Anything else is a CliError naming what was given and the catalog ids.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { catalogEntryForFiles, checkLayout, validateCatalog, validateCustomSource, type Catalog, type CatalogEntry, type ModelRef } from '../engine';
import { folderFiles } from '../engine/node';
import { CliError } from './errors';
import { slugId } from '../engine';
export { slugId };

/** A model the CLI will load: the ref for the engine, and how the PNG metadata names it. */
export interface ResolvedModel {
  ref: ModelRef;
  /** Metadata `modelId`: the catalog id, `folder-<name>` or `custom-<slug>` (the app's ids for the same model). */
  id: string;
  /** Metadata `modelName`: the catalog name, "Folder <name>" or "Custom <url>". */
  name: string;
  /** A remote catalog entry that must be downloaded (into the cache) before `ref` can load. */
  download?: CatalogEntry;
}


/**
 * Read and validate the catalog.
 * @throws CliError when the file is missing or not valid JSON; the engine's CatalogError (every problem, with its
 *   JSON path) when it does not match the schema.
 */
export async function readCatalog(file: string): Promise<Catalog> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read the catalog ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); pass --catalog <file>`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CliError(`the catalog ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return validateCatalog(json);
}

async function isDir(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isDirectory() === true;
}

/**
 * A folder as a `files` ref, after the layout check the app's picker makes. A folder that is the export of a remote
 * catalog entry (catalogEntryForFiles: webnn/sdxl-turbo's flat `onnx/` graphs, SD-Turbo's three bare graphs) carries
 * that entry, so it loads as the entry's download would (scheduler and defaults from the catalog).
 */
async function folderModel(dir: string, given: string, named?: { id: string; name: string }, catalog?: () => Promise<Catalog>): Promise<ResolvedModel> {
  const files = await folderFiles(dir);
  const paths = files.map((f) => f.path);
  let entry: CatalogEntry | null = null;
  if (!named && catalog) {
    const models = await catalog().then((c) => c.models, () => []); // matching is a nicety: a folder loads without the catalog
    entry = catalogEntryForFiles(paths, models);
  }
  const check = checkLayout(paths, undefined, entry);
  // A missing model_index.json is fine (the engine synthesizes one, as for a picked folder); the rest is required.
  if (!check.ok) throw new CliError(`--model ${given} is not a diffusers ONNX pipeline folder: ${check.messages.join(' ')}`);
  const name = basename(resolve(dir));
  const id = named?.id ?? slugId('folder', name);
  const label = named?.name ?? `Folder ${name}`;
  return { ref: { id, name: label, kind: 'files', files, ...(entry ? { entry } : {}) }, id, name: label };
}

export interface ResolveContext {
  /** The package root (shipped models' paths in the catalog are relative to it). */
  root: string;
  /** Loads the catalog on first use (only when --model is not a URL or a folder). */
  catalog: () => Promise<Catalog>;
}

/** The shipped entry whose folder is `dir`, if any. */
async function shippedEntryAt(dir: string, ctx: ResolveContext): Promise<CatalogEntry | undefined> {
  let catalog: Catalog;
  try {
    catalog = await ctx.catalog();
  } catch {
    return undefined; // naming is a nicety: a folder loads without the catalog
  }
  const real = await realpath(dir);
  for (const e of catalog.models) {
    if (e.source.type !== 'local') continue;
    const p = await realpath(resolve(ctx.root, e.source.path)).catch(() => null);
    if (p === real) return e;
  }
  return undefined;
}

/**
 * Resolve `--model` (see the module comment).
 * @throws CliError naming the folder, URL or id and why it cannot be used.
 */
export async function resolveModel(spec: string, ctx: ResolveContext): Promise<ResolvedModel> {
  if (/^file:\/\//i.test(spec)) {
    const dir = fileURLToPath(spec);
    if (!(await isDir(dir))) throw new CliError(`--model ${spec}: no such folder ${dir}`);
    return resolveModel(dir, ctx);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
    let origin: string;
    try {
      origin = new URL(spec).origin;
    } catch {
      throw new CliError(`--model ${spec} is not a valid URL`);
    }
    // The CLI has no page origin; the URL's own origin lets http:// through (a local server), other schemes not.
    const { baseUrl } = validateCustomSource(spec, origin);
    const id = slugId('custom', baseUrl);
    const name = `Custom ${baseUrl}`;
    return { ref: { id, name, kind: 'url', baseUrl: `${baseUrl}/`, synthesizeIndex: true }, id, name };
  }
  if (await isDir(spec)) {
    const e = await shippedEntryAt(spec, ctx);
    return folderModel(spec, spec, e ? { id: e.id, name: e.name } : undefined, ctx.catalog);
  }
  const st = await stat(spec).catch(() => null);
  if (st?.isFile()) throw new CliError(`--model ${spec} is a file; give the pipeline folder (the one holding model_index.json and unet/)`);
  const looksLikePath = /[\\/]/.test(spec) || spec.startsWith('.') || spec.startsWith('~');
  if (looksLikePath) throw new CliError(`--model ${spec}: no such folder`);

  const catalog = await ctx.catalog();
  const entry = catalog.models.find((m) => m.id === spec);
  if (!entry) {
    throw new CliError(`--model ${spec} is not a folder, a URL or a catalog id (catalog ids: ${catalog.models.map((m) => m.id).join(', ')})`);
  }
  if (entry.kind === 'shipped' && entry.source.type === 'local') {
    const dir = resolve(ctx.root, entry.source.path);
    if (!(await isDir(dir))) throw new CliError(`catalog id ${spec} is a shipped model, but its folder ${dir} is missing`);
    return folderModel(dir, dir, { id: entry.id, name: entry.name });
  }
  return { ref: { id: entry.id, name: entry.name, kind: 'cached', entry }, id: entry.id, name: entry.name, download: entry };
}
