/**
 * Custom timestep lists as text, for the UI's text field, URLs, PNG metadata and the CLI: "999,749,499,249"
 * (DMD2 / SDXL-Lightning 4-step) or "399" (one step at 399). Every scheduler here takes the parsed list as
 * `setTimesteps(list.length, { timesteps: list })`, which applies diffusers' own checks (strictly descending, below
 * num_train_timesteps).
 */
import { SchedulerError } from './errors';

/**
 * Parse "999,749,499,249" (commas and/or whitespace between entries) into integers. Checks what diffusers checks in
 * set_timesteps(timesteps=...): strictly descending and, when `numTrainTimesteps` is given, the first entry below it;
 * plus integers >= 0. Throws SchedulerError("SCHEDULER_INVALID_TIMESTEPS") with a message fit for the UI.
 */
export function parseTimesteps(text: string, numTrainTimesteps?: number): number[] {
  if (typeof text !== 'string') throw new SchedulerError('SCHEDULER_INVALID_TIMESTEPS', 'Timesteps must be text like "999,749,499,249".');
  const parts = text.trim().split(/[\s,]+/).filter((p) => p.length > 0);
  if (parts.length === 0) throw new SchedulerError('SCHEDULER_INVALID_TIMESTEPS', 'No timesteps given; write them like "999,749,499,249".');
  const out = parts.map((p, i) => {
    if (!/^\d+$/.test(p)) {
      throw new SchedulerError('SCHEDULER_INVALID_TIMESTEPS', `Timestep ${i + 1} ("${p}") is not a whole number >= 0; write them like "999,749,499,249".`);
    }
    return Number(p);
  });
  for (let i = 1; i < out.length; i++) {
    if (out[i] >= out[i - 1]) {
      throw new SchedulerError('SCHEDULER_INVALID_TIMESTEPS', `\`custom_timesteps\` must be in descending order: ${out[i]} follows ${out[i - 1]}.`);
    }
  }
  if (numTrainTimesteps !== undefined && out[0] >= numTrainTimesteps) {
    throw new SchedulerError('SCHEDULER_INVALID_TIMESTEPS', `\`timesteps\` must start before \`self.config.train_timesteps\`: ${numTrainTimesteps} (got ${out[0]}).`);
  }
  return out;
}

/** The text form of a list: "999,749,499,249" (what parseTimesteps reads). */
export function formatTimesteps(timesteps: readonly number[]): string {
  return timesteps.join(',');
}
