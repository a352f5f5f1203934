/**
 * Test-only catalog overlay for the stand-ins of the real catalog entries (training/make_standins.py writes them to
 * fixtures/generated/standins/, listed in its index.json), served by the stand-in hub (e2e/hub/server.mjs) with the
 * hard behaviours of huggingface.co switched on. Used by tests/standins.int.test.ts (the CLI in Node) and
 * e2e/standins.spec.ts (the app's library in Chromium on WASM).
 *
 * Every remote entry of models/catalog.json (pipelines and LoRAs) becomes an overlay entry with the same id, files,
 * tokenizer files, sampler, configs and precision; only what must differ for a tiny export differs:
 * - `source.repo` is `standin/<stand-in id>` (tokenizer repos too: `standin/xenova-clip-vit-base-patch16` for
 *   Xenova/clip-vit-base-patch16), at the real revision;
 * - a byte size (or sha256) the real entry pins is the stand-in file's own (a size the real entry leaves null stays
 *   null, so the downloader asks the hub with HEAD as it does for the real repo);
 * - the name ends in "(stand-in)".
 * The plan lists entries without a stand-in as `missing` (the tests fail on them, so a new catalog entry cannot be
 * forgotten) and LoRAs no catalog pipeline takes (`appliesTo` empty) as `notRenderable`, with the reason.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { HubFault, HubLogEntry } from './server.mjs';

export const ROOT = join(import.meta.dirname, '..', '..');
export const STANDINS_DIR = join(ROOT, 'fixtures/generated/standins');
/** The command that builds the stand-ins, for skip and error messages. */
export const BUILD_STANDINS = 'make -C training standins';

interface IndexEntry {
  id: string;
  kind: 'pipeline' | 'lora';
  mimics: { catalogId: string | null; repo: string; revision: string | null };
}

type Json = Record<string, unknown>;
interface FileRow {
  path: string;
  size: number | null;
  sha256?: string;
  optional?: boolean;
}

/** One catalog entry with its stand-in: what the hub serves and the overlay entry pointing at it. */
export interface StandinCase {
  /** The real catalog id, kept by the overlay entry. */
  catalogId: string;
  /** `models` (a pipeline) or `loras` (an adapter) of the catalog. */
  section: 'models' | 'loras';
  /** The stand-in's id in index.json, and its folder under STANDINS_DIR. */
  standinId: string;
  /** The hub repo serving it: `standin/<standinId>`. */
  repo: string;
  /** The real entry's repo (`owner/name`) on huggingface.co. */
  realRepo: string;
  /** The overlay entry (a catalog entry of `section`). */
  entry: Json;
  /** For a LoRA: the catalog pipelines it applies to (ids). */
  appliesTo: string[];
}

export interface StandinPlan {
  cases: StandinCase[];
  /** Remote catalog entries without a stand-in in index.json (`<section> <id>`). */
  missing: string[];
  /** Remote LoRA entries with a stand-in-free reason not to render: [id, reason]. */
  notRenderable: Array<[string, string]>;
  /** owner/name -> folder, for startHub({ repos }). */
  repos: Record<string, string>;
  /** models/catalog.json with every remote entry replaced by its stand-in overlay entry. */
  catalog: Json;
}

const sha256 = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
const hubRepo = (standinId: string): string => `standin/${standinId}`;

/** Whether the stand-ins are built (index.json exists). */
export function standinsBuilt(): boolean {
  return existsSync(join(STANDINS_DIR, 'index.json'));
}

/** The file rows of a real entry, re-measured on the stand-in folder `dir` (paths relative to `prefix` there). */
function remeasure(files: FileRow[], dir: string, where: string, problems: string[]): FileRow[] {
  return files.map((f) => {
    const p = join(dir, f.path);
    const present = existsSync(p);
    if (!present && !f.optional) problems.push(`${where}: required file ${f.path} is not in the stand-in ${dir}; rebuild with \`${BUILD_STANDINS}\``);
    const row: FileRow = { ...f };
    if (f.size !== null) row.size = present ? statSync(p).size : null;
    if (f.sha256 !== undefined) {
      if (present) row.sha256 = sha256(p);
      else delete row.sha256;
    }
    return row;
  });
}

/**
 * The stand-in plan for models/catalog.json (or `catalogFile`).
 * @throws Error naming the index, the entry and the file when a stand-in lacks a required file, or a tokenizer repo
 *   has no stand-in (both mean: rebuild the stand-ins, or add the missing one to training/make_standins.py).
 */
