/**
 * Loading a pipeline folder: JSON first (layout, scheduler, tokenizer; fail fast before the big downloads), then the
 * ONNX bytes, then sessions (WebGPU first, WASM as the fallback, with the reason), then the model's I/O bindings and
 * shape checks. `describePipeline` reads only the two small JSON files.
 */
import { schedulerFromConfig, type Scheduler } from '../../schedulers';
import { EngineError } from '../errors';
import { IO_NAMES } from '../io';
import { buildLayout, LAYOUT_FILES, parseDefaults, parseJsonFile, type ModelLayout, type PipelineDefaults } from '../layout';
import { createSession, probeWebGpu, type Provider, type SessionHandle } from '../ort';
import type { ModelSource } from '../source';
import { readSidecars, sidecarsOf } from '../sources/externalData';
import { PromptTokenizer } from '../tokenizer';
import { ModelIo, type Sessions } from './bindings';
import type { LoadOptions, LoadProgress, ModelInfo } from './types';

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** What a load produces; Pipeline wraps it. */
export interface LoadedParts {
  info: ModelInfo;
  layout: ModelLayout;
  tokenizer: PromptTokenizer;
  sessions: Sessions;
  io: ModelIo;
}

/** Wrap the scheduler module's errors (bad class, bad steps) into engine errors with the file they concern. */
export function makeScheduler(config: Record<string, unknown>, className?: string): Scheduler {
  try {
    return schedulerFromConfig(config, className ? { className } : undefined);
  } catch (e) {
    throw new EngineError('SCHEDULER_UNSUPPORTED', (e as Error).message, LAYOUT_FILES.schedulerConfig);
  }
}

/**
 * A pipeline folder's defaults from its two small JSON files (model_index.json, scheduler config), no ONNX read.
 * Errors are the ones load() would raise for those files (missing file, bad JSON, unsupported scheduler).
 */
export async function describePipeline(source: ModelSource, signal?: AbortSignal): Promise<PipelineDefaults> {
  const readJson = async (path: string): Promise<Record<string, unknown>> => parseJsonFile((await source.read(path, { signal }))!, path);
  const modelIndex = await readJson(LAYOUT_FILES.modelIndex);
  const schedulerConfig = await readJson(LAYOUT_FILES.schedulerConfig);
  const defaults = parseDefaults(modelIndex, schedulerConfig);
  makeScheduler(schedulerConfig, defaults.sampler || undefined);
  return defaults;
}


