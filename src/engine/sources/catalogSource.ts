/**
 * Model sources for downloaded and imported pipelines.
 *
 * - {@link StoreSource} reads the files a download put in the {@link ModelStore} (OPFS / Cache Storage / memory),
 *   so a cached model loads with no network request at all.
 * - {@link CatalogOverlaySource} wraps any source and fills what a public export does not ship from its catalog
 *   entry: SD-Turbo's repo has only the three model.onnx files, so model_index.json, the scheduler config and the
 *   component configs come from the catalog (`sampler.config`, `componentConfig`); the catalog's default sampler,
 *   steps and guidance are injected into model_index.json's "fewstep" block; a `padTokenId` override rewrites
 *   tokenizer_config.json's pad_token. Without an entry (a picked folder, a custom URL) it only supplies a default
 *   model_index.json when the export has none. An entry whose files include a text_encoder_2 graph gets an SDXL
 *   index, and graphs outside the diffusers layout (webnn/sdxl-turbo's `onnx/unet_model_q4f16.onnx`) are named in
 *   its "fewstep.components" (layout.ts componentFilesFromList).
 */
import type { CatalogEntry } from '../catalog/schema';
import type { ModelStore } from '../download/store';
import { EngineError } from '../errors';
import { componentFilesFromList, LAYOUT_FILES, parseJsonFile } from '../layout';
import type { ModelSource, ReadOptions } from '../source';
import type { SyncRangeReader } from './onDemand';

type Json = Record<string, unknown>;

/** The parts of a catalog entry the overlay uses (a full CatalogEntry fits). */
export type OverlayEntry = Pick<CatalogEntry, 'id' | 'name' | 'sampler' | 'tokenizer'> &
  Partial<Pick<CatalogEntry, 'componentConfig' | 'requiredFeatures' | 'precision' | 'files'>>;

function encodeJson(value: unknown): ArrayBuffer {
  return new TextEncoder().encode(JSON.stringify(value)).buffer as ArrayBuffer;
}

/** Files of one model in the download store. */
export class StoreSource implements ModelSource {
  readonly label: string;
  constructor(
    private readonly store: ModelStore,
    private readonly modelId: string,
    label?: string,
  ) {
    this.label = label ?? `download cache (${store.kind}) ${modelId}`;
  }

  async read(path: string, opts: ReadOptions = {}): Promise<ArrayBuffer | null> {
    opts.signal?.throwIfAborted();
    if (!(await this.store.hasFile(this.modelId, path))) {
      if (opts.optional) return null;
      throw new EngineError(
        'MODEL_FILE_MISSING',
        `${path} of ${this.modelId} is not in the download cache: download the model again in the model library.`,
        path,
      );
    }
    let buf: ArrayBuffer;
    try {
      buf = await this.store.readFile(this.modelId, path);
    } catch (e) {
      throw new EngineError('STORAGE', `Could not read ${path} of ${this.modelId} from the download cache: ${(e as Error).message}`, path);
    }
    opts.onProgress?.(buf.byteLength, buf.byteLength);
    return buf;
  }
}

/** The graphs an entry lists, by diffusers component name (layout.ts componentFilesFromList). */
function graphsOf(entry: OverlayEntry | null): ReturnType<typeof componentFilesFromList> {
  return entry?.files ? componentFilesFromList(entry.files.map((f) => f.path)) : {};
}

/**
 * Diffusers pipeline class for an entry: SDXL when it lists a text_encoder_2 graph (Optimum's ORT class name);
 * LCM-distilled UNets take a guidance embedding.
 */
function pipelineClassFor(entry: OverlayEntry | null): string {
  if (graphsOf(entry).text_encoder_2) return 'ORTStableDiffusionXLPipeline';
  const tcd = entry?.componentConfig?.unet?.time_cond_proj_dim;
  if (typeof tcd === 'number' && tcd > 0) return 'LatentConsistencyModelPipeline';
  return 'OnnxStableDiffusionPipeline';
}

/** The "fewstep" defaults block of model_index.json from the catalog's sampler. */
function fewstepDefaults(entry: OverlayEntry): Json {
  const s = entry.sampler;
  const [lo, hi] = s.stepRange;
  const out: Json = { default_steps: s.steps, guidance_scale: s.guidanceScale, sampler: s.schedulerClass, description: entry.name };
  if (hi - lo <= 64) out.allowed_steps = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  return out;
}

/** A model_index.json for an export that has none. */
export function synthesizeModelIndex(entry: OverlayEntry | null): Json {
  const schedulerClass = entry?.sampler.schedulerClass ?? 'DDIMScheduler';
  const graphs = graphsOf(entry);
  // Graphs outside `<component>/model.onnx` are named for the loader (layout.ts componentFilesOf).
  const moved = Object.entries(graphs).filter(([name, path]) => path !== `${name}/model.onnx`);
  const sdxl = graphs.text_encoder_2 !== undefined;
  return {
    _class_name: pipelineClassFor(entry),
    _fewstep_synthesized: true,
    scheduler: ['diffusers', schedulerClass],
    text_encoder: ['diffusers', 'OnnxRuntimeModel'],
    ...(sdxl ? { text_encoder_2: ['diffusers', 'OnnxRuntimeModel'], tokenizer_2: ['transformers', 'CLIPTokenizer'] } : {}),
    tokenizer: ['transformers', 'CLIPTokenizer'],
    unet: ['diffusers', 'OnnxRuntimeModel'],
    vae_decoder: ['diffusers', 'OnnxRuntimeModel'],
    ...(entry ? { fewstep: { ...fewstepDefaults(entry), ...(moved.length > 0 ? { components: Object.fromEntries(moved) } : {}) } } : {}),
  };
}

