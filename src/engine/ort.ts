/**
 * All onnxruntime-web setup lives here: the execution-provider choice, which onnxruntime build runs it, wasm asset
 * paths, the call queue. Only this file imports onnxruntime-web.
 *
 * Two builds of onnxruntime-web 1.30, each its own module with its own WebAssembly runtime (issue 15, cold open):
 * - 'webgpu': the `onnxruntime-web/webgpu` entry and `ort-wasm-simd-threaded.asyncify.{mjs,wasm}` (27 MB of wasm):
 *   the WebGPU execution provider plus the CPU one.
 * - 'wasm': the `onnxruntime-web/wasm` entry and `ort-wasm-simd-threaded.{mjs,wasm}` (14 MB of wasm): the CPU
 *   execution provider only. V8 compiles it in less than half the time (0.28 s vs 0.67 s measured here for
 *   `WebAssembly.compile`), and the first run of each kernel pays less lazy compilation.
 * A build is imported on first use ({@link buildFor}): WebGPU sessions always use 'webgpu'; WASM sessions use a build
 * already loaded ('wasm' first), else 'webgpu' when Auto would pick WebGPU here (a hardware adapter: the model will
 * need that build anyway), else 'wasm'. So a WASM-only visit never fetches or compiles the 27 MB runtime, and a
 * WebGPU visit never fetches the 14 MB one. Switching a 'wasm'-build page to WebGPU loads the 'webgpu' build next
 * to it (two runtimes in memory until the page closes).
 *
 * NOTE: every ORT call (session create, run, release) goes through `ortQueue`: concurrent calls on WebGPU throw or
 * crash, and concurrent session creation on WebGPU throws (see onnxruntime-web issues on "Session already started").
 */
// Types only (erased from the output); the builds themselves are imported on demand by loadOrtBuild.
import type * as ort from 'onnxruntime-web/webgpu';
import { EngineError } from './errors';
import { checkDims, type IoSpec, type TensorData, toFloat32 } from './io';
import { SerialQueue } from './queue';

/** onnxruntime-web's API (both entries share one type declaration, onnxruntime-web/types.d.ts). */
type OrtModule = typeof ort;

export type Provider = 'webgpu' | 'wasm';
export type ProviderPreference = 'auto' | Provider;
/** Which onnxruntime-web build (entry + runtime files) a session runs on; see the file comment. */
export type OrtBuild = 'webgpu' | 'wasm';

export const ortQueue = new SerialQueue();

/** A build's runtime files as served by the app: the Emscripten glue (.mjs) and the WebAssembly binary. */
export interface OrtRuntimeFiles {
  mjs: string;
  wasm: string;
}

export interface OrtConfig {
  /**
   * Where each build's runtime files are served (the app serves its own copies, never a CDN): 'webgpu' is
   * ort-wasm-simd-threaded.asyncify.{mjs,wasm}, 'wasm' is ort-wasm-simd-threaded.{mjs,wasm}. A build without an
   * entry lets onnxruntime find its files next to its own module (what Node does). Applied when the build loads.
   */
  runtimeFiles?: Partial<Record<OrtBuild, OrtRuntimeFiles>>;
  numThreads?: number;
  logLevel?: 'verbose' | 'info' | 'warning' | 'error' | 'fatal';
}

const config: { runtimeFiles: Partial<Record<OrtBuild, OrtRuntimeFiles>>; numThreads?: number; logLevel: NonNullable<OrtConfig['logLevel']> } = {
  runtimeFiles: {},
  logLevel: 'error',
};
/** Builds being imported or imported, by build. */
const builds: Partial<Record<OrtBuild, Promise<OrtModule>>> = {};
/** Builds imported and configured (for the synchronous helpers below). */
const loaded: Partial<Record<OrtBuild, OrtModule>> = {};

function applyConfig(m: OrtModule, build: OrtBuild): void {
  const files = config.runtimeFiles[build];
  if (files) m.env.wasm.wasmPaths = { mjs: files.mjs, wasm: files.wasm } as never;
  // onnxruntime reads numThreads when its runtime starts (the first session); later changes do not apply.
  if (config.numThreads !== undefined) m.env.wasm.numThreads = config.numThreads;
  m.env.logLevel = config.logLevel;
}

