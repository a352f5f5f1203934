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
 * SDXL (pipeline kind 'sdxl') adds
 *   text_encoder_2/model.onnx (+config.json)   OpenCLIP bigG with projection
 *   tokenizer_2/tokenizer.json, tokenizer_config.json  (optional here: derived from tokenizer/ with pad "!")
 *
 * Exports in another file layout (the WebNN team's `onnx/unet_model_q4f16.onnx`, ...) name their graphs in
 * model_index.json under "fewstep": {"components": {"unet": "onnx/unet_model_q4f16.onnx", ...}};
 * {@link componentFilesFromList} reads that layout from a file list (the catalog overlay uses it).
 */
import { isSafeRelPath } from './catalog/schema';
import { samplerClassFor, samplerRow } from '../schedulers';
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
  textEncoder2: 'text_encoder_2/model.onnx',
  textEncoder2Config: 'text_encoder_2/config.json',
  tokenizer2: 'tokenizer_2/tokenizer.json',
  tokenizer2Config: 'tokenizer_2/tokenizer_config.json',
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
  /** Which pipeline this is ({@link pipelineKindOf}): decides the text encoders and the UNet's extra inputs. */
  kind: PipelineKind;
  /** Where each ONNX graph lives (`<component>/model.onnx`, or what model_index.json's fewstep.components says). */
  components: ComponentFiles;
  /** text_encoder_2/config.json (SDXL), {} when absent. */
  textEncoder2Config: Record<string, unknown>;
  /**
   * model_index.json's `force_zeros_for_empty_prompt` (diffusers' StableDiffusionXLPipeline, default true): under
   * CFG an empty negative prompt means all-zero negative embeddings instead of the encoded "".
   */
  forceZerosForEmptyPrompt: boolean;
}

/**
 * The pipeline kinds the engine runs:
 *  - 'sd': StableDiffusionPipeline / OnnxStableDiffusionPipeline / LatentConsistencyModelPipeline (SD 1.x, 2.x,
 *    SD-Turbo, LCM): one CLIP text encoder's last_hidden_state as encoder_hidden_states.
 *  - 'sdxl': StableDiffusionXLPipeline / ORTStableDiffusionXLPipeline (SDXL, SDXL-Turbo): two text encoders whose
 *    penultimate hidden states are concatenated (768 + 1280 = 2048 channels), text_encoder_2's pooled projection as
 *    the UNet's `text_embeds` and the micro-conditioning `time_ids` (diffusers pipeline_stable_diffusion_xl.py).
 */
export type PipelineKind = 'sd' | 'sdxl';

/** Paths of a pipeline's ONNX graphs inside its folder; `textEncoder2` only for SDXL. */
export interface ComponentFiles {
  textEncoder: string;
  textEncoder2: string | null;
  unet: string;
  vaeDecoder: string;
}

/** diffusers component name -> key of {@link ComponentFiles}. */
const COMPONENT_KEYS = { text_encoder: 'textEncoder', text_encoder_2: 'textEncoder2', unet: 'unet', vae_decoder: 'vaeDecoder' } as const;
type DiffusersComponent = keyof typeof COMPONENT_KEYS;

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

/** SDXL pipeline classes: diffusers' StableDiffusionXLPipeline, Optimum's ORTStableDiffusionXLPipeline, Onnx... */
const SDXL_CLASS = /^(ORT|Onnx)?StableDiffusionXL(Img2Img|Inpaint)?Pipeline$/;

/**
 * The pipeline kind a model_index.json describes: 'sdxl' for an SDXL pipeline class (StableDiffusionXLPipeline,
 * ORTStableDiffusionXLPipeline, OnnxStableDiffusionXLPipeline) or an index that lists text_encoder_2 next to a
 * unet; 'sd' otherwise (StableDiffusionPipeline, OnnxStableDiffusionPipeline, LatentConsistencyModelPipeline, ...).
 * The UNet's inputs are checked against the kind when the sessions exist (pipeline/bindings.ts).
 * @throws EngineError MODEL_LAYOUT_INVALID for the SDXL refiner (no text_encoder, aesthetic-score time_ids)
 */
