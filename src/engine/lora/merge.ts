/**
 * Merging LoRA adapters into an ONNX U-Net's weights, in place in the model's own bytes, before its session is made.
 *
 * For each adapted module with down A ([r, in] or conv [r, in, kh, kw]) and up B ([out, r] or [out, r, 1, 1]):
 *
 *   W += scale * (alpha / r) * B @ A            (peft tuners/lora/layer.py Linear.get_delta_weight)
 *   conv: delta[o, i, h, w] = sum_k B[o, k] * A[k, i, h, w]   (peft Conv2d.get_delta_weight for 1x1 up; kohya
 *         networks/lora.py LoRAModule.merge_to for LoCon 3x3 down / 1x1 up)
 *
 * with alpha and r read as lora/keys.ts says, `scale` the user's strength per adapter (diffusers'
 * `set_adapters(..., adapter_weights)` / `fuse_lora(lora_scale)`). The delta is added in the weight's stored
 * layout (the transpose for MatMul [in, out] weights, as onnx-web's convert/diffusion/lora.py does) and dtype:
 * float32 weights get W + delta rounded to float32, float16 weights fp16(fp32(W) + fp32(delta)) (the float64 delta
 * is rounded to float32, then the sum to float16, round to nearest even: within one float16 ulp of PyTorch's
 * `w.add_(delta.to(w.dtype))`, which rounds the delta to float16 first). The Python
 * reference of the same merge is training/fewstep/lora.py `merge`.
 *
 * Memory: nothing of the model is copied. Each weight is read and written one row at a time through a row-sized
 * scratch buffer; per weight, the factors are held as float64 [rows, r] and [cols, r] arrays (a 1280 x 1280 rank-64
 * weight: 1.3 MB) in the row kernel's memory (kernel.ts, WebAssembly SIMD where available), reused for the next
 * weight and dropped with the merge. The adapters' files are read where they lie (parsed headers, byte ranges).
 *
 * Order: every adapter is parsed, every key mapped and every shape, dtype and byte range checked before the first
 * byte is written, so an error leaves the model's bytes exactly as they were.
 */
import { EngineError } from '../errors';
import { float16BitsToFloat32Into, float32ToFloat16BitsInto } from '../float16';
import { createRowKernel, RANK_ALIGN, type RowKernel } from './kernel';
import { loraScaling, moduleAlpha, normalizeLoraKeys, type LoraFormat, type LoraModule } from './keys';
import { indexWeights, weightView, type ModuleWeight } from './onnxWeights';
import { isLoraScale, LORA_SCALE_RANGE } from './scale';
import { parseSafetensors, READABLE_DTYPES, tensorToFloat32, type SafetensorsFile, type SafetensorsTensor } from './safetensors';


/**
 * The share of an adapter's U-Net modules that may lack a weight in the graph (at least 2 modules) before the merge
 * is refused: a LoRA made for this base matches every module, so a larger gap means another model family or a graph
 * whose node names lost their module scopes, and merging the rest would apply it half-way (an LCM-LoRA without its
 * attention modules renders noise at 4 steps).
 */
export const LORA_UNMATCHED_MODULE_LIMIT = 0.1;

/** One adapter to merge: its file's bytes and the strength to apply it with. */
export interface LoraAdapter {
  /** Shown in messages and reports (a file name without `.safetensors`, e.g. "fewstep-lcm-lora"). */
  name: string;
  /** The whole .safetensors file. */
  bytes: Uint8Array;
  /** Strength: the multiplier of alpha / r * B @ A; 1 applies it as trained, 0 leaves the model unchanged. Within LORA_SCALE_RANGE (lora/scale.ts). */
  scale: number;
}

/** What one adapter did. Key counts are tensor names: matched + unmatched + textEncoderKeys = the file's tensors. */
export interface LoraMergeReport {
  name: string;
  scale: number;
  /** The key layout of its (first) U-Net module: diffusers/PEFT, older diffusers processors, or kohya. */
  format: LoraFormat;
  /** r and alpha of its first merged module (files from one training run share them). */
  rank: number;
  alpha: number;
  /** Keys merged (down, up and alpha keys of modules found in the U-Net). */
  matched: number;
  /** Keys not applied: modules the U-Net does not have, and keys that are no LoRA weight at all. */
  unmatched: number;
  /** Text-encoder keys (lora_te_, text_encoder.): not applied, text-encoder LoRA is not supported. */
  textEncoderKeys: number;
  /** The first unmatched key, when there is one. */
  firstUnmatched?: string;
}

