/**
 * A loaded text-to-image pipeline and its sampling loop, written like diffusers' StableDiffusionPipeline.__call__:
 * 0 validate, 1 encode prompt (cached), 2 timesteps, 3 initial latents x initNoiseSigma, 4 denoise, 5 decode.
 * The step math is the scheduler module's (src/schedulers); this file only drives it.
 */
import {
  cfgCombine,
  createGaussianRng,
  createTorchGenerator,
  guidanceScaleEmbedding,
  schedulerFromConfig,
  type NoiseSource,
  type Scheduler,
} from '../schedulers';
import { EngineError } from './errors';
import { chwToRgba, countNonFinite, type RgbaImage } from './image';
import { fixedBatch, timestepDims, toTypedArray } from './io';
import { buildLayout, LAYOUT_FILES, parseDefaults, parseJsonFile, type ModelLayout, type PipelineDefaults } from './layout';
import { gpuCounters } from './gpu/counters';
import { GpuLoop, gpuLoopUnsupported } from './gpu/gpuLoop';
import { GPU_STEP_CLASSES, stepPlan } from './gpu/stepPlan';
import { cpuTensor, createSession, ortQueue, probeWebGpu, type OrtTensor, type Provider, type ProviderPreference, type SessionHandle } from './ort';
import type { CancelToken } from './queue';
import type { ModelSource } from './source';
import { PromptTokenizer } from './tokenizer';

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

export interface StageTimings {
  tokenizeMs: number;
  textEncoderMs: number;
  /** True when the prompt embedding came from the cache (textEncoderMs is then 0). */
  embeddingCached: boolean;
  unetMs: number[];
  schedulerMs: number[];
  vaeMs: number;
  readbackMs: number;
  previewMs: number;
  totalMs: number;
}

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

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

const SUPPORTED_FOR_RUN = new Set([
  'DDIMScheduler',
  'DDPMScheduler',
  'LCMScheduler',
  'EulerDiscreteScheduler',
  'EulerAncestralDiscreteScheduler',
]);

/** Wrap the scheduler module's errors (bad class, bad steps) into engine errors with the file they concern. */
function makeScheduler(config: Record<string, unknown>, className?: string): Scheduler {
  try {
    return schedulerFromConfig(config, className ? { className } : undefined);
  } catch (e) {
    throw new EngineError('SCHEDULER_UNSUPPORTED', (e as Error).message, LAYOUT_FILES.schedulerConfig);
  }
}

interface Sessions {
  textEncoder: SessionHandle;
  unet: SessionHandle;
  vae: SessionHandle;
}

export class Pipeline {
  private readonly embeddingCache = new Map<string, Float32Array>();
  /** Schedulers by class override ('' = the model's own), built once: construction costs ~0.3 ms in Chromium. */
  private readonly schedulers = new Map<string, Scheduler>();
  private gpuLoop: Promise<GpuLoop> | null = null;
  private constructor(
    readonly info: ModelInfo,
    readonly layout: ModelLayout,
    private readonly tokenizer: PromptTokenizer,
    private readonly sessions: Sessions,
  ) {}

  /**
   * A pipeline folder's defaults from its two small JSON files (model_index.json, scheduler config), no ONNX read.
   * Errors are the ones load() would raise for those files (missing file, bad JSON, unsupported scheduler).
   */
  static async describe(source: ModelSource, signal?: AbortSignal): Promise<PipelineDefaults> {
    const readJson = async (path: string): Promise<Record<string, unknown>> => parseJsonFile((await source.read(path, { signal }))!, path);
    const modelIndex = await readJson(LAYOUT_FILES.modelIndex);
    const schedulerConfig = await readJson(LAYOUT_FILES.schedulerConfig);
    const defaults = parseDefaults(modelIndex, schedulerConfig);
    makeScheduler(schedulerConfig, defaults.sampler || undefined);
    return defaults;
  }

