/**
 * The pipeline's public types: what a generation takes and returns, what a load reports. protocol.ts re-exports
 * them for the app; the engine's modules import them from here.
 */
import type { RgbaImage } from '../image';
import type { LoraAdapter, LoraMergeResult } from '../lora';
import type { PipelineDefaults } from '../layout';
import type { Provider, ProviderPreference } from '../ort';
import type { StageTimings } from './timings';

export type RngKind = 'fewstep' | 'torch';

export interface GenerateParams {
  prompt: string;
  negativePrompt?: string;
  seed: number;
  steps: number;
  guidanceScale: number;
  /** Scheduler class override (e.g. "DDPMScheduler" on the teacher's DDIM config); default: the model's. */
  scheduler?: string;
  /**
   * The `eta` of the scheduler's step, default 0: DDIM's eta (0 = deterministic) and TCD's gamma, its
   * "stochasticity" in [0, 1] (diffusers' TCDScheduler.step(eta=...), whose own default is 0.3; the app sends 0.3).
   * Other schedulers ignore it.
   */
  eta?: number;
  /**
   * Custom timesteps, diffusers' `timesteps=` argument of set_timesteps (`retrieve_timesteps`): a strictly descending
   * list of training timesteps, e.g. [999, 749, 499, 249] (DMD2 / SDXL-Lightning 4-step). When given, `steps` must
   * equal its length. The scheduler applies its own checks (below num_train_timesteps, integers, not with Karras
   * sigmas, ...) and a failed check is a BAD_REQUEST error carrying its message. Omitted: the scheduler's spacing.
   */
  timesteps?: number[];
  /** 'fewstep': our portable Gaussian generator; 'torch': torch.manual_seed(seed); torch.randn() latents. */
  rng?: RngKind;
  /** Decode each step's predicted clean image (x0) for a filmstrip. Costs one VAE run per step. */
  preview?: boolean;
  /** Explicit starting noise [1,4,h,w] (parity tests); replaces the seeded draw. Scaled by initNoiseSigma like
   *  diffusers' `latents=` argument. */
  initialLatents?: Float32Array;
  /** Explicit noise for each stochastic step, in order (parity tests); replaces the seeded draws. */
  stepNoises?: Float32Array[];
  /**
   * Sampling loop: 'gpu' keeps embeddings and latents on the GPU with the step as a WGSL kernel and reads back once
   * per image (WebGPU, float32 I/O, a sampler whose registry row has `needs.gpuStep`: DDPM, DDIM, LCM, Euler, TCD,
   * CM multistep); 'cpu' runs the step on Float32Arrays; 'auto' (default) picks 'gpu' whenever it can run. A sampler
   * without a GPU step kernel (DPM++ 2M, Euler a) or a preview request runs the CPU loop even for 'gpu'; 'gpu' on a
   * model the GPU loop cannot run (WASM, float16 I/O) is refused. The result's `loop`, `loopReason` and
   * `loopFallback` say which one ran and why (loopChoice.ts).
   */
  loop?: LoopKind;
}

export type LoopKind = 'auto' | 'cpu' | 'gpu';

export interface StepEvent {
  index: number;
  total: number;
  timestep: number;
  unetMs: number;
  schedulerMs: number;
  preview?: RgbaImage;
}

export interface GenerateResult {
  image: RgbaImage;
  latents: Float32Array;
  timesteps: number[];
  schedulerClass: string;
  guidanceMode: 'cfg' | 'embedding' | 'none';
  timings: StageTimings;
  /** The loop that ran, and why (e.g. why the GPU loop could not): see pipeline/loopChoice.ts. */
  loop?: 'cpu' | 'gpu';
  /** One line for the UI, e.g. "GPU-resident loop (one readback per image)" or "CPU loop (DPM++ 2M has no GPU step kernel)". */
  loopReason?: string;
  /**
   * True when the model runs on WebGPU and the GPU-resident loop was wanted ('auto' or 'gpu') but this generation
   * ran the CPU loop instead (a sampler without a GPU step kernel, per-step previews, float16 I/O, ...): the UI
   * says so next to the image. False when it ran what was asked, or the model runs on WASM (nothing to fall back from).
   */
  loopFallback?: boolean;
  /** GPU readbacks (buffer maps for reading) this generation caused; null where WebGPU is not instrumented. */
  readbacks?: number | null;
}

export interface ModelInfo {
  name: string;
  source: string;
  provider: Provider;
  providerReason: string;
  adapterInfo: string;
  pipelineClass: string;
  schedulerClass: string;
  /**
   * The pipeline's scheduler/scheduler_config.json as parsed (diffusers keys), so the app can build the same
   * scheduler (schedulerFromConfig with `schedulerClass` or a sampler override) and check a custom timestep list
   * with the scheduler's own messages while the user types.
   */
  schedulerConfig: Record<string, unknown>;
  defaults: PipelineDefaults;
  latentShape: number[];
  imageSize: [number, number];
  timeCondProjDim: number | null;
  io: Record<string, { inputs: string[]; outputs: string[] }>;
  bytes: number;
  loadMs: number;
  /**
   * The LoRA merge into the U-Net (lora/merge.ts): per adapter its format, rank, alpha, matched / unmatched /
   * text-encoder key counts; the weights changed and the merge time (ms, included in loadMs). Absent when the model
   * was loaded without LoRAs.
   */
  lora?: LoraMergeResult;
}

export interface LoadProgress {
  /**
   * 'fetch' a file (loaded / total: its bytes), 'merge' LoRAs into the U-Net (loaded / total: bytes of the weights
   * written so far / to write; lora/unetSession.ts), 'session' creation.
   */
  phase: 'fetch' | 'merge' | 'session';
  file: string;
  status: 'initiate' | 'progress' | 'done';
  loaded: number;
  total: number | null;
  filesDone: number;
  filesTotal: number;
  sessionsDone: number;
  sessionsTotal: number;
}

export interface LoadOptions {
  name: string;
  provider: ProviderPreference;
  signal?: AbortSignal;
  onProgress?: (p: LoadProgress) => void;
  /**
   * WebGPU adapter features the weights need (the catalog's requiredFeatures). Without `shader-f16` on the adapter,
   * an fp16 model is refused on an explicit WebGPU choice and runs on WASM under 'auto' (ORT's WebGPU kernels would
   * fail at run time, and its WASM fallback does not kick in by itself).
   */
  requiredFeatures?: readonly string[];
  /**
   * LoRA adapters merged into the U-Net's weights after its graph and sidecars are read and before its session is
   * made (lora/merge.ts mergeLoras: W += scale * alpha / r * B @ A, in place in the bytes just read, no copy of the
   * model). The bytes come fresh from the source on every load, so a load without LoRAs gives the base weights
   * exactly. A LoRA that does not fit (shape mismatch, no matching key, malformed file, scale outside LORA_SCALE_RANGE) fails the
   * load with its EngineError (LORA_INVALID, LORA_MISMATCH, BAD_REQUEST) before any session exists.
   */
  loras?: LoraAdapter[];
}
