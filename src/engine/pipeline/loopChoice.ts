/**
 * Which sampling loop runs a generation (GenerateParams.loop), decided once, as a pure function so the decision is
 * unit-tested without a GPU (loopChoice.test.ts):
 *  - 'cpu' runs the CPU loop (cpuLoop.ts).
 *  - 'gpu' and 'auto' run the GPU-resident loop (gpu/gpuLoop.ts) when the model can (WebGPU sessions with GPU-buffer
 *    outputs, float32 I/O, batch 1) and the request can (a sampler whose registry row has `needs.gpuStep` and whose
 *    scheduler has `stepCoefficients`; no per-step previews).
 *  - A sampler without a GPU step kernel (DPM++ 2M, Euler a) or a preview request falls back to the CPU loop for
 *    'gpu' as for 'auto': the generation runs, and the result says so (`loopFallback`, `loopReason`
 *    "CPU loop (DPM++ 2M has no GPU step kernel)"). Only a model the GPU loop cannot run at all (WASM, float16 I/O)
 *    refuses an explicit 'gpu' request, with a message that names the fix.
 */
import { EngineError } from '../errors';
import type { LoopKind } from './types';

export interface LoopInputs {
  /** GenerateParams.loop (default 'auto'). */
  want: LoopKind | undefined;
  /** Why the GPU loop cannot run this model (gpuLoopUnsupported), null when it can. */
  modelBlocker: string | null;
  /** Whether the model's sessions run on WebGPU (false: WASM, where the CPU loop is the only loop, not a fallback). */
  webgpu: boolean;
  /** Short sampler label for the message ("DPM++ 2M", the registry's label). */
  samplerLabel: string;
  /** The registry row says `needs.gpuStep` and the scheduler object has `stepCoefficients`. */
  gpuStep: boolean;
  /** Per-step previews requested (they need the latents on the CPU after every step). */
  preview: boolean;
}

export interface LoopChoice {
  kind: 'cpu' | 'gpu';
  /** One line for the UI: "GPU-resident loop (one readback per image)", "CPU loop (DPM++ 2M has no GPU step kernel)". */
  reason: string;
  /** The GPU loop was wanted on a WebGPU model, but the CPU loop runs (see GenerateResult.loopFallback). */
  fallback: boolean;
}

/** The loop for a generation, and why. Throws EngineError('BAD_REQUEST') only for loop 'gpu' on a model the GPU loop cannot run. */
export function chooseLoop(i: LoopInputs): LoopChoice {
  const want = i.want ?? 'auto';
  if (want === 'cpu') return { kind: 'cpu', reason: 'CPU loop (requested)', fallback: false };
  if (i.modelBlocker !== null) {
    if (want === 'gpu') throw new EngineError('BAD_REQUEST', `The GPU loop cannot run this generation: ${i.modelBlocker}. Use loop 'auto' or 'cpu'.`);
    return { kind: 'cpu', reason: `CPU loop (${i.modelBlocker})`, fallback: i.webgpu };
  }
  const why = !i.gpuStep ? `${i.samplerLabel} has no GPU step kernel` : i.preview ? 'per-step previews need the latents on the CPU' : null;
  if (why !== null) return { kind: 'cpu', reason: `CPU loop (${why})`, fallback: true };
  return { kind: 'gpu', reason: 'GPU-resident loop (one readback per image)', fallback: false };
}
