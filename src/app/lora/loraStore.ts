/**
 * LoRA state of the page: the shipped LoRAs (models/loras/index.json), the files picked from disk this session (kept
 * until the page closes, so a removed adapter can be added again without picking it again), the set being edited in
 * the picker (`draft`), the LCM preset, and the outcome of the last apply. The set actually merged into the loaded
 * model is `settings.loras` in the app store (it travels with every run); this store never runs anything.
 */
import { create } from 'zustand';
import type { EngineError, LoraRef } from '../../engine';
import type { LcmPreset } from './lcmPreset';
import { fitsModel, type ShippedLora } from './loraIndex';
import { isPickedFileId, type LoraSetting } from './loraSet';

/** A .safetensors file picked from disk. */
export interface PickedLora {
  /** Its file name ("my-style.safetensors"): its id in sets and its name in records. */
  id: string;
  bytes: ArrayBuffer;
  size: number;
  /** Counts the picks of this name in the session (1, 2, ...): a new pick of the same name replaces the file. */
  pick: number;
}

export interface LoraState {
  shipped: ShippedLora[];
  /** True once models/loras/index.json was looked for (present or not). */
  shippedReady: boolean;
  /** Why entries of index.json were left out (shown under the picker). */
  indexProblems: string[];
  files: PickedLora[];
  /** The set being edited, not applied yet; null = the applied set (`settings.loras`) unchanged. */
  draft: LoraSetting[] | null;
  /** An apply from the picker is in flight (the model load with the set; progress is the app store's `loading`). */
  applying: boolean;
  /** The engine's error for the last apply (shape mismatch, no matching keys, malformed file, ...). */
  error: EngineError | null;
  /** The LCM preset while an LCM-LoRA is applied. */
  preset: LcmPreset | null;
  /** One-line notes: what the preset did, LoRAs left out on a model change or from a link. */
  note: string | null;
}

export const initialLoraState: LoraState = {
  shipped: [],
  shippedReady: false,
  indexProblems: [],
  files: [],
  draft: null,
  applying: false,
  error: null,
  preset: null,
  note: null,
};

export const useLoraStore = create<LoraState>()(() => initialLoraState);

/** Display name of a set entry: the shipped LoRA's name, else the file name. */
export function loraName(id: string, shipped: readonly ShippedLora[] = useLoraStore.getState().shipped): string {
  return shipped.find((l) => l.id === id)?.name ?? id;
}

/**
 * The engine's `loras` for a set: shipped ones by URL (the worker fetches them), catalog ones from a hub by their
 * entry (the worker downloads them into the model store once), picked files by their bytes (a copy:
 * the request may transfer it, and the session keeps the original). Entries this page cannot resolve (a picked file
 * from another session or an earlier pick of a file picked again, an id the index does not have) are returned in
 * `missing`.
 */
export function loraRefsFor(list: readonly LoraSetting[], st: Pick<LoraState, 'shipped' | 'files'> = useLoraStore.getState()): { refs: LoraRef[]; missing: string[] } {
  const refs: LoraRef[] = [];
  const missing: string[] = [];
  for (const l of list) {
    if (isPickedFileId(l.id)) {
      // An earlier pick of a file picked again is gone (its bytes were replaced): not available.
      const f = st.files.find((x) => x.id === l.id && (x.pick ?? 1) === (l.pick ?? 1));
      if (f) refs.push({ name: l.id, scale: l.scale, bytes: f.bytes.slice(0) });
      else missing.push(l.id);
    } else {
      const s = st.shipped.find((x) => x.id === l.id);
      if (s) refs.push({ name: l.id, scale: l.scale, ...(s.catalog ? { catalog: s.catalog } : { url: s.url }) });
      else missing.push(l.id);
    }
  }
  return { refs, missing };
}

/**
 * The part of a set that goes along when the model changes to `modelId`: the shipped LoRAs made for it. Picked files
 * and LoRAs for other bases are left (they stay in the picker's list) and named in `left`.
 */
export function carryOver(list: readonly LoraSetting[], modelId: string, shipped: readonly ShippedLora[]): { kept: LoraSetting[]; left: string[] } {
  const kept: LoraSetting[] = [];
  const left: string[] = [];
  for (const l of list) {
    const s = shipped.find((x) => x.id === l.id);
    if (s && fitsModel(s, modelId)) kept.push(l);
    else left.push(s ? `${s.name} (made for ${s.base.join(', ')})` : l.id);
  }
  return { kept, left };
}
