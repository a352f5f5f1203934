/**
 * The sampler registry: one row per sampler, and everything that names or picks a sampler derives from it (the
 * app's picker, PNG metadata, comparison records, the bench, model_index.json's short names, the GPU loop's
 * choice). Adding a sampler = one scheduler file + one row here (or `registerSampler` at run time).
 */
import { createCMStochasticIterativeScheduler } from './cmStochasticIterative';
import { createDDIMScheduler } from './ddim';
import { createDDPMScheduler } from './ddpm';
import { createDPMSolverMultistepScheduler } from './dpmSolverMultistep';
import { SchedulerError } from './errors';
import { createEulerDiscreteScheduler } from './euler';
import { createEulerAncestralDiscreteScheduler } from './eulerAncestral';
import { createLCMScheduler } from './lcm';
import { createTCDScheduler } from './tcd';
import type { Scheduler, SchedulerClassName } from './types';

/** Which steps draw noise: never, only with eta > 0 (DDIM), all but some steps (DDPM at t = 0, LCM's last), every step. */
export type NoiseUse = 'never' | 'eta' | 'most-steps' | 'every-step';

export interface SamplerRow {
  /** diffusers class name (scheduler_config.json `_class_name`): the row's key. */
  className: string;
  /** Short label for pickers, charts and tables, e.g. "Euler a". */
  label: string;
  /** AUTOMATIC1111's sampler name, written as "Sampler:" in PNG `parameters` text. */
  a1111: string;
  /** Other names accepted for it (model_index.json "fewstep.sampler", the URL), lower case. */
  aliases: readonly string[];
  needs: {
    /** Made for classifier-free guidance (an [uncond, cond] UNet batch when guidance > 1). */
    cfg: boolean;
    /** Made for UNets that take a guidance-scale embedding (LCM's timestep_cond) instead of CFG. */
    guidanceEmbedding: boolean;
    noise: NoiseUse;
    /** Its step is affine per element: the scheduler implements `stepCoefficients` and the GPU-resident loop can run it. */
    gpuStep: boolean;
  };
  create(config: Record<string, unknown>): Scheduler;
}

const BUILT_IN: readonly SamplerRow[] = [
  { className: 'DDPMScheduler', label: 'DDPM', a1111: 'DDPM', aliases: ['ddpm'], needs: { cfg: true, guidanceEmbedding: false, noise: 'most-steps', gpuStep: true }, create: createDDPMScheduler },
  { className: 'DDIMScheduler', label: 'DDIM', a1111: 'DDIM', aliases: ['ddim'], needs: { cfg: true, guidanceEmbedding: false, noise: 'eta', gpuStep: true }, create: createDDIMScheduler },
  { className: 'LCMScheduler', label: 'LCM', a1111: 'LCM', aliases: ['lcm'], needs: { cfg: false, guidanceEmbedding: true, noise: 'most-steps', gpuStep: true }, create: createLCMScheduler },
  { className: 'EulerDiscreteScheduler', label: 'Euler', a1111: 'Euler', aliases: ['euler'], needs: { cfg: true, guidanceEmbedding: false, noise: 'never', gpuStep: true }, create: createEulerDiscreteScheduler },
  {
    className: 'EulerAncestralDiscreteScheduler', label: 'Euler a', a1111: 'Euler a', aliases: ['euler_a', 'euler_ancestral'],
    needs: { cfg: true, guidanceEmbedding: false, noise: 'every-step', gpuStep: false }, create: createEulerAncestralDiscreteScheduler,
  },
  // gpuStep false: the 2M step also reads the previous step's x0 (not affine in sample and model output alone), so
  // the GPU-resident loop falls back to the CPU loop for it.
  {
    className: 'DPMSolverMultistepScheduler', label: 'DPM++ 2M', a1111: 'DPM++ 2M', aliases: ['dpm++_2m', 'dpmpp_2m', 'dpm++', 'dpmsolver++'],
    needs: { cfg: true, guidanceEmbedding: false, noise: 'never', gpuStep: false }, create: createDPMSolverMultistepScheduler,
  },
  // noise 'eta': gamma ("stochasticity") is the step's `eta` (default 0.3); with gamma > 0 every step but the last
  // draws noise. gpuStep true: prev = k (sqrt(a_s) x0 + sqrt(1 - a_s) eps) + c z is affine in (x, m, z).
  {
    className: 'TCDScheduler', label: 'TCD', a1111: 'TCD', aliases: ['tcd'],
    needs: { cfg: true, guidanceEmbedding: false, noise: 'eta', gpuStep: true }, create: createTCDScheduler,
  },
  // Consistency models: upstream's pipeline has no guidance; cfg true lets a text-conditional CM take CFG when guidance > 1.
  // Noise on every step of a multistep schedule (1 step is deterministic).
  // gpuStep true: prev = clamp(c_skip x + c_out m) + c z is affine in (x, m, z) with the clamp on x0.
  {
    className: 'CMStochasticIterativeScheduler', label: 'CM multistep', a1111: 'CM multistep', aliases: ['cm', 'consistency', 'cm_multistep'],
    needs: { cfg: true, guidanceEmbedding: false, noise: 'every-step', gpuStep: true }, create: createCMStochasticIterativeScheduler,
  },
];

const rows = new Map<string, SamplerRow>(BUILT_IN.map((r) => [r.className, r]));

/** The built-in class names (the registry can hold more). */
export const SUPPORTED_SCHEDULERS: readonly SchedulerClassName[] = Object.freeze(BUILT_IN.map((r) => r.className as SchedulerClassName));

/** Every registered sampler, in registration order. */
export function samplerRows(): readonly SamplerRow[] {
  return [...rows.values()];
}

/** The row of a class name, or undefined. */
export function samplerRow(className: string): SamplerRow | undefined {
  return rows.get(className);
}

/** Add a sampler (throws if its class name is taken). Returns a function that removes it again (tests). */
export function registerSampler(row: SamplerRow): () => void {
  if (rows.has(row.className)) {
    throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `registerSampler: ${row.className} is already registered.`);
  }
  const frozen = Object.freeze({ ...row, aliases: Object.freeze(row.aliases.map((a) => a.toLowerCase())), needs: Object.freeze({ ...row.needs }) });
  rows.set(row.className, frozen);
  return () => {
    if (rows.get(row.className) === frozen) rows.delete(row.className);
  };
}

/** Whether `name` is a registered class name. */
export function isSupportedScheduler(name: unknown): name is SchedulerClassName {
  return typeof name === 'string' && rows.has(name);
}

/** Short label of a class ("EulerAncestralDiscreteScheduler" -> "Euler a"); unknown names are returned unchanged. */
export function samplerLabel(className: string): string {
  return rows.get(className)?.label ?? className;
}

/**
 * The class a name stands for: a class name, label, A1111 name or alias, case-insensitive ("euler_a", "Euler a",
 * "eulerancestraldiscretescheduler" -> "EulerAncestralDiscreteScheduler"); unknown names are returned unchanged.
 */
export function samplerClassFor(name: string): string {
  const n = name.trim().toLowerCase();
  for (const r of rows.values()) {
    if (r.className.toLowerCase() === n || r.label.toLowerCase() === n || r.a1111.toLowerCase() === n || r.aliases.includes(n)) return r.className;
  }
  return name;
}

/** Class names whose scheduler has a GPU step (`stepCoefficients`). */
export function gpuStepClasses(): string[] {
  return samplerRows()
    .filter((r) => r.needs.gpuStep)
    .map((r) => r.className);
}
