/**
 * The generation record embedded in exported PNGs, and its two encodings:
 *  - `parameters`: the plain-text convention of popular Stable Diffusion UIs (AUTOMATIC1111):
 *      <prompt, possibly several lines>
 *      Negative prompt: <negative prompt>          (optional)
 *      Steps: 4, Sampler: Euler, CFG scale: 1, Seed: 42, Size: 64x64, Model: Turbo, ...
 *    Values containing ',', ':', '"' or a newline are written as JSON strings: a custom timestep list is
 *    `Timesteps: "999,749,499,249"` (the text form of the schedulers' parseTimesteps), TCD's gamma `TCD gamma: 0.3`,
 *    the LoRAs merged into the model `Lora: "fewstep-style-ink:0.8, fewstep-lcm-lora:1"` (name:strength, merge order).
 *  - `fewstep`: JSON of the full record (everything needed to reproduce the image).
 */
import { formatTimesteps, parseTimesteps, samplerClassFor as samplerClassForName, samplerRow } from '../schedulers';
import type { RngKind } from '../engine';
import type { TextChunk } from './png';

export type ExecutionProvider = 'webgpu' | 'wasm';

export interface GenerationRecord {
  prompt: string;
  negativePrompt?: string;
  seed: number;
  steps: number;
  /** Scheduler class name, e.g. "EulerDiscreteScheduler". */
  sampler: string;
  /** Human label, e.g. "Euler". */
  samplerLabel: string;
  guidanceScale: number;
  width: number;
  height: number;
  modelId: string;
  modelName: string;
  /** The step's eta (DDIM). TCD runs write `gamma` instead. */
  eta?: number;
  /**
   * Custom timesteps the run used (diffusers' `timesteps=`), strictly descending; `steps` is their length. Absent:
   * the scheduler's own spacing.
   */
  timesteps?: number[];
  /** TCD's gamma ("stochasticity", 0..1; the eta of TCDScheduler.step). Only for TCD runs. */
  gamma?: number;
  /**
   * The LoRAs merged into the model's U-Net, in merge order: `name` is the shipped LoRA's id ("fewstep-lcm-lora") or
   * the picked file's name, `scale` its strength. Absent: the base model.
   */
  loras?: LoraEntry[];
  rngKind: RngKind;
  latencyMs: number;
  stageTimings?: Record<string, number>;
  executionProvider: ExecutionProvider;
  appVersion: string;
  /** ISO 8601 timestamp. */
  createdAt: string;
}

/** One LoRA of a record: its name and strength (the multiplier of its update). */
export interface LoraEntry {
  name: string;
  scale: number;
}

/**
 * "fewstep-style-ink:0.8, fewstep-lcm-lora:1": the `Lora:` value (',', ':' and blanks in a name become '_'; the
 * strength to 3 decimals). The app's link writes the same with `sep` ','.
 */
export function formatLoras(loras: readonly LoraEntry[], sep = ', '): string {
  return loras.map((l) => `${l.name.replace(/[,:\s]+/g, '_')}:${Math.round(l.scale * 1000) / 1000}`).join(sep);
}

/** Inverse of {@link formatLoras}; entries that do not read ("name:abc") are left out. */
export function parseLoras(text: string): LoraEntry[] {
  const out: LoraEntry[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*([^:\s][^:]*?)\s*:\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*$/.exec(part);
    if (m) out.push({ name: m[1], scale: Number(m[2]) });
  }
  return out;
}

export const PARAMETERS_KEYWORD = 'parameters';
export const FEWSTEP_KEYWORD = 'fewstep';

/** "EulerDiscreteScheduler" -> "Euler": the sampler registry's A1111 name; unknown names are returned unchanged. */
export function samplerLabelFor(className: string): string {
  return samplerRow(className)?.a1111 ?? className;
}

/** "Euler a" -> "EulerAncestralDiscreteScheduler" (case-insensitive, via the sampler registry); unknown labels unchanged. */
export function samplerClassFor(label: string): string {
  return samplerClassForName(label);
}

// ---------------------------------------------------------------------------------------------
// parameters text

function quoteValue(v: string): string {
  return /[,:"\n\r]/.test(v) || v !== v.trim() ? JSON.stringify(v) : v;
}

function formatNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : '';
}

