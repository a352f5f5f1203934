/**
 * Conversions from a finished run (store `RunResult`) to the export module's records: the per-stage latency
 * breakdown the charts use, the CSV/JSON `RunRecord`, the PNG `GenerationRecord`, and back from an imported PNG's
 * record to app settings.
 */
import type { StageTimings, StageTotals } from '../../engine';
import { formatLoras, samplerLabelFor, type GenerationRecord } from '../../export/metadata';
import { formatTimesteps, isSupportedScheduler, parseTimesteps, samplerLabel } from '../../schedulers';
import type { RunRecord } from '../../export/runs';
import type { ModelChoice } from '../models';
import type { RunResult, Settings } from '../store';
import { hasCustomTimesteps } from '../timesteps';
import { isValidLoraScale, MAX_LORAS, toLoraEntries, type LoraSetting } from '../lora/loraSet';
// Only `version` ends up in the bundle (Vite tree-shakes named JSON imports).
import { version } from '../../../package.json';

/** The app's version (package.json), written into exported PNG metadata and run files. */
export const APP_VERSION: string = version;

/** The five stages the charts stack. Tokenize counts as text encoder, readback as VAE, previews as overhead. */
export interface StageBreakdown {
  textEncoder: number;
  unet: number;
  scheduler: number;
  vae: number;
  overhead: number;
}

export const CHART_STAGES: ReadonlyArray<[keyof StageBreakdown, string]> = [
  ['textEncoder', 'Text encoder'],
  ['unet', 'U-Net'],
  ['scheduler', 'Scheduler'],
  ['vae', 'VAE decode'],
  ['overhead', 'Overhead'],
];

const sum = (a: readonly number[]): number => a.reduce((x, y) => x + y, 0);

/** Export-module stages (7 columns); `overhead` is whatever the named stages do not account for (never negative). */
export function stagesOf(t: StageTimings): StageTotals {
  const unet = sum(t.unetMs);
  const scheduler = sum(t.schedulerMs);
  const named = t.tokenizeMs + t.textEncoderMs + unet + scheduler + t.vaeMs + t.readbackMs;
  return {
    tokenize: t.tokenizeMs,
    textEncoder: t.textEncoderMs,
    unet,
    scheduler,
    vae: t.vaeMs,
    readback: t.readbackMs,
    overhead: Math.max(0, t.totalMs - named),
  };
}

export function breakdownOf(t: StageTimings): StageBreakdown {
  const s = stagesOf(t);
  return { textEncoder: s.tokenize + s.textEncoder, unet: s.unet, scheduler: s.scheduler, vae: s.vae + s.readback, overhead: s.overhead };
}

/** Row label of a run: the grid's row label when it came from the grid, else "<model> · <sampler>". */
export function pipelineLabel(run: Pick<RunResult, 'modelName' | 'result'> & { rowLabel?: string }): string {
  return run.rowLabel ?? `${run.modelName} · ${samplerLabel(run.result.schedulerClass)}`;
}

/** The custom timestep list a run used (what ran, from the result), or undefined when it used the scheduler's spacing. */
function customTimesteps(run: RunResult): number[] | undefined {
  return hasCustomTimesteps(run.params) ? [...run.result.timesteps] : undefined;
}

/** The LoRAs merged into the model a run used (older runs have no field: none). */
function runLoras(run: RunResult): LoraSetting[] {
  return run.params.loras ?? [];
}

/** TCD's gamma for a TCD run (the step's eta it ran with), else undefined. */
function tcdGamma(run: RunResult): number | undefined {
  return run.result.schedulerClass === 'TCDScheduler' ? run.params.gamma : undefined;
}

export function toRunRecord(run: RunResult): RunRecord {
  const timesteps = customTimesteps(run);
  const gamma = tcdGamma(run);
  const loras = runLoras(run);
  return {
    id: run.requestId,
    modelId: run.modelId,
    pipeline: pipelineLabel(run),
    sampler: samplerLabel(run.result.schedulerClass),
    steps: run.params.steps,
    ...(timesteps ? { timesteps: formatTimesteps(timesteps) } : {}),
    ...(gamma !== undefined ? { gamma } : {}),
    ...(loras.length ? { loras: formatLoras(toLoraEntries(loras)) } : {}),
    guidanceScale: run.params.guidanceScale,
    seed: run.params.seed,
    prompt: run.params.prompt,
    executionProvider: run.provider,
    totalMs: run.result.timings.totalMs,
    stages: stagesOf(run.result.timings),
    qualityScore: run.qualityScore ?? null,
    createdAt: new Date(run.finishedAt).toISOString(),
  };
}

