/**
 * What a pipeline folder holds, as the engine sees it, without generating anything: `fewstep info`'s report.
 * Reads the same files through the same sources as a load (a folder as the app's picker gives it, a URL, the
 * download cache with its catalog overlay), parses them with the same layout, tokenizer and scheduler code, opens
 * each graph as a WASM session to read its declared inputs and outputs (symbolic dimension names kept), resolves the
 * roles the pipeline binds (pipeline/bindings.ts ModelIo), and releases the sessions.
 */
import { LAYOUT_FILES, buildLayout, parseJsonFile, type PipelineDefaults } from './layout';
import { createSession, type SessionHandle } from './ort';
import { ModelIo } from './pipeline/bindings';
import { makeScheduler } from './pipeline/load';
import type { ModelRef } from './protocol';
import type { ModelStore } from './download/store';
import { FileMapSource, UrlSource, type ModelSource } from './source';
import { CatalogOverlaySource, StoreSource } from './sources/catalogSource';
import { readSidecars, sidecarsOf } from './sources/externalData';
import { PromptTokenizer, readTokenizerFiles } from './tokenizer';
import { EngineError } from './errors';

/** One declared input or output: ONNX name, element type ("float32", "int64", ...), dims (numbers or symbolic names). */
export interface GraphValue {
  name: string;
  type: string;
  shape: Array<number | string>;
}

export interface GraphReport {
  /** Path in the layout, e.g. "unet/model.onnx". */
  file: string;
  /** Bytes of the graph file plus its external-data sidecars. */
  bytes: number;
  /** The sidecar files the graph names ("unet/model.onnx_data", "unet/weights.pb"); [] when weights are inline. */
  externalData: string[];
  inputs: GraphValue[];
  outputs: GraphValue[];
}

/** The ONNX names the sampling loop binds to each role (io.ts IO_NAMES resolved against the graphs). */
export interface BindingsReport {
  textEncoder: { inputIds: string; attentionMask: string | null; output: string };
  unet: { sample: string; timestep: string; encoderHiddenStates: string; timestepCond: string | null; output: string; fixedBatch: number | null };
  vaeDecoder: { latents: string; output: string };
}

export interface ModelReport {
  /** Where the files were read from (a folder, a URL, the download cache). */
  source: string;
  /** model_index.json `_class_name` (synthesized when the export has no model_index.json). */
  pipelineClass: string;
  /**
   * The diffusers pipeline the engine runs it as: "LatentConsistencyModelPipeline" when the UNet takes a guidance
   * embedding (timestep_cond; guidance = that embedding, w = guidance_scale - 1), else "StableDiffusionPipeline"
   * (classifier-free guidance when guidance_scale > 1). Null when the graphs fit no pipeline (see `problems`).
   */
  kind: 'StableDiffusionPipeline' | 'LatentConsistencyModelPipeline' | null;
  /** model_index.json's component entries: name -> [library, class] (nulls as the file has them). */
  components: Record<string, [string | null, string | null]>;
  graphs: Record<string, GraphReport>;
  bindings: BindingsReport | null;
  scheduler: {
    /** The class the model's default sampler runs (model_index.json "fewstep.sampler", else the config's class). */
    className: string;
    /** Every key of that class with diffusers' defaults filled in (what `from_config` would hold). */
    config: Record<string, unknown>;
  };
  defaults: PipelineDefaults;
  tokenizer: { maxLength: number; bosId: number | null; eosId: number | null; padId: number };
  /** VAE scaling factor and the UNet's time_cond_proj_dim (null without one), after the layout's defaults. */
  scalingFactor: number;
  timeCondProjDim: number | null;
  /** Why this folder would not load or run, one sentence each; empty when nothing was found. */
  problems: string[];
}

export interface InspectOptions {
  /** The download cache, for `cached` refs. */
  store?: ModelStore;
  signal?: AbortSignal;
}

/** The source a load of `ref` reads (handler.ts sourceFor, the same three cases). */
function sourceFor(ref: ModelRef, store?: ModelStore): ModelSource {
  if (ref.kind === 'url') {
    const url = new UrlSource(ref.baseUrl);
    return ref.synthesizeIndex ? new CatalogOverlaySource(url, null) : url;
  }
  if (ref.kind === 'files') return new CatalogOverlaySource(new FileMapSource(ref.name, new Map(ref.files.map((f) => [f.path, f.blob]))), null);
  if (!store) throw new EngineError('BAD_REQUEST', `inspectModel: ${ref.id} is a cached model; pass the store it was downloaded into.`);
  return new CatalogOverlaySource(new StoreSource(store, ref.entry.id), ref.entry);
}

const values = (m: ReadonlyMap<string, { name: string; type: string; shape: ReadonlyArray<number | string> }>): GraphValue[] =>
  [...m.values()].map((v) => ({ name: v.name, type: v.type, shape: [...v.shape] }));

