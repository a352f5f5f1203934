/**
 * Loading a pipeline folder: JSON first (layout, scheduler, tokenizer; fail fast before the big downloads), then the
 * provider (WebGPU first, WASM as the fallback, with the reason), then one component at a time: its graph and
 * sidecars are read, its session is made, and its bytes are dropped before the next graph is read (peak memory: one
 * component's files plus what ORT holds; see step 3). Then the model's I/O bindings and shape checks.
 * `describePipeline` reads only the two small JSON files.
 */
import { schedulerFromConfig, type Scheduler } from '../../schedulers';
import { EngineError } from '../errors';
import { IO_NAMES } from '../io';
import { mergeLoras, type LoraMergeResult } from '../lora';
import { buildLayout, LAYOUT_FILES, onnxFilesOf, parseDefaults, parseJsonFile, pipelineKindOf, type ModelLayout, type PipelineDefaults } from '../layout';
import { createSession, probeWebGpu, type Provider, type SessionHandle } from '../ort';
import type { ModelSource } from '../source';
import { readSidecars, sidecarsOf } from '../sources/externalData';
import { isOnDemand, type SyncRangeReader } from '../sources/onDemand';
import { PromptTokenizer, readTokenizerFiles } from '../tokenizer';
import { ModelIo, type Sessions } from './bindings';
import { loadSecondTokenizer } from './sdxl';
import type { LoadOptions, LoadProgress, ModelInfo } from './types';

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * One graph's bytes while its session is made: the `.onnx` file and the sidecars it names, as onnxruntime-web's
 * `externalData` (views, no copies). loadPipeline holds one of these at a time and drops it when the session exists.
 */
interface ComponentBytes {
  graph: ArrayBuffer;
  external: Array<{ path: string; data: Uint8Array }> | undefined;
}

/** Bytes of a component's files (graph + sidecars). */
function componentBytes(c: ComponentBytes): number {
  return c.graph.byteLength + (c.external ?? []).reduce((n, e) => n + e.data.byteLength, 0);
}

