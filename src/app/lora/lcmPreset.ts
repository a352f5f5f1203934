/**
 * The "LCM-LoRA" preset (Luo et al. 2023, "LCM-LoRA"): an LCM-LoRA turns its base model into a few-step sampler, but
 * only with diffusers' LCMScheduler, about 4 steps and guidance_scale 1-2. Applying a set that holds one switches
 * the sampler, steps and guidance to its recommendation and keeps the guidance control within its range; removing it
 * puts back what was there before. Pure: the bridge (loraBridge.ts) applies the result to the store.
 */
import { samplerLabel } from '../../schedulers';
import type { ShippedLora } from './loraIndex';

/** The settings the preset changes and restores. */
export interface PresetSnapshot {
  /** Scheduler class override; '' = the model's own. */
  sampler: string;
  steps: number;
  guidanceScale: number;
  /** Custom timestep text ('' = the scheduler's spacing); the preset clears it, removal restores it. */
  timesteps: string;
}

/** The preset while an LCM-LoRA is applied. */
export interface LcmPreset {
  /** The LCM-LoRA that set it. */
  loraId: string;
  /** What removing the LCM-LoRA restores. */
  previous: PresetSnapshot;
  /** The guidance control's range while it holds. */
  guidanceRange: [number, number];
}

/** `v` within the preset's guidance range (unchanged without a preset). */
export function clampGuidance(v: number, preset: Pick<LcmPreset, 'guidanceRange'> | null): number {
  if (!preset) return v;
  const [lo, hi] = preset.guidanceRange;
  return Math.min(hi, Math.max(lo, v));
}

/** "DDIM, 50 steps, guidance 7.5" ('' sampler: the model's own, named by `ownSamplerClass`). */
export function describeSnapshot(s: PresetSnapshot, ownSamplerClass: string): string {
  const sampler = samplerLabel(s.sampler || ownSamplerClass) || "the model's own sampler";
  const steps = s.timesteps ? `timesteps ${s.timesteps}` : `${s.steps} step${s.steps === 1 ? '' : 's'}`;
  return `${sampler}, ${steps}, guidance ${s.guidanceScale}`;
}

export interface PresetInput {
  /** The preset before this load (null: none). */
  preset: LcmPreset | null;
  /** The LCM-LoRA of the set just applied (loraIndex.lcmLoraOf), or undefined when the set has none. */
  lcm: ShippedLora | undefined;
  /** The settings now (after the model's defaults, when the model changed). */
  settings: PresetSnapshot;
  /** What removing the LCM-LoRA should restore when the preset starts now; default `settings`. */
  restoreTo?: PresetSnapshot;
  /** The load changed the model (its defaults were applied), not only the LoRA set. */
  modelChanged: boolean;
  /** The loaded model's own scheduler class, to name '' in the note. */
  ownSamplerClass: string;
  /** Settings given in the link win over the preset (the guidance is still kept within its range). */
  keep?: { steps?: boolean; guidanceScale?: boolean; sampler?: boolean };
}

export interface PresetOutput {
  preset: LcmPreset | null;
  /** Settings to write (empty: none). */
  patch: Partial<PresetSnapshot>;
  /** The one-line note to show; undefined leaves the current one. */
  note?: string | null;
}

/**
 * What applying a LoRA set does to the sampler, steps and guidance:
 * - an LCM-LoRA arrives (or comes with a new model): remember the settings, switch to its recommendation;
 * - it stays: nothing (the user may have moved the steps since);
 * - it leaves: restore what was remembered (on a model change the new model's defaults already apply).
 * Settings in `keep` are never changed (a link or a restored run set them), except that a kept guidance is clamped.
 */
export function lcmPresetTransition(i: PresetInput): PresetOutput {
  const { preset, lcm, settings, keep = {} } = i;
  if (lcm?.recommended && (!preset || i.modelChanged || preset.loraId !== lcm.id)) {
    const rec = lcm.recommended;
    const next: LcmPreset = { loraId: lcm.id, previous: preset && !i.modelChanged ? preset.previous : (i.restoreTo ?? settings), guidanceRange: rec.guidanceRange };
    const patch: Partial<PresetSnapshot> = {
      ...(keep.sampler ? {} : { sampler: rec.sampler }),
      ...(keep.steps ? {} : { steps: rec.steps, timesteps: '' }),
      guidanceScale: clampGuidance(keep.guidanceScale ? settings.guidanceScale : rec.guidance_scale, next),
    };
    const after = { ...settings, ...patch };
    const [lo, hi] = rec.guidanceRange;
    return {
      preset: next,
      patch,
      note:
        `${lcm.name}: ${describeSnapshot(after, i.ownSamplerClass)} (guidance kept within ${lo}–${hi}). ` +
        `Removing it restores ${describeSnapshot(next.previous, i.ownSamplerClass)}.`,
    };
  }
  if (lcm) return { preset, patch: {} };
  if (!preset) return { preset: null, patch: {} };
  // The new model's defaults apply already; the load's own note (LoRAs left behind) stays.
  if (i.modelChanged) return { preset: null, patch: {} };
  const { sampler, steps, guidanceScale, timesteps } = preset.previous;
  return {
    preset: null,
    patch: {
      ...(keep.sampler ? {} : { sampler }),
      ...(keep.steps ? {} : { steps, timesteps }),
      ...(keep.guidanceScale ? {} : { guidanceScale }),
    },
    note: `LCM-LoRA removed: back to ${describeSnapshot(preset.previous, i.ownSamplerClass)}.`,
  };
}
