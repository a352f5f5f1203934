/**
 * What a pipeline folder holds, as the engine sees it, without generating anything: `fewstep info`'s report.
 * Reads the same files through the same sources as a load (a folder as the app's picker gives it, a URL, the
 * download cache with its catalog overlay), parses them with the same layout, tokenizer and scheduler code, opens
 * each graph as a WASM session to read its declared inputs and outputs (symbolic dimension names kept), resolves the
 * roles the pipeline binds (pipeline/bindings.ts ModelIo), and releases the sessions.
 */
import { LAYOUT_FILES, SCHEDULER_FALLBACK, buildLayout, parseJsonFile, pipelineKindOf, type PipelineDefaults, type PipelineKind } from './layout';
import { createSession, type SessionHandle } from './ort';
import { ModelIo } from './pipeline/bindings';
import { makeScheduler } from './pipeline/load';
import type { ModelRef } from './protocol';
import type { ModelStore } from './download/store';
import { FileMapSource, UrlSource, type ModelSource } from './source';
import { CatalogOverlaySource, StoreSource } from './sources/catalogSource';
import { readSidecars, sidecarsOf } from './sources/externalData';
import { PromptTokenizer, readTokenizerFiles, sdxlSecondTokenizerFiles } from './tokenizer';
import { EngineError } from './errors';
import { mergeLoras, type LoraAdapter, type LoraMergeReport } from './lora';

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
  /** `output`: last_hidden_state for SD; for SDXL the penultimate hidden states (`hidden_states.11`). */
  textEncoder: { inputIds: string; attentionMask: string | null; output: string };
  unet: {
    sample: string;
    timestep: string;
    encoderHiddenStates: string;
    timestepCond: string | null;
    /** SDXL's added conditioning inputs (`text_embeds` [B, 1280], `time_ids` [B, 6]); null for SD. */
    textEmbeds: string | null;
    timeIds: string | null;
    output: string;
    fixedBatch: number | null;
  };
  vaeDecoder: { latents: string; output: string };
  /** SDXL's text_encoder_2: input ids, penultimate hidden states (`hidden_states.31`), pooled `text_embeds`; null for SD. */
  textEncoder2: { inputIds: string; attentionMask: string | null; output: string; pooledOutput: string } | null;
}

/** A tokenizer as loaded: its length, special ids and which files it came from. */
export interface TokenizerReport {
  maxLength: number;
  bosId: number | null;
  eosId: number | null;
  padId: number;
  /** "tokenizer/tokenizer.json", "tokenizer/vocab.json + merges.txt", or for a derived tokenizer_2 "tokenizer/tokenizer.json". */
  file: string;
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
  kind: 'StableDiffusionPipeline' | 'LatentConsistencyModelPipeline' | 'StableDiffusionXLPipeline' | null;
  /** The engine's pipeline kind from model_index.json (layout.ts pipelineKindOf): 'sd' or 'sdxl' (two text encoders). */
  pipelineKind: PipelineKind;
  /** model_index.json's component entries: name -> [library, class] (nulls as the file has them). */
  components: Record<string, [string | null, string | null]>;
  graphs: Record<string, GraphReport>;
  bindings: BindingsReport | null;
  scheduler: {
    /** The class the model's default sampler runs (model_index.json "fewstep.sampler", else the config's class). */
    className: string;
    /**
     * Every key of that class with diffusers' defaults filled in (what `from_config` would hold); for a class the
     * engine does not run (PNDMScheduler), the config as the folder has it, and `problems` says so.
     */
    config: Record<string, unknown>;
  };
  defaults: PipelineDefaults;
  tokenizer: TokenizerReport;
  /** SDXL's tokenizer_2 (its own files, or made from tokenizer/ with pad "!"); null for SD. */
  tokenizer2: TokenizerReport | null;
  /** VAE scaling factor and the UNet's time_cond_proj_dim (null without one), after the layout's defaults. */
  scalingFactor: number;
  timeCondProjDim: number | null;
  /** Why this folder would not load or run, one sentence each; empty when nothing was found. */
  problems: string[];
  /** With InspectOptions.loras: one entry per LoRA, in the order given. */
  loras?: LoraCheck[];
}

