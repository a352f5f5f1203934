/**
 * A LoRA set as the app holds it: which adapters, each with its own strength ("scale", the multiplier of
 * W += scale * (alpha / rank) * up @ down). Pure functions: the text form shared by the link (`lora=`), the PNG
 * metadata (`Lora:`) and the run records, set comparison, and the engine pool id of a model with a set merged in.
 */
import { isLoraScale, LORA_SCALE_RANGE } from '../../engine';
import { formatLoras, type LoraEntry } from '../../export/metadata';

/**
 * Strength range and step of the picker's slider: the engine's one range (LORA_SCALE_RANGE, engine/lora/scale.ts, which
 * the merge, the catalog and the CLI check too) and the slider's step.
 */
export const LORA_SCALE_LIMITS = { ...LORA_SCALE_RANGE, step: 0.05 } as const;

/** At most this many adapters at once (the picker and the link). */
export const MAX_LORAS = 8;

/**
 * One adapter of a set. `id` is a shipped LoRA's id (its file name without `.safetensors`, e.g. "fewstep-style-ink")
 * or, for a file picked from disk, that file's name ("my-style.safetensors"): the name written in records.
 */
export interface LoraSetting {
  id: string;
  scale: number;
  /**
   * For a file picked from disk: which pick of that name (loraStore PickedLora.pick), so that picking a changed file
   * of the same name again is a different set (Apply merges the new file). Absent for shipped LoRAs; not written to
   * records or links, which carry the name only.
   */
  pick?: number;
}

/** Shipped LoRA ids: letters, digits, '.', '_' and '-' (the file stem in models/loras/). */
const SHIPPED_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,126}$/;

/** Whether `id` names a file picked from disk (those keep their `.safetensors` name) rather than a shipped LoRA. */
export function isPickedFileId(id: string): boolean {
  return /\.safetensors$/i.test(id);
}

/** Whether `id` can name a shipped LoRA (what the link may carry). */
export function isShippedLoraId(id: string): boolean {
  return SHIPPED_ID_RE.test(id) && !isPickedFileId(id);
}

/** Whether a strength is within {@link LORA_SCALE_LIMITS}. */
export function isValidLoraScale(n: unknown): n is number {
  return isLoraScale(n);
}

/** "0.8", "1", "-0.25": the shortest decimal of a strength (3 decimals at most). */
export function formatLoraScale(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/**
 * "fewstep-style-ink:0.8, fewstep-lcm-lora:1": the PNG's `Lora:` and the records' text (export/metadata.formatLoras),
 * and with `sep` ',' the link's `lora=`.
 */
export function formatLoraList(list: readonly LoraSetting[], sep = ', '): string {
  return formatLoras(toLoraEntries(list), sep);
}

/** A set as the records' `loras` ({name, scale}). */
export function toLoraEntries(list: readonly LoraSetting[]): LoraEntry[] {
  return list.map((l) => ({ name: l.id, scale: l.scale }));
}

/**
 * Reads "a:0.8, b:1" (also "a:0.8,b:1", and "a" alone for strength 1). Entries that do not read (bad number, strength
 * outside {@link LORA_SCALE_LIMITS}, a repeated name, more than {@link MAX_LORAS}) are left out and listed in
 * `problems`, one sentence each; it never throws.
 */
export function parseLoraList(text: string): { list: LoraSetting[]; problems: string[] } {
  const list: LoraSetting[] = [];
  const problems: string[] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const colon = part.lastIndexOf(':');
    const id = (colon < 0 ? part : part.slice(0, colon)).trim();
    const scaleText = colon < 0 ? '1' : part.slice(colon + 1).trim();
    const scale = /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(scaleText) ? Number(scaleText) : NaN;
    if (!id || !(SHIPPED_ID_RE.test(id) || isPickedFileId(id))) problems.push(`"${part.slice(0, 40)}" is not a LoRA name.`);
    else if (!isValidLoraScale(scale))
      problems.push(`${id}: strength "${scaleText.slice(0, 12)}" is not a number from ${LORA_SCALE_LIMITS.min} to ${LORA_SCALE_LIMITS.max}.`);
    else if (list.some((l) => l.id === id)) problems.push(`${id} is listed twice; the first is used.`);
    else if (list.length >= MAX_LORAS) problems.push(`More than ${MAX_LORAS} LoRAs; ${id} was left out.`);
    else list.push({ id, scale: Math.round(scale * 1000) / 1000 });
  }
  return { list, problems };
}

/**
 * Same adapters (and the same pick of a picked file) with the same strengths in the same order (merge order does not
 * change the sum, but records show it).
 */
export function sameLoraSet(a: readonly LoraSetting[] | undefined, b: readonly LoraSetting[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((l, i) => l.id === y[i].id && l.scale === y[i].scale && (l.pick ?? 0) === (y[i].pick ?? 0));
}

/**
 * The engine pool id of `modelId` with `loras` merged in: the model id itself without LoRAs, else
 * "<modelId>+lora:<a:0.8+b:1>" (characters the link's `cm=` row keys accept). Every set gets its own pool entry, so
 * the comparison grid can load "teacher + LCM-LoRA" next to the control panel's plain teacher without either changing
 * the other's weights, and removing a set goes back to the untouched base pipeline. The charts group runs by it.
 */
export function poolIdFor(modelId: string, loras: readonly LoraSetting[] | undefined): string {
  return loras && loras.length ? `${modelId}+lora:${formatLoraList(loras, '+')}` : modelId;
}