/**
 * Set onnxruntime's options for this process: applied to the builds already loaded and to each build as it loads.
 * Call before the first session for numThreads and runtimeFiles to take effect.
 */
export function configureOrt(cfg: OrtConfig): void {
  if (cfg.runtimeFiles) config.runtimeFiles = { ...config.runtimeFiles, ...cfg.runtimeFiles };
  if (cfg.numThreads !== undefined) config.numThreads = cfg.numThreads;
  config.logLevel = cfg.logLevel ?? 'error';
  for (const [build, m] of Object.entries(loaded) as Array<[OrtBuild, OrtModule]>) applyConfig(m, build);
}

/**
 * Import one onnxruntime-web build (once) and configure it.
 * @throws EngineError SESSION_CREATE_FAILED naming the entry when the module cannot be imported (a missing or
 *   blocked chunk: reload the page, or rebuild the app)
 */
export function loadOrtBuild(build: OrtBuild): Promise<OrtModule> {
  builds[build] ??= (build === 'webgpu' ? import('onnxruntime-web/webgpu') : import('onnxruntime-web/wasm')).then(
    (m: OrtModule) => {
      applyConfig(m, build);
      loaded[build] = m;
      return m;
    },
    (e: unknown) => {
      delete builds[build];
      throw new EngineError('SESSION_CREATE_FAILED', `Could not load onnxruntime-web's ${build} build (onnxruntime-web/${build}): ${(e as Error).message}. Reload the page; if it persists, rebuild the app.`);
    },
  );
  return builds[build];
}

/**
 * The build a session on `provider` runs on (see the file comment): 'webgpu' for WebGPU; for WASM a build already
 * loaded or loading ('wasm' first), else the one Auto's choice here needs ('webgpu' on a hardware adapter, else 'wasm').
 */
export async function buildFor(provider: Provider): Promise<OrtBuild> {
  if (provider === 'webgpu') return 'webgpu';
  if (builds.wasm) return 'wasm';
  if (builds.webgpu) return 'webgpu';
  const caps = await probeWebGpu();
  return caps.available && !caps.software ? 'webgpu' : 'wasm';
}

/** The builds imported so far, sorted (tests check which runtime a session used). */
export function loadedOrtBuilds(): OrtBuild[] {
  return (Object.keys(loaded) as OrtBuild[]).sort();
}

