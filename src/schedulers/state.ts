/**
 * The only hidden state diffusers keeps for these schedulers: the step index of Euler, EulerAncestral and LCM.
 * It is set from the first timestep seen after setTimesteps (diffusers' _init_step_index: the first match, or the
 * second when the timestep occurs twice) and advanced by each step. Unlike diffusers we also check that every
 * later call passes the timestep the index points at, which catches loops that pass the index instead of the
 * timestep or skip a step.
 */
import { SchedulerError } from './errors';

export class StepCursor {
  index: number | null = null;

  constructor(private readonly cls: string) {}

  /** The step index for a call at timestep t (initialising it if needed). */
  resolve(where: string, timesteps: readonly number[], t: number): number {
    if (timesteps.length === 0) {
      throw new SchedulerError('SCHEDULER_NOT_READY', `${this.cls}.${where}: call setTimesteps first.`);
    }
    if (this.index === null) {
      const first = timesteps.indexOf(t);
      if (first < 0) {
        throw new SchedulerError(
          'SCHEDULER_INVALID_TIMESTEPS',
          `${this.cls}.${where}: timestep ${t} is not in the current schedule [${timesteps.join(', ')}].`,
        );
      }
      const second = timesteps.indexOf(t, first + 1);
      this.index = second >= 0 ? second : first;
    }
    if (this.index >= timesteps.length) {
      throw new SchedulerError(
        'SCHEDULER_NOT_READY',
        `${this.cls}.${where}: all ${timesteps.length} steps are done; call setTimesteps or resetStepIndex to start again.`,
      );
    }
    if (timesteps[this.index] !== t) {
      throw new SchedulerError(
        'SCHEDULER_INVALID_TIMESTEPS',
        `${this.cls}.${where}: got timestep ${t} but step ${this.index} of the schedule is timestep ${timesteps[this.index]}; ` +
          'pass the timesteps in order (or call resetStepIndex).',
      );
    }
    return this.index;
  }

  /** Index the next call would use for t, without changing state (null if t is not in the schedule). */
  peek(timesteps: readonly number[], t: number): number | null {
    if (this.index !== null) return this.index;
    const first = timesteps.indexOf(t);
    if (first < 0) return null;
    const second = timesteps.indexOf(t, first + 1);
    return second >= 0 ? second : first;
  }

  advance(): void {
    if (this.index !== null) this.index++;
  }

  reset(): void {
    this.index = null;
  }
}
