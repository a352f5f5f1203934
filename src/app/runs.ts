/**
 * Settings -> generate params, and an engine result -> RunResult, each written once: the control panel's
 * generations, the comparison grid's cells and the enlarged cell's preview re-run all go through here.
 */
import type { EngineEvent, GenerateParams } from '../engine';
import { parseTimesteps } from '../schedulers';
import type { RunResult, Settings } from './store';
import { hasCustomTimesteps, isTcd } from './timesteps';

/** The settings a generation reads (the model and provider travel separately, in the request). */
export type RunSettings = Pick<
  Settings,
  'prompt' | 'negativePrompt' | 'seed' | 'steps' | 'guidanceScale' | 'sampler' | 'eta' | 'rng' | 'timesteps' | 'gamma'
>;

/**
 * Generate params for these settings; `sampler: ''` keeps the model's own scheduler. `schedulerClass` is the class
 * that will run (timesteps.effectiveSampler): for TCD the step's eta is `gamma`, for the others `eta`. A custom
 * timestep list (`timesteps` text, checked first with timesteps.checkTimesteps) is sent as `timesteps` and sets
 * `steps` to its length. Throws SchedulerError for timesteps text that does not parse (check it before).
 */
export function generateParams(s: RunSettings, opts: { preview?: boolean; schedulerClass?: string } = {}): GenerateParams {
  const timesteps = hasCustomTimesteps(s) ? parseTimesteps(s.timesteps) : null;
  return {
    prompt: s.prompt,
    negativePrompt: s.negativePrompt,
    seed: s.seed,
    steps: timesteps ? timesteps.length : s.steps,
    guidanceScale: s.guidanceScale,
    ...(s.sampler ? { scheduler: s.sampler } : {}),
    eta: isTcd(opts.schedulerClass ?? s.sampler) ? s.gamma : s.eta,
    ...(timesteps ? { timesteps } : {}),
    rng: s.rng,
    ...(opts.preview ? { preview: true } : {}),
  };
}

/** The run a `result` event finishes, with the settings it was requested with (their `loras` name the LoRAs merged in). */
export function runResult(
  ev: Extract<EngineEvent, { type: 'result' }>,
  run: { requestId: string; modelId?: string; modelName: string; params: Settings; source: 'single' | 'grid'; rowLabel?: string },
): RunResult {
  return {
    requestId: run.requestId,
    // The model's own id: the engine's may be a pool id with a LoRA set ("fewstep-teacher+lora(...)").
    modelId: run.modelId ?? ev.modelId,
    modelName: run.modelName,
    provider: ev.provider,
    params: run.params,
    result: ev.result,
    finishedAt: Date.now(),
    source: run.source,
    ...(run.rowLabel !== undefined ? { rowLabel: run.rowLabel } : {}),
  };
}
