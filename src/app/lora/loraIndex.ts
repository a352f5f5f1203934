/**
 * The LoRAs the app ships: models/loras/index.json (written by training/export_loras.py), read and checked once,
 * like the model catalog (../catalog.ts). Each entry names its file, the base models it was trained for (`base`),
 * its kind ("lcm": an LCM-LoRA, which wants the LCM sampler and low guidance; "style": a look) and the strength it
 * is meant to be used at.
 */
import { DEFAULT_HUB_BASE, type Catalog } from '../../engine';
import { samplerClassFor } from '../../schedulers';

/** A LoRA entry of models/catalog.json (its `loras` list; validated by the engine's validateCatalog). */
export type CatalogLora = NonNullable<Catalog['loras']>[number];

/** What an LCM-LoRA wants: diffusers' LCMScheduler, few steps, guidance within a small range. */
export interface LoraRecommendation {
  /** Scheduler class name ("LCMScheduler"; the index may say "lcm", read through the sampler registry). */
  sampler: string;
  steps: number;
  guidance_scale: number;
  /** Inclusive [min, max] guidance the control allows while the LoRA is applied. */
  guidanceRange: [number, number];
  /** Inclusive [min, max] step counts the LoRA was distilled for (index `stepRange`, default [1, 8]). */
  stepRange: [number, number];
}

/** One shipped LoRA (an entry of models/loras/index.json). */
export interface ShippedLora {
  /** The file name without `.safetensors`: the name in links and records ("fewstep-lcm-lora"). */
  id: string;
  file: string;
  /** Display name ("LCM-LoRA (fewstep-teacher)"). */
  name: string;
  kind: 'lcm' | 'style' | string;
  /** Model ids it was trained on (it fits them and models fine-tuned from them). */
  base: string[];
  format: string;
  rank: number;
  alpha: number;
  defaultScale: number;
  recommended: LoraRecommendation | null;
  description: string;
  /** File size in bytes, or null when the index does not say. */
  bytes: number | null;
  /** Where the engine worker fetches it (same origin, absolute path), or where a catalog LoRA is downloaded from. */
  url: string;
  /**
   * A catalog LoRA from a hub or another server: the engine downloads it once into the model store (sha256 and size
   * checked against the entry), and later applies read it from there. Absent for the app's own files (`url`).
   */
  catalog?: { entry: CatalogLora; hubBase?: string };
}

const BASE = import.meta.env.BASE_URL;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isRange = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && isNum(v[0]) && isNum(v[1]) && v[0] <= v[1];

/**
 * Checks index.json's entries; an entry that lacks a field the app needs is left out with a reason (`problems`),
 * so one bad entry does not hide the others. `baseUrl` is where the files are served ("/models/loras/").
 */
export function parseLoraIndex(json: unknown, baseUrl = `${BASE}models/loras/`): { loras: ShippedLora[]; problems: string[] } {
  const loras: ShippedLora[] = [];
  const problems: string[] = [];
  if (!Array.isArray(json)) return { loras, problems: ['models/loras/index.json is not a list of LoRAs.'] };
  json.forEach((raw: unknown, i) => {
    const e = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const file = e.file;
    if (typeof file !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*\.safetensors$/.test(file)) {
      problems.push(`Entry ${i}: "file" must be a .safetensors file name.`);
      return;
    }
    const base = Array.isArray(e.base) ? e.base.filter((b): b is string => typeof b === 'string') : [];
    if (base.length === 0) {
      problems.push(`${file}: "base" must list the model ids it was trained on.`);
      return;
    }
    const rec = (typeof e.recommended === 'object' && e.recommended !== null ? e.recommended : null) as Record<string, unknown> | null;
    let recommended: LoraRecommendation | null = null;
    if (rec) {
      if (typeof rec.sampler !== 'string' || !isNum(rec.steps) || !isNum(rec.guidance_scale)) {
        problems.push(`${file}: "recommended" needs sampler, steps and guidance_scale.`);
        return;
      }
      const g = rec.guidance_scale;
      recommended = {
        sampler: samplerClassFor(rec.sampler),
        steps: rec.steps,
        guidance_scale: g,
        guidanceRange: isRange(rec.guidanceRange) ? [rec.guidanceRange[0], rec.guidanceRange[1]] : [g, g],
        stepRange: isRange(rec.stepRange) ? [rec.stepRange[0], rec.stepRange[1]] : [1, 8],
      };
    }
    const id = file.replace(/\.safetensors$/, '');
    loras.push({
      id,
      file,
      name: typeof e.name === 'string' && e.name ? e.name : id,
      kind: typeof e.kind === 'string' ? e.kind : 'style',
      base,
      format: typeof e.format === 'string' ? e.format : '',
      rank: isNum(e.rank) ? e.rank : 0,
      alpha: isNum(e.alpha) ? e.alpha : 0,
      defaultScale: isNum(e.defaultScale) ? e.defaultScale : 1,
      recommended,
      description: typeof e.description === 'string' ? e.description : '',
      bytes: isNum(e.bytes) ? e.bytes : null,
      url: `${baseUrl}${file}`,
    });
  });
  return { loras, problems };
}

