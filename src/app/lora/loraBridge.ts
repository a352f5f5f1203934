/**
 * The LoRA picker's actions: edit the draft set (add, strength, remove), pick .safetensors files from disk, and apply
 * the set (engineBridge.loadModel merges it into the model's U-Net in the engine worker). Plain functions over the
 * stores, like engineBridge, so they are tested without React.
 */
import { EngineError } from '../../engine';
import { getEngine, loadModel } from '../engineBridge';
import { useAppStore } from '../store';
import { fitsModel, type ShippedLora } from './loraIndex';
import { isValidLoraScale, LORA_SCALE_LIMITS, MAX_LORAS, sameLoraSet, type LoraSetting } from './loraSet';
import { useLoraStore } from './loraStore';

/** The set the picker shows: the draft, else the applied one. */
export function currentDraft(): LoraSetting[] {
  return useLoraStore.getState().draft ?? useAppStore.getState().settings.loras;
}

/** Whether the picker holds changes not applied yet. */
export function draftPending(draft: readonly LoraSetting[] | null, applied: readonly LoraSetting[]): boolean {
  return draft !== null && !sameLoraSet(draft, applied);
}

function setDraft(next: LoraSetting[]): void {
  useLoraStore.setState({ draft: next, error: null });
}

/** The shipped LoRAs made for `modelId`. */
export function shippedFor(modelId: string, shipped: readonly ShippedLora[] = useLoraStore.getState().shipped): ShippedLora[] {
  return shipped.filter((l) => fitsModel(l, modelId));
}

/** The `pick` a set entry of picked file `id` carries: the file's pick number from the second pick on (loraSet.LoraSetting). */
function pickOf(id: string): { pick?: number } {
  const n = useLoraStore.getState().files.find((f) => f.id === id)?.pick ?? 1;
  return n > 1 ? { pick: n } : {};
}

/**
 * Add a shipped LoRA or a picked file to the draft at its default strength (a shipped LoRA's `defaultScale`, else 1).
 * A picked file already in the draft is updated to its newest pick (same strength).
 */
export function addLora(id: string): void {
  const draft = currentDraft();
  if (draft.some((l) => l.id === id)) {
    const pick = pickOf(id);
    const stale = draft.find((l) => l.id === id && (l.pick ?? 1) !== (pick.pick ?? 1));
    if (stale) setDraft(draft.map((l) => (l.id === id ? { id, scale: l.scale, ...pick } : l)));
    return;
  }
  if (draft.length >= MAX_LORAS) {
    useLoraStore.setState({ error: new EngineError('BAD_REQUEST', `At most ${MAX_LORAS} LoRAs at once: remove one first.`) });
    return;
  }
  const shipped = useLoraStore.getState().shipped.find((l) => l.id === id);
  setDraft([...draft, { id, scale: shipped?.defaultScale ?? 1, ...pickOf(id) }]);
}

/** Change one adapter's strength in the draft (ignored outside {@link LORA_SCALE_LIMITS}). */
export function setLoraScale(id: string, scale: number): void {
  if (!isValidLoraScale(scale)) return;
  setDraft(currentDraft().map((l) => (l.id === id ? { ...l, scale } : l)));
}

/** Remove one adapter from the draft (a picked file stays in the list of files for this session). */
export function removeLora(id: string): void {
  setDraft(currentDraft().filter((l) => l.id !== id));
}

/** Drop the draft: the picker shows the applied set again. */
export function revertLoras(): void {
  useLoraStore.setState({ draft: null, error: null });
}

/**
 * Keep a .safetensors file picked from disk for this session and add it to the draft at strength 1. A file of the
 * same name picked again replaces the earlier one as a new pick (PickedLora.pick): the draft then differs from the
 * applied set, so Apply merges the new file even when its name and strength are unchanged. Its contents are checked
 * by the engine when the set is applied.
 */
