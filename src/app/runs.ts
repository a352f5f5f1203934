/**
 * Settings -> generate params, and an engine result -> RunResult, each written once: the control panel's
 * generations, the comparison grid's cells and the enlarged cell's preview re-run all go through here.
 */
import type { EngineEvent, GenerateParams } from '../engine';
import type { RunResult, Settings } from './store';

/** The settings a generation reads (the model and provider travel separately, in the request). */
export type RunSettings = Pick<Settings, 'prompt' | 'negativePrompt' | 'seed' | 'steps' | 'guidanceScale' | 'sampler' | 'eta' | 'rng'>;

/** Generate params for these settings; `sampler: ''` keeps the model's own scheduler. */
export function generateParams(s: RunSettings, opts: { preview?: boolean } = {}): GenerateParams {
  return {
    prompt: s.prompt,
    negativePrompt: s.negativePrompt,
    seed: s.seed,
    steps: s.steps,
    guidanceScale: s.guidanceScale,
    ...(s.sampler ? { scheduler: s.sampler } : {}),
    eta: s.eta,
    rng: s.rng,
    ...(opts.preview ? { preview: true } : {}),
  };
}

/** The run a `result` event finishes, with the settings it was requested with. */
export function runResult(
  ev: Extract<EngineEvent, { type: 'result' }>,
  run: { requestId: string; modelName: string; params: Settings; source: 'single' | 'grid'; rowLabel?: string },
): RunResult {
  return {
    requestId: run.requestId,
    modelId: ev.modelId,
    modelName: run.modelName,
    provider: ev.provider,
    params: run.params,
    result: ev.result,
    finishedAt: Date.now(),
    source: run.source,
    ...(run.rowLabel !== undefined ? { rowLabel: run.rowLabel } : {}),
  };
}
