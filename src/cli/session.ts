/**
 * What both commands share: the settings that do not come from flags (package root, environment), the catalog,
 * the disk cache, the in-process engine, and a remote catalog model's download with its progress on stderr.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_HUB_BASE, formatBytes, type Catalog, type DownloadProgress, type Engine } from '../engine';
import { createNodeEngine, FsModelStore } from '../engine/node';
import type { ModelOptions } from './args';
import { readCatalog, resolveModel, type ResolvedModel } from './models';

/** Where the CLI runs: everything it reads besides argv, so tests can drive `main` in-process. */
export interface CliEnv {
  /** The package root: models/catalog.json and the shipped models' folders are under it. */
  root: string;
  /** Environment variables (FEWSTEP_CACHE_DIR, FEWSTEP_HUB, XDG_CACHE_HOME, HOME). */
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Progress is redrawn in place on a terminal, printed as lines otherwise. */
  stderrIsTTY: boolean;
}

/** The download cache: --cache-dir, else $FEWSTEP_CACHE_DIR, else $XDG_CACHE_HOME/fewstep, else ~/.cache/fewstep. */
export function cacheDirFor(opts: Pick<ModelOptions, 'cacheDir'>, env: CliEnv['env']): string {
  if (opts.cacheDir) return resolve(opts.cacheDir);
  if (env.FEWSTEP_CACHE_DIR) return resolve(env.FEWSTEP_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'fewstep');
  return join(env.HOME || homedir(), '.cache', 'fewstep');
}

/** The hub catalog downloads use: --hub, else $FEWSTEP_HUB, else https://huggingface.co. */
export function hubFor(opts: Pick<ModelOptions, 'hub'>, env: CliEnv['env']): string {
  return opts.hub || env.FEWSTEP_HUB || DEFAULT_HUB_BASE;
}

/** Prints download progress: redrawn on a terminal; on a pipe one line per finished file and per 10% overall. */
function progressPrinter(cli: CliEnv): (p: DownloadProgress) => void {
  let lastDecile = -1;
  let cachedSaid = false;
  return (p) => {
    const o = p.overall;
    if (p.status === 'cached') {
      if (!cachedSaid && o.filesDone === o.filesTotal) cli.stderr(`fewstep: ${p.modelId} is in the download cache\n`);
      cachedSaid = true;
      return;
    }
    const line = `fewstep: downloading ${p.modelId}: ${o.percent.toFixed(0)}% (${formatBytes(o.loaded)} of ${formatBytes(o.total)}, file ${Math.min(o.filesDone + 1, o.filesTotal)}/${o.filesTotal} ${p.file})`;
    if (cli.stderrIsTTY) {
      cli.stderr(`\r${line}\x1b[K${o.loaded >= o.total && p.status === 'done' ? '\n' : ''}`);
      return;
    }
    const decile = Math.floor(o.percent / 10);
    if (p.status === 'done' || decile > lastDecile) {
      lastDecile = Math.max(lastDecile, decile);
      cli.stderr(`${line}\n`);
    }
  };
}

export interface Session {
  engine: Engine;
  store: FsModelStore;
  model: ResolvedModel;
}

/**
 * Resolve --model, start the engine (WASM settings sent first), and download a remote catalog model into the cache.
 * The caller terminates `engine`.
 * @throws CliError / EngineError (DownloadError for a failed download, naming the file and URL).
 */
export async function openSession(opts: ModelOptions, cli: CliEnv): Promise<Session> {
  let catalog: Promise<Catalog> | null = null;
  const catalogFile = resolve(opts.catalog ?? join(cli.root, 'models', 'catalog.json'));
  const model = await resolveModel(opts.model, { root: cli.root, catalog: () => (catalog ??= readCatalog(catalogFile)) });
  const store = new FsModelStore(cacheDirFor(opts, cli.env));
  const engine = createNodeEngine({ store });
  try {
    // One WASM thread: onnxruntime-web's multi-threaded WASM cannot start its workers in Node (it fetches their
    // script), and left unset it probes the CPU count with require('node:os'), which fails in an ES module.
    // `configure` also sets ORT's log level to errors only (warnings would break the one-line rule).
    await engine.request('configure', { numThreads: 1 }).done;
    if (model.download) {
      const print = progressPrinter(cli);
      await engine.request('download', { entry: model.download, hubBase: hubFor(opts, cli.env) }, (ev) => {
        if (ev.type === 'download-progress') print(ev.progress);
      }).done;
    }
  } catch (e) {
    engine.terminate();
    throw e;
  }
  return { engine, store, model };
}