export interface GpuCapabilities {
  available: boolean;
  reason: string;
  adapterInfo: string;
  /**
   * The adapter is a fallback/software one (SwiftShader: headless Chromium, VMs, GPU-less Linux): it emulates the GPU
   * on the CPU, so 'auto' prefers WASM there (a 1-step image takes seconds on it, milliseconds on WASM).
   */
  software: boolean;
  shaderF16: boolean;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

let capabilities: Promise<GpuCapabilities> | null = null;

/** Probe WebGPU once; everything else reads the frozen result. */
export function probeWebGpu(): Promise<GpuCapabilities> {
  capabilities ??= (async (): Promise<GpuCapabilities> => {
    const none = (reason: string): GpuCapabilities =>
      Object.freeze({ available: false, reason, adapterInfo: '', software: false, shaderF16: false, maxBufferSize: 0, maxStorageBufferBindingSize: 0 });
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
    const software = isSoftwareAdapter(adapter);
    return Object.freeze({
      available: true,
      reason: software ? `the WebGPU adapter (${adapterInfo || 'unknown'}) is a software fallback that emulates the GPU on the CPU` : 'WebGPU adapter found',
      adapterInfo: adapterInfo || 'unknown adapter',
      software,
      shaderF16: adapter.features.has('shader-f16'),
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    });
  })();
  return capabilities;
}

/**
 * Whether an adapter is a fallback (software) one: `info.isFallbackAdapter` (Chrome 121+; `adapter.isFallbackAdapter`
 * before), or SwiftShader named in its vendor/architecture/description (older Chromium leaves the flag false for it).
 */
export function isSoftwareAdapter(adapter: { info?: Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean }; isFallbackAdapter?: boolean }): boolean {
  const info = adapter.info;
  if (info?.isFallbackAdapter === true || adapter.isFallbackAdapter === true) return true;
  const text = info ? [info.vendor, info.architecture, info.description, info.device].filter(Boolean).join(' ').toLowerCase() : '';
  return /swiftshader|llvmpipe|lavapipe|software rasterizer|microsoft basic render/.test(text);
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

/**
 * Session-options hook: the last word on the options of every session `createSession` makes (the benchmark and the
 * GPU-resident loop use it). The default keeps WebGPU outputs on the GPU (`preferredOutputLocation: 'gpu-buffer'`):
 * the GPU loop chains them into the next run without a readback, and `SessionHandle.run` reads them back itself
 * for the CPU loop (one readback per output, as ORT would do inside run() with 'cpu' outputs).
 */
export type SessionOptionsHook = (
  file: string,
  provider: Provider,
  options: ort.InferenceSession.SessionOptions,
) => ort.InferenceSession.SessionOptions;

const defaultSessionOptionsHook: SessionOptionsHook = (_file, provider, options) =>
  provider === 'webgpu' ? { ...options, preferredOutputLocation: 'gpu-buffer' } : options;
let sessionOptionsHook: SessionOptionsHook = defaultSessionOptionsHook;

/** Replace the session-options hook (null restores the default). Affects sessions created afterwards. */
export function setSessionOptionsHook(hook: SessionOptionsHook | null): void {
  sessionOptionsHook = hook ?? defaultSessionOptionsHook;
}

/** An ORT tensor, for the GPU-resident loop and the bare benchmark loop (they build their own feeds). */
export type OrtTensor = ort.Tensor;

/** The loaded 'webgpu' build, for the GPU-resident loop (which runs only after a WebGPU session exists). */
function webGpuBuild(what: string): OrtModule {
  const m = loaded.webgpu;
  if (!m) throw new EngineError('RUN_FAILED', `${what} needs onnxruntime-web's WebGPU build, which is not loaded: create a WebGPU session first.`);
  return m;
}

/** Wrap a GPUBuffer of ORT's device as a tensor (no copy). The caller keeps ownership of the buffer. */
export function gpuTensor(buffer: GPUBuffer, type: string, dims: readonly number[]): OrtTensor {
  return webGpuBuild('gpuTensor').Tensor.fromGpuBuffer(buffer as never, { dataType: type as 'float32', dims });
}

/** The GPUDevice ORT's WebGPU engine runs on (valid once a WebGPU session exists). */
export async function ortGpuDevice(): Promise<GPUDevice> {
  return (await webGpuBuild('ortGpuDevice').env.webgpu.device) as unknown as GPUDevice;
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
    /** Outputs stay on the GPU (preferredOutputLocation 'gpu-buffer'); `run` reads them back. */
    readonly gpuOutputs: boolean,
    /** The onnxruntime-web build that made the session (its Tensor class makes this session's feeds). */
    private readonly m: OrtModule,
    /** Which build that is. */
    readonly build: OrtBuild,
  ) {
    this.inputs = ioSpecs(session.inputMetadata, session.inputNames);
    this.outputs = ioSpecs(session.outputMetadata, session.outputNames);
  }

  /** A CPU tensor of the declared type (data already converted with io.toTypedArray), for runTensors/runDirect. */
  cpuTensor(type: string, data: TensorData, dims: readonly number[]): OrtTensor {
    return new this.m.Tensor(type as ort.Tensor.Type, data as never, dims);
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
      tensors[name] = this.cpuTensor(spec.type, data, dims);
    }
    const wanted = outputNames ?? [...this.outputs.keys()];
    let result: ort.InferenceSession.ReturnType;
    const out: Record<string, RunOutput> = {};
    try {
      // Run and read back in one queued task: getData on GPU outputs is an ORT call too.
      result = await ortQueue.run(async () => {
        const r = await this.session.run(tensors);
        try {
          for (const name of wanted) {
            const t = r[name];
            if (!t) throw new EngineError('RUN_FAILED', `${this.file} returned no output "${name}".`, this.file);
            const data = t.location === 'cpu' ? t.data : await t.getData();
            out[name] = { dims: [...t.dims], type: t.type, data: toFloat32({ type: t.type, dims: t.dims, data }, name) };
          }
        } finally {
          for (const t of Object.values(r)) (t as ort.Tensor).dispose?.();
        }
        return r;
      });
    } catch (e) {
      if (e instanceof EngineError) throw e;
      const desc = Object.entries(tensors)
        .map(([n, t]) => `${n}: ${t.type}[${t.dims.join(', ')}]`)
        .join('; ');
      throw new EngineError('RUN_FAILED', `${this.file} failed to run (${desc}): ${(e as Error).message}`, this.file);
    }
    void result;
    return out;
  }

  /**
   * Run prepared tensors through the queue and return ORT's outputs as they are (GPU outputs stay on the GPU; the
   * caller disposes every returned tensor). `fetches` may pre-allocate outputs (e.g. GPU tensors reused each step).
   */
  async runTensors(feeds: Record<string, OrtTensor>, fetches?: Record<string, OrtTensor | null>): Promise<Record<string, OrtTensor>> {
    try {
      return await ortQueue.run(() => (fetches ? this.session.run(feeds, fetches as never) : this.session.run(feeds)));
    } catch (e) {
      const desc = Object.entries(feeds)
        .map(([n, t]) => `${n}: ${t.type}[${t.dims.join(', ')}] on ${t.location}`)
        .join('; ');
      throw new EngineError('RUN_FAILED', `${this.file} failed to run (${desc}): ${(e as Error).message}`, this.file);
    }
  }

  /**
   * session.run and nothing else: no feed checks, no queue, no conversion. Only for the benchmark's bare loop,
   * which holds `ortQueue` for its whole duration (see Pipeline.bareLoop).
   */
  runDirect(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> {
    return this.session.run(feeds) as Promise<Record<string, OrtTensor>>;
  }

  release(): Promise<void> {
    return ortQueue.run(() => this.session.release());
  }
}

