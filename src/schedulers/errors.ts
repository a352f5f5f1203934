/**
 * Scheduler errors. Each carries a string-literal `code` so callers (the engine) can map it without parsing the
 * message, and a message that names the key, the value received and what is allowed.
 */
export type SchedulerErrorCode =
  /** `_class_name` or an enum value (beta_schedule, prediction_type, ...) this module does not implement. */
  | 'SCHEDULER_UNSUPPORTED'
  /** A config value of the wrong type or out of range (negative beta, non-integer step count, ...). */
  | 'SCHEDULER_INVALID_CONFIG'
  /** `numInferenceSteps` < 1, not an integer, or above what the config allows. */
  | 'SCHEDULER_INVALID_STEPS'
  /** A custom timestep schedule that is not strictly descending, out of range, or a timestep not in the schedule. */
  | 'SCHEDULER_INVALID_TIMESTEPS'
  /** Arrays whose lengths disagree (model output vs sample, noise vs sample, cfg halves). */
  | 'SCHEDULER_SHAPE_MISMATCH'
  /** `step` called before `setTimesteps`, or past the end of the schedule. */
  | 'SCHEDULER_NOT_READY'
  /** A stochastic step was given neither `noise` nor `rng`. */
  | 'SCHEDULER_NOISE_REQUIRED';

export class SchedulerError extends Error {
  readonly code: SchedulerErrorCode;
  constructor(code: SchedulerErrorCode, message: string) {
    super(message);
    this.name = 'SchedulerError';
    this.code = code;
  }
}
