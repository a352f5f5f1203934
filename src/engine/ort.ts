/**
 * All onnxruntime-web setup lives here: the execution-provider choice, wasm asset paths, the call queue.
 * Only this file imports onnxruntime-web.
 *
 * NOTE: every ORT call (session create, run, release) goes through `ortQueue`: concurrent calls on WebGPU throw or
 * crash, and concurrent session creation on WebGPU throws (see onnxruntime-web issues on "Session already started").
 */
import * as ort from 'onnxruntime-web/webgpu';
import { EngineError } from './errors';
import { checkDims, type IoSpec, type TensorData, toFloat32 } from './io';
import { SerialQueue } from './queue';

export type Provider = 'webgpu' | 'wasm';
export type ProviderPreference = 'auto' | Provider;

export const ortQueue = new SerialQueue();

export interface OrtConfig {
  /** Where ort-wasm-simd-threaded.asyncify.{mjs,wasm} are served (the app serves its own copy). */
  wasmPaths?: string | { mjs: string; wasm: string };
  numThreads?: number;
  logLevel?: 'verbose' | 'info' | 'warning' | 'error' | 'fatal';
}

export function configureOrt(cfg: OrtConfig): void {
  if (cfg.wasmPaths) ort.env.wasm.wasmPaths = cfg.wasmPaths as never;
  if (cfg.numThreads !== undefined) ort.env.wasm.numThreads = cfg.numThreads;
  ort.env.logLevel = cfg.logLevel ?? 'error';
}

export interface GpuCapabilities {
  available: boolean;
  reason: string;
  adapterInfo: string;
  shaderF16: boolean;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

let capabilities: Promise<GpuCapabilities> | null = null;

/** Probe WebGPU once; everything else reads the frozen result. */
export function probeWebGpu(): Promise<GpuCapabilities> {
  capabilities ??= (async (): Promise<GpuCapabilities> => {
    const none = (reason: string): GpuCapabilities =>
      Object.freeze({ available: false, reason, adapterInfo: '', shaderF16: false, maxBufferSize: 0, maxStorageBufferBindingSize: 0 });
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) return none('this browser exposes no WebGPU (navigator.gpu is undefined)');
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    } catch (e) {
      return none(`requestAdapter() failed: ${(e as Error).message}`);
    }
    if (!adapter) return none('no WebGPU adapter is available (blocklisted GPU or WebGPU disabled)');
    const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
    const adapterInfo = info ? [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') : '';
    return Object.freeze({
      available: true,
      reason: 'WebGPU adapter found',
      adapterInfo: adapterInfo || 'unknown adapter',
      shaderF16: adapter.features.has('shader-f16'),
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    });
  })();
  return capabilities;
}

function ioSpecs(meta: readonly ort.InferenceSession.ValueMetadata[], names: readonly string[]): Map<string, IoSpec> {
  const out = new Map<string, IoSpec>();
  names.forEach((name, i) => {
    const m = meta?.[i];
    if (m && m.isTensor) out.set(name, { name, type: m.type, shape: m.shape as ReadonlyArray<number | string> });
    else out.set(name, { name, type: 'float32', shape: [] });
  });
  return out;
}

export interface RunOutput {
  dims: number[];
  type: string;
  data: Float32Array;
}

/** One ONNX component's session plus its I/O metadata. */
export class SessionHandle {
  readonly inputs: Map<string, IoSpec>;
  readonly outputs: Map<string, IoSpec>;
  constructor(
    private readonly session: ort.InferenceSession,
    readonly file: string,
    readonly provider: Provider,
  ) {
    this.inputs = ioSpecs(session.inputMetadata, session.inputNames);
    this.outputs = ioSpecs(session.outputMetadata, session.outputNames);
  }

  input(name: string): IoSpec | undefined {
    return this.inputs.get(name);
  }

  /** First input whose name matches one of the candidates (exports name things differently). */
  findInput(...candidates: string[]): IoSpec | undefined {
    for (const c of candidates) {
      const s = this.inputs.get(c);
      if (s) return s;
    }
    return undefined;
  }

  /**
   * Run with feeds given as {name: [data, dims]}; returns the requested outputs as Float32Array.
   * Feeds are checked against the session's inputs; on failure each input's dtype and dims are in the message.
   */
  async run(feeds: Record<string, [TensorData, number[]]>, outputNames?: string[]): Promise<Record<string, RunOutput>> {
    for (const name of this.inputs.keys()) {
      if (!(name in feeds)) {
        throw new EngineError('TENSOR_SHAPE_MISMATCH', `${this.file}: no value for input "${name}".`, this.file);
      }
    }
    const tensors: Record<string, ort.Tensor> = {};
    for (const [name, [data, dims]] of Object.entries(feeds)) {
      const spec = this.inputs.get(name);
      if (!spec) continue; // optional extras (e.g. timestep_cond for a non-LCM UNet) are dropped
      checkDims(spec, dims, this.file);
      tensors[name] = new ort.Tensor(spec.type as ort.Tensor.Type, data as never, dims);
    }
    const wanted = outputNames ?? [...this.outputs.keys()];
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await ortQueue.run(() => this.session.run(tensors));
    } catch (e) {
      const desc = Object.entries(tensors)
        .map(([n, t]) => `${n}: ${t.type}[${t.dims.join(', ')}]`)
        .join('; ');
      throw new EngineError('RUN_FAILED', `${this.file} failed to run (${desc}): ${(e as Error).message}`, this.file);
    }
    const out: Record<string, RunOutput> = {};
    for (const name of wanted) {
      const t = result[name];
      if (!t) throw new EngineError('RUN_FAILED', `${this.file} returned no output "${name}".`, this.file);
      out[name] = { dims: [...t.dims], type: t.type, data: toFloat32(t as never, name) };
    }
    for (const t of Object.values(result)) (t as ort.Tensor).dispose?.();
    return out;
  }

  release(): Promise<void> {
    return ortQueue.run(() => this.session.release());
  }
}

/** Create a session on the given provider. ONNX protobuf errors become MODEL_FILE_CORRUPT naming the file. */
export async function createSession(bytes: ArrayBuffer, file: string, provider: Provider): Promise<SessionHandle> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: provider === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
    graphOptimizationLevel: 'all',
    // 3 = errors only: ORT's node-placement warnings are expected (shape ops run on CPU) and would flood the console.
    logSeverityLevel: 3,
  };
  try {
    const session = await ortQueue.run(() => ort.InferenceSession.create(new Uint8Array(bytes), options));
    return new SessionHandle(session, file, provider);
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    if (/protobuf|parse|Invalid model|Failed to load model|ModelProto/i.test(msg)) {
      throw new EngineError('MODEL_FILE_CORRUPT', `${file} is not a valid ONNX model (${msg}).`, file);
    }
    throw new EngineError('SESSION_CREATE_FAILED', `Could not create a ${provider} session for ${file}: ${msg}`, file);
  }
}

export const ortVersion = (): string => ort.env.versions?.web ?? 'unknown';