export interface LoraMergeResult {
  adapters: LoraMergeReport[];
  /** Distinct weights (initializers) changed; 0 when every scale is 0. */
  weightsChanged: number;
  /** Wall time of the whole merge (parse, checks, arithmetic), milliseconds. */
  ms: number;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** One adapted module, checked and ready to merge. */
interface Planned {
  file: SafetensorsFile;
  weight: ModuleWeight;
  view: Uint8Array;
  down: SafetensorsTensor;
  up: SafetensorsTensor;
  rank: number;
  /** scale * alpha / r (or alpha / sqrt r). */
  factor: number;
}

const shape = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Checks one module's A and B against the weight they change; returns the rank. */
function checkShapes(name: string, m: LoraModule, down: SafetensorsTensor, up: SafetensorsTensor, w: ModuleWeight, file: string): number {
  const a = down.shape;
  const b = up.shape;
  const d = w.dims;
  const r = a[0];
  let ok = (a.length === 2 || a.length === 4) && (b.length === 2 || (b.length === 4 && b[2] === 1 && b[3] === 1)) && r > 0 && b[1] === r;
  let torch: number[];
  if (w.op === 'Conv') {
    torch = d;
    const [kh, kw] = [d[2] ?? 1, d[3] ?? 1];
    ok &&= d.length === 4 && w.group === 1 && b[0] === d[0] && a[1] === d[1] && (a.length === 4 ? a[2] === kh && a[3] === kw : kh === 1 && kw === 1);
  } else {
    torch = w.transposed ? [d[1], d[0]] : [d[0], d[1]];
    ok &&= d.length === 2 && b[0] === torch[0] && a[1] === torch[1] && (a.length === 2 || (a[2] === 1 && a[3] === 1));
  }
  if (!ok) {
    const stored = w.op === 'Conv' ? shape(d) : `${shape(d)}${w.transposed ? ' ([in, out], MatMul)' : ''}, i.e. [out, in] = ${shape(torch)}`;
    throw new EngineError(
      'LORA_MISMATCH',
      `LoRA "${name}": ${down.name} is ${shape(a)} and ${up.name} is ${shape(b)}, but ${m.path === w.module ? w.module : `${m.path} (${w.module})`} ` +
        `in ${file} is ${stored} (${w.initializer.name}). Was the LoRA made for another base model? Use a LoRA trained on this model's base.`,
      file,
    );
  }
  return r;
}

function checkReadable(name: string, t: SafetensorsTensor): void {
  if (!(READABLE_DTYPES as readonly string[]).includes(t.dtype)) {
    throw new EngineError(
      'LORA_INVALID',
      `LoRA "${name}": tensor "${t.name}" is ${t.dtype}; LoRA weights must be ${READABLE_DTYPES.join(', ')}. Convert the file (e.g. with safetensors in Python) and try again.`,
      name,
    );
  }
}

/**
 * Add the low-rank products of one weight's terms to it, in place, in its own dtype: with the weight stored as
 * `rows` x `cols` (row-major), W[i, j] += sum_t sum_k L_t[i, k] * MT_t[j, k]. The terms of all adapters are laid
 * side by side as one product of rank sum(r_t) (padded with zeros to a multiple of RANK_ALIGN), computed in float64
 * by the row kernel (kernel.ts: WebAssembly SIMD, else JS); W + delta is summed in float32 and stored in the weight's
 * dtype (float16: a second rounding). One row at a time
 * through a scratch row (typed arrays need aligned offsets; protobuf raw_data has none).
 *
 * Stored [out, in * kh * kw] (Conv, Gemm transB = 1): L = factor * B, MT = A transposed.
 * Stored [in, out] (MatMul, Gemm transB = 0): L = factor * A transposed, MT = B.
 */
function mergeWeight(kernel: RowKernel, list: Planned[]): void {
  const w = list[0].weight;
  const parts = list.map((p) => ({ p, a: tensorToFloat32(p.file, p.down), b: tensorToFloat32(p.file, p.up) }));
  const out = list[0].up.shape[0];
  const inner = parts[0].a.length / list[0].rank; // in * kh * kw
  const [rows, cols] = w.transposed ? [inner, out] : [out, inner];
  const rank = list.reduce((n, p) => n + p.rank, 0);
  const rp = Math.ceil(rank / RANK_ALIGN) * RANK_ALIGN;
  const { l, mt, out: dots } = kernel.alloc(rows * rp, cols * rp, cols);
  let c0 = 0;
  for (const { p, a, b } of parts) {
    const r = p.rank;
    // aT[j, k] = A[k, j] (j < inner); bs[o, k] = B[o, k] (o < out)
    const [lSrc, lTrans, mSrc, mTrans] = w.transposed ? [a, true, b, false] : [b, false, a, true];
    for (let i = 0; i < rows; i++) for (let k = 0; k < r; k++) l[i * rp + c0 + k] = p.factor * (lTrans ? lSrc[k * rows + i] : lSrc[i * r + k]);
    for (let j = 0; j < cols; j++) for (let k = 0; k < r; k++) mt[j * rp + c0 + k] = mTrans ? mSrc[k * cols + j] : mSrc[j * r + k];
    c0 += r;
  }
  const size = w.dtype === 'float32' ? 4 : 2;
  const view = list[0].view;
  const rowBytes = new Uint8Array(cols * size);
  const f32 = size === 4 ? new Float32Array(rowBytes.buffer) : new Float32Array(cols);
  const u16 = size === 2 ? new Uint16Array(rowBytes.buffer) : null;
  for (let i = 0; i < rows; i++) {
    const at = i * cols * size;
    rowBytes.set(view.subarray(at, at + cols * size));
    if (u16) float16BitsToFloat32Into(u16, f32);
    kernel.row(i, cols, rp);
    for (let j = 0; j < cols; j++) f32[j] += dots[j];
    if (u16) float32ToFloat16BitsInto(f32, u16);
    view.set(rowBytes, at);
  }
}

/**
 * Merge LoRA adapters into a U-Net graph's weights, in place: W += scale * alpha / r * B @ A for every module
 * each adapter names (see the module comment). Everything is checked before anything is written.
 *
 * @param graph    the U-Net's `.onnx` bytes (changed in place where weights are inline)
 * @param external its external-data sidecars as readSidecars returns them ({ path: the graph's `location`, data }),
 *                 changed in place where weights live there; undefined for a self-contained graph
 * @param adapters the LoRA files with their strengths, applied together (their deltas add up)
 * @param file     the graph's layout path, for messages (default `unet/model.onnx`)
 * @param onProgress called once before the writing pass and after each weight written ({@link LoraMergeProgress})
 * @returns a report per adapter (format, rank, alpha, key counts), the number of weights changed and the time taken
 * @throws EngineError BAD_REQUEST for a scale that is not finite or outside LORA_SCALE_RANGE; LORA_INVALID for a
 *   file that is not valid safetensors (lora/safetensors.ts lists the checks), an adapter kind other than LoRA,
 *   a module with only one of down/up, or weights that are not F32/F16/BF16; LORA_MISMATCH for the first key whose
 *   shape does not fit the weight it names (both shapes in the message), for an adapter none of whose keys match
 *   this U-Net or more than LORA_UNMATCHED_MODULE_LIMIT of its U-Net modules (at least 2) have no weight in it, and
 *   for a weight that cannot be changed alone (shared by several modules, or not float32/float16);
 *   MODEL_FILE_CORRUPT / MODEL_FILE_MISSING for a graph or sidecar that does not hold the weight it declares.
 *   After any error the bytes are unchanged.
 */
export function mergeLoras(
  graph: Uint8Array,
  external: Array<{ path: string; data: Uint8Array }> | undefined,
  adapters: LoraAdapter[],
  file = 'unet/model.onnx',
  onProgress?: (p: LoraMergeProgress) => void,
): LoraMergeResult {
  const plan = planMerge(graph, external, adapters, file);
  const progress = progressOf(plan, onProgress);
  for (const list of plan.byInit.values()) {
    mergeWeight(plan.kernel!, list);
    progress(list);
  }
  return plan.result();
}

/** Progress of a merge's writing pass: weights (initializers) written so far and their bytes. */
export interface LoraMergeProgress {
  weightsDone: number;
  weightsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/** A progress reporter for `plan`'s weights: call it after each weight is written (once at the start with none). */
function progressOf(plan: MergePlan, onProgress?: (p: LoraMergeProgress) => void): (done: Planned[]) => void {
  const lists = [...plan.byInit.values()];
  const bytesTotal = lists.reduce((n, l) => n + l[0].view.byteLength, 0);
  let weightsDone = 0;
  let bytesDone = 0;
  onProgress?.({ weightsDone, weightsTotal: lists.length, bytesDone, bytesTotal });
  return (list) => {
    weightsDone++;
    bytesDone += list[0].view.byteLength;
    onProgress?.({ weightsDone, weightsTotal: lists.length, bytesDone, bytesTotal });
  };
}

/**
 * {@link mergeLoras} for the worker: the same checks and arithmetic, but the writing pass gives the event loop a turn
 * every `yieldMs` (default 50 ms), so a cancel message can arrive, and stops at the next weight once `signal` aborts.
 * A cancelled merge leaves the bytes partly merged: they are the fresh bytes of a load that is being thrown away.
 * @throws the errors of {@link mergeLoras} (before anything is written); DOMException AbortError when `signal` aborts
 */
export async function mergeLorasAsync(
  graph: Uint8Array,
  external: Array<{ path: string; data: Uint8Array }> | undefined,
  adapters: LoraAdapter[],
  file: string,
  opts: { signal?: AbortSignal; onProgress?: (p: LoraMergeProgress) => void; yieldMs?: number } = {},
): Promise<LoraMergeResult> {
  const plan = planMerge(graph, external, adapters, file);
  const progress = progressOf(plan, opts.onProgress);
  const yieldMs = opts.yieldMs ?? 50;
  let last = now();
  for (const list of plan.byInit.values()) {
    if (now() - last >= yieldMs) {
      await new Promise((r) => setTimeout(r, 0));
      last = now();
    }
    opts.signal?.throwIfAborted();
    mergeWeight(plan.kernel!, list);
    progress(list);
  }
  return plan.result();
}

/** A checked merge, ready to write: the weights to change (each with its adapters' terms) and the report to return. */
interface MergePlan {
  byInit: Map<string, Planned[]>;
  kernel: RowKernel | null;
  /** The merge result, its time measured when called. */
  result: () => LoraMergeResult;
}

/** Parse, map and check every adapter against the graph (no byte written): see {@link mergeLoras}. */
function planMerge(
  graph: Uint8Array,
  external: Array<{ path: string; data: Uint8Array }> | undefined,
  adapters: LoraAdapter[],
  file: string,
): MergePlan {
  const t0 = now();
  for (const ad of adapters) {
    if (!isLoraScale(ad.scale)) {
      throw new EngineError('BAD_REQUEST', `LoRA "${ad.name}": strength ${ad.scale} is outside ${LORA_SCALE_RANGE.min}..${LORA_SCALE_RANGE.max}; use a value such as 1 (as trained) or 0.5.`);
    }
  }
  const index = adapters.length > 0 ? indexWeights(graph, file) : null;
  const reports: LoraMergeReport[] = [];
  const planned: Planned[] = [];
  adapters.forEach((ad) => {
    const st = parseSafetensors(ad.bytes, ad.name);
    const norm = normalizeLoraKeys(st);
    const unmatchedKeys: string[] = [...norm.otherKeys];
    let matched = 0;
    const unmatchedModules: string[] = [];
    let first: { rank: number; alpha: number; format: LoraFormat } | null = null;
    for (const m of norm.modules) {
      const path = m.underscored ? index!.underscored.get(m.path) : m.path;
      const w = path !== undefined ? index!.modules.get(path) : undefined;
      if (!w) {
        unmatchedKeys.push(...m.keys);
        unmatchedModules.push(m.path);
        continue;
      }
      if (!m.down || !m.up) {
        const have = (m.down ?? m.up ?? m.alpha)!;
        throw new EngineError(
          'LORA_INVALID',
          `LoRA "${ad.name}": ${have.name} has no matching ${m.down ? 'up (lora_B / lora_up)' : 'down (lora_A / lora_down)'} weight; the file is incomplete. Export it again.`,
          ad.name,
        );
      }
      checkReadable(ad.name, m.down);
      checkReadable(ad.name, m.up);
      const rank = checkShapes(ad.name, m, m.down, m.up, w, file);
      if (w.sharedWith.length > 0) {
        throw new EngineError(
          'LORA_MISMATCH',
          `LoRA "${ad.name}": ${w.module} in ${file} shares its weight ${w.initializer.name} with ${w.sharedWith.join(', ')} (the exporter stored equal weights once); ` +
            'merging into it would change them all. Re-export the U-Net without deduplicated initializers.',
          file,
        );
      }
      if (w.dtype !== 'float32' && w.dtype !== 'float16') {
        throw new EngineError('LORA_MISMATCH', `LoRA "${ad.name}": ${w.module} in ${file} is stored as ${w.dtype}; only float32 and float16 weights can take a LoRA.`, file);
      }
      const view = weightView(w, graph, external, file);
      let alphaValue: number | undefined;
      if (m.alpha) {
        checkReadable(ad.name, m.alpha);
        const v = tensorToFloat32(st, m.alpha);
        if (v.length !== 1 || !Number.isFinite(v[0])) {
          throw new EngineError('LORA_INVALID', `LoRA "${ad.name}": ${m.alpha.name} should be one finite number, not ${shape(m.alpha.shape)}.`, ad.name);
        }
        alphaValue = v[0];
      }
      const alpha = moduleAlpha(m, w.module, rank, norm.config, alphaValue);
      first ??= { rank, alpha, format: m.format };
      matched += m.keys.length;
      planned.push({ file: st, weight: w, view, down: m.down, up: m.up, rank, factor: ad.scale * loraScaling(alpha, rank, norm.config.rslora) });
    }
    if (matched === 0) {
      const total = norm.totalKeys;
      throw new EngineError(
        'LORA_MISMATCH',
        norm.textEncoderKeys === total && total > 0
          ? `LoRA "${ad.name}" has only text-encoder keys (${total}); text-encoder LoRAs are not supported, so it would change nothing.`
          : `LoRA "${ad.name}": none of its ${total} keys match this U-Net (${file})${unmatchedKeys.length ? `, e.g. "${unmatchedKeys[0]}"` : ''}. ` +
              'Is it for another model family (SDXL keys on an SD 1.5 U-Net) or a graph whose nodes lost their module names?',
        file,
      );
    }
    const nModules = norm.modules.length;
    if (unmatchedModules.length >= 2 && unmatchedModules.length > LORA_UNMATCHED_MODULE_LIMIT * nModules) {
      throw new EngineError(
        'LORA_MISMATCH',
        `LoRA "${ad.name}": ${unmatchedModules.length} of its ${nModules} U-Net modules have no weight in ${file} (e.g. "${unmatchedModules[0]}"); ` +
          'merging only the rest would apply it half-way. Use a LoRA made for this model, or an export whose node names keep the module paths (diffusers/Optimum exports do).',
        file,
      );
    }
    reports.push({
      name: ad.name,
      scale: ad.scale,
      format: first!.format,
      rank: first!.rank,
      alpha: first!.alpha,
      matched,
      unmatched: unmatchedKeys.length,
      textEncoderKeys: norm.textEncoderKeys,
      ...(unmatchedKeys.length ? { firstUnmatched: unmatchedKeys[0] } : {}),
    });
  });

  // Every check passed: write. One pass per weight, with the deltas of every adapter that changes it.
  const byInit = new Map<string, Planned[]>();
  for (const p of planned) {
    if (p.factor === 0) continue;
    const list = byInit.get(p.weight.initializer.name) ?? [];
    list.push(p);
    byInit.set(p.weight.initializer.name, list);
  }
  const kernel = byInit.size > 0 ? createRowKernel() : null;
  return { byInit, kernel, result: () => ({ adapters: reports, weightsChanged: byInit.size, ms: now() - t0 }) };
}