/** Extra keys beyond the A1111 core, in a fixed order. */
const KEY = {
  steps: 'Steps',
  sampler: 'Sampler',
  cfg: 'CFG scale',
  seed: 'Seed',
  size: 'Size',
  model: 'Model',
  modelId: 'Model id',
  schedulerClass: 'Scheduler',
  eta: 'Eta',
  timesteps: 'Timesteps',
  gamma: 'TCD gamma',
  lora: 'Lora',
  rng: 'RNG',
  ep: 'Execution provider',
  latency: 'Latency',
  version: 'Version',
} as const;

/** Formats a record as A1111-style `parameters` text. */
export function toParametersText(r: GenerationRecord): string {
  const lines: string[] = [];
  // The prompt may span lines; normalise CRLF so the line split on reading is exact.
  lines.push(r.prompt.replace(/\r\n?/g, '\n'));
  if (r.negativePrompt) lines.push(`Negative prompt: ${r.negativePrompt.replace(/\r\n?/g, '\n')}`);
  const params: [string, string][] = [
    [KEY.steps, formatNumber(r.steps)],
    [KEY.sampler, r.samplerLabel || samplerLabelFor(r.sampler)],
    [KEY.cfg, formatNumber(r.guidanceScale)],
    [KEY.seed, formatNumber(r.seed)],
    [KEY.size, `${r.width}x${r.height}`],
    [KEY.model, r.modelName],
    [KEY.modelId, r.modelId],
    [KEY.schedulerClass, r.sampler],
  ];
  if (r.eta !== undefined && Number.isFinite(r.eta)) params.push([KEY.eta, formatNumber(r.eta)]);
  if (r.timesteps !== undefined && isTimestepList(r.timesteps)) params.push([KEY.timesteps, formatTimesteps(r.timesteps)]);
  if (r.gamma !== undefined && isGamma(r.gamma)) params.push([KEY.gamma, formatNumber(r.gamma)]);
  if (r.loras !== undefined && isLoraList(r.loras) && r.loras.length) params.push([KEY.lora, formatLoras(r.loras)]);
  params.push([KEY.rng, r.rngKind], [KEY.ep, r.executionProvider]);
  if (Number.isFinite(r.latencyMs)) params.push([KEY.latency, `${Math.round(r.latencyMs)} ms`]);
  if (r.appVersion) params.push([KEY.version, `fewstep ${r.appVersion}`]);
  lines.push(
    params
      .filter(([, v]) => v !== '' && v !== undefined && v !== null)
      .map(([k, v]) => `${k}: ${quoteValue(String(v))}`)
      .join(', '),
  );
  return lines.join('\n');
}

/**
 * Parses a `Key: value, Key: "quoted, value", ...` line. Returns the pairs found, in order.
 * Keys are word characters, spaces, '-', '/', '.', '(' and ')'. A quoted value is a JSON string.
 */
export function parseParamLine(line: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && (line[i] === ' ' || line[i] === ',')) i++;
    if (i >= n) break;
    const colon = line.indexOf(':', i);
    if (colon < 0) break;
    const key = line.slice(i, colon).trim();
    if (!/^[\p{L}\p{N}_][\p{L}\p{N}_ ./()-]*$/u.test(key)) return out;
    i = colon + 1;
    while (i < n && line[i] === ' ') i++;
    let value: string;
    if (line[i] === '"') {
      let j = i + 1;
      while (j < n && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      const raw = line.slice(i, j + 1);
      try {
        value = JSON.parse(raw) as string;
      } catch {
        value = raw.replace(/^"|"$/g, '');
      }
      i = j + 1;
      // anything up to the next comma after a closing quote is ignored
      const comma = line.indexOf(',', i);
      i = comma < 0 ? n : comma + 1;
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? n : comma;
      value = line.slice(i, end).trim();
      i = end + 1;
    }
    out.push([key, value]);
  }
  return out;
}

export interface ParsedParameters {
  prompt: string;
  negativePrompt: string;
  /** Every key/value of the settings line, including unknown keys. */
  params: Record<string, string>;
  /** The fields that could be recovered; values failing validation are left out. */
  record: Partial<GenerationRecord>;
}

