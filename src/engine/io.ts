/**
 * dtype and shape adaptation between our Float32 latents / integer ids and whatever an ONNX export declares.
 * Exports differ: input_ids int32 or int64, timestep float32, float16 or int64, scalar or [B] or [1], and fp16
 * models may take/return float16. We read the declared type and rank from session metadata and convert here.
 */
import { EngineError } from './errors';
import { float16BitsToFloat32, float32ToFloat16Bits } from './float16';

export type DType = 'float32' | 'float16' | 'int64' | 'int32' | 'float64';

/**
 * The one table of ONNX input and output names the engine looks for, per component: exports name things
 * differently, so each role lists its candidates in order (pipeline/bindings.ts resolves them once per model).
 */
export const IO_NAMES = {
  textEncoder: {
    inputIds: ['input_ids'],
    attentionMask: ['attention_mask'],
    output: 'last_hidden_state',
    /**
     * SDXL: per-layer hidden states `hidden_states.<i>` (Optimum's CLIPTextOnnxConfig / CLIPTextWithProjectionOnnxConfig
     * with output_hidden_states: i = 0 (embeddings) .. num_hidden_layers; the WebNN export keeps only the penultimate
     * one, `hidden_states.11` of CLIP ViT-L and `hidden_states.31` of OpenCLIP bigG). pipeline/sdxl.ts picks one.
     */
    hiddenStatePrefix: 'hidden_states.',
    /** SDXL: text_encoder_2's pooled, projected output (CLIPTextModelWithProjection.text_embeds) [B, 1280]. */
    projected: ['text_embeds'],
  },
  unet: {
    sample: ['sample'],
    timestep: ['timestep', 't', 'timesteps'],
    encoderHiddenStates: ['encoder_hidden_states'],
    /** LCM's guidance-scale embedding. */
    timestepCond: ['timestep_cond', 'w_embedding'],
    /** SDXL's added_cond_kwargs["text_embeds"]: the pooled prompt embedding [B, 1280]. */
    textEmbeds: ['text_embeds'],
    /** SDXL's added_cond_kwargs["time_ids"]: (original_size, crops_coords_top_left, target_size) [B, 6]. */
    timeIds: ['time_ids'],
    output: 'out_sample',
  },
  vae: {
    latents: ['latent_sample', 'latents', 'z'],
    output: 'sample',
  },
} as const;

export interface IoSpec {
  name: string;
  type: string;
  /** Declared dims: numbers for fixed axes, strings for symbolic ones; empty when unknown. */
  shape: ReadonlyArray<number | string>;
}

export interface TensorLike {
  type: string;
  dims: readonly number[];
  data: unknown;
}

export type TensorData = Float32Array | Uint16Array | BigInt64Array | Int32Array | Float64Array;

/**
 * Convert numbers to the typed array an ORT tensor of `type` expects. Integer types truncate toward zero, as
 * diffusers' ONNX pipeline does when it feeds a timestep (`np.array([t], dtype=np.int64)`: 499.5 -> 499, not 500);
 * token ids are whole numbers and unaffected.
 *
 * @throws EngineError TENSOR_SHAPE_MISMATCH for an unsupported `type`, or a non-finite value for an integer type
 */
export function toTypedArray(values: ArrayLike<number>, type: string, name: string): TensorData {
  switch (type) {
    case 'float32':
      return values instanceof Float32Array ? values : Float32Array.from(values);
    case 'float16':
      return float32ToFloat16Bits(values instanceof Float32Array ? values : Float32Array.from(values));
    case 'float64':
      return Float64Array.from(values);
    case 'int64': {
      const out = new BigInt64Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = BigInt(truncInt(values[i], name));
      return out;
    }
    case 'int32': {
      const out = new Int32Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = truncInt(values[i], name);
      return out;
    }
    default:
      throw new EngineError(
        'TENSOR_SHAPE_MISMATCH',
        `Input "${name}" has type ${type}; supported: float32, float16, float64, int64, int32.`,
      );
  }
}

/** `v` truncated toward zero (numpy's float -> int cast); a NaN or infinite value cannot be an integer feed. */
function truncInt(v: number, name: string): number {
  if (!Number.isFinite(v)) {
    throw new EngineError('TENSOR_SHAPE_MISMATCH', `Input "${name}" is an integer tensor but received ${v}; expected a finite number.`);
  }
  return Math.trunc(v);
}

/** Read any numeric ORT output as Float32Array (float16 arrives as Uint16Array bits or Float16Array). */
export function toFloat32(t: TensorLike, name: string): Float32Array {
  const d = t.data;
  if (d instanceof Float32Array) return d;
  if (t.type === 'float16') {
    if (d instanceof Uint16Array) return float16BitsToFloat32(d);
    // Float16Array where available
    return Float32Array.from(d as ArrayLike<number>);
  }
  if (d instanceof Float64Array || d instanceof Int32Array) return Float32Array.from(d);
  if (d instanceof BigInt64Array) return Float32Array.from(d, (x) => Number(x));
  throw new EngineError('TENSOR_SHAPE_MISMATCH', `Output "${name}" has unsupported type ${t.type}.`);
}

/**
 * Dims for a timestep-like input from its declared rank: scalar [] for rank 0, [batch] for a symbolic or
 * matching axis, [1] when the export fixes it to 1 (then the same value is broadcast by the model).
 */
export function timestepDims(spec: IoSpec, batch: number): number[] {
  if (spec.shape.length === 0) return [];
  const d0 = spec.shape[0];
  if (typeof d0 === 'number' && d0 > 0) return [d0];
  return [batch];
}

/**
 * The batch a model accepts: null for a symbolic batch axis (any), else the fixed number.
 */
export function fixedBatch(spec: IoSpec | undefined): number | null {
  if (!spec || spec.shape.length === 0) return null;
  const d0 = spec.shape[0];
  return typeof d0 === 'number' && d0 > 0 ? d0 : null;
}

/** Check concrete dims against declared dims (symbolic and -1 axes match anything). */
export function checkDims(spec: IoSpec, dims: readonly number[], file: string): void {
  if (spec.shape.length === 0) return; // unknown: nothing to check
  const bad =
    spec.shape.length !== dims.length ||
    spec.shape.some((d, i) => typeof d === 'number' && d > 0 && d !== dims[i]);
  if (bad) {
    throw new EngineError(
      'TENSOR_SHAPE_MISMATCH',
      `${file}: input "${spec.name}" expects shape [${spec.shape.join(', ')}] but the pipeline would feed ` +
        `[${dims.join(', ')}]. The model's components do not fit together (check sample_size and cross_attention_dim).`,
      file,
    );
  }
}