export async function pickLoraFile(file: File): Promise<void> {
  if (!/\.safetensors$/i.test(file.name)) {
    useLoraStore.setState({ error: new EngineError('BAD_REQUEST', `${file.name} is not a .safetensors file: pick a LoRA saved as .safetensors.`) });
    return;
  }
  const id = file.name;
  let bytes: ArrayBuffer;
  try {
    bytes = await file.arrayBuffer();
  } catch (e) {
    useLoraStore.setState({ error: new EngineError('BAD_REQUEST', `${file.name} could not be read: ${(e as Error).message}`) });
    return;
  }
  useLoraStore.setState((s) => {
    const pick = (s.files.find((f) => f.id === id)?.pick ?? 0) + 1;
    return { files: [...s.files.filter((f) => f.id !== id), { id, bytes, size: bytes.byteLength, pick }] };
  });
  addLora(id);
}

/** The apply in flight (with the follow-ups it starts), so a second call waits for it instead of queueing another. */
let applying: Promise<boolean> | null = null;
/** Set by {@link cancelApply}: the running apply ends without a follow-up. */
let cancelled = false;

/**
 * Stop the apply in flight (the picker's Cancel): the engine stops the U-Net read, the LoRA download or the merge at
 * its next step and the model stays as it was; the draft stays, so Apply can be pressed again.
 */
export function cancelApply(): void {
  const id = useAppStore.getState().loading?.requestId;
  if (!applying || !id) return;
  cancelled = true;
  void getEngine().request('cancel', { target: id }).done.catch(() => undefined);
}

/**
 * Merge the draft into the loaded model (the engine makes a U-Net with the set and shares the rest of the loaded
 * pipeline; removing every LoRA reads the base U-Net again, so it comes back exactly). Progress is the app store's
 * `loading`; the merge report is `loaded.lora`; an error stays in the picker and the model stays as it was.
 *
 * Latest wins: strengths edited (or adapters added, removed, picked again) while an apply runs stay in the draft, and
 * when that apply ends the newest draft is applied once, however many edits came meanwhile; a call while one runs
 * returns that run's outcome instead of queueing another. Resolves true when the last apply of the run succeeded.
 */
export function applyLoras(): Promise<boolean> {
  if (applying) return applying;
  if (!useAppStore.getState().loaded) return Promise.resolve(false);
  cancelled = false;
  const run = (async () => {
    try {
      let ok = false;
      for (;;) {
        const { settings, loaded } = useAppStore.getState();
        if (!loaded) return false;
        const sent = useLoraStore.getState().draft ?? settings.loras;
        const bad = sent.find((l) => !isValidLoraScale(l.scale));
        if (bad) {
          useLoraStore.setState({ error: new EngineError('BAD_REQUEST', `${bad.id}: strength ${bad.scale} is outside ${LORA_SCALE_LIMITS.min}..${LORA_SCALE_LIMITS.max}.`) });
          return false;
        }
        useLoraStore.setState({ applying: true, error: null });
        ok = await loadModel(settings.modelId, { loras: sent, applyDefaults: false });
        if (cancelled) return ok;
        // Edits made while it ran: apply the newest draft now (once), unless it is what was just applied.
        const now = useLoraStore.getState().draft;
        const edited = now !== null && !sameLoraSet(now, sent);
        if (!edited) {
          if (ok) useLoraStore.setState({ draft: null });
          return ok;
        }
        if (!draftPending(now, useAppStore.getState().settings.loras)) {
          useLoraStore.setState({ draft: null });
          return ok;
        }
      }
    } finally {
      useLoraStore.setState({ applying: false });
      applying = null;
    }
  })();
  applying = run;
  return run;
}

/**
 * The "Fast: LCM-LoRA" toggle: add the LCM-LoRA made for the loaded model (at its default strength) and apply, which
 * switches to LCM, its steps and guidance (lcmPreset.ts); off removes it and restores them.
 */
export async function setFastLcm(on: boolean): Promise<boolean> {
  const { settings } = useAppStore.getState();
  const lcm = shippedFor(settings.modelId).find((l) => l.kind === 'lcm');
  if (!lcm) return false;
  const draft = currentDraft().filter((l) => l.id !== lcm.id);
  setDraft(on ? [...draft, { id: lcm.id, scale: lcm.defaultScale }] : draft);
  return applyLoras();
}