function toFiniteNumber(s: string | undefined): number | undefined {
  if (s === undefined || s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function toInt(s: string | undefined, min: number): number | undefined {
  const n = toFiniteNumber(s);
  return n !== undefined && Number.isSafeInteger(n) && n >= min ? n : undefined;
}

/** Inverse of `toParametersText`; also accepts text written by other Stable Diffusion UIs. */
export function parseParametersText(text: string): ParsedParameters {
  const lines = text.replace(/\r\n?/g, '\n').replace(/\s+$/, '').split('\n');
  let paramPairs: [string, string][] = [];
  const last = lines[lines.length - 1] ?? '';
  const lastPairs = parseParamLine(last);
  // Same rule as A1111: the last line holds the settings when it has at least 3 key/value pairs.
  if (lastPairs.length >= 3) {
    paramPairs = lastPairs;
    lines.pop();
  }
  const promptLines: string[] = [];
  const negLines: string[] = [];
  let inNegative = false;
  for (const line of lines) {
    if (!inNegative && line.startsWith('Negative prompt:')) {
      inNegative = true;
      negLines.push(line.slice('Negative prompt:'.length).trimStart());
    } else (inNegative ? negLines : promptLines).push(line);
  }
  const params: Record<string, string> = {};
  for (const [k, v] of paramPairs) if (!Object.hasOwn(params, k)) params[k] = v;

  const prompt = promptLines.join('\n');
  const negativePrompt = negLines.join('\n');
  const record: Partial<GenerationRecord> = { prompt };
  if (negativePrompt) record.negativePrompt = negativePrompt;
  const steps = toInt(params[KEY.steps], 1);
  if (steps !== undefined) record.steps = steps;
  const seed = toInt(params[KEY.seed], 0);
  if (seed !== undefined) record.seed = seed;
  const cfg = toFiniteNumber(params[KEY.cfg]);
  if (cfg !== undefined) record.guidanceScale = cfg;
  const size = /^(\d+)\s*x\s*(\d+)$/.exec(params[KEY.size] ?? '');
  if (size && +size[1] > 0 && +size[2] > 0) {
    record.width = +size[1];
    record.height = +size[2];
  }
  const samplerLabel = params[KEY.sampler];
  const schedulerClass = params[KEY.schedulerClass];
  if (samplerLabel) {
    record.samplerLabel = samplerLabel;
    record.sampler = schedulerClass || samplerClassFor(samplerLabel);
  } else if (schedulerClass) {
    record.sampler = schedulerClass;
    record.samplerLabel = samplerLabelFor(schedulerClass);
  }
  if (params[KEY.model]) record.modelName = params[KEY.model];
  if (params[KEY.modelId]) record.modelId = params[KEY.modelId];
  const eta = toFiniteNumber(params[KEY.eta]);
  if (eta !== undefined) record.eta = eta;
  if (params[KEY.timesteps] !== undefined) {
    try {
      record.timesteps = parseTimesteps(params[KEY.timesteps]);
    } catch {
      // not a list parseTimesteps reads: left out, like any value failing validation
    }
  }
  const gamma = toFiniteNumber(params[KEY.gamma]);
  if (gamma !== undefined && isGamma(gamma)) record.gamma = gamma;
  if (params[KEY.lora] !== undefined) {
    const loras = parseLoras(params[KEY.lora]);
    if (loras.length) record.loras = loras;
  }
  const rng = params[KEY.rng];
  if (rng === 'fewstep' || rng === 'torch') record.rngKind = rng;
  const ep = params[KEY.ep];
  if (ep === 'webgpu' || ep === 'wasm') record.executionProvider = ep;
  const latency = /^([\d.]+)\s*ms$/.exec(params[KEY.latency] ?? '');
  if (latency && Number.isFinite(+latency[1])) record.latencyMs = +latency[1];
  const version = /^fewstep\s+(\S+)$/.exec(params[KEY.version] ?? '');
  if (version) record.appVersion = version[1];
  return { prompt, negativePrompt, params, record };
}

// ---------------------------------------------------------------------------------------------
// PNG chunks

/** The two text chunks to embed in an exported PNG. */
export function pngChunksFor(r: GenerationRecord): TextChunk[] {
  return [
    { keyword: PARAMETERS_KEYWORD, text: toParametersText(r) },
    { keyword: FEWSTEP_KEYWORD, text: JSON.stringify(r) },
  ];
}

/** A custom timestep list: non-empty, whole numbers >= 0, strictly descending (what parseTimesteps returns). */
function isTimestepList(v: unknown): v is number[] {
  return Array.isArray(v) && v.length > 0 && v.every((t, i) => Number.isSafeInteger(t) && t >= 0 && (i === 0 || t < v[i - 1]));
}

function isLoraList(v: unknown): v is LoraEntry[] {
  return (
    Array.isArray(v) &&
    v.every((l: unknown) => {
      const e = l as Partial<LoraEntry> | null;
      return typeof e === 'object' && e !== null && typeof e.name === 'string' && e.name !== '' && typeof e.scale === 'number' && Number.isFinite(e.scale);
    })
  );
}

function isGamma(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1;
}

type FieldCheck = (v: unknown) => boolean;
const isStr: FieldCheck = (v) => typeof v === 'string';
const isNum: FieldCheck = (v) => typeof v === 'number' && Number.isFinite(v);
const isInt =
  (min: number): FieldCheck =>
  (v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min;

const FIELD_CHECKS: Record<keyof GenerationRecord, FieldCheck> = {
  prompt: isStr,
  negativePrompt: isStr,
  seed: isInt(0),
  steps: isInt(1),
  sampler: isStr,
  samplerLabel: isStr,
  guidanceScale: isNum,
  width: isInt(1),
  height: isInt(1),
  modelId: isStr,
  modelName: isStr,
  eta: isNum,
  timesteps: isTimestepList,
  gamma: isGamma,
  loras: isLoraList,
  rngKind: (v) => v === 'fewstep' || v === 'torch',
  latencyMs: (v) => isNum(v) && (v as number) >= 0,
  stageTimings: (v) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => isNum(x)),
  executionProvider: (v) => v === 'webgpu' || v === 'wasm',
  appVersion: isStr,
  createdAt: isStr,
};

/** Validates a parsed JSON value field by field; invalid or unknown fields are dropped. */
export function sanitizeRecord(value: unknown): Partial<GenerationRecord> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const src = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, check] of Object.entries(FIELD_CHECKS)) {
    if (Object.hasOwn(src, k) && check(src[k])) out[k] = src[k];
  }
  return out as Partial<GenerationRecord>;
}