  static async load(source: ModelSource, opts: LoadOptions): Promise<Pipeline> {
    const t0 = now();
    const jsonFiles = [LAYOUT_FILES.modelIndex, LAYOUT_FILES.schedulerConfig, LAYOUT_FILES.tokenizer, LAYOUT_FILES.tokenizerConfig];
    const optionalJson = [LAYOUT_FILES.unetConfig, LAYOUT_FILES.vaeDecoderConfig, LAYOUT_FILES.textEncoderConfig];
    const onnxFiles = [LAYOUT_FILES.textEncoder, LAYOUT_FILES.unet, LAYOUT_FILES.vaeDecoder];
    const externalTotal = opts.externalDataFiles
      ? onnxFiles.filter((f) => opts.externalDataFiles!.includes(`${f}_data`)).length
      : onnxFiles.length;
    const filesTotal = jsonFiles.length + optionalJson.length + onnxFiles.length + externalTotal;
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
    for (const f of onnxFiles) onnx.push((await read(f))!);
    // Weights over 2 GB live next to the graph in model.onnx_data (protobuf limit); ORT maps them by file name.
    const external: Array<Array<{ path: string; data: Uint8Array }> | undefined> = [];
    for (const f of onnxFiles) {
      const dataPath = `${f}_data`;
      const known = opts.externalDataFiles;
      if (known && !known.includes(dataPath)) {
        external.push(undefined);
        continue;
      }
      const buf = await read(dataPath, !known);
      external.push(buf ? [{ path: dataPath.split('/').pop()!, data: new Uint8Array(buf) }] : undefined);
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
    const latentShape = resolveLatentShape(layout, sessions);
    checkComponentsFit(layout, sessions, latentShape);
    const imageSize = resolveImageSize(layout, latentShape, sessions.vae);
    const io: ModelInfo['io'] = {};
    for (const [k, s] of Object.entries(sessions)) {
      io[k] = { inputs: [...s.inputs.values()].map((v) => `${v.name}: ${v.type}[${v.shape.join(',')}]`), outputs: [...s.outputs.keys()] };
    }
    const info: ModelInfo = {
      name: opts.name,
      source: source.label,
      provider,
      providerReason,
      adapterInfo,
      pipelineClass: layout.pipelineClass,
      schedulerClass: probe.config._class_name as string,
      defaults: layout.defaults,
      latentShape,
      imageSize,
      timeCondProjDim: layout.timeCondProjDim ?? timeCondDimFromSession(sessions.unet),
      io,
      bytes,
      loadMs: now() - t0,
    };
    return new Pipeline(info, layout, tokenizer, sessions);
  }

  /** Token ids the text encoder sees for `text` (padded/truncated to its length). */
  tokenIds(text: string): number[] {
    return this.tokenizer.encode(text);
  }

  async release(): Promise<void> {
    const gpu = this.gpuLoop;
    this.gpuLoop = null;
    if (gpu) (await gpu.catch(() => null))?.release();
    await Promise.all(Object.values(this.sessions).map((s: SessionHandle) => s.release().catch(() => undefined)));
    this.embeddingCache.clear();
  }

  /** Encode one prompt to [1, 77, D], cached: changing only steps or seed never re-encodes. */
  private async encode(text: string, t: StageTimings): Promise<Float32Array> {
    const hit = this.embeddingCache.get(text);
    if (hit) return hit;
    t.embeddingCached = false;
    const t0 = now();
    const ids = this.tokenizer.encode(text);
    t.tokenizeMs += now() - t0;
    const te = this.sessions.textEncoder;
    const idsSpec = te.findInput('input_ids') ?? [...te.inputs.values()][0];
    const feeds: Record<string, [ReturnType<typeof toTypedArray>, number[]]> = {
      [idsSpec.name]: [toTypedArray(ids, idsSpec.type, idsSpec.name), [1, ids.length]],
    };
    const mask = te.input('attention_mask');
    if (mask) feeds[mask.name] = [toTypedArray(ids.map(() => 1), mask.type, mask.name), [1, ids.length]];
    const outName = te.outputs.has('last_hidden_state') ? 'last_hidden_state' : [...te.outputs.keys()][0];
    const t1 = now();
    const out = await te.run(feeds, [outName]);
    t.textEncoderMs += now() - t1;
    const emb = out[outName].data;
    if (countNonFinite(emb) > 0) {
      throw new EngineError('NON_FINITE_OUTPUT', 'The text encoder produced NaN/Inf values.', LAYOUT_FILES.textEncoder);
    }
    if (this.embeddingCache.size >= 16) this.embeddingCache.delete(this.embeddingCache.keys().next().value!);
    this.embeddingCache.set(text, emb);
    return emb;
  }

  async generate(params: GenerateParams, token: CancelToken, onStep?: (e: StepEvent) => void): Promise<GenerateResult> {
    const tStart = now();
    const timings: StageTimings = {
      tokenizeMs: 0,
      textEncoderMs: 0,
      embeddingCached: true,
      unetMs: [],
      schedulerMs: [],
      vaeMs: 0,
      readbackMs: 0,
      previewMs: 0,
      totalMs: 0,
    };
    // 0. validate
    if (typeof params.prompt !== 'string') throw new EngineError('BAD_REQUEST', 'prompt must be a string.');
    if (!Number.isInteger(params.steps) || params.steps < 1) {
      throw new EngineError('BAD_REQUEST', `steps must be a whole number >= 1, got ${params.steps}.`);
    }
    if (!Number.isFinite(params.guidanceScale) || params.guidanceScale < 0) {
      throw new EngineError('BAD_REQUEST', `guidanceScale must be a finite number >= 0, got ${params.guidanceScale}.`);
    }
    if (!Number.isInteger(params.seed) || params.seed < 0 || params.seed > 2 ** 32 - 1) {
      throw new EngineError('BAD_REQUEST', `seed must be a whole number in 0..4294967295, got ${params.seed}.`);
    }
    const scheduler = this.scheduler(params.scheduler);
    const schedulerClass = scheduler.config._class_name as string;
    if (!SUPPORTED_FOR_RUN.has(schedulerClass)) {
      throw new EngineError('SCHEDULER_UNSUPPORTED', `Scheduler ${schedulerClass} cannot drive this pipeline.`);
    }
    const unet = this.sessions.unet;
    const tcDim = this.info.timeCondProjDim;
    const guidanceMode: GenerateResult['guidanceMode'] =
      tcDim !== null ? 'embedding' : params.guidanceScale > 1 ? 'cfg' : 'none';

    // 2. timesteps
    try {
      scheduler.setTimesteps(params.steps);
    } catch (e) {
      throw new EngineError('BAD_REQUEST', (e as Error).message, LAYOUT_FILES.schedulerConfig);
    }
    const timesteps = [...scheduler.timesteps];

    // 3. initial latents
    const shape = this.info.latentShape;
    const n = shape.reduce((a, b) => a * b, 1);
    // One generator for the initial latents and every stochastic step, drawn in diffusers' order, so 'torch' mode
    // reproduces diffusers with a CPU torch.Generator seeded the same way.
    const rng: NoiseSource = params.rng === 'torch' ? createTorchGenerator(params.seed) : createGaussianRng(params.seed);
    let latents: Float32Array;
    if (params.initialLatents) {
      if (params.initialLatents.length !== n) {
        throw new EngineError('TENSOR_SHAPE_MISMATCH', `initialLatents has ${params.initialLatents.length} values; the model needs ${n} ([${shape.join(', ')}]).`);
      }
      latents = Float32Array.from(params.initialLatents);
    } else {
      latents = rng.randn(n);
    }
    const sigma0 = scheduler.initNoiseSigma;
    if (sigma0 !== 1) for (let i = 0; i < n; i++) latents[i] *= sigma0;
    let noiseIndex = 0;
    const stepNoise = (): Float32Array => params.stepNoises?.[noiseIndex++] ?? rng.randn(n);
    const readbacks0 = gpuCounters().installed ? gpuCounters().readbacks : null;
    const readbacks = (): number | null => (readbacks0 === null ? null : gpuCounters().readbacks - readbacks0);

    // 4 (GPU). The GPU-resident loop when it can run: steps 1, 4 and 5 on the GPU, one readback.
    const loop = this.chooseLoop(params, schedulerClass);
    if (loop.kind === 'gpu') {
      const eta = params.eta ?? 0;
      const plan = stepPlan(scheduler, { eta });
      const condSpecG = unet.findInput('timestep_cond', 'w_embedding');
      const gpu = await this.getGpuLoop();
      const r = await gpu.run({
        plan,
        latents,
        prompt: params.prompt,
        negativePrompt: params.negativePrompt ?? '',
        cfgScale: guidanceMode === 'cfg' ? params.guidanceScale : null,
        wEmb: condSpecG && tcDim !== null ? guidanceScaleEmbedding(params.guidanceScale, tcDim) : null,
        noiseFor: (i) => (plan[i].noise ? stepNoise() : null),
        token,
        onStep: (i, unetMs, schedulerMs) => onStep?.({ index: i, total: timesteps.length, timestep: timesteps[i], unetMs, schedulerMs }),
      });
      Object.assign(timings, {
        textEncoderMs: r.textEncoderMs,
        embeddingCached: r.embeddingCached,
        unetMs: r.unetMs,
        schedulerMs: r.schedulerMs,
        vaeMs: r.vaeMs,
        readbackMs: r.readbackMs,
      });
      timings.totalMs = now() - tStart;
      return { image: r.image, latents: r.latents, timesteps, schedulerClass, guidanceMode, timings, loop: 'gpu', loopReason: loop.reason, readbacks: readbacks() };
    }

    // 1. encode prompt (+ unconditional for CFG), cached per text
    token.throwIfCancelled();
    const cond = await this.encode(params.prompt, timings);
    const uncond = guidanceMode === 'cfg' ? await this.encode(params.negativePrompt ?? '', timings) : null;


    const sampleSpec = unet.findInput('sample') ?? [...unet.inputs.values()][0];
    const tSpec = unet.findInput('timestep', 't', 'timesteps')!;
    const ehsSpec = unet.findInput('encoder_hidden_states')!;
    const condSpec = unet.findInput('timestep_cond', 'w_embedding');
    const outName = unet.outputs.has('out_sample') ? 'out_sample' : [...unet.outputs.keys()][0];
    const seqLen = cond.length / this.textDim();
    const batchFixed = fixedBatch(sampleSpec);
    const wEmb = condSpec && tcDim !== null ? guidanceScaleEmbedding(params.guidanceScale, tcDim) : null;

    /** Run the UNet for a batch of items (each latents-sized), honouring a fixed batch axis. */
    const runUnet = async (inputs: Float32Array[], embs: Float32Array[], t: number): Promise<Float32Array[]> => {
      const groups: number[][] =
        batchFixed === null ? [inputs.map((_, i) => i)] : inputs.map((_, i) => [i]);
      const outs: Float32Array[] = [];
      for (const g of groups) {
        const b = batchFixed ?? g.length;
        const pick = (k: number): number => g[Math.min(k, g.length - 1)];
        const sample = new Float32Array(b * n);
        const ehs = new Float32Array(b * cond.length);
        for (let k = 0; k < b; k++) {
          sample.set(inputs[pick(k)], k * n);
          ehs.set(embs[pick(k)], k * cond.length);
        }
        const feeds: Record<string, [ReturnType<typeof toTypedArray>, number[]]> = {
          [sampleSpec.name]: [toTypedArray(sample, sampleSpec.type, sampleSpec.name), [b, ...shape.slice(1)]],
          [ehsSpec.name]: [toTypedArray(ehs, ehsSpec.type, ehsSpec.name), [b, seqLen, this.textDim()]],
        };
        const tDims = timestepDims(tSpec, b);
        const tCount = tDims.reduce((a, c) => a * c, 1);
        feeds[tSpec.name] = [toTypedArray(new Array(tCount).fill(t), tSpec.type, tSpec.name), tDims];
        if (condSpec && wEmb) {
          const w = new Float32Array(b * wEmb.length);
          for (let k = 0; k < b; k++) w.set(wEmb, k * wEmb.length);
          feeds[condSpec.name] = [toTypedArray(w, condSpec.type, condSpec.name), [b, wEmb.length]];
        }
        const res = (await unet.run(feeds, [outName]))[outName].data;
        for (let k = 0; k < g.length; k++) outs.push(res.slice(k * n, (k + 1) * n));
      }
      return outs;
    };

    // 4. denoise
    let x0: Float32Array = latents;
    for (let i = 0; i < timesteps.length; i++) {
      token.throwIfCancelled();
      const t = timesteps[i];
      const tu = now();
      const modelIn = scheduler.scaleModelInput(latents, t);
      let eps: Float32Array;
      if (guidanceMode === 'cfg') {
        const [u, c] = await runUnet([modelIn, modelIn], [uncond!, cond], t);
        eps = cfgCombine(u, c, params.guidanceScale);
      } else {
        [eps] = await runUnet([modelIn], [cond], t);
      }
      const unetMs = now() - tu;
      if (countNonFinite(eps) > 0) {
        throw new EngineError('NON_FINITE_OUTPUT', `The UNet produced NaN/Inf at step ${i + 1} (t=${t}).`, LAYOUT_FILES.unet);
      }
      const ts = now();
      const eta = params.eta ?? 0;
      const out = scheduler.step(eps, t, latents, scheduler.needsNoise(t, { eta }) ? { noise: stepNoise(), eta } : { eta });
      latents = out.prevSample;
      x0 = out.predOriginalSample;
      const schedulerMs = now() - ts;
      timings.unetMs.push(unetMs);
      timings.schedulerMs.push(schedulerMs);
      let preview: RgbaImage | undefined;
      if (params.preview) {
        const tp = now();
        preview = (await this.decode(x0)).image;
        timings.previewMs += now() - tp;
      }
      onStep?.({ index: i, total: timesteps.length, timestep: t, unetMs, schedulerMs, ...(preview ? { preview } : {}) });
    }
    token.throwIfCancelled();

    // 5. decode. LCM's last step already returns `denoised`, so prevSample is what diffusers decodes too.
    const dec = await this.decode(latents);
    timings.vaeMs = dec.vaeMs;
    timings.readbackMs = dec.readbackMs;
    timings.totalMs = now() - tStart;
    return { image: dec.image, latents, timesteps, schedulerClass, guidanceMode, timings, loop: 'cpu', loopReason: loop.reason, readbacks: readbacks() };
  }

  /**
   * The benchmark's lower bound: the same sessions and inputs as `generate(params)`, but only session.run calls in
   * sequence (text encoder when uncached is left out, as a warm generate hits the cache; UNet per step, VAE), no
   * scheduler, no conversion, no queue hops (the whole loop holds ortQueue once). GPU-buffer outputs are disposed
   * unread except the VAE's, read back once at the end so the clock stops when the GPU is done. Returns the wall
   * time of each of `runs` loops in ms.
   */
  async bareLoop(params: GenerateParams, runs: number, token?: CancelToken): Promise<number[]> {
    const scheduler = this.scheduler(params.scheduler);
    scheduler.setTimesteps(params.steps);
    const timesteps = [...scheduler.timesteps];
    const unet = this.sessions.unet;
    const vae = this.sessions.vae;
    const tcDim = this.info.timeCondProjDim;
    const cfg = tcDim === null && params.guidanceScale > 1;
    const scratch: StageTimings = { tokenizeMs: 0, textEncoderMs: 0, embeddingCached: true, unetMs: [], schedulerMs: [], vaeMs: 0, readbackMs: 0, previewMs: 0, totalMs: 0 };
    const cond = await this.encode(params.prompt, scratch);
    const uncond = cfg ? await this.encode(params.negativePrompt ?? '', scratch) : null;
    const shape = this.info.latentShape;
    const n = shape.reduce((a, b) => a * b, 1);
    const latents = createGaussianRng(params.seed).randn(n);
    const sampleSpec = unet.findInput('sample') ?? [...unet.inputs.values()][0];
    const tSpec = unet.findInput('timestep', 't', 'timesteps')!;
    const ehsSpec = unet.findInput('encoder_hidden_states')!;
    const condSpec = unet.findInput('timestep_cond', 'w_embedding');
    const fixed = fixedBatch(sampleSpec);
    const b = cfg && fixed === null ? 2 : 1;
    const runsPerStep = cfg && fixed !== null ? 2 : 1;
    const seqLen = cond.length / this.textDim();
    const sample = new Float32Array(b * n);
    for (let k = 0; k < b; k++) sample.set(latents, k * n);
    const ehs = new Float32Array(b * cond.length);
    ehs.set(uncond ?? cond, 0);
    if (b === 2) ehs.set(cond, cond.length);
    const base: Record<string, OrtTensor> = {
      [sampleSpec.name]: cpuTensor(sampleSpec.type, toTypedArray(sample, sampleSpec.type, sampleSpec.name), [b, ...shape.slice(1)]),
      [ehsSpec.name]: cpuTensor(ehsSpec.type, toTypedArray(ehs, ehsSpec.type, ehsSpec.name), [b, seqLen, this.textDim()]),
    };
    if (condSpec && tcDim !== null) {
      const w = guidanceScaleEmbedding(params.guidanceScale, tcDim);
      const ww = new Float32Array(b * w.length);
      for (let k = 0; k < b; k++) ww.set(w, k * w.length);
      base[condSpec.name] = cpuTensor(condSpec.type, toTypedArray(ww, condSpec.type, condSpec.name), [b, w.length]);
    }
    const tDims = timestepDims(tSpec, b);
    const tCount = tDims.reduce((x, y) => x * y, 1);
    const stepFeeds = timesteps.map((t) => ({ ...base, [tSpec.name]: cpuTensor(tSpec.type, toTypedArray(new Array(tCount).fill(t), tSpec.type, tSpec.name), tDims) }));
    const vSpec = vae.findInput('latent_sample', 'latents', 'z') ?? [...vae.inputs.values()][0];
    const vFeeds = { [vSpec.name]: cpuTensor(vSpec.type, toTypedArray(latents, vSpec.type, vSpec.name), shape) };
    const out: number[] = [];
    for (let r = 0; r < runs; r++) {
      token?.throwIfCancelled();
      out.push(
        await ortQueue.run(async () => {
          const t0 = now();
          for (const f of stepFeeds) {
            for (let k = 0; k < runsPerStep; k++) for (const t of Object.values(await unet.runDirect(f))) t.dispose();
          }
          const v = await vae.runDirect(vFeeds);
          for (const t of Object.values(v)) {
            if (t.location !== 'cpu') await t.getData();
            t.dispose();
          }
          return now() - t0;
        }),
      );
    }
    return out;
  }

  /** Which loop runs `params` (see GenerateParams.loop), with the reason. */
  chooseLoop(params: Pick<GenerateParams, 'loop' | 'preview'>, schedulerClass: string): { kind: 'cpu' | 'gpu'; reason: string } {
    const want = params.loop ?? 'auto';
    if (want === 'cpu') return { kind: 'cpu', reason: 'CPU loop requested' };
    const why =
      gpuLoopUnsupported(this.sessions) ??
      (!GPU_STEP_CLASSES.has(schedulerClass) ? `${schedulerClass} has no GPU step kernel` : null) ??
      (params.preview ? 'per-step previews need the latents on the CPU' : null);
    if (why === null) return { kind: 'gpu', reason: 'GPU-resident loop (one readback per image)' };
    if (want === 'gpu') throw new EngineError('BAD_REQUEST', `The GPU loop cannot run this generation: ${why}. Use loop 'auto' or 'cpu'.`);
    return { kind: 'cpu', reason: `CPU loop: ${why}` };
  }

  private getGpuLoop(): Promise<GpuLoop> {
    this.gpuLoop ??= GpuLoop.create({
      ...this.sessions,
      latentShape: this.info.latentShape,
      imageSize: this.info.imageSize,
      textDim: this.textDim(),
      scalingFactor: this.layout.scalingFactor,
      tokenize: (text) => this.tokenizer.encode(text),
    });
    this.gpuLoop.catch(() => {
      this.gpuLoop = null;
    });
    return this.gpuLoop;
  }

  /**
   * The scheduler for a generation: the model's own class, or `override`. Reused between generations; the caller's
   * setTimesteps resets its only state (the step index).
   */
  private scheduler(override?: string): Scheduler {
    const key = override ?? '';
    let s = this.schedulers.get(key);
    if (!s) {
      s = makeScheduler(this.layout.schedulerConfig, override || this.layout.defaults.sampler || undefined);
      this.schedulers.set(key, s);
    }
    return s;
  }

  private textDim(): number {
    const d = this.layout.textEncoderConfig.hidden_size ?? this.layout.unetConfig.cross_attention_dim;
    if (typeof d === 'number') return d;
    const spec = this.sessions.unet.findInput('encoder_hidden_states');
    const last = spec?.shape[spec.shape.length - 1];
    if (typeof last === 'number') return last;
    throw new EngineError('MODEL_LAYOUT_INVALID', 'Cannot tell the text embedding size: set hidden_size in text_encoder/config.json.', LAYOUT_FILES.textEncoderConfig);
  }

  /** latents -> VAE decoder -> RGBA. */
  async decode(latents: Float32Array): Promise<{ image: RgbaImage; vaeMs: number; readbackMs: number }> {
    const vae = this.sessions.vae;
    const spec = vae.findInput('latent_sample', 'latents', 'z') ?? [...vae.inputs.values()][0];
    const scaled = new Float32Array(latents.length);
    const s = this.layout.scalingFactor;
    for (let i = 0; i < latents.length; i++) scaled[i] = latents[i] / s;
    const outName = vae.outputs.has('sample') ? 'sample' : [...vae.outputs.keys()][0];
    const t0 = now();
    const out = (await vae.run({ [spec.name]: [toTypedArray(scaled, spec.type, spec.name), this.info.latentShape] }, [outName]))[outName];
    const t1 = now();
    const image = chwToRgba(out.data, out.dims);
    return { image, vaeMs: t1 - t0, readbackMs: now() - t1 };
  }
}

function timeCondDimFromSession(unet: SessionHandle): number | null {
  const spec = unet.findInput('timestep_cond', 'w_embedding');
  const d = spec?.shape[1];
  return typeof d === 'number' ? d : spec ? 256 : null;
}

/** [1, C, h, w] from the UNet's declared sample shape, else its config (sample_size, in_channels). */
function resolveLatentShape(layout: ModelLayout, s: Sessions): number[] {
  const spec = s.unet.findInput('sample');
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
function checkComponentsFit(layout: ModelLayout, s: Sessions, latent: number[]): void {
  const ehs = s.unet.findInput('encoder_hidden_states');
  if (!ehs) {
    throw new EngineError('MODEL_LAYOUT_INVALID', 'unet/model.onnx has no encoder_hidden_states input; is it a text-conditioned UNet?', LAYOUT_FILES.unet);
  }
  if (!s.unet.findInput('timestep', 't', 'timesteps')) {
    throw new EngineError('MODEL_LAYOUT_INVALID', 'unet/model.onnx has no timestep input.', LAYOUT_FILES.unet);
  }
  const teOut = s.textEncoder.outputs.get('last_hidden_state') ?? [...s.textEncoder.outputs.values()][0];
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
  const vaeIn = s.vae.findInput('latent_sample', 'latents', 'z') ?? [...s.vae.inputs.values()][0];
  const vc = vaeIn?.shape[1];
  if (typeof vc === 'number' && vc !== latent[1]) {
    throw new EngineError(
      'TENSOR_SHAPE_MISMATCH',
      `vae_decoder/model.onnx takes ${vc} latent channels but the UNet works on ${latent[1]}.`,
      LAYOUT_FILES.vaeDecoder,
    );
  }
}
