/**
 * The diffusers ONNX layout: which files a pipeline folder holds and what their JSON says.
 * Pure parsing and validation; fetching lives in source.ts, sessions in ort.ts.
 *
 *   model_index.json                      _class_name + component list (+ our optional "fewstep" defaults)
 *   scheduler/scheduler_config.json       _class_name + diffusers keys
 *   tokenizer/tokenizer.json, tokenizer_config.json
 *   text_encoder/model.onnx (+config.json)
 *   unet/model.onnx (+config.json, model.onnx_data for > 2 GB exports)
 *   vae_decoder/model.onnx (+config.json)
 */
import { samplerClassFor } from '../schedulers';
import { EngineError } from './errors';

export const LAYOUT_FILES = {
  modelIndex: 'model_index.json',
  schedulerConfig: 'scheduler/scheduler_config.json',
  tokenizer: 'tokenizer/tokenizer.json',
  tokenizerConfig: 'tokenizer/tokenizer_config.json',
  textEncoder: 'text_encoder/model.onnx',
  textEncoderConfig: 'text_encoder/config.json',
  unet: 'unet/model.onnx',
  unetConfig: 'unet/config.json',
  vaeDecoder: 'vae_decoder/model.onnx',
  vaeDecoderConfig: 'vae_decoder/config.json',
} as const;

export type OnnxComponent = 'textEncoder' | 'unet' | 'vaeDecoder';
export const ONNX_COMPONENTS: readonly OnnxComponent[] = ['textEncoder', 'unet', 'vaeDecoder'];

/** Optional defaults a pipeline folder can carry in model_index.json under "fewstep". */
export interface PipelineDefaults {
  steps: number;
  guidanceScale: number;
  /** Scheduler class to use by default (normally the scheduler_config's own class). */
  sampler: string;
  allowedSteps: number[] | null;
  description: string;
}

export interface ModelLayout {
  pipelineClass: string;
  schedulerConfig: Record<string, unknown>;
  unetConfig: Record<string, unknown>;
  vaeConfig: Record<string, unknown>;
  textEncoderConfig: Record<string, unknown>;
  scalingFactor: number;
  /** LCM-distilled UNets take timestep_cond [B, timeCondProjDim]; null otherwise. */
  timeCondProjDim: number | null;
  defaults: PipelineDefaults;
}

type Json = Record<string, unknown>;

export function parseJsonFile(bytes: ArrayBuffer | string, path: string): Json {
  const text = typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new EngineError('MODEL_FILE_CORRUPT', `${path} is not valid JSON: ${(e as Error).message}`, path);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EngineError('MODEL_FILE_CORRUPT', `${path} must hold a JSON object.`, path);
  }
  return value as Json;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Check model_index.json names the components we need. */
export function validateModelIndex(index: Json): void {
  const path = LAYOUT_FILES.modelIndex;
  if (typeof index._class_name !== 'string') {
    throw new EngineError('MODEL_LAYOUT_INVALID', `${path} has no "_class_name"; is this a diffusers pipeline folder?`, path);
  }
  const missing = ['scheduler', 'text_encoder', 'tokenizer', 'unet'].filter((k) => !(k in index));
  if (!('vae_decoder' in index) && !('vae' in index)) missing.push('vae_decoder');
  if (missing.length > 0) {
    throw new EngineError(
      'MODEL_LAYOUT_INVALID',
      `${path} does not list the component(s) ${missing.join(', ')}. A text-to-image ONNX pipeline needs ` +
        'scheduler, tokenizer, text_encoder, unet and vae_decoder.',
      path,
    );
  }
}

/**
 * The scheduler class a sampler name in model_index.json's "fewstep.sampler" (or the URL) stands for: a class name,
 * or a short name / label of the sampler registry ("ddim", "euler_a", "Euler a"); unknown names are kept.
 */
export function samplerClass(name: string): string {
  return samplerClassFor(name);
}

export function parseDefaults(index: Json, schedulerConfig: Json): PipelineDefaults {
  const fs = (index.fewstep ?? {}) as Json;
  const allowed = Array.isArray(fs.allowed_steps)
    ? (fs.allowed_steps as unknown[]).filter((x): x is number => Number.isInteger(x) && (x as number) > 0)
    : null;
  return {
    steps: num(fs.default_steps) ?? 4,
    guidanceScale: num(fs.guidance_scale) ?? 1,
    sampler: samplerClass(typeof fs.sampler === 'string' ? fs.sampler : String(schedulerConfig._class_name ?? '')),
    allowedSteps: allowed && allowed.length > 0 ? allowed : null,
    description: typeof fs.description === 'string' ? fs.description : '',
  };
}

export function buildLayout(parts: {
  modelIndex: Json;
  schedulerConfig: Json;
  unetConfig: Json | null;
  vaeConfig: Json | null;
  textEncoderConfig: Json | null;
}): ModelLayout {
  validateModelIndex(parts.modelIndex);
  if (typeof parts.schedulerConfig._class_name !== 'string') {
    throw new EngineError(
      'MODEL_LAYOUT_INVALID',
      `${LAYOUT_FILES.schedulerConfig} has no "_class_name".`,
      LAYOUT_FILES.schedulerConfig,
    );
  }
  const unetConfig = parts.unetConfig ?? {};
  const vaeConfig = parts.vaeConfig ?? {};
  const scalingFactor = num(vaeConfig.scaling_factor) ?? 0.18215;
  if (scalingFactor <= 0) {
    throw new EngineError(
      'MODEL_LAYOUT_INVALID',
      `vae_decoder/config.json: scaling_factor must be positive, got ${String(vaeConfig.scaling_factor)}.`,
      LAYOUT_FILES.vaeDecoderConfig,
    );
  }
  const tcd = num(unetConfig.time_cond_proj_dim);
  return {
    pipelineClass: String(parts.modelIndex._class_name),
    schedulerConfig: parts.schedulerConfig,
    unetConfig,
    vaeConfig,
    textEncoderConfig: parts.textEncoderConfig ?? {},
    scalingFactor,
    timeCondProjDim: tcd !== null && tcd > 0 ? tcd : null,
    defaults: parseDefaults(parts.modelIndex, parts.schedulerConfig),
  };
}
