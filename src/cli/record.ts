/**
 * The PNG metadata of a CLI image: the same GenerationRecord, and so the same `parameters` and `fewstep` text chunks,
 * as the app's "Export image" (src/app/compare/records.ts toGenerationRecord), built from the same engine result.
 * The app's function takes a store RunResult, and the CLI may not import app code (eslint.config.js), so the few
 * lines are repeated here; tests/cli.test.ts checks that both give the same record for one result.
 */
import type { GenerateParams, GenerateResult, StageTimings, StageTotals } from '../engine';
import { samplerLabelFor, type GenerationRecord, type LoraEntry } from '../export/metadata';
import { version } from '../../package.json';

/** The package version, written as the record's appVersion (the app writes the same package.json field). */
export const APP_VERSION: string = version;

/** Per-stage totals in ms, as the app's stagesOf: overhead is what the named stages leave out, never negative. */
export function stagesOf(t: StageTimings): StageTotals {
  const sum = (a: readonly number[]): number => a.reduce((x, y) => x + y, 0);
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

/**
 * The record of one generation.
 * @param params     what was sent to the engine (its `eta` is TCD's gamma for a TCD run, as the app sends it)
 * @param result     the engine's result
 * @param model      metadata id and name of the model (see models.ts)
 * @param createdAt  when the image was made (default now)
 * @param loras      the --lora adapters merged into the U-Net, in merge order: `{ name, scale }` (name = the file
 *                   name without `.safetensors`), written as the record's `loras` field (GenerationRecord.loras,
 *                   the app's field; the parameters text shows it as `Lora: "name:scale, ..."`); none: no field
 */
export function generationRecord(
  params: GenerateParams,
  result: GenerateResult,
  model: { id: string; name: string },
  createdAt: Date = new Date(),
  loras: readonly LoraEntry[] = [],
): GenerationRecord {
  const { image, schedulerClass, timings } = result;
  const tcd = schedulerClass === 'TCDScheduler';
  return {
    prompt: params.prompt,
    ...(params.negativePrompt ? { negativePrompt: params.negativePrompt } : {}),
    seed: params.seed,
    steps: params.steps,
    sampler: schedulerClass,
    samplerLabel: samplerLabelFor(schedulerClass),
    guidanceScale: params.guidanceScale,
    width: image.width,
    height: image.height,
    modelId: model.id,
    modelName: model.name,
    // A TCD run's eta is its gamma: written once, as `gamma` (the app does the same).
    ...(tcd ? { gamma: params.eta ?? 0 } : { eta: params.eta ?? 0 }),
    ...(params.timesteps ? { timesteps: [...result.timesteps] } : {}),
    ...(loras.length ? { loras: loras.map((l) => ({ name: l.name, scale: l.scale })) } : {}),
    rngKind: params.rng ?? 'fewstep',
    latencyMs: timings.totalMs,
    stageTimings: { ...stagesOf(timings) },
    executionProvider: 'wasm',
    appVersion: APP_VERSION,
    createdAt: createdAt.toISOString(),
  };
}
