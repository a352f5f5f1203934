/**
 * Settings <-> URL query string, so a comparison can be shared and restored.
 * Short, stable keys: p, np, seed, steps, ts, model, sampler, gamma, cfg, ep, lora, cm, cs.
 * Decoding never throws: invalid or out-of-range values are dropped (timestepsProblem says why a `ts` was). The
 * ranges are the engine's (GENERATE_LIMITS); `ts` is read by the schedulers' parseTimesteps.
 */
import { GENERATE_LIMITS, isValidSeed } from '../engine';
import { formatTimesteps, parseTimesteps } from '../schedulers';
import { formatLoraList, isShippedLoraId, isValidLoraScale, MAX_LORAS, parseLoraList, type LoraSetting } from './lora/loraSet';

export type ProviderSetting = 'auto' | 'webgpu' | 'wasm';

export interface Settings {
  prompt: string;
  negativePrompt: string;
  seed: number;
  steps: number;
  /** Custom timesteps, strictly descending whole numbers ("ts=999,749,499,249"); the step count is their length. */
  timesteps: number[];
  modelId: string;
  sampler: string;
  /** TCD's gamma ("stochasticity"), 0..1. */
  gamma: number;
  guidanceScale: number;
  provider: ProviderSetting;
  /**
   * Shipped LoRAs merged into the model, with their strengths ("lora=fewstep-style-ink:0.8,fewstep-lcm-lora:1").
   * Files picked from disk are not in links (the other side does not have them).
   */
  loras?: LoraSetting[];
  compareModels?: string[];
  compareSteps?: number[];
}

/** Query keys, in the order they are written. */
export const URL_KEYS = {
  prompt: 'p',
  negativePrompt: 'np',
  seed: 'seed',
  steps: 'steps',
  timesteps: 'ts',
  modelId: 'model',
  sampler: 'sampler',
  gamma: 'gamma',
  guidanceScale: 'cfg',
  provider: 'ep',
  loras: 'lora',
  compareModels: 'cm',
  compareSteps: 'cs',
} as const satisfies Record<keyof Settings, string>;

/** What the URL accepts: the engine's generation limits, plus the length of the comparison lists. */
export const URL_LIMITS = {
  ...GENERATE_LIMITS,
  maxListLength: 32,
} as const;

/** Ids and sampler names: 1-128 chars of letters, digits, '._:/+-' and inner spaces (e.g. "Euler a"). */
const ID_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._:/+ -]{0,126}[A-Za-z0-9._:/+-])?$/;
const PROVIDERS: readonly ProviderSetting[] = ['auto', 'webgpu', 'wasm'];

function isValidId(s: unknown): s is string {
  return typeof s === 'string' && ID_RE.test(s);
}

function isValidSteps(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= URL_LIMITS.minSteps && n <= URL_LIMITS.maxSteps;
}

function isValidGuidance(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n) && n >= URL_LIMITS.minGuidance && n <= URL_LIMITS.maxGuidance;
}

function isValidGamma(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 && n <= 1;
}

/** A list parseTimesteps accepts (whole numbers >= 0, strictly descending) of at most maxSteps entries. */
function isValidTimesteps(ts: unknown): ts is number[] {
  if (!Array.isArray(ts) || ts.length === 0 || ts.length > URL_LIMITS.maxSteps) return false;
  return ts.every((t, i) => Number.isSafeInteger(t) && t >= 0 && (i === 0 || t < ts[i - 1]));
}

/**
 * Why a link's `ts` value cannot be used, as a sentence for the notice (parseTimesteps' message), or null when it
 * reads. The scheduler's own checks (below its num_train_timesteps, ...) run once the model is loaded.
 */