let index: Promise<{ loras: ShippedLora[]; problems: string[] }> | null = null;

/**
 * The shipped LoRAs, fetched once. A checkout without models/loras/ (404, or the SPA's HTML fallback) has none and
 * no problem to report; an index that is there but does not read reports why.
 */
export function readLoraIndex(): Promise<{ loras: ShippedLora[]; problems: string[] }> {
  index ??= (async () => {
    try {
      const r = await fetch(`${BASE}models/loras/index.json`);
      if (!r.ok || (r.headers.get('content-type') ?? '').includes('text/html')) return { loras: [], problems: [] };
      return parseLoraIndex(await r.json());
    } catch (e) {
      return { loras: [], problems: [`models/loras/index.json could not be read: ${(e as Error).message}`] };
    }
  })();
  return index;
}

const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');

/**
 * The catalog's LoRA entries (models/catalog.json `loras`: real-model adapters such as the public LCM-LoRA for SD 1.5,
 * and shipped ones) as picker entries: `appliesTo` is the base list, `role` the kind, `sampler` the recommendation;
 * the file URL is the app's own folder (`local`, fetched by the worker) or the Hugging Face resolve URL (`hf`; such
 * entries carry `catalog`, so the worker downloads them into the model store once and verifies them).
 */
export function lorasFromCatalog(entries: readonly CatalogLora[], opts: { appBase?: string; hubBase?: string } = {}): ShippedLora[] {
  const out: ShippedLora[] = [];
  for (const e of entries) {
    const file = e.files.find((f) => f.path.endsWith('.safetensors'));
    if (!file || e.appliesTo.length === 0) continue;
    const src = e.source;
    const url =
      src.type === 'local'
        ? `${opts.appBase ?? BASE}${encodePath(src.path.replace(/^\/+|\/+$/g, ''))}/${encodePath(file.path)}`
        : src.type === 'hf'
          ? `${(opts.hubBase ?? DEFAULT_HUB_BASE).replace(/\/+$/, '')}/${src.repo}/resolve/${encodeURIComponent(src.revision)}/${encodePath(file.path)}`
          : `${src.baseUrl.replace(/\/+$/, '')}/${encodePath(file.path)}`;
    const sm = e.sampler;
    out.push({
      id: e.id,
      file: file.path.split('/').pop() ?? file.path,
      name: e.name,
      kind: e.role,
      base: [...e.appliesTo],
      format: e.format,
      rank: e.rank ?? 0,
      alpha: e.alpha ?? 0,
      defaultScale: e.defaultScale,
      recommended: sm
        ? { sampler: samplerClassFor(sm.schedulerClass), steps: sm.steps, guidance_scale: sm.guidanceScale, guidanceRange: [...sm.guidanceRange], stepRange: [...sm.stepRange] }
        : null,
      description: e.notes.join(' '),
      bytes: file.size,
      url,
      ...(src.type === 'local' ? {} : { catalog: { entry: e, ...(opts.hubBase ? { hubBase: opts.hubBase } : {}) } }),
    });
  }
  return out;
}

/** index.json's LoRAs, then the catalog's that index.json does not list (same id: index.json's entry is used). */
export function mergeLoraLists(index: readonly ShippedLora[], catalog: readonly ShippedLora[]): ShippedLora[] {
  return [...index, ...catalog.filter((c) => !index.some((i) => i.id === c.id))];
}

/** Whether a shipped LoRA was made for `modelId` (listed in its `base`). */
export function fitsModel(lora: Pick<ShippedLora, 'base'>, modelId: string): boolean {
  return lora.base.includes(modelId);
}

/** The LCM-LoRA of a set, if any (the one that sets the LCM preset). */
export function lcmLoraOf(ids: readonly { id: string }[], shipped: readonly ShippedLora[]): ShippedLora | undefined {
  for (const { id } of ids) {
    const l = shipped.find((s) => s.id === id);
    if (l && l.kind === 'lcm' && l.recommended) return l;
  }
  return undefined;
}

/** Short label for grids and captions: "LCM-LoRA" for an LCM-LoRA, else its name. */
export function shortLoraLabel(l: Pick<ShippedLora, 'kind' | 'name'>): string {
  return l.kind === 'lcm' ? 'LCM-LoRA' : l.name;
}
