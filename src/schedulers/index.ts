/**
 * Fewstep schedulers: diffusers-compatible DDPM, DDIM, LCM, Euler and Euler Ancestral in pure TypeScript,
 * plus the pipeline helpers that go with them (CFG, LCM guidance embedding, seeded Gaussian generators).
 * See README.md in this folder for the API and the diffusers behaviours reproduced.
 */
import { createDDIMScheduler } from './ddim';
import { createDDPMScheduler } from './ddpm';
import { SchedulerError } from './errors';
import { createEulerDiscreteScheduler } from './euler';
import { createEulerAncestralDiscreteScheduler } from './eulerAncestral';
import { createLCMScheduler } from './lcm';
import type { Scheduler, SchedulerClassName } from './types';

export { createDDIMScheduler, DDIM_DEFAULTS, type DDIMConfig } from './ddim';
export { createDDPMScheduler, DDPM_DEFAULTS, DDPM_VARIANCE_TYPES, type DDPMConfig, type DDPMVarianceType } from './ddpm';
export { createLCMScheduler, LCM_DEFAULTS, lcmTimesteps, type LCMConfig } from './lcm';
export { createEulerDiscreteScheduler, EULER_DEFAULTS, type EulerConfig } from './euler';
export {
  createEulerAncestralDiscreteScheduler,
  EULER_ANCESTRAL_DEFAULTS,
  type EulerAncestralConfig,
} from './eulerAncestral';
export { cfgCombine, guidanceScaleEmbedding } from './guidance';
export { createGaussianRng, createTorchGenerator, torchRandn, type GaussianSource, type TorchNormalKernel } from './rng';
export { SchedulerError, type SchedulerErrorCode } from './errors';
export { BETA_SCHEDULES, PREDICTION_TYPES, TIMESTEP_SPACINGS, type BetaSchedule, type PredictionType, type TimestepSpacing } from './schedule';
export type {
  CommonConfig,
  NoiseSource,
  Scheduler,
  SchedulerClassName,
  SetTimestepsOptions,
  StepOptions,
  StepResult,
} from './types';
export type { ResolvedConfig } from './resolved';

const FACTORIES: Record<SchedulerClassName, (config: Record<string, unknown>) => Scheduler> = {
  DDPMScheduler: createDDPMScheduler,
  DDIMScheduler: createDDIMScheduler,
  LCMScheduler: createLCMScheduler,
  EulerDiscreteScheduler: createEulerDiscreteScheduler,
  EulerAncestralDiscreteScheduler: createEulerAncestralDiscreteScheduler,
};

/** The `_class_name` values `schedulerFromConfig` accepts. */
export const SUPPORTED_SCHEDULERS: readonly SchedulerClassName[] = Object.freeze(Object.keys(FACTORIES) as SchedulerClassName[]);

export function isSupportedScheduler(name: unknown): name is SchedulerClassName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(FACTORIES, name);
}

/**
 * Build a scheduler from a parsed scheduler_config.json. The class is `opts.className` when given (e.g. run
 * "DDIMScheduler" from SD 1.5's PNDMScheduler config, as diffusers' `DDIMScheduler.from_config(pipe.scheduler.config)`
 * does), else `config._class_name`. Keys the class does not know are ignored; missing keys take its defaults.
 * Throws SchedulerError("SCHEDULER_UNSUPPORTED") listing SUPPORTED_SCHEDULERS for any other class.
 */
export function schedulerFromConfig(config: Record<string, unknown>, opts?: { className?: string }): Scheduler {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new SchedulerError('SCHEDULER_INVALID_CONFIG', 'schedulerFromConfig: config must be an object (a parsed scheduler_config.json).');
  }
  const name = opts?.className ?? config._class_name;
  if (name === undefined) {
    throw new SchedulerError(
      'SCHEDULER_INVALID_CONFIG',
      `schedulerFromConfig: config has no "_class_name" and no className was given; supported: ${SUPPORTED_SCHEDULERS.join(', ')}.`,
    );
  }
  if (!isSupportedScheduler(name)) {
    const from = opts?.className !== undefined ? 'className' : '_class_name';
    throw new SchedulerError(
      'SCHEDULER_UNSUPPORTED',
      `Unsupported scheduler ${from} ${JSON.stringify(name)}; supported: ${SUPPORTED_SCHEDULERS.join(', ')}. ` +
        'Pass opts.className to run a supported class from this config.',
    );
  }
  return FACTORIES[name](config);
}