/** What a load produces; Pipeline wraps it. */
export interface LoadedParts {
  info: ModelInfo;
  layout: ModelLayout;
  tokenizer: PromptTokenizer;
  /** SDXL's tokenizer_2 (pipeline/sdxl.ts loadSecondTokenizer), null for the 'sd' kind. */
  tokenizer2: PromptTokenizer | null;
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
  const onnxFiles: string[] = [LAYOUT_FILES.textEncoder, LAYOUT_FILES.unet, LAYOUT_FILES.vaeDecoder];
  // Sidecars are counted when a graph names them (step 2).
  let filesTotal = jsonFiles.length + optionalJson.length + onnxFiles.length;
  let filesDone = 0;
  let sessionsDone = 0;
  let bytes = 0;
  const report = (p: Omit<LoadProgress, 'filesDone' | 'filesTotal' | 'sessionsDone' | 'sessionsTotal'>): void =>
    opts.onProgress?.({ ...p, filesDone, filesTotal, sessionsDone, sessionsTotal: onnxFiles.length });
  /** Read one file with progress; `again` marks a re-read after a WebGPU fallback (not added to ModelInfo.bytes). */
  const read = async (path: string, optional = false, again = false): Promise<ArrayBuffer | null> => {
    opts.signal?.throwIfAborted();
    report({ phase: 'fetch', file: path, status: 'initiate', loaded: 0, total: null });
    const buf = await source.read(path, {
      optional,
      signal: opts.signal,
      onProgress: (loaded, total) => report({ phase: 'fetch', file: path, status: 'progress', loaded, total }),
    });
    filesDone++;
    if (!again) bytes += buf?.byteLength ?? 0;
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
  // SDXL: text_encoder_2's config too; the graph paths come from the layout (model_index.json fewstep.components).
  const sdxl = pipelineKindOf(modelIndex) === 'sdxl';
  if (sdxl) filesTotal += 3; // text_encoder_2/config.json, tokenizer_2/tokenizer.json, tokenizer_2/tokenizer_config.json
  const textEncoder2Config = sdxl ? await readJson(LAYOUT_FILES.textEncoder2Config, true) : null;
  const layout = buildLayout({ modelIndex, schedulerConfig, unetConfig, vaeConfig, textEncoderConfig, textEncoder2Config });
  onnxFiles.splice(0, onnxFiles.length, ...onnxFilesOf(layout.components));
  filesTotal += onnxFiles.length - 3;
  const probe = makeScheduler(schedulerConfig, layout.defaults.sampler || undefined);
  // tokenizer.json, or vocab.json + merges.txt (real diffusers exports) built into one (tokenizer.ts).
  const tok = (await readTokenizerFiles(read))!;
  filesTotal += tok.paths.length - 2;
  const { tokenizerJson, tokenizerConfig } = tok;
  const maxPos = textEncoderConfig?.max_position_embeddings;
  const tokenizer = PromptTokenizer.fromJson(tokenizerJson, tokenizerConfig, typeof maxPos === 'number' ? maxPos : null, tok.file);
  const maxPos2 = textEncoder2Config?.max_position_embeddings;
  const tokenizer2 = sdxl
    ? await loadSecondTokenizer(read, { tokenizerJson, tokenizerConfig }, typeof maxPos2 === 'number' ? maxPos2 : null)
    : null;

  // 2. Provider: WebGPU first (unless the user chose WASM), WASM as the fallback, with the reason. Decided before any
  // graph is read: it needs no bytes, and an adapter without a required feature fails before the big reads.
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
        throw new EngineError('GPU_FEATURE_MISSING', `${why}. Choose WASM (slow) or Auto, use an fp32 export, or a GPU/browser with shader-f16.`, layout.components.unet);
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

  // 3. One component at a time (issue 12, memory): read a graph and the sidecars it names, create its session, and
  // drop every reference to those bytes before the next graph is read. onnxruntime-web copies the bytes during
  // InferenceSession.create (the graph and each external tensor into its WASM heap, or the weights into GPU buffers
  // on WebGPU: `HEAPU8.set` / `jsepUploadExternalBuffer` of `externalData[i].data.subarray(offset, offset + length)`)
  // and unmounts `externalData` when create returns, so after that nothing holds them and the next component's
  // reads can reuse the memory. At most one component's files are in JS memory at a time (the largest sets the
  // peak), instead of every file of the pipeline (about 2.5 GB for SD 2.1) while the first session is made; a
  // sidecar on a local disk is not in JS memory at all (read on demand, below: bench/memory.mjs, fp32 1 GiB UNet
  // 2.02x -> 1.00x its bytes, fp16 3.69x -> 2.67x, the rest being onnxruntime's fp32 copy of fp16 weights on WASM).
  // Weights over 2 GB live next to the graph (protobuf limit) in files the graph itself names (`model.onnx_data`
  // from Optimum, `weights.pb` from diffusers' conversion script): read from the graph, never guessed, so no request
  // is made for a sidecar that does not exist. ORT maps them by that name. The readers fill one buffer of the file's
  // size and keep no reference to it (source.ts UrlSource and FileMapSource, download/store.ts assembleFile).
  // LoRAs (issue 13) are merged into the U-Net's bytes as soon as they are read, before its session: also when a
  // WebGPU -> WASM fallback reads the U-Net again (the fresh bytes are the base weights, merged once more).
  // Sidecars on a local disk (a picked folder in the worker, a folder in Node: ModelSource.syncReader) are not read
  // here at all: onnxruntime gets an OnDemandBytes (sources/onDemand.ts) and reads each tensor's range from the file
  // while it makes the session, so JS never holds the file (an fp32 UNet's load peaks at ~1.0x its bytes instead of
  // 2x). Not for a U-Net that LoRAs are merged into (the merge rewrites the bytes in memory), nor for `whole` re-reads.
  let lora: LoraMergeResult | undefined;
  const openOnDemand = (path: string, again: boolean): SyncRangeReader | null => {
    const reader = source.syncReader?.(path) ?? null;
    if (!reader) return null;
    filesDone++;
    if (!again) bytes += reader.size;
    report({ phase: 'fetch', file: path, status: 'done', loaded: reader.size, total: reader.size });
    return reader;
  };
  const readComponent = async (file: string, again = false, whole = false): Promise<ComponentBytes> => {
    const graph = (await read(file, false, again))!;
    const model = new Uint8Array(graph);
    filesTotal += sidecarsOf(file, model).length;
    const merging = !!opts.loras?.length && file === layout.components.unet;
    const external = await readSidecars(source, file, model, {
      read: (p) => read(p, true, again),
      open: whole || merging ? undefined : (p) => openOnDemand(p, again),
    });
    if (opts.loras?.length && file === layout.components.unet) {
      const merged = mergeLoras(model, external, opts.loras, file);
      lora = lora ? { ...merged, ms: lora.ms + merged.ms } : merged;
    }
    return { graph, external };
  };
  const handles: SessionHandle[] = [];
  /** Create component i's session on `p`; `held.bytes` is released (set to null) as soon as the session exists. */
  const createHeld = async (i: number, held: { bytes: ComponentBytes | null }, p: Provider): Promise<SessionHandle> => {
    opts.signal?.throwIfAborted();
    report({ phase: 'session', file: onnxFiles[i], status: 'initiate', loaded: 0, total: null });
    const parts = held.bytes!;
    const onDemand = (parts.external ?? []).map((e) => e.data).filter(isOnDemand);
    let handle: SessionHandle;
    try {
      handle = await createSession(parts.graph, onnxFiles[i], p, parts.external);
    } catch (e) {
      if (!onDemand.length || !(e instanceof EngineError) || !/external data/i.test(e.message)) throw e;
      // onnxruntime could not read a sidecar on demand (the file changed, or an onnxruntime that reads external data
      // another way): read the component whole and try once more. A failure of that attempt keeps those bytes in
      // `held` for the WebGPU -> WASM fallback.
      onDemand.forEach((d) => d.close());
      held.bytes = await readComponent(onnxFiles[i], true, true);
      handle = await createSession(held.bytes.graph, onnxFiles[i], p, held.bytes.external);
    } finally {
      onDemand.forEach((d) => d.close());
    }
    held.bytes = null;
    sessionsDone++;
    report({ phase: 'session', file: onnxFiles[i], status: 'done', loaded: 0, total: null });
    return handle;
  };
  // WebGPU -> WASM fallback: a WebGPU session that fails to be created (SESSION_CREATE_FAILED) moves the whole
  // pipeline to WASM. The failing component's bytes are still held, so its WASM session is made from them without a
  // second read; the components before it gave their bytes up when their WebGPU sessions were made, so their WebGPU
  // sessions are released and they are read again from the source (a store, a folder or the network: time, not
  // memory) for their WASM sessions, one at a time after the failing one's. providerReason names the files read
  // again. Keeping every component's bytes until the last session exists would avoid those reads but bring back
  // the all-files peak this ordering removes.
  const fallBackToWasm = async (i: number, held: { bytes: ComponentBytes | null }, failure: EngineError): Promise<SessionHandle> => {
    provider = 'wasm';
    adapterInfo = '';
    const earlier = handles.splice(0, i);
    await Promise.all(earlier.map((s) => s.release().catch(() => undefined)));
    sessionsDone = 0;
    const handle = await createHeld(i, held, 'wasm');
    let reread = 0;
    for (let j = 0; j < i; j++) {
      const again: { bytes: ComponentBytes | null } = { bytes: await readComponent(onnxFiles[j], true) };
      reread += componentBytes(again.bytes!);
      handles[j] = await createHeld(j, again, 'wasm');
    }
    providerReason =
      `WASM fallback: WebGPU session failed (${failure.message})` +
      (i > 0 ? `; read ${onnxFiles.slice(0, i).join(', ')} again for WASM (${(reread / 1e6).toFixed(1)} MB with sidecars)` : '');
    return handle;
  };
  try {
    for (let i = 0; i < onnxFiles.length; i++) {
      const held: { bytes: ComponentBytes | null } = { bytes: await readComponent(onnxFiles[i]) };
      try {
        handles[i] = await createHeld(i, held, provider);
      } catch (e) {
        if (!(provider === 'webgpu' && e instanceof EngineError && e.code === 'SESSION_CREATE_FAILED')) throw e;
        handles[i] = await fallBackToWasm(i, held, e);
      }
    }
  } catch (e) {
    await Promise.all(handles.map((s) => s?.release().catch(() => undefined)));
    throw e;
  }
  const sessions: Sessions = { textEncoder: handles[0], unet: handles[1], vae: handles[2], ...(handles[3] ? { textEncoder2: handles[3] } : {}) };
  let io: ModelIo;
  try {
    io = new ModelIo(sessions, layout);
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
    ...(lora ? { lora } : {}),
  };
  return { info, layout, tokenizer, tokenizer2, sessions, io };
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
  const a = io.textWidth; // SDXL: both encoders' widths summed (768 + 1280)
  const b = ehs.shape[ehs.shape.length - 1];
  const hidden = layout.kind === 'sd' ? layout.textEncoderConfig.hidden_size : undefined;
  const teDim = typeof a === 'number' ? a : typeof hidden === 'number' ? hidden : null;
  if (teDim !== null && typeof b === 'number' && teDim !== b) {
    throw new EngineError(
      'TENSOR_SHAPE_MISMATCH',
      `The text encoder${io.sdxl ? 's output (concatenated)' : ' outputs'} width ${teDim} but ${s.unet.file} expects encoder_hidden_states width ${b}: the components come from different models.`,
      s.unet.file,
    );
  }
  const vc = io.vaeIn?.shape[1];
  if (typeof vc === 'number' && vc !== latent[1]) {
    throw new EngineError(
      'TENSOR_SHAPE_MISMATCH',
      `${s.vae.file} takes ${vc} latent channels but the UNet works on ${latent[1]}.`,
      s.vae.file,
    );
  }
}
