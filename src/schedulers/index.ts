/**
 * Fewstep schedulers: diffusers-compatible DDPM, DDIM, LCM, Euler, Euler Ancestral, DPM-Solver++ (multistep), TCD
 * and consistency-model multistep sampling in pure TypeScript,
 * plus the pipeline helpers that go with them (CFG, LCM guidance embedding, seeded Gaussian generators).
 * See README.md in this folder for the API and the diffusers behaviours reproduced.
 */
import { SchedulerError } from './errors';
import { samplerRow, samplerRows } from './registry';
import type { Scheduler } from './types';

export { createDDIMScheduler, DDIM_DEFAULTS, type DDIMConfig } from './ddim';
export { createDDPMScheduler, DDPM_DEFAULTS, DDPM_VARIANCE_TYPES, type DDPMConfig, type DDPMVarianceType } from './ddpm';
export { createLCMScheduler, LCM_DEFAULTS, lcmTimesteps, type LCMConfig } from './lcm';
export { createEulerDiscreteScheduler, EULER_DEFAULTS, type EulerConfig } from './euler';
export {
  createEulerAncestralDiscreteScheduler,
  EULER_ANCESTRAL_DEFAULTS,
  type EulerAncestralConfig,
} from './eulerAncestral';
export {
  createDPMSolverMultistepScheduler,
  DPM_SOLVER_MULTISTEP_DEFAULTS,
  type DPMSolverMultistepConfig,
} from './dpmSolverMultistep';
export { createTCDScheduler, TCD_DEFAULT_GAMMA, TCD_DEFAULTS, tcdTimesteps, type TCDConfig } from './tcd';
export {
  CM_STOCHASTIC_ITERATIVE_DEFAULTS,
  createCMStochasticIterativeScheduler,
  type CMStochasticIterativeConfig,
} from './cmStochasticIterative';
export { formatTimesteps, parseTimesteps } from './customTimesteps';
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
  StepCoefficients,
  StepOptions,
  StepResult,
} from './types';
export {
  gpuStepClasses,
  isSupportedScheduler,
  registerSampler,
  samplerClassFor,
  samplerLabel,
  samplerRow,
  samplerRows,
  SUPPORTED_SCHEDULERS,
  type NoiseUse,
  type SamplerRow,
} from './registry';
export { defineScheduler, ScheduleState, type SchedulerParts } from './base';
export type { ResolvedConfig } from './resolved';

/**
 * Build a scheduler from a parsed scheduler_config.json. The class is `opts.className` when given (e.g. run
 * "DDIMScheduler" from SD 1.5's PNDMScheduler config, as diffusers' `DDIMScheduler.from_config(pipe.scheduler.config)`
 * does), else `config._class_name`. Keys the class does not know are ignored; missing keys take its defaults.
 * Throws SchedulerError("SCHEDULER_UNSUPPORTED") listing the registered classes (registry.ts) for any other class.
 */
export function schedulerFromConfig(config: Record<string, unknown>, opts?: { className?: string }): Scheduler {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new SchedulerError('SCHEDULER_INVALID_CONFIG', 'schedulerFromConfig: config must be an object (a parsed scheduler_config.json).');
  }
  const name = opts?.className ?? config._class_name;
  const supported = samplerRows().map((r) => r.className);
  if (name === undefined) {
    throw new SchedulerError(
      'SCHEDULER_INVALID_CONFIG',
      `schedulerFromConfig: config has no "_class_name" and no className was given; supported: ${supported.join(', ')}.`,
    );
  }
  const row = typeof name === 'string' ? samplerRow(name) : undefined;
  if (!row) {
    const from = opts?.className !== undefined ? 'className' : '_class_name';
    throw new SchedulerError(
      'SCHEDULER_UNSUPPORTED',
      `Unsupported scheduler ${from} ${JSON.stringify(name)}; supported: ${supported.join(', ')}. ` +
        'Pass opts.className to run a supported class from this config.',
    );
  }
  return row.create(config);
}
