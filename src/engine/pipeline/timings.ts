/**
 * Stage timings of one generation (engine-owned; the app's charts and the export module's run records derive from
 * them: StageTotals is their per-stage sum, app/compare/records.ts stagesOf).
 */

export interface StageTimings {
  tokenizeMs: number;
  textEncoderMs: number;
  /** True when the prompt embedding came from the cache (textEncoderMs is then 0). */
  embeddingCached: boolean;
  unetMs: number[];
  schedulerMs: number[];
  vaeMs: number;
  readbackMs: number;
  previewMs: number;
  totalMs: number;
}

/** Fresh timings for a generation (embeddingCached stays true unless the text encoder runs). */
export function newTimings(): StageTimings {
  return { tokenizeMs: 0, textEncoderMs: 0, embeddingCached: true, unetMs: [], schedulerMs: [], vaeMs: 0, readbackMs: 0, previewMs: 0, totalMs: 0 };
}

/** Per-stage totals in ms (the run records' seven columns): `overhead` is what the named stages leave out, >= 0. */
export interface StageTotals {
  tokenize: number;
  textEncoder: number;
  unet: number;
  scheduler: number;
  vae: number;
  readback: number;
  overhead: number;
}