export function standinPlan(catalogFile = join(ROOT, 'models/catalog.json')): StandinPlan {
  const index = JSON.parse(readFileSync(join(STANDINS_DIR, 'index.json'), 'utf8')) as { standins: IndexEntry[] };
  const real = JSON.parse(readFileSync(catalogFile, 'utf8')) as Json & { models: Json[]; loras?: Json[] };
  const problems: string[] = [];
  const cases: StandinCase[] = [];
  const missing: string[] = [];
  const notRenderable: Array<[string, string]> = [];
  const repos: Record<string, string> = {};
  const byCatalogId = (id: string) => index.standins.find((s) => s.mimics.catalogId === id);
  const byRepo = (repo: string) => index.standins.find((s) => s.mimics.repo === repo);

  const rewrite = (e: Json, section: 'models' | 'loras'): Json => {
    if (e.kind !== 'remote') return e;
    const id = String(e.id);
    const src = e.source as { type: string; repo?: string; revision?: string };
    const appliesTo = section === 'loras' ? ((e.appliesTo as string[] | undefined) ?? []) : [];
    const s = byCatalogId(id);
    if (!s) {
      if (section === 'loras' && appliesTo.length === 0) {
        notRenderable.push([id, 'appliesTo is empty: no catalog pipeline takes this LoRA, so there is nothing to render it on (and no stand-in)']);
      } else missing.push(`${section} ${id}`);
      return e;
    }
    const dir = join(STANDINS_DIR, s.id);
    const repo = hubRepo(s.id);
    repos[repo] = dir;
    const entry: Json = {
      ...e,
      name: `${String(e.name)} (stand-in)`,
      source: { type: 'hf', repo, revision: src.revision ?? 'main' },
      files: remeasure(e.files as FileRow[], dir, `${section} ${id}`, problems),
      notes: [...((e.notes as string[]) ?? []), `Test-only: the stand-in ${s.id} (${s.mimics.repo}) served by the stand-in hub as ${repo}.`],
    };
    const tok = e.tokenizer as (Json & { source: string; repo?: string; path?: string; files?: FileRow[] }) | undefined;
    if (tok?.source === 'hf' && tok.repo) {
      const t = byRepo(tok.repo);
      if (!t) problems.push(`${section} ${id}: its tokenizer repo ${tok.repo} has no stand-in in ${join(STANDINS_DIR, 'index.json')}`);
      else {
        const tdir = join(STANDINS_DIR, t.id);
        repos[hubRepo(t.id)] = tdir;
        entry.tokenizer = { ...tok, repo: hubRepo(t.id), files: remeasure(tok.files ?? [], join(tdir, tok.path ?? ''), `${section} ${id} tokenizer`, problems) };
      }
    }
    cases.push({ catalogId: id, section, standinId: s.id, repo, realRepo: src.repo ?? '', entry, appliesTo });
    return entry;
  };

  const models = real.models.map((m) => rewrite(m, 'models'));
  const loras = (real.loras ?? []).map((l) => rewrite(l, 'loras'));
  if (problems.length) throw new Error(problems.join('\n'));
  return { cases, missing, notRenderable, repos, catalog: { ...real, models, loras } };
}

/**
 * The files of a stand-in repo each hard behaviour of {@link hardFaults} is put on, in both layouts: diffusers'
 * (unet/model.onnx, ...) and webnn/sdxl-turbo's flat onnx/ (onnx/unet_model_q4f16.onnx, ...). A repo has one of each.
 */
export const FAULT_FILES = {
  /** HEAD without Content-Length. */
  headNoLength: ['unet/model.onnx', 'onnx/unet_model_q4f16.onnx'],
  /**
   * ETag changed mid-download. SDXL-Turbo's stand-in U-Net is one 128 KiB chunk (nothing to change between chunks),
   * so there it is the second text encoder (four chunks).
   */
  etagChange: ['unet/model.onnx', 'onnx/text_encoder_2_model_q4f16.onnx'],
  /** Connection reset before any byte. */
  reset: ['text_encoder/model.onnx', 'onnx/text_encoder_model_q4f16.onnx'],
  /** Connection dropped after 700 body bytes. */
  drop: ['vae_decoder/model.onnx', 'onnx/vae_decoder_model_q4f16.onnx'],
  /** Answers 150 ms late. */
  slow: ['model_index.json', 'scheduler/scheduler_config.json'],
} as const;

/**
 * The hub behaviours every stand-in download goes through, on top of startHub's `redirect: 'cross-origin'` (each
 * /resolve/ answer is a 302 to a second origin, the CDN, which serves the bytes), for each repo of `repos`
 * (files: {@link FAULT_FILES}):
 * - Content-Range not readable on any Range answer: for a page, not in Access-Control-Expose-Headers (`page`);
 *   for Node's fetch, which does not filter CORS headers, not sent at all (`node`);
 * - HEAD answers without Content-Length for the U-Net graph (when the catalog leaves its size null, its size then
 *   comes from probes of the body: a 1-byte Range whose Content-Range is hidden too, then a plain GET whose body is
 *   dropped);
 * - the U-Net graph's ETag (SDXL-Turbo: the second text encoder's) changes from the third GET on (the file changed on
 *   the server: the download starts that file over);
 * - a connection reset before any byte on the text encoder graph, and a connection dropped mid-body on the VAE
 *   decoder graph (once each: retried);
 * - the model index and scheduler config slow to answer (delay).
 * Measured in Node (downloadModel with the page's CORS filter, 128 KiB chunks): a stand-in downloads through all of
 * this in 1.3-2.2 s, of which the two retries' backoff is 1 s.
 */