export async function loadPipeline(source: ModelSource, opts: LoadOptions): Promise<LoadedParts> {
  const t0 = now();
  const jsonFiles = [LAYOUT_FILES.modelIndex, LAYOUT_FILES.schedulerConfig, LAYOUT_FILES.tokenizer, LAYOUT_FILES.tokenizerConfig];
  const optionalJson = [LAYOUT_FILES.unetConfig, LAYOUT_FILES.vaeDecoderConfig, LAYOUT_FILES.textEncoderConfig];
  const onnxFiles = [LAYOUT_FILES.textEncoder, LAYOUT_FILES.unet, LAYOUT_FILES.vaeDecoder];
  // Sidecars are counted when a graph names them (step 2).
  let filesTotal = jsonFiles.length + optionalJson.length + onnxFiles.length;
  let filesDone = 0;
  let sessionsDone = 0;
  let bytes = 0;
  const report = (p: Omit<LoadProgress, 'filesDone' | 'filesTotal' | 'sessionsDone' | 'sessionsTotal'>): void =>
    opts.onProgress?.({ ...p, filesDone, filesTotal, sessionsDone, sessionsTotal: 3 });
  const read = async (path: string, optional = false): Promise<ArrayBuffer | null> => {
    opts.signal?.throwIfAborted();
    report({ phase: 'fetch', file: path, status: 'initiate', loaded: 0, total: null });
    const buf = await source.read(path, {
      optional,
      signal: opts.signal,
      onProgress: (loaded, total) => report({ phase: 'fetch', file: path, status: 'progress', loaded, total }),
    });
    filesDone++;
    bytes += buf?.byteLength ?? 0;
    report({ phase: 'fetch', file: path, status: 'done', loaded: buf?.byteLength ?? 0, total: buf?.byteLength ?? 0 });
    return buf;
  };
  const readJson = async (path: string, optional = false): Promise<Record<string, unknown> | null> => {
    const buf = await read(path, optional);
    return buf ? parseJsonFile(buf, path) : null;
  };

  // 1. JSON: layout, scheduler, tokenizer. Fail fast before the big downloads.
  const modelIndex = (await readJson(LAYOUT_FILES.modelIndex))!;
  const schedulerConfig = (await readJson(LAYOUT_FILES.schedulerConfig))!;
  const [unetConfig, vaeConfig, textEncoderConfig] = [
    await readJson(LAYOUT_FILES.unetConfig, true),
    await readJson(LAYOUT_FILES.vaeDecoderConfig, true),
    await readJson(LAYOUT_FILES.textEncoderConfig, true),
  ];
  const layout = buildLayout({ modelIndex, schedulerConfig, unetConfig, vaeConfig, textEncoderConfig });
  const probe = makeScheduler(schedulerConfig, layout.defaults.sampler || undefined);
  const tokenizerJson = (await readJson(LAYOUT_FILES.tokenizer))!;
  const tokenizerConfig = (await readJson(LAYOUT_FILES.tokenizerConfig))!;
  const maxPos = textEncoderConfig?.max_position_embeddings;
  const tokenizer = PromptTokenizer.fromJson(tokenizerJson, tokenizerConfig, typeof maxPos === 'number' ? maxPos : null);

  // 2. ONNX bytes.
  const onnx: ArrayBuffer[] = [];
  // Weights over 2 GB live next to the graph (protobuf limit) in files the graph itself names (`model.onnx_data`
  // from Optimum, `weights.pb` from diffusers' conversion script): read from the graph, never guessed, so no
  // request is made for a sidecar that does not exist. ORT maps them by that name.
  const external: Array<Array<{ path: string; data: Uint8Array }> | undefined> = [];
  for (const f of onnxFiles) {
    const bytes = (await read(f))!;
    onnx.push(bytes);
    const refs = sidecarsOf(f, new Uint8Array(bytes));
    filesTotal += refs.length;
    external.push(refs.length ? await readSidecars(source, f, new Uint8Array(bytes), { read: (p) => read(p, true) }) : undefined);
  }

  // 3. Sessions: WebGPU first (unless the user chose WASM), WASM as the fallback, with the reason.
  let provider: Provider = 'wasm';
  let providerReason = 'WASM selected';
  let adapterInfo = '';
  if (opts.provider !== 'wasm') {
    const caps = await probeWebGpu();
    const needsF16 = opts.requiredFeatures?.includes('shader-f16') === true;
    if (caps.available && needsF16 && !caps.shaderF16) {
      const why =
        `${opts.name} has fp16 weights, which need the WebGPU feature shader-f16; this adapter (${caps.adapterInfo}) ` +
        `does not offer it (limits: maxBufferSize ${caps.maxBufferSize}, maxStorageBufferBindingSize ${caps.maxStorageBufferBindingSize})`;
      if (opts.provider === 'webgpu') {
        throw new EngineError('GPU_FEATURE_MISSING', `${why}. Choose WASM (slow) or Auto, use an fp32 export, or a GPU/browser with shader-f16.`, LAYOUT_FILES.unet);
      }
      providerReason = `WASM fallback: ${why}`;
    } else if (caps.available && caps.software && opts.provider === 'auto') {
      // Auto on a CPU-emulated GPU: WASM is far faster (issue 15: 8 ms vs seconds per 1-step image). An explicit
      // WebGPU choice still gets WebGPU.
      providerReason = `WASM preferred: ${caps.reason}; WASM is faster here (choose WebGPU to use it anyway)`;
    } else if (caps.available) {
      provider = 'webgpu';
      providerReason = `WebGPU on ${caps.adapterInfo}${caps.shaderF16 ? ' (shader-f16)' : ''}`;
      adapterInfo = caps.adapterInfo;
    } else {
      providerReason = `WASM fallback: ${caps.reason}`;
    }
  }
  const createAll = async (p: Provider): Promise<SessionHandle[]> => {
    const made: SessionHandle[] = [];
    sessionsDone = 0;
    try {
      for (let i = 0; i < onnxFiles.length; i++) {
        opts.signal?.throwIfAborted();
        report({ phase: 'session', file: onnxFiles[i], status: 'initiate', loaded: 0, total: null });
        made.push(await createSession(onnx[i], onnxFiles[i], p, external[i]));
        sessionsDone++;
        report({ phase: 'session', file: onnxFiles[i], status: 'done', loaded: 0, total: null });
      }
      return made;
    } catch (e) {
      await Promise.all(made.map((s) => s.release().catch(() => undefined)));
      throw e;
    }
  };
  let handles: SessionHandle[];
  try {
    handles = await createAll(provider);
  } catch (e) {
    if (provider === 'webgpu' && e instanceof EngineError && e.code === 'SESSION_CREATE_FAILED') {
      providerReason = `WASM fallback: WebGPU session failed (${e.message})`;
      provider = 'wasm';
      handles = await createAll('wasm');
    } else {
      throw e;
    }
  }
  const sessions: Sessions = { textEncoder: handles[0], unet: handles[1], vae: handles[2] };
  let io: ModelIo;
  try {
    io = new ModelIo(sessions);
  } catch (e) {
    await Promise.all(handles.map((s) => s.release().catch(() => undefined)));
    throw e;
  }
  const latentShape = resolveLatentShape(layout, sessions);
  checkComponentsFit(layout, sessions, io, latentShape);
  const imageSize = resolveImageSize(layout, latentShape, sessions.vae);
  const ioInfo: ModelInfo['io'] = {};
  for (const [k, s] of Object.entries(sessions)) {
    ioInfo[k] = { inputs: [...s.inputs.values()].map((v) => `${v.name}: ${v.type}[${v.shape.join(',')}]`), outputs: [...s.outputs.keys()] };
  }
  const info: ModelInfo = {
    name: opts.name,
    source: source.label,
    provider,
    providerReason,
    adapterInfo,
    pipelineClass: layout.pipelineClass,
    schedulerClass: probe.config._class_name as string,
    schedulerConfig: layout.schedulerConfig,
    defaults: layout.defaults,
    latentShape,
    imageSize,
    timeCondProjDim: layout.timeCondProjDim ?? timeCondDimFromSession(io),
    io: ioInfo,
    bytes,
    loadMs: now() - t0,
  };
  return { info, layout, tokenizer, sessions, io };
}