export function timestepsProblem(raw: string): string | null {
  try {
    const list = parseTimesteps(raw);
    return list.length > URL_LIMITS.maxSteps ? `More than ${URL_LIMITS.maxSteps} timesteps.` : null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * The link's `lora=` value: the shipped LoRAs it names with their strengths, and a sentence per entry left out (a
 * strength outside -2..2, a picked file's name, which a link cannot carry). Whether each id exists is checked once
 * the shipped list is known (engineBridge.initApp).
 */
export function loraLinkList(raw: string): { list: LoraSetting[]; problems: string[] } {
  const { list, problems } = parseLoraList(raw);
  const files = list.filter((l) => !isShippedLoraId(l.id));
  return {
    list: list.filter((l) => isShippedLoraId(l.id)),
    problems: [...problems, ...files.map((l) => `${l.id} is a file picked on another computer; links carry shipped LoRAs only.`)],
  };
}

function isValidPrompt(s: unknown): s is string {
  return typeof s === 'string' && s.length <= URL_LIMITS.maxPromptLength;
}

/** Strict decimal parse: digits with optional sign/fraction only (no hex, exponent, or blanks). */
function parseDecimal(s: string | null): number | undefined {
  if (s === null || !/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(s.trim())) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function uniq<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

/**
 * Encodes the given settings as a query string without the leading '?'. Fields that are
 * undefined or invalid are left out; keys appear in a fixed order.
 */
export function encodeSettings(s: Partial<Settings>): string {
  const q = new URLSearchParams();
  if (isValidPrompt(s.prompt) && s.prompt !== '') q.set(URL_KEYS.prompt, s.prompt);
  if (isValidPrompt(s.negativePrompt) && s.negativePrompt !== '') q.set(URL_KEYS.negativePrompt, s.negativePrompt);
  if (isValidSeed(s.seed)) q.set(URL_KEYS.seed, String(s.seed));
  if (isValidSteps(s.steps)) q.set(URL_KEYS.steps, String(s.steps));
  if (isValidTimesteps(s.timesteps)) q.set(URL_KEYS.timesteps, formatTimesteps(s.timesteps));
  if (isValidId(s.modelId)) q.set(URL_KEYS.modelId, s.modelId);
  if (isValidId(s.sampler)) q.set(URL_KEYS.sampler, s.sampler);
  if (isValidGamma(s.gamma)) q.set(URL_KEYS.gamma, String(s.gamma));
  if (isValidGuidance(s.guidanceScale)) q.set(URL_KEYS.guidanceScale, String(s.guidanceScale));
  if (s.provider && PROVIDERS.includes(s.provider)) q.set(URL_KEYS.provider, s.provider);
  if (Array.isArray(s.loras)) {
    const loras = s.loras.filter((l) => isShippedLoraId(l.id) && isValidLoraScale(l.scale)).slice(0, MAX_LORAS);
    if (loras.length) q.set(URL_KEYS.loras, formatLoraList(loras, ','));
  }
  if (Array.isArray(s.compareModels)) {
    const models = uniq(s.compareModels.filter(isValidId)).slice(0, URL_LIMITS.maxListLength);
    if (models.length) q.set(URL_KEYS.compareModels, models.join(','));
  }
  if (Array.isArray(s.compareSteps)) {
    const steps = uniq(s.compareSteps.filter(isValidSteps)).slice(0, URL_LIMITS.maxListLength);
    if (steps.length) q.set(URL_KEYS.compareSteps, steps.join(','));
  }
  return q.toString();
}

/**
 * Decodes a query string ("?p=..", "p=..", a full URL, or URLSearchParams) into the settings
 * it validly describes. Unknown keys are ignored; invalid values are dropped, never thrown.
 */
export function decodeSettings(query: string | URLSearchParams): Partial<Settings> {
  let q: URLSearchParams;
  try {
    if (query instanceof URLSearchParams) q = query;
    else {
      let str = String(query ?? '');
      const qm = str.indexOf('?');
      if (/^[a-z][a-z0-9+.-]*:/i.test(str) && qm >= 0) str = str.slice(qm + 1);
      str = str.replace(/^[?#]/, '').replace(/#.*$/, '');
      q = new URLSearchParams(str);
    }
  } catch {
    return {};
  }
  const out: Partial<Settings> = {};
  const prompt = q.get(URL_KEYS.prompt);
  if (prompt !== null && isValidPrompt(prompt)) out.prompt = prompt;
  const neg = q.get(URL_KEYS.negativePrompt);
  if (neg !== null && isValidPrompt(neg)) out.negativePrompt = neg;
  const seed = parseDecimal(q.get(URL_KEYS.seed));
  if (isValidSeed(seed)) out.seed = seed;
  const steps = parseDecimal(q.get(URL_KEYS.steps));
  if (isValidSteps(steps)) out.steps = steps;
  const ts = q.get(URL_KEYS.timesteps);
  if (ts !== null && timestepsProblem(ts) === null) {
    out.timesteps = parseTimesteps(ts);
    // The step count follows the list (a `steps` that disagrees is overridden).
    out.steps = out.timesteps.length;
  }
  const model = q.get(URL_KEYS.modelId);
  if (isValidId(model)) out.modelId = model;
  const sampler = q.get(URL_KEYS.sampler);
  if (isValidId(sampler)) out.sampler = sampler;
  const gamma = parseDecimal(q.get(URL_KEYS.gamma));
  if (isValidGamma(gamma)) out.gamma = gamma;
  const cfg = parseDecimal(q.get(URL_KEYS.guidanceScale));
  if (isValidGuidance(cfg)) out.guidanceScale = cfg;
  const ep = q.get(URL_KEYS.provider);
  if (ep !== null && (PROVIDERS as readonly string[]).includes(ep)) out.provider = ep as ProviderSetting;
  const lora = q.get(URL_KEYS.loras);
  if (lora !== null) {
    const { list } = loraLinkList(lora);
    if (list.length) out.loras = list;
  }
  const cm = q.get(URL_KEYS.compareModels);
  if (cm !== null) {
    const models = uniq(cm.split(',').map((x) => x.trim()).filter(isValidId)).slice(0, URL_LIMITS.maxListLength);
    if (models.length) out.compareModels = models;
  }
  const cs = q.get(URL_KEYS.compareSteps);
  if (cs !== null) {
    const list = uniq(cs.split(',').map((x) => parseDecimal(x)).filter(isValidSteps)).slice(0, URL_LIMITS.maxListLength);
    if (list.length) out.compareSteps = list;
  }
  return out;
}