export function hardFaults(target: 'page' | 'node', repos: readonly string[]): Array<HubFault & { pattern: string }> {
  const faults: Array<HubFault & { pattern: string }> = [
    target === 'page' ? { pattern: 'standin/*', exposeHeaders: ['Content-Length', 'ETag'] } : { pattern: 'standin/*', omitHeaders: ['Content-Range'] },
  ];
  for (const r of repos) {
    for (const f of FAULT_FILES.headNoLength) faults.push({ pattern: `${r}/${f}`, headNoLength: true });
    for (const f of FAULT_FILES.etagChange) faults.push({ pattern: `${r}/${f}`, etag: '"changed-on-the-server"', after: 2, methods: ['GET'] });
    for (const f of FAULT_FILES.reset) faults.push({ pattern: `${r}/${f}`, reset: true, times: 1 });
    for (const f of FAULT_FILES.drop) faults.push({ pattern: `${r}/${f}`, closeAfter: 700, times: 1 });
    for (const f of FAULT_FILES.slow) faults.push({ pattern: `${r}/${f}`, delayMs: 150 });
  }
  return faults;
}

/** The behaviours of {@link hardFaults} a download can be shown to have met and survived, by the hub's log. */
export type HardBehaviour = 'reset' | 'drop' | 'headNoLength' | 'etagChange';

/**
 * Which hard behaviours `repo`'s download met and survived, read from the hub's log (CDN answers, in order):
 * - reset: a text encoder request reset before any byte, then that file answered in full;
 * - drop: a VAE decoder answer cut after some bytes, then that file answered in full;
 * - headNoLength: a HEAD on the U-Net graph (every one is answered without length), then the 1-byte probe a HEAD
 *   without length leads to (bytes=0-0), then the file in full;
 * - etagChange: the changed file's first chunk (a Range from byte 0, not the 1-byte probe) asked for twice: the
 *   download started that file over.
 */
export function hardBehavioursMet(log: readonly HubLogEntry[], repo: string): HardBehaviour[] {
  const cdn = log.filter((l) => l.origin === 'cdn');
  const on = (files: readonly string[]) => cdn.filter((l) => files.some((f) => l.key === `${repo}/${f}`));
  const full = (l: HubLogEntry) => (l.status === 200 || l.status === 206) && !l.aborted;
  const then = (xs: HubLogEntry[], first: (l: HubLogEntry) => boolean) => {
    const i = xs.findIndex(first);
    return i >= 0 && xs.slice(i + 1).some((l) => l.key === xs[i].key && full(l));
  };
  const met: Record<HardBehaviour, boolean> = {
    reset: then(on(FAULT_FILES.reset), (l) => l.status === 0 && l.bytes === 0),
    drop: then(on(FAULT_FILES.drop), (l) => l.aborted && l.bytes > 0 && l.status >= 200 && l.status < 300),
    headNoLength: then(on(FAULT_FILES.headNoLength), (l) => l.method === 'HEAD' && l.status === 200) && on(FAULT_FILES.headNoLength).some((l) => l.range === 'bytes=0-0'),
    etagChange: on(FAULT_FILES.etagChange).filter((l) => l.method === 'GET' && /^bytes=0-(?!0$)/.test(l.range ?? '')).length >= 2,
  };
  return (Object.keys(met) as HardBehaviour[]).filter((b) => met[b]);
}

/**
 * The hard behaviours `c`'s download must meet: reset and drop always; a HEAD without length where the catalog
 * leaves the U-Net graph's size null (a pinned size needs no HEAD: SD 2.1, SD 1.5, SDXL-Turbo); on the page
 * (128 KiB chunks, `chunkKiB=128`) the ETag change too (in Node every stand-in file is one 8 MiB chunk: a file
 * changes between chunks only after the size probes of a size-null U-Net).
 */
export function hardBehavioursExpected(c: StandinCase, target: 'page' | 'node'): HardBehaviour[] {
  const sizeNull = (c.entry.files as FileRow[]).some((f) => (FAULT_FILES.headNoLength as readonly string[]).includes(f.path) && f.size === null);
  const want: Record<HardBehaviour, boolean> = { reset: true, drop: true, headNoLength: sizeNull, etagChange: target === 'page' || sizeNull };
  return (Object.keys(want) as HardBehaviour[]).filter((b) => want[b]);
}

/**
 * Steps a stand-in renders with in the tests: 1 for the few-step models (default steps up to 4: Turbo, LCM), else 2.
 * One DDIM step with the real configs' leading spacing and steps_offset 1 is t = 1, where the U-Net output barely
 * reaches the image (x0 is almost the latent itself), so the prompt could not show; two steps start at t = 501.
 */
export function testSteps(c: StandinCase): number {
  const s = c.entry.sampler as { steps: number; stepRange: [number, number] };
  return Math.max(s.stepRange[0], s.steps <= 4 ? 1 : 2);
}