export function pipelineKindOf(index: Json): PipelineKind {
  const cls = typeof index._class_name === 'string' ? index._class_name : '';
  const listed = (k: string): boolean => Array.isArray(index[k]) ? (index[k] as unknown[])[0] !== null : k in index;
  const sdxl = SDXL_CLASS.test(cls) || (listed('text_encoder_2') && listed('unet'));
  if (!sdxl) return 'sd';
  if (index.requires_aesthetics_score === true || (listed('text_encoder_2') && !listed('text_encoder'))) {
    throw new EngineError(
      'MODEL_LAYOUT_INVALID',
      `${LAYOUT_FILES.modelIndex} describes an SDXL refiner (${cls || 'no _class_name'}: ${index.requires_aesthetics_score === true ? 'requires_aesthetics_score' : 'no text_encoder'}), an image-to-image stage; this app runs text-to-image pipelines (SD 1.x/2.x, SD-Turbo, LCM, SDXL, SDXL-Turbo).`,
      LAYOUT_FILES.modelIndex,
    );
  }
  return 'sdxl';
}

/** Check model_index.json names the components we need (SDXL: text_encoder_2 too). */
export function validateModelIndex(index: Json): void {
  const path = LAYOUT_FILES.modelIndex;
  if (typeof index._class_name !== 'string') {
    throw new EngineError('MODEL_LAYOUT_INVALID', `${path} has no "_class_name"; is this a diffusers pipeline folder?`, path);
  }
  const kind = pipelineKindOf(index);
  const needed = ['scheduler', 'text_encoder', 'tokenizer', 'unet', ...(kind === 'sdxl' ? ['text_encoder_2'] : [])];
  const missing = needed.filter((k) => !(k in index));
  if (!('vae_decoder' in index) && !('vae' in index)) missing.push('vae_decoder');
  if (missing.length > 0) {
    throw new EngineError(
      'MODEL_LAYOUT_INVALID',
      `${path} does not list the component(s) ${missing.join(', ')}. A text-to-image ONNX pipeline needs ` +
        `scheduler, tokenizer, text_encoder, unet and vae_decoder${kind === 'sdxl' ? `; an SDXL pipeline (${String(index._class_name)}) also text_encoder_2` : ''}.`,
      path,
    );
  }
}

/**
 * Where the ONNX graphs live: `<component>/model.onnx` (diffusers / Optimum layout), or the paths model_index.json
 * gives under "fewstep": {"components": {"unet": "onnx/unet_model_q4f16.onnx", ...}} (relative, `/`-separated).
 * @throws EngineError MODEL_LAYOUT_INVALID naming model_index.json for a bad path or an unknown component
 */
export function componentFilesOf(index: Json, kind: PipelineKind = pipelineKindOf(index)): ComponentFiles {
  const path = LAYOUT_FILES.modelIndex;
  const out: ComponentFiles = {
    textEncoder: LAYOUT_FILES.textEncoder,
    textEncoder2: kind === 'sdxl' ? LAYOUT_FILES.textEncoder2 : null,
    unet: LAYOUT_FILES.unet,
    vaeDecoder: LAYOUT_FILES.vaeDecoder,
  };
  const given = ((index.fewstep ?? {}) as Json).components;
  if (given === undefined) return out;
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new EngineError('MODEL_LAYOUT_INVALID', `${path}: fewstep.components must map component names to file paths, e.g. {"unet": "onnx/unet_model_q4f16.onnx"}.`, path);
  }
  for (const [name, file] of Object.entries(given as Json)) {
    const key = COMPONENT_KEYS[name as DiffusersComponent];
    if (!key) {
      throw new EngineError('MODEL_LAYOUT_INVALID', `${path}: fewstep.components.${name} is not a component this app loads (${Object.keys(COMPONENT_KEYS).join(', ')}).`, path);
    }
    if (typeof file !== 'string' || !isSafeRelPath(file) || !file.endsWith('.onnx')) {
      throw new EngineError('MODEL_LAYOUT_INVALID', `${path}: fewstep.components.${name} must be a relative path to an .onnx file, got ${JSON.stringify(file)}.`, path);
    }
    if (key === 'textEncoder2' && kind !== 'sdxl') continue;
    out[key] = file;
  }
  return out;
}

