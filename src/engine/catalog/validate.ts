/**
 * Validation of parsed `models/catalog.json`: every problem is collected with its JSON path
 * (`models[3].sampler.steps: received 0, expected an integer >= 1`) and thrown at once as a {@link CatalogError}.
 */
import { GENERATE_LIMITS } from '../limits';
import { LORA_SCALE_RANGE } from '../lora/scale';
import { CatalogError, isSafeRelPath, REPO_RE, SAFE_PATH, type Catalog, type CatalogEntry, type CatalogFile, type LoraEntry } from './schema';

const ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const SHA256_RE = /^[0-9a-f]{64}$/;
const SCHEDULER_RE = /^[A-Z][A-Za-z0-9]*Scheduler$/;
const FEATURES = ['shader-f16', 'timestamp-query', 'subgroups'] as const;
const LORA_FORMATS = ['peft', 'kohya'] as const;
const LORA_ROLES = ['lcm', 'style'] as const;
const LORA_FAMILIES = ['fewstep', 'sd1', 'sd2', 'sdxl'] as const;
const LORA_ALPHA_STORAGE = ['keys', 'metadata', 'none'] as const;

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

/** `source`: `local` (a path under the app) for shipped entries, `hf` (repo + revision) for remote ones. */
function checkSource(c: Checker, p: string, value: Json, kind: 'shipped' | 'remote' | null): void {
  const src = c.obj(`${p}.source`, value);
  if (!src) return;
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

/** A sampler block (pipelines' default sampler, a LoRA's recommended one): class, steps and guidance in range. */
function checkSampler(c: Checker, path: string, value: Json): Record<string, Json> | null {
  const s = c.obj(path, value);
  if (!s) return null;
  c.unknownKeys(path, s, ['schedulerClass', 'steps', 'stepRange', 'guidanceScale', 'guidanceRange', 'config']);
  c.str(`${path}.schedulerClass`, s.schedulerClass, SCHEDULER_RE, 'a diffusers scheduler class like "LCMScheduler"');
  const steps = c.num(`${path}.steps`, s.steps, { int: true, min: GENERATE_LIMITS.minSteps, max: GENERATE_LIMITS.maxSteps });
  const sr = c.range(`${path}.stepRange`, s.stepRange, { int: true, min: 1 });
  if (steps !== null && sr && (steps < sr[0] || steps > sr[1])) {
    c.fail(`${path}.steps`, steps, `a value inside stepRange [${sr[0]}, ${sr[1]}]`);
  }
  const g = c.num(`${path}.guidanceScale`, s.guidanceScale, { min: 0, max: 50 });
  const gr = c.range(`${path}.guidanceRange`, s.guidanceRange, { min: 0 });
  if (g !== null && gr && (g < gr[0] || g > gr[1])) {
    c.fail(`${path}.guidanceScale`, g, `a value inside guidanceRange [${gr[0]}, ${gr[1]}]`);
  }
  if (s.config !== undefined) c.obj(`${path}.config`, s.config);
  return s;
}

function checkEntry(c: Checker, p: string, e: Record<string, Json>): void {
  c.unknownKeys(p, e, [
    'id', 'name', 'kind', 'source', 'files', 'precision', 'ioPrecision', 'resolution', 'latentSize',
    'requiredFeatures', 'sampler', 'tokenizer', 'componentConfig', 'license', 'licenseUrl', 'approxVramMB', 'notes',
  ]);
  c.str(`${p}.id`, e.id, ID_RE, 'an id of lower-case letters, digits, ".", "_", "-" (max 64, e.g. "sd-turbo")');
  c.str(`${p}.name`, e.name);
  const kind = c.oneOf(`${p}.kind`, e.kind, ['shipped', 'remote'] as const);

  checkSource(c, p, e.source, kind);
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

  checkSampler(c, `${p}.sampler`, e.sampler);

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
      // Either form the engine reads (tokenizer.ts readTokenizerFiles): tokenizer.json, or vocab.json + merges.txt.
      const has = (name: string): boolean => files.some((f) => f.path === name || f.path.endsWith(`/${name}`));
      if (files.length && !has('tokenizer.json') && !(has('vocab.json') && has('merges.txt'))) {
        c.fail(`${p}.tokenizer.files`, files.map((f) => f.path), 'to include tokenizer.json, or vocab.json and merges.txt');
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
 * One `loras[i]` entry. `pipelineIds` are the ids of `models`, which `appliesTo` must name. An LCM adapter must carry
 * its sampler (the "LCM-LoRA" preset) and that sampler must be LCMScheduler.
 */
function checkLora(c: Checker, p: string, e: Record<string, Json>, pipelineIds: ReadonlySet<string>): void {
  c.unknownKeys(p, e, [
    'id', 'name', 'kind', 'source', 'files', 'format', 'role', 'baseFamily', 'appliesTo', 'rank', 'alpha',
    'alphaStorage', 'precision', 'tensorCount', 'targets', 'defaultScale', 'sampler', 'license', 'licenseUrl', 'notes',
  ]);
  c.str(`${p}.id`, e.id, ID_RE, 'an id of lower-case letters, digits, ".", "_", "-" (max 64, e.g. "lcm-lora-sdv1-5")');
  c.str(`${p}.name`, e.name);
  const kind = c.oneOf(`${p}.kind`, e.kind, ['shipped', 'remote'] as const);
  checkSource(c, p, e.source, kind);
  const files = checkFiles(c, `${p}.files`, e.files, true);
  const weights = files.filter((f) => f.path.endsWith('.safetensors'));
  if (files.length && (weights.length !== 1 || files.length !== 1)) {
    c.fail(`${p}.files`, files.map((f) => f.path), 'exactly one .safetensors file (a LoRA adapter is one file)');
  }
  if (weights.some((f) => f.optional)) c.fail(`${p}.files[0].optional`, true, 'no "optional" (the adapter file is the whole entry)');
  c.oneOf(`${p}.format`, e.format, LORA_FORMATS);
  const role = c.oneOf(`${p}.role`, e.role, LORA_ROLES);
  c.oneOf(`${p}.baseFamily`, e.baseFamily, LORA_FAMILIES);
  const applies = c.arr(`${p}.appliesTo`, e.appliesTo);
  applies?.forEach((id, i) => {
    if (typeof id !== 'string' || !pipelineIds.has(id)) {
      c.fail(`${p}.appliesTo[${i}]`, id, `the id of a catalog pipeline (one of: ${[...pipelineIds].join(', ')})`);
    }
  });
  if (e.rank !== null) c.num(`${p}.rank`, e.rank, { int: true, min: 1, max: 4096 });
  if (e.alpha !== null) c.num(`${p}.alpha`, e.alpha, { min: 0 });
  if (e.alphaStorage !== null) c.oneOf(`${p}.alphaStorage`, e.alphaStorage, LORA_ALPHA_STORAGE);
  if (e.alphaStorage === 'none' && typeof e.alpha === 'number' && typeof e.rank === 'number' && e.alpha !== e.rank) {
    c.fail(`${p}.alpha`, e.alpha, `${e.rank} (the rank: a file without alpha is applied with alpha = rank)`);
  }
  c.oneOf(`${p}.precision`, e.precision, ['fp32', 'fp16'] as const);
  if (e.tensorCount !== undefined) c.num(`${p}.tensorCount`, e.tensorCount, { int: true, min: 2 });
  if (e.targets !== undefined) {
    const t = c.arr(`${p}.targets`, e.targets, { nonEmpty: true });
    t?.forEach((x, i) => c.str(`${p}.targets[${i}]`, x, /^[A-Za-z_][A-Za-z0-9_.]*$/, 'a module name suffix like "to_q" or "ff.net.2"'));
  }
  c.num(`${p}.defaultScale`, e.defaultScale, { min: LORA_SCALE_RANGE.min, max: LORA_SCALE_RANGE.max });
  if (e.sampler !== undefined) {
    const s = checkSampler(c, `${p}.sampler`, e.sampler);
    if (s && role === 'lcm' && s.schedulerClass !== 'LCMScheduler') {
      c.fail(`${p}.sampler.schedulerClass`, s.schedulerClass, '"LCMScheduler" for an LCM adapter');
    }
  } else if (role === 'lcm') {
    c.fail(`${p}.sampler`, e.sampler, 'the LCM sampler to switch to (an LCM adapter needs one: the "LCM-LoRA" preset)');
  }
  c.str(`${p}.license`, e.license);
  if (e.licenseUrl !== undefined) c.str(`${p}.licenseUrl`, e.licenseUrl, /^https:\/\//, 'an https URL');
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
  c.unknownKeys('catalog', root, ['schemaVersion', 'doc', 'models', 'loras']);
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
  if (root.loras !== undefined) {
    const pipelines = new Set(ids);
    c.arr('catalog.loras', root.loras)?.forEach((l, i) => {
      const p = `loras[${i}]`;
      const e = c.obj(p, l);
      if (!e) return;
      checkLora(c, p, e, pipelines);
      if (typeof e.id === 'string') {
        // One storage namespace: a LoRA download must not land on a pipeline's cached files.
        if (ids.has(e.id)) c.fail(`${p}.id`, e.id, 'an id not used by another entry (pipelines and LoRAs share ids)');
        ids.add(e.id);
      }
    });
  }
  if (c.issues.length) throw new CatalogError(c.issues);
  return json as Catalog;
}

/** Find an entry by id, with a message listing the ids that exist. */
export function getCatalogEntry(catalog: Catalog, id: string): CatalogEntry {
  const e = catalog.models.find((m) => m.id === id);
  if (!e) throw new RangeError(`Unknown model "${id}". Should be one of: ${catalog.models.map((m) => m.id).join(', ')}`);
  return e;
}

/** Find a LoRA adapter by id, with a message listing the ids that exist. */
export function getLoraEntry(catalog: Catalog, id: string): LoraEntry {
  const list = catalog.loras ?? [];
  const e = list.find((m) => m.id === id);
  if (!e) throw new RangeError(`Unknown LoRA "${id}". Should be one of: ${list.map((m) => m.id).join(', ') || '(none)'}`);
  return e;
}

/** The catalog's LoRA adapters made for the pipeline `pipelineId` (its `appliesTo` names it). */
export function lorasFor(catalog: Catalog, pipelineId: string): LoraEntry[] {
  return (catalog.loras ?? []).filter((l) => l.appliesTo.includes(pipelineId));
}