/**
 * Graphs whose files (graph + sidecars) reach this many bytes get {@link largeGraphOptions}: every SD-class UNet and
 * text encoder (246 MB to 1.7 GB) and fp32 VAE decoders (~200 MB); not the shipped fewstep models (a few MB), whose
 * WASM speed gains from prepacked GEMM weights at no memory cost worth having.
 */
export const LARGE_GRAPH_BYTES = 128 * 1024 * 1024;

/**
 * Session options for large graphs (issue 12, memory): the memory-saving settings the official onnxruntime-web
 * SD-Turbo example sets for its sessions (microsoft/onnxruntime-inference-examples js/sd-turbo/index.js), each
 * documented by onnxruntime (`onnxruntime_session_options_config_keys.h`, the SessionOptions fields):
 * - `enableCpuMemArena: false`, `enableMemPattern: false`: no BFC arena (it keeps freed blocks and grows in
 *   power-of-two regions) and no pre-planned activation block. onnxruntime-web 1.30 already passes false for both
 *   when they are unset (`!!options.enableCpuMemArena` in its wasm session-options) and forces mem-pattern off on
 *   WebGPU; they are set here, as in the example, so that a changed default cannot bring them back.
 * - `session.disable_prepacking = 1`: no second, prepacked copy of the GEMM/Conv weights made at load.
 * - `session.use_device_allocator_for_initializers = 1`: weights are allocated with plain malloc ("the memory
 *   allocation is made using malloc/new"), not carved out of the arena.
 * Measured (the fp16 stand-in UNet, its sidecar read on demand, WASM in Node; bench/README.md "Load memory" has
 * the table): the WASM heap after the load is 3.07x the fp16 weight bytes with onnxruntime's defaults and 2.90x
 * with these; prepacking alone is +0.26x and makes a run about 3x faster (so small graphs keep it); the arena and
 * the device allocator change nothing measurable at load. Most of the heap is the fp32 copy of the weights (below).
 *
 * Not set, on purpose:
 * - `optimization.disable_specified_optimizers = ConstantFolding;FuseFp16InitializerToFp32NodeTransformer`. The
 *   WASM kernels compute in fp32, so onnxruntime makes an fp32 copy of every fp16 weight at load (those two passes:
 *   an export's own Cast, or the one its InsertCastTransformer adds), 2x the fp16 bytes. With both passes off the
 *   heap after the load was 1.0x, but every run then casts all weights again: the stand-in UNet's run went from
 *   2.2 s to 145 s, and its first run grew the heap (which never shrinks) to 3.0x. The fp32 copy is needed either
 *   way; made once at load it costs least.
 * - `session.use_ort_model_bytes_directly` / `session.use_ort_model_bytes_for_initializers`: ORT-format models
 *   only (these are ONNX protobufs).
 * - `graphOptimizationLevel: 'basic'` or `'disabled'`: 'basic' still folds the Casts (2.99x); 'disabled' keeps the
 *   weights fp16 (1.01x after the load) but the first run makes every fp32 weight at once (3.02x, kept by the WASM
 *   memory) and each run casts them again.
 * - `freeDimensionOverrides`: speed, not memory, and the symbolic dim names differ between exports.
 * - `preferredOutputLocation`: already 'gpu-buffer' on WebGPU (the session-options hook's default), for speed.
 */