/**
 * Report on the pipeline `ref` points at (see ModelReport). Sessions are WASM, created one graph at a time and all
 * released before returning.
 * @throws EngineError for what makes the folder unreadable: MODEL_FILE_MISSING (a required file, named),
 *   MODEL_FILE_CORRUPT (bad JSON, a graph ONNX cannot parse, a tokenizer that does not load), MODEL_LAYOUT_INVALID,
 *   SCHEDULER_UNSUPPORTED. Graphs that load but fit no pipeline are reported in `problems` instead.
 */
export async function inspectModel(ref: ModelRef, opts: InspectOptions = {}): Promise<ModelReport> {
  const source = sourceFor(ref, opts.store);
  const read = (path: string, optional = false): Promise<ArrayBuffer | null> => source.read(path, { optional, signal: opts.signal });
  const json = async (path: string, optional = false): Promise<Record<string, unknown> | null> => {
    const b = await read(path, optional);
    return b ? parseJsonFile(b, path) : null;
  };

  const modelIndex = (await json(LAYOUT_FILES.modelIndex))!;
  const schedulerConfig = (await json(LAYOUT_FILES.schedulerConfig))!;
  const unetConfig = await json(LAYOUT_FILES.unetConfig, true);
  const vaeConfig = await json(LAYOUT_FILES.vaeDecoderConfig, true);
  const textEncoderConfig = await json(LAYOUT_FILES.textEncoderConfig, true);
  const layout = buildLayout({ modelIndex, schedulerConfig, unetConfig, vaeConfig, textEncoderConfig });
  const scheduler = makeScheduler(schedulerConfig, layout.defaults.sampler || undefined);
  const maxPos = textEncoderConfig?.max_position_embeddings;
  const tok = (await readTokenizerFiles(read))!;
  const tokenizer = PromptTokenizer.fromJson(tok.tokenizerJson, tok.tokenizerConfig, typeof maxPos === 'number' ? maxPos : null, tok.file);

  const graphFiles: Array<[string, string, boolean]> = [
    ['text_encoder', LAYOUT_FILES.textEncoder, false],
    ['unet', LAYOUT_FILES.unet, false],
    ['vae_decoder', LAYOUT_FILES.vaeDecoder, false],
    ['vae_encoder', 'vae_encoder/model.onnx', true],
  ];
  const graphs: Record<string, GraphReport> = {};
  const sessions = new Map<string, SessionHandle>();
  const problems: string[] = [];
  try {
    for (const [name, file, optional] of graphFiles) {
      const bytes = await read(file, optional);
      if (!bytes) continue;
      // Sidecars as the loader finds them: named by the graph itself (model.onnx_data, weights.pb, ...).
      const external = await readSidecars(source, file, new Uint8Array(bytes), { signal: opts.signal });
      const size = bytes.byteLength + (external ?? []).reduce((a, x) => a + x.data.byteLength, 0);
      const names = sidecarsOf(file, new Uint8Array(bytes)).map((r) => r.path);
      const s = await createSession(bytes, file, 'wasm', external);
      sessions.set(name, s);
      graphs[name] = { file, bytes: size, externalData: names, inputs: values(s.inputs), outputs: values(s.outputs) };
    }
    let bindings: BindingsReport | null = null;
    let timeCondProjDim = layout.timeCondProjDim;
    try {
      const io = new ModelIo({ textEncoder: sessions.get('text_encoder')!, unet: sessions.get('unet')!, vae: sessions.get('vae_decoder')! });
      bindings = {
        textEncoder: { inputIds: io.ids.name, attentionMask: io.mask?.name ?? null, output: io.textOut },
        unet: {
          sample: io.sample.name,
          timestep: io.timestep.name,
          encoderHiddenStates: io.encoderHiddenStates.name,
          timestepCond: io.timestepCond?.name ?? null,
          output: io.unetOut,
          fixedBatch: io.fixedBatch,
        },
        vaeDecoder: { latents: io.vaeIn.name, output: io.vaeOut },
      };
      // As load.ts: the config's time_cond_proj_dim, else the graph's declared width (256 when symbolic).
      if (timeCondProjDim === null && io.timestepCond) {
        const d = io.timestepCond.shape[1];
        timeCondProjDim = typeof d === 'number' ? d : 256;
      }
    } catch (e) {
      problems.push((e as Error).message);
    }
    return {
      source: source.label,
      pipelineClass: layout.pipelineClass,
      kind: bindings === null ? null : timeCondProjDim !== null ? 'LatentConsistencyModelPipeline' : 'StableDiffusionPipeline',
      components: Object.fromEntries(Object.entries(modelIndex).filter(([k, v]) => !k.startsWith('_') && Array.isArray(v) && v.length === 2)) as ModelReport['components'],
      graphs,
      bindings,
      scheduler: { className: scheduler.config._class_name, config: { ...scheduler.config } },
      defaults: layout.defaults,
      tokenizer: { maxLength: tokenizer.maxLength, bosId: tokenizer.bosId, eosId: tokenizer.eosId, padId: tokenizer.padId },
      scalingFactor: layout.scalingFactor,
      timeCondProjDim,
      problems,
    };
  } finally {
    await Promise.all([...sessions.values()].map((s) => s.release().catch(() => undefined)));
  }
}