/** The graphs in session order: text_encoder, unet, vae_decoder, then text_encoder_2 (SDXL). */
export function onnxFilesOf(c: ComponentFiles): string[] {
  return [c.textEncoder, c.unet, c.vaeDecoder, ...(c.textEncoder2 ? [c.textEncoder2] : [])];
}

/**
 * The graphs of an export from its file list, for exports without a model_index.json: the diffusers layout
 * (`text_encoder/model.onnx`, ...) or the flat `onnx/<component>_model[_<variant>].onnx` layout of the WebNN
 * developer preview's exports (webnn/sdxl-turbo: `onnx/text_encoder_model_q4f16.onnx`,
 * `onnx/text_encoder_2_model_q4f16.onnx`, `onnx/unet_model_q4f16.onnx`, `onnx/vae_decoder_model_q4f16.onnx`).
 * The first listed file wins when a component has several variants. Returns the diffusers component names found
 * (`text_encoder_2` only when such a graph is listed) and their paths.
 */
export function componentFilesFromList(paths: readonly string[]): Partial<Record<DiffusersComponent, string>> {
  const out: Partial<Record<DiffusersComponent, string>> = {};
  const names = Object.keys(COMPONENT_KEYS) as DiffusersComponent[];
  for (const p of paths) {
    for (const name of names) {
      if (out[name]) continue;
      // `text_encoder_model...` must not claim `text_encoder_2_model...`: the name is followed by "_model".
      if (p === `${name}/model.onnx` || new RegExp(`^onnx/${name}_model(_[A-Za-z0-9_]+)?\\.onnx$`).test(p)) out[name] = p;
    }
  }
  return out;
}

/**
 * The scheduler class a sampler name in model_index.json's "fewstep.sampler" (or the URL) stands for: a class name,
 * or a short name / label of the sampler registry ("ddim", "euler_a", "Euler a"); unknown names are kept.
 */
export function samplerClass(name: string): string {
  return samplerClassFor(name);
}

/**
 * Scheduler classes that diffusers exports name in scheduler_config.json but this engine does not implement, and the
 * class their pipeline runs with instead, from the same config (betas, steps_offset, prediction_type): SD 1.x / 2.x
 * exports ship PNDMScheduler, and diffusers users swap it the same way (`DDIMScheduler.from_config(pipe.scheduler
 * .config)`). The folder's own class stays in its config (`fewstep info` lists it as a problem).
 */
export const SCHEDULER_FALLBACK: Readonly<Record<string, string>> = {
  PNDMScheduler: 'DDIMScheduler',
  LMSDiscreteScheduler: 'EulerDiscreteScheduler',
};

/** The sampler a folder runs by default: model_index.json's fewstep.sampler, else its scheduler class (or that
 * class's SCHEDULER_FALLBACK when the engine does not implement it). */
export function parseDefaults(index: Json, schedulerConfig: Json): PipelineDefaults {
  const fs = (index.fewstep ?? {}) as Json;
  const cls = String(schedulerConfig._class_name ?? '');
  const folderClass = !samplerRow(cls) && SCHEDULER_FALLBACK[cls] ? SCHEDULER_FALLBACK[cls] : cls;
  const allowed = Array.isArray(fs.allowed_steps)
    ? (fs.allowed_steps as unknown[]).filter((x): x is number => Number.isInteger(x) && (x as number) > 0)
    : null;
  return {
    steps: num(fs.default_steps) ?? 4,
    guidanceScale: num(fs.guidance_scale) ?? 1,
    sampler: samplerClass(typeof fs.sampler === 'string' ? fs.sampler : folderClass),
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
  /** text_encoder_2/config.json (SDXL), when present. */
  textEncoder2Config?: Json | null;
}): ModelLayout {
  validateModelIndex(parts.modelIndex);
  const kind = pipelineKindOf(parts.modelIndex);
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
    kind,
    components: componentFilesOf(parts.modelIndex, kind),
    textEncoder2Config: parts.textEncoder2Config ?? {},
    forceZerosForEmptyPrompt: parts.modelIndex.force_zeros_for_empty_prompt !== false,
  };
}
