/**
 * Custom timestep lists and TCD's gamma in the app: the settings' text form ("999,749,499,249", '' = the scheduler's
 * own spacing) checked against the scheduler that will run it, and the sampler a generation will actually use.
 *
 * A list is checked as the engine will run it: parsed by the schedulers' `parseTimesteps` (whole numbers, strictly
 * descending, below num_train_timesteps), then handed to `setTimesteps(list.length, { timesteps })` of a scheduler
 * built from the loaded model's own scheduler_config.json (ModelInfo.schedulerConfig) with the chosen class, so the
 * field shows the scheduler's own message (e.g. DPM++ with Karras sigmas, or consistency models' 40 training steps).
 */
import type { LoadedModel } from '../engine';
import { parseTimesteps, samplerClassFor, schedulerFromConfig, TCD_DEFAULT_GAMMA, type Scheduler } from '../schedulers';
import type { Settings } from './store';

/** TCD's default gamma ("stochasticity"), diffusers' TCDScheduler.step / TCDPipeline default eta: 0.3. */
export const DEFAULT_GAMMA = TCD_DEFAULT_GAMMA;

/** The class a generation runs: the sampler override (normalised through the registry), else the model's own. */
export function effectiveSampler(sampler: string, loaded: Pick<LoadedModel, 'schedulerClass'> | null): string {
  return sampler ? samplerClassFor(sampler) : (loaded?.schedulerClass ?? '');
}

/** Whether `sampler` (a class name, label or alias) is TCD, whose step's `eta` is its gamma. */
export function isTcd(sampler: string): boolean {
  return sampler !== '' && samplerClassFor(sampler) === 'TCDScheduler';
}

/** Whether the settings carry a custom list (any text: an invalid one blocks generation until fixed or cleared). */
export function hasCustomTimesteps(s: Pick<Settings, 'timesteps'>): boolean {
  return (s.timesteps ?? '').trim() !== ''; // settings saved before the field existed have none
}

export type TimestepsCheck =
  /** `list` null: no custom list (the scheduler's spacing). */
  | { ok: true; list: number[] | null }
  /** The scheduler's (or the parser's) message, fit for the UI. */
  | { ok: false; message: string };

/** Schedulers built for checks, per scheduler config object and class (building one costs ~0.3 ms). */
const cache = new WeakMap<object, Map<string, Scheduler>>();

function checker(config: Record<string, unknown>, className: string): Scheduler {
  let byClass = cache.get(config);
  if (!byClass) cache.set(config, (byClass = new Map()));
  let s = byClass.get(className);
  if (!s) {
    s = schedulerFromConfig(config, { className });
    byClass.set(className, s);
  }
  return s;
}

/**
 * Check a timestep list as typed. Without a loaded model only the text is checked; with one, the list goes through
 * the scheduler that will run it (`sampler` override or the model's own class). Never throws.
 */
export function checkTimesteps(
  text: string,
  sampler: string,
  loaded: Pick<LoadedModel, 'schedulerClass' | 'schedulerConfig'> | null,
): TimestepsCheck {
  if (text.trim() === '') return { ok: true, list: null };
  try {
    const config = loaded?.schedulerConfig;
    if (!loaded || !config) return { ok: true, list: parseTimesteps(text) };
    const scheduler = checker(config, effectiveSampler(sampler, loaded));
    const list = parseTimesteps(text, scheduler.config.num_train_timesteps);
    scheduler.setTimesteps(list.length, { timesteps: list });
    return { ok: true, list };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

/** The settings patch for a typed list: the text, and the step count when the list is valid (steps follow the list). */
export function timestepsPatch(text: string, check: TimestepsCheck): Partial<Settings> {
  return { timesteps: text, ...(check.ok && check.list ? { steps: check.list.length } : {}) };
}