/** The token string of `id` in a tokenizer.json (added tokens first, then the model vocabulary). */
export function tokenForId(tokenizerJson: Json, id: number): string | null {
  const added = tokenizerJson.added_tokens;
  if (Array.isArray(added)) {
    for (const t of added) if (t && typeof t === 'object' && (t as Json).id === id && typeof (t as Json).content === 'string') return (t as Json).content as string;
  }
  const vocab = (tokenizerJson.model as Json | undefined)?.vocab;
  if (Array.isArray(vocab)) {
    // Unigram: [[piece, score], ...] indexed by id
    const v = vocab[id];
    return Array.isArray(v) && typeof v[0] === 'string' ? v[0] : null;
  }
  if (vocab && typeof vocab === 'object') {
    for (const [tok, i] of Object.entries(vocab as Json)) if (i === id) return tok;
  }
  return null;
}

const COMPONENT_OF: Record<string, string> = {
  [LAYOUT_FILES.unetConfig]: 'unet',
  [LAYOUT_FILES.vaeDecoderConfig]: 'vae_decoder',
  [LAYOUT_FILES.textEncoderConfig]: 'text_encoder',
  [LAYOUT_FILES.textEncoder2Config]: 'text_encoder_2',
};

/** Fills files an export lacks from its catalog entry (see the module comment). Everything else passes through. */
export class CatalogOverlaySource implements ModelSource {
  readonly label: string;
  constructor(
    private readonly inner: ModelSource,
    private readonly entry: OverlayEntry | null,
  ) {
    this.label = inner.label;
  }

  private async readJson(path: string, opts: ReadOptions): Promise<Json | null> {
    const buf = await this.inner.read(path, { ...opts, optional: true });
    return buf ? parseJsonFile(buf, path) : null;
  }

  /** Sidecars and graphs are never overlaid: the inner source's synchronous reader, when it has one. */
  syncReader(path: string): SyncRangeReader | null {
    return this.inner.syncReader?.(path) ?? null;
  }

  private done(buf: ArrayBuffer, opts: ReadOptions): ArrayBuffer {
    opts.onProgress?.(buf.byteLength, buf.byteLength);
    return buf;
  }

  async read(path: string, opts: ReadOptions = {}): Promise<ArrayBuffer | null> {
    const entry = this.entry;
    if (path === LAYOUT_FILES.modelIndex) {
      const base = await this.readJson(path, opts);
      const index = base ?? synthesizeModelIndex(entry);
      if (base && entry) index.fewstep = { ...((base.fewstep as Json | undefined) ?? {}), ...fewstepDefaults(entry) };
      return this.done(encodeJson(index), opts);
    }
    if (!entry) return this.inner.read(path, opts);

    if (path === LAYOUT_FILES.schedulerConfig) {
      const base = await this.readJson(path, opts);
      const cfg: Json = { _class_name: entry.sampler.schedulerClass, ...(base ?? {}), ...(entry.sampler.config ?? {}) };
      return this.done(encodeJson(cfg), opts);
    }
    const component = COMPONENT_OF[path];
    if (component) {
      const extra = entry.componentConfig?.[component];
      const base = await this.readJson(path, opts);
      if (!base && !extra) {
        if (opts.optional) return null;
        throw new EngineError('MODEL_FILE_MISSING', `Missing ${path} in ${this.label} and no componentConfig.${component} in the catalog.`, path);
      }
      return this.done(encodeJson({ ...(base ?? {}), ...(extra ?? {}) }), opts);
    }
    if (path === LAYOUT_FILES.tokenizerConfig) {
      const base = await this.readJson(path, opts);
      const pad = entry.tokenizer.padTokenId;
      if (!base && pad === null) return this.inner.read(path, opts); // throws the usual missing-file error
      const cfg: Json = { ...(base ?? { model_max_length: entry.tokenizer.maxLength }) };
      if (pad !== null) {
        const tokBuf = await this.inner.read(LAYOUT_FILES.tokenizer, { signal: opts.signal, optional: true });
        // Without tokenizer.json, vocab.json (the vocab.json + merges.txt form, tokenizer.ts readTokenizerFiles).
        const vocabPath = 'tokenizer/vocab.json';
        const vocabBuf = tokBuf ? null : await this.inner.read(vocabPath, { signal: opts.signal, optional: true });
        const tok = tokBuf
          ? tokenForId(parseJsonFile(tokBuf, LAYOUT_FILES.tokenizer), pad)
          : vocabBuf ? tokenForId({ model: { vocab: parseJsonFile(vocabBuf, vocabPath) } }, pad) : null;
        if (tok === null) {
          const named = tokBuf || !vocabBuf ? LAYOUT_FILES.tokenizer : vocabPath;
          throw new EngineError(
            'MODEL_LAYOUT_INVALID',
            `The catalog sets padTokenId ${pad} for ${entry.id}, but ${named} has no token with that id.`,
            named,
          );
        }
        cfg.pad_token = tok;
      }
      return this.done(encodeJson(cfg), opts);
    }
    return this.inner.read(path, opts);
  }
}