export interface InspectOptions {
  /** The download cache, for `cached` refs. */
  store?: ModelStore;
  signal?: AbortSignal;
  /**
   * LoRA files to check against the U-Net, each on its own (lora/merge.ts mergeLoras on the graph's bytes, which are
   * read for the report anyway): their keys matched and unmatched, or why the engine would refuse them.
   */
  loras?: LoraAdapter[];
}

/** One LoRA checked against the U-Net: mergeLoras' report, or the refusal (its EngineError code and message). */
export type LoraCheck = LoraMergeReport | { name: string; scale: number; error: { code: string; message: string } };

/** The source a load of `ref` reads (handler.ts sourceFor, the same three cases). */
function sourceFor(ref: ModelRef, store?: ModelStore): ModelSource {
  if (ref.kind === 'url') {
    const url = new UrlSource(ref.baseUrl);
    return ref.synthesizeIndex ? new CatalogOverlaySource(url, null) : url;
  }
  if (ref.kind === 'files') return new CatalogOverlaySource(new FileMapSource(ref.name, new Map(ref.files.map((f) => [f.path, f.blob]))), ref.entry ?? null);
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
  const sdxl = pipelineKindOf(modelIndex) === 'sdxl';
  const textEncoder2Config = sdxl ? await json(LAYOUT_FILES.textEncoder2Config, true) : null;
  const layout = buildLayout({ modelIndex, schedulerConfig, unetConfig, vaeConfig, textEncoderConfig, textEncoder2Config });
  // A scheduler class the registry lacks is a problem to report, not a reason to stop: SD 2.1's PNDMScheduler runs
  // as its SCHEDULER_FALLBACK (layout.ts), and `generate --sampler` runs any folder with another class.
  const problems: string[] = [];
  let schedulerReport: ModelReport['scheduler'];
  try {
    const scheduler = makeScheduler(schedulerConfig, layout.defaults.sampler || undefined);
    schedulerReport = { className: scheduler.config._class_name, config: { ...scheduler.config } };
    const folderClass = String(schedulerConfig._class_name);
    if (SCHEDULER_FALLBACK[folderClass] === scheduler.config._class_name) {
      problems.push(
        `${LAYOUT_FILES.schedulerConfig}: ${folderClass} is not implemented; generation runs ${scheduler.config._class_name} from its config ` +
          "(pick another with fewstep generate --sampler, or the app's sampler menu).",
      );
    }
  } catch (e) {
    if (!(e instanceof Error) || (e as EngineError).code !== 'SCHEDULER_UNSUPPORTED') throw e;
    problems.push(`${LAYOUT_FILES.schedulerConfig}: ${e.message.split('. ')[0]}; choose a supported sampler to generate (fewstep generate --sampler ddim, or the app's sampler menu).`);
    schedulerReport = { className: String(schedulerConfig._class_name), config: { ...schedulerConfig } };
  }
  const maxPos = textEncoderConfig?.max_position_embeddings;
  const tok = (await readTokenizerFiles(read))!;
  const tokenizer = PromptTokenizer.fromJson(tok.tokenizerJson, tok.tokenizerConfig, typeof maxPos === 'number' ? maxPos : null, tok.file);
  const tokReport = (t: PromptTokenizer, file: string): TokenizerReport => ({ maxLength: t.maxLength, bosId: t.bosId, eosId: t.eosId, padId: t.padId, file });
  let tokenizer2: TokenizerReport | null = null;
  if (sdxl) {
    const maxPos2 = textEncoder2Config?.max_position_embeddings;
    const hint = typeof maxPos2 === 'number' ? maxPos2 : null;
    // As the loader (pipeline/sdxl.ts loadSecondTokenizer): tokenizer_2/'s own files, else made from tokenizer/'s.
    const own = await readTokenizerFiles(read, 'tokenizer_2', true);
    if (own) {
      tokenizer2 = tokReport(PromptTokenizer.fromJson(own.tokenizerJson, own.tokenizerConfig, hint, own.file), own.file);
    } else {
      const d = sdxlSecondTokenizerFiles(tok.tokenizerJson, tok.tokenizerConfig);
      tokenizer2 = tokReport(PromptTokenizer.fromJson(d.tokenizerJson, d.tokenizerConfig, hint, tok.file), `${tok.file} with pad "!" (no tokenizer_2/)`);
    }
  }

  // The graphs where the layout puts them (model_index.json's fewstep.components for the flat onnx/ layout).
  const c = layout.components;
  const graphFiles: Array<[string, string, boolean]> = [
    ['text_encoder', c.textEncoder, false],
    ...(c.textEncoder2 ? [['text_encoder_2', c.textEncoder2, false] as [string, string, boolean]] : []),
    ['unet', c.unet, false],
    ['vae_decoder', c.vaeDecoder, false],
    ['vae_encoder', 'vae_encoder/model.onnx', true],
  ];
  const graphs: Record<string, GraphReport> = {};
  const sessions = new Map<string, SessionHandle>();
  let loras: LoraCheck[] | undefined;
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
      if (name === 'unet' && opts.loras?.length) {
        // Each adapter alone, so one that does not fit does not hide the others' counts. The session above was made
        // first: a merge changes only weights, never the graph's inputs and outputs.
        const graph = new Uint8Array(bytes);
        loras = opts.loras.map((ad): LoraCheck => {
          try {
            return mergeLoras(graph, external, [ad], file).adapters[0];
          } catch (e) {
            const err = e as EngineError;
            return { name: ad.name, scale: ad.scale, error: { code: err.code ?? 'INTERNAL', message: err.message } };
          }
        });
      }
      graphs[name] = { file, bytes: size, externalData: names, inputs: values(s.inputs), outputs: values(s.outputs) };
    }
    let bindings: BindingsReport | null = null;
    let timeCondProjDim = layout.timeCondProjDim;
    try {
      const te2 = sessions.get('text_encoder_2');
      const io = new ModelIo(
        { textEncoder: sessions.get('text_encoder')!, unet: sessions.get('unet')!, vae: sessions.get('vae_decoder')!, ...(te2 ? { textEncoder2: te2 } : {}) },
        layout,
      );
      const x = io.sdxl;
      bindings = {
        textEncoder: { inputIds: io.ids.name, attentionMask: io.mask?.name ?? null, output: io.textOut },
        unet: {
          sample: io.sample.name,
          timestep: io.timestep.name,
          encoderHiddenStates: io.encoderHiddenStates.name,
          timestepCond: io.timestepCond?.name ?? null,
          textEmbeds: x?.textEmbeds.name ?? null,
          timeIds: x?.timeIds.name ?? null,
          output: io.unetOut,
          fixedBatch: io.fixedBatch,
        },
        vaeDecoder: { latents: io.vaeIn.name, output: io.vaeOut },
        textEncoder2: x ? { inputIds: x.ids2.name, attentionMask: x.mask2?.name ?? null, output: x.hidden2, pooledOutput: x.pooledOut } : null,
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
      kind: bindings === null ? null : layout.kind === 'sdxl' ? 'StableDiffusionXLPipeline' : timeCondProjDim !== null ? 'LatentConsistencyModelPipeline' : 'StableDiffusionPipeline',
      pipelineKind: layout.kind,
      components: Object.fromEntries(Object.entries(modelIndex).filter(([k, v]) => !k.startsWith('_') && Array.isArray(v) && v.length === 2)) as ModelReport['components'],
      graphs,
      bindings,
      scheduler: schedulerReport,
      defaults: layout.defaults,
      tokenizer: tokReport(tokenizer, tok.file),
      tokenizer2,
      scalingFactor: layout.scalingFactor,
      timeCondProjDim,
      problems,
      ...(loras ? { loras } : {}),
    };
  } finally {
    await Promise.all([...sessions.values()].map((s) => s.release().catch(() => undefined)));
  }
}