export function toGenerationRecord(run: RunResult): GenerationRecord {
  const { image, schedulerClass, timings } = run.result;
  const stages = stagesOf(timings);
  const timesteps = customTimesteps(run);
  const gamma = tcdGamma(run);
  const loras = runLoras(run);
  return {
    prompt: run.params.prompt,
    ...(run.params.negativePrompt ? { negativePrompt: run.params.negativePrompt } : {}),
    seed: run.params.seed,
    steps: run.params.steps,
    sampler: schedulerClass,
    samplerLabel: samplerLabelFor(schedulerClass),
    guidanceScale: run.params.guidanceScale,
    width: image.width,
    height: image.height,
    modelId: run.modelId,
    modelName: run.modelName,
    // A TCD run's eta is its gamma: written once, as `gamma`.
    ...(gamma !== undefined ? { gamma } : { eta: run.params.eta }),
    ...(timesteps ? { timesteps } : {}),
    ...(loras.length ? { loras: toLoraEntries(loras) } : {}),
    rngKind: run.params.rng,
    latencyMs: timings.totalMs,
    stageTimings: { ...stages },
    executionProvider: run.provider === 'webgpu' ? 'webgpu' : 'wasm',
    appVersion: APP_VERSION,
    createdAt: new Date(run.finishedAt).toISOString(),
  };
}

/**
 * Settings an imported PNG's record restores. The model is switched only when the app has it; the sampler is kept
 * as an explicit override so the restored run uses the same scheduler even if the model's default differs. A custom
 * timestep list comes back as the Timesteps text with its step count (none: the field is cleared), TCD's gamma as
 * the stochasticity, the LoRAs as the set to apply (none: the base model; whether each one is available here is
 * checked when the model loads with them).
 */
export function settingsFromRecord(
  r: Partial<GenerationRecord>,
  models: readonly Pick<ModelChoice, 'id' | 'name'>[],
): { patch: Partial<Settings>; modelFound: boolean; notes: string[] } {
  const patch: Partial<Settings> = {};
  const notes: string[] = [];
  if (typeof r.prompt === 'string') patch.prompt = r.prompt;
  patch.negativePrompt = r.negativePrompt ?? '';
  if (r.seed !== undefined && Number.isSafeInteger(r.seed) && r.seed >= 0 && r.seed <= 2 ** 32 - 1) patch.seed = r.seed;
  if (r.steps !== undefined && Number.isInteger(r.steps) && r.steps >= 1 && r.steps <= 1000) patch.steps = r.steps;
  if (r.guidanceScale !== undefined && Number.isFinite(r.guidanceScale) && r.guidanceScale >= 0 && r.guidanceScale <= 30) patch.guidanceScale = r.guidanceScale;
  if (r.sampler) {
    if (isSupportedScheduler(r.sampler)) patch.sampler = r.sampler;
    else notes.push(`sampler ${r.sampler} is not available here; using the model's own`);
  }
  if (r.eta !== undefined && Number.isFinite(r.eta)) patch.eta = r.eta;
  // TCD's gamma; a TCD PNG from elsewhere may carry it as its eta (diffusers' name for it).
  const gamma = r.gamma ?? (patch.sampler === 'TCDScheduler' ? r.eta : undefined);
  if (gamma !== undefined && Number.isFinite(gamma) && gamma >= 0 && gamma <= 1) patch.gamma = gamma;
  // A custom list restores the step count with it; a record without one clears the current list.
  let timesteps: number[] | null = null;
  if (r.timesteps !== undefined) {
    try {
      timesteps = parseTimesteps(formatTimesteps(r.timesteps));
    } catch (e) {
      notes.push(`its timesteps were not usable (${(e as Error).message}); using the scheduler's own spacing`);
    }
  }
  patch.timesteps = timesteps ? formatTimesteps(timesteps) : '';
  if (timesteps) patch.steps = timesteps.length;
  if (r.rngKind) patch.rng = r.rngKind;
  const loras = (r.loras ?? []).filter((l) => isValidLoraScale(l.scale));
  if (r.loras && loras.length < r.loras.length) notes.push('LoRA strengths outside -2..2 were left out');
  patch.loras = loras.slice(0, MAX_LORAS).map((l) => ({ id: l.name, scale: l.scale }));
  let modelFound = false;
  const byId = r.modelId ? models.find((m) => m.id === r.modelId) : undefined;
  const byName = !byId && r.modelName ? models.find((m) => m.name === r.modelName) : undefined;
  const model = byId ?? byName;
  if (model) {
    patch.modelId = model.id;
    modelFound = true;
  } else if (r.modelId || r.modelName) {
    notes.push(`model ${r.modelId ?? r.modelName} is not available here; kept the current model`);
  }
  return { patch, modelFound, notes };
}