/** True when every required field of GenerationRecord is present. */
export function isCompleteRecord(r: Partial<GenerationRecord>): r is GenerationRecord {
  const required: (keyof GenerationRecord)[] = [
    'prompt', 'seed', 'steps', 'sampler', 'samplerLabel', 'guidanceScale', 'width', 'height',
    'modelId', 'modelName', 'rngKind', 'latencyMs', 'executionProvider', 'appVersion', 'createdAt',
  ];
  return required.every((k) => r[k] !== undefined);
}

/**
 * Recovers a generation record from PNG text chunks (as returned by `readTextChunks`, or a list).
 * The `fewstep` JSON chunk wins; fields it lacks (or a corrupt JSON chunk) fall back to the
 * `parameters` text. Returns null when neither chunk is usable.
 */
export function recordFromChunks(chunks: Record<string, string> | TextChunk[]): Partial<GenerationRecord> | null {
  const map: Record<string, string> = {};
  if (Array.isArray(chunks)) {
    for (const c of chunks) if (!Object.hasOwn(map, c.keyword)) map[c.keyword] = c.text;
  } else Object.assign(map, chunks);

  let fromJson: Partial<GenerationRecord> | null = null;
  if (Object.hasOwn(map, FEWSTEP_KEYWORD)) {
    try {
      fromJson = sanitizeRecord(JSON.parse(map[FEWSTEP_KEYWORD]));
    } catch {
      fromJson = null;
    }
  }
  const fromText = Object.hasOwn(map, PARAMETERS_KEYWORD) ? parseParametersText(map[PARAMETERS_KEYWORD]).record : null;
  if (!fromJson && !fromText) return null;
  const merged = { ...(fromText ?? {}), ...(fromJson ?? {}) };
  return Object.keys(merged).length > 0 ? merged : null;
}
