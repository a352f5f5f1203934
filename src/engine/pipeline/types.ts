/**
 * The pipeline's public types: what a generation takes and returns, what a load reports. protocol.ts re-exports
 * them for the app; the engine's modules import them from here.
 */
import type { RgbaImage } from '../image';
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
  /** DDIM eta (0 = deterministic). */
  eta?: number;
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
   * per image (WebGPU, float32 I/O, DDIM/DDPM/Euler/LCM, no preview); 'cpu' runs the step on Float32Arrays; 'auto'
   * (default) picks 'gpu' whenever it can run. The result's `loop` and `loopReason` say which one ran and why.
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
  /** The loop that ran, and why (e.g. why the GPU loop could not). */
  loop?: 'cpu' | 'gpu';
  loopReason?: string;
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
  defaults: PipelineDefaults;
  latentShape: number[];
  imageSize: [number, number];
  timeCondProjDim: number | null;
  io: Record<string, { inputs: string[]; outputs: string[] }>;
  bytes: number;
  loadMs: number;
}

export interface LoadProgress {
  phase: 'fetch' | 'session';
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
   * External-data files (`unet/model.onnx_data`) known to exist. Undefined: probe `<component>/model.onnx_data`
   * as an optional file for each graph.
   */
  externalDataFiles?: readonly string[];
}