export function largeGraphOptions(): ort.InferenceSession.SessionOptions {
  return {
    enableCpuMemArena: false,
    enableMemPattern: false,
    extra: { session: { disable_prepacking: '1', use_device_allocator_for_initializers: '1' } },
  };
}

/**
 * Create a session on the given provider. ONNX protobuf errors become MODEL_FILE_CORRUPT naming the file.
 *
 * onnxruntime-web copies `bytes` and each `externalData[i].data` into its own memory while the session is made (WASM
 * heap, or GPU buffers for WebGPU weights) and keeps no reference to them afterwards: the caller may drop its own.
 * `externalData[i].data` may be an OnDemandBytes (sources/onDemand.ts): onnxruntime then reads each tensor's byte
 * range from the file as it copies it, and no JS buffer of the sidecar exists.
 * Graphs of {@link LARGE_GRAPH_BYTES} or more get {@link largeGraphOptions}; the session-options hook has the last word.
 */
export async function createSession(
  bytes: ArrayBuffer,
  file: string,
  provider: Provider,
  /** Weights stored outside the protobuf (`model.onnx_data`); `path` is the name the graph refers to. */
  externalData?: Array<{ path: string; data: Uint8Array }>,
): Promise<SessionHandle> {
  const weightBytes = bytes.byteLength + (externalData ?? []).reduce((n, e) => n + e.data.byteLength, 0);
  const options: ort.InferenceSession.SessionOptions = sessionOptionsHook(file, provider, {
    executionProviders: provider === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
    graphOptimizationLevel: 'all',
    // 3 = errors only: ORT's node-placement warnings are expected (shape ops run on CPU) and would flood the console.
    logSeverityLevel: 3,
    ...(weightBytes >= LARGE_GRAPH_BYTES ? largeGraphOptions() : {}),
    ...(externalData?.length ? { externalData } : {}),
  });
  const build = await buildFor(provider);
  const m = await loadOrtBuild(build);
  try {
    const session = await ortQueue.run(() => m.InferenceSession.create(new Uint8Array(bytes), options));
    return new SessionHandle(session, file, provider, provider === 'webgpu' && options.preferredOutputLocation === 'gpu-buffer', m, build);
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    if (/protobuf|parse|Invalid model|Failed to load model|ModelProto/i.test(msg)) {
      throw new EngineError('MODEL_FILE_CORRUPT', `${file} is not a valid ONNX model (${msg}).`, file);
    }
    throw new EngineError('SESSION_CREATE_FAILED', `Could not create a ${provider} session for ${file}: ${msg}`, file);
  }
}

/** onnxruntime-web's version, from a loaded build ('unknown' before the first session). */
export const ortVersion = (): string => (loaded.wasm ?? loaded.webgpu)?.env.versions?.web ?? 'unknown';