function timeCondDimFromSession(io: ModelIo): number | null {
  const spec = io.timestepCond;
  const d = spec?.shape[1];
  return typeof d === 'number' ? d : spec ? 256 : null;
}

/** [1, C, h, w] from the UNet's declared sample shape, else its config (sample_size, in_channels). */
function resolveLatentShape(layout: ModelLayout, s: Sessions): number[] {
  const spec = s.unet.findInput(...IO_NAMES.unet.sample);
  const c = numOr(spec?.shape[1], layout.unetConfig.in_channels, 4);
  const size = layout.unetConfig.sample_size;
  const [hCfg, wCfg] = Array.isArray(size) ? size : [size, size];
  const h = numOr(spec?.shape[2], hCfg, 64);
  const w = numOr(spec?.shape[3], wCfg, 64);
  return [1, c, h, w];
}

function numOr(a: unknown, b: unknown, fallback: number): number {
  if (typeof a === 'number' && a > 0) return a;
  if (typeof b === 'number' && b > 0) return b;
  return fallback;
}

/** [width, height]: the VAE decoder's declared output size when fixed, else diffusers' 2^(blocks-1) upsampling. */
function resolveImageSize(layout: ModelLayout, latent: number[], vae?: SessionHandle): [number, number] {
  const out = vae ? [...vae.outputs.values()][0] : undefined;
  const [h, w] = [out?.shape[2], out?.shape[3]];
  if (typeof h === 'number' && typeof w === 'number' && h > 0 && w > 0) return [w, h];
  const blocks = layout.vaeConfig.block_out_channels;
  const factor = Array.isArray(blocks) && blocks.length > 0 ? 2 ** (blocks.length - 1) : 8;
  return [latent[3] * factor, latent[2] * factor];
}

/** Components must agree: text width = UNet cross-attention width, VAE latent channels = UNet channels. */
function checkComponentsFit(layout: ModelLayout, s: Sessions, io: ModelIo, latent: number[]): void {
  const ehs = io.encoderHiddenStates;
  const teOut = s.textEncoder.outputs.get(io.textOut);
  const a = teOut?.shape[teOut.shape.length - 1];
  const b = ehs.shape[ehs.shape.length - 1];
  const hidden = layout.textEncoderConfig.hidden_size;
  const teDim = typeof a === 'number' ? a : typeof hidden === 'number' ? hidden : null;
  if (teDim !== null && typeof b === 'number' && teDim !== b) {
    throw new EngineError(
      'TENSOR_SHAPE_MISMATCH',
      `The text encoder outputs width ${teDim} but unet/model.onnx expects encoder_hidden_states width ${b}: the components come from different models.`,
      LAYOUT_FILES.unet,
    );
  }
  const vc = io.vaeIn?.shape[1];
  if (typeof vc === 'number' && vc !== latent[1]) {
    throw new EngineError(
      'TENSOR_SHAPE_MISMATCH',
      `vae_decoder/model.onnx takes ${vc} latent channels but the UNet works on ${latent[1]}.`,
      LAYOUT_FILES.vaeDecoder,
    );
  }
}
