/**
 * A model's ONNX inputs and outputs, resolved once from the alias table (io.ts IO_NAMES) against the sessions'
 * metadata, and the feeds every loop builds from them (timestep, guidance embedding, prompt ids), so the CPU,
 * GPU-resident and bare loops cannot drift apart on names, dtypes or ranks.
 */
import { EngineError } from '../errors';
import { fixedBatch, IO_NAMES, timestepDims, toTypedArray, type IoSpec, type TensorData } from '../io';
import { LAYOUT_FILES, type ModelLayout, type PipelineKind } from '../layout';
import type { OrtTensor, SessionHandle } from '../ort';
import { checkAddEmbeddingDim, penultimateHiddenState } from './sdxl';

/** A feed as SessionHandle.run takes it: data converted to the input's dtype, and dims. */
export type Feed = [TensorData, number[]];

export interface Sessions {
  textEncoder: SessionHandle;
  unet: SessionHandle;
  vae: SessionHandle;
  /** SDXL's text_encoder_2 (OpenCLIP bigG with projection); absent for the 'sd' kind. */
  textEncoder2?: SessionHandle;
}

/**
 * The UNet's conditioning besides sample, timestep and encoder_hidden_states, the same on every step of one
 * generation (phase 1 builds it, every loop passes it to {@link ModelIo.conditioningFeeds} as it is).
 */
export interface UnetConditioning {
  /** LCM: the guidance-scale embedding w [timeCondProjDim] (diffusers get_guidance_scale_embedding), fed as timestep_cond. */
  wEmb: Float32Array | null;
  /**
   * SDXL: the pooled prompt embeddings (text_encoder_2's text_embeds) [1280] of the prompt and, under CFG, of the
   * negative prompt, fed as text_embeds [B, 1280] in the loops' batch order ([uncond, cond] under CFG).
   */
  textEmbeds: { cond: Float32Array; uncond: Float32Array | null } | null;
  /** SDXL: time_ids [6] (pipeline/sdxl.ts sdxlTimeIds), the same for every batch row. */
  timeIds: Float32Array | null;
}

/** The parts of a layout the bindings check the graphs against (a full ModelLayout fits). */
export type IoLayout = Pick<ModelLayout, 'kind' | 'textEncoderConfig'> & Partial<Pick<ModelLayout, 'textEncoder2Config' | 'unetConfig' | 'pipelineClass'>>;

/** SDXL's extra bindings: both text encoders' penultimate hidden states, the pooled output, the UNet's added inputs. */
export interface SdxlIo {
  /** text_encoder's penultimate hidden states output (`hidden_states.11` for CLIP ViT-L). */
  hidden1: string;
  /** text_encoder_2's input ids (int64 in the WebNN export, int32 in others) and optional attention mask. */
  ids2: IoSpec;
  mask2: IoSpec | undefined;
  /** text_encoder_2's penultimate hidden states output (`hidden_states.31` for OpenCLIP bigG). */
  hidden2: string;
  /** text_encoder_2's pooled projected output (`text_embeds`). */
  pooledOut: string;
  /** Declared widths (last dims) of the two hidden states and of text_embeds; strings when symbolic. */
  width1: number | string | undefined;
  width2: number | string | undefined;
  pooledWidth: number | string | undefined;
  /** The UNet's `text_embeds` [B, 1280] and `time_ids` [B, 6] inputs. */
  textEmbeds: IoSpec;
  timeIds: IoSpec;
}

const firstOutput = (s: SessionHandle, preferred: string): string => (s.outputs.has(preferred) ? preferred : [...s.outputs.keys()][0]);

export class ModelIo {
  /** The pipeline kind the graphs were checked against (layout.ts pipelineKindOf). */
  readonly kind: PipelineKind;
  /** SDXL's extra bindings, null for the 'sd' kind. */
  readonly sdxl: SdxlIo | null;
  /**
   * Width of the prompt embedding the text encoder(s) produce, the last dim of encoder_hidden_states as declared by
   * the graphs (SDXL: text_encoder's + text_encoder_2's); undefined or a string when symbolic.
   */
  readonly textWidth: number | string | undefined;
  readonly ids: IoSpec;
  readonly mask: IoSpec | undefined;
  readonly textOut: string;
  readonly sample: IoSpec;
  readonly timestep: IoSpec;
  readonly encoderHiddenStates: IoSpec;
  /** LCM's timestep_cond (guidance-scale embedding), when the UNet takes one. */
  readonly timestepCond: IoSpec | undefined;
  readonly unetOut: string;
  readonly vaeIn: IoSpec;
  readonly vaeOut: string;
  /** The UNet's fixed batch size, or null when its batch axis is symbolic. */
  readonly fixedBatch: number | null;

  /**
   * Resolve the names and check that the graphs fit the pipeline kind (`layout.kind`, default 'sd'): every UNet
   * input must be one the kind feeds (SD: sample, timestep, encoder_hidden_states, LCM's timestep_cond; SDXL: also
   * text_embeds and time_ids), and an SDXL pipeline needs text_encoder_2 with penultimate hidden states and
   * text_embeds outputs.
   * @throws EngineError MODEL_LAYOUT_INVALID naming the graph whose signature fits no pipeline kind
   */
  constructor(s: Sessions, layout: IoLayout = { kind: 'sd', textEncoderConfig: {} }) {
    const te = s.textEncoder;
    const unet = s.unet;
    const unetFile = unet.file;
    this.kind = layout.kind;
    const ehs = unet.findInput(...IO_NAMES.unet.encoderHiddenStates);
    if (!ehs) {
      throw new EngineError('MODEL_LAYOUT_INVALID', `${unetFile} has no encoder_hidden_states input; is it a text-conditioned UNet?`, unetFile);
    }
    const t = unet.findInput(...IO_NAMES.unet.timestep);
    if (!t) throw new EngineError('MODEL_LAYOUT_INVALID', `${unetFile} has no timestep input.`, unetFile);
    this.ids = te.findInput(...IO_NAMES.textEncoder.inputIds) ?? [...te.inputs.values()][0];
    this.mask = te.findInput(...IO_NAMES.textEncoder.attentionMask);
    this.sample = unet.findInput(...IO_NAMES.unet.sample) ?? [...unet.inputs.values()][0];
    this.timestep = t;
    this.encoderHiddenStates = ehs;
    this.timestepCond = unet.findInput(...IO_NAMES.unet.timestepCond);
    this.unetOut = firstOutput(unet, IO_NAMES.unet.output);
    this.vaeIn = s.vae.findInput(...IO_NAMES.vae.latents) ?? [...s.vae.inputs.values()][0];
    this.vaeOut = firstOutput(s.vae, IO_NAMES.vae.output);
    this.fixedBatch = fixedBatch(this.sample);
    this.sdxl = checkUnetSignature(s, layout, this);
    this.textOut = this.sdxl ? this.sdxl.hidden1 : firstOutput(te, IO_NAMES.textEncoder.output);
    const lastDim = (spec: IoSpec | undefined): number | string | undefined => spec?.shape[spec.shape.length - 1];
    if (this.sdxl) {
      const { width1: a, width2: b } = this.sdxl;
      this.textWidth = typeof a === 'number' && typeof b === 'number' ? a + b : undefined;
    } else {
      this.textWidth = lastDim(te.outputs.get(this.textOut));
    }
  }

  /** Text encoder feeds for token ids [1, L] (plus an all-ones attention mask when the export takes one). */
  textFeeds(ids: number[]): Record<string, Feed> {
    return idFeeds(this.ids, this.mask, ids);
  }

  /** SDXL's text_encoder_2 feeds for tokenizer_2's ids [1, L], in that graph's dtype (int64 in the WebNN export). */
  textFeeds2(ids: number[]): Record<string, Feed> {
    if (!this.sdxl) throw new EngineError('INTERNAL', 'textFeeds2 on a pipeline without text_encoder_2.');
    return idFeeds(this.sdxl.ids2, this.sdxl.mask2, ids);
  }

  /** The timestep feed for a batch of `batch`, in the export's dtype and rank. */
  timestepFeed(t: number, batch: number): Feed {
    const dims = timestepDims(this.timestep, batch);
    const count = dims.reduce((a, c) => a * c, 1);
    return [toTypedArray(new Array(count).fill(t), this.timestep.type, this.timestep.name), dims];
  }

  /**
   * The UNet's conditioning inputs besides sample, timestep and encoder_hidden_states, the same on every step, for
   * a batch of `batch` rows in the loops' order ([uncond, cond] under CFG): LCM's guidance embedding timestep_cond
   * [batch, dim] (when the UNet takes one); SDXL's text_embeds [batch, 1280] (the negative prompt's row first under
   * CFG) and time_ids [batch, 6]. Every loop adds these feeds as they are.
   * @throws EngineError INTERNAL when SDXL's negative pooled embedding comes with a batch other than 2 (a UNet with a
   *   fixed batch runs CFG one row at a time; phase 0 refuses that for SDXL)
   */
  conditioningFeeds(c: UnetConditioning | null, batch: number): Record<string, Feed> {
    const out: Record<string, Feed> = {};
    if (!c) return out;
    const spec = this.timestepCond;
    if (spec && c.wEmb) out[spec.name] = [toTypedArray(repeatRows(c.wEmb, batch), spec.type, spec.name), [batch, c.wEmb.length]];
    const x = this.sdxl;
    if (x && c.textEmbeds) {
      const { cond, uncond } = c.textEmbeds;
      let rows: Float32Array;
      if (uncond) {
        if (batch !== 2) throw new EngineError('INTERNAL', `SDXL under CFG needs an [uncond, cond] batch of 2, got ${batch}.`);
        rows = new Float32Array(2 * cond.length);
        rows.set(uncond, 0);
        rows.set(cond, cond.length);
      } else {
        rows = repeatRows(cond, batch);
      }
      out[x.textEmbeds.name] = [toTypedArray(rows, x.textEmbeds.type, x.textEmbeds.name), [batch, cond.length]];
    }
    if (x && c.timeIds) out[x.timeIds.name] = [toTypedArray(repeatRows(c.timeIds, batch), x.timeIds.type, x.timeIds.name), [batch, c.timeIds.length]];
    return out;
  }

  /** A float32 array in `spec`'s dtype as a feed. */
  feed(spec: IoSpec, values: Float32Array, dims: number[]): Feed {
    return [toTypedArray(values, spec.type, spec.name), dims];
  }
}

/** Feeds as ORT CPU tensors (runTensors / runDirect take tensors). */
export function asTensors(session: SessionHandle, feeds: Record<string, Feed>): Record<string, OrtTensor> {
  const out: Record<string, OrtTensor> = {};
  for (const [name, [data, dims]] of Object.entries(feeds)) out[name] = session.cpuTensor(session.inputs.get(name)?.type ?? 'float32', data, dims);
  return out;
}

function idFeeds(ids: IoSpec, mask: IoSpec | undefined, values: number[]): Record<string, Feed> {
  const feeds: Record<string, Feed> = { [ids.name]: [toTypedArray(values, ids.type, ids.name), [1, values.length]] };
  if (mask) feeds[mask.name] = [toTypedArray(values.map(() => 1), mask.type, mask.name), [1, values.length]];
  return feeds;
}

function repeatRows(row: Float32Array, batch: number): Float32Array {
  const out = new Float32Array(batch * row.length);
  for (let k = 0; k < batch; k++) out.set(row, k * row.length);
  return out;
}

const SIGNATURES =
  'Supported UNet signatures: SD 1.x/2.x/SD-Turbo: sample, timestep, encoder_hidden_states; LCM: + timestep_cond; ' +
  'SDXL/SDXL-Turbo: + text_embeds, time_ids (with text_encoder_2).';

/**
 * Check the UNet's inputs against the pipeline kind and, for SDXL, resolve text_encoder_2's bindings.
 * @returns SDXL's bindings, or null for the 'sd' kind
 * @throws EngineError MODEL_LAYOUT_INVALID naming the graph that fits no pipeline kind
 */
function checkUnetSignature(s: Sessions, layout: IoLayout, io: ModelIo): SdxlIo | null {
  const unet = s.unet;
  const file = unet.file;
  const textEmbeds = unet.findInput(...IO_NAMES.unet.textEmbeds);
  const timeIds = unet.findInput(...IO_NAMES.unet.timeIds);
  const known = new Set([io.sample.name, io.timestep.name, io.encoderHiddenStates.name, io.timestepCond?.name, textEmbeds?.name, timeIds?.name]);
  const unknown = [...unet.inputs.values()].filter((v) => !known.has(v.name));
  if (unknown.length > 0) {
    throw new EngineError(
      'MODEL_LAYOUT_INVALID',
      `${file} takes input(s) ${unknown.map((v) => `${v.name}: ${v.type}[${v.shape.join(', ')}]`).join('; ')} that no supported pipeline kind feeds. ${SIGNATURES}`,
      file,
    );
  }
  const cls = layout.pipelineClass ? ` (${layout.pipelineClass})` : '';
  if (layout.kind === 'sd') {
    if (textEmbeds || timeIds) {
      throw new EngineError(
        'MODEL_LAYOUT_INVALID',
        `${file} takes ${[textEmbeds, timeIds].filter(Boolean).map((v) => v!.name).join(' and ')} (SDXL's added conditioning), but ${LAYOUT_FILES.modelIndex} ` +
          `describes a Stable Diffusion pipeline${cls} with one text encoder. An SDXL export needs ${LAYOUT_FILES.textEncoder2} and an SDXL ` +
          `${LAYOUT_FILES.modelIndex} (_class_name StableDiffusionXLPipeline, listing text_encoder_2).`,
        file,
      );
    }
    return null;
  }
  // SDXL
  if (!textEmbeds || !timeIds || io.timestepCond) {
    const have = [...unet.inputs.keys()].join(', ');
    throw new EngineError(
      'MODEL_LAYOUT_INVALID',
      `${LAYOUT_FILES.modelIndex} describes an SDXL pipeline${cls}, but ${file} (inputs: ${have}) ` +
        `${io.timestepCond ? `takes ${io.timestepCond.name}, which SDXL does not feed` : 'lacks text_embeds and/or time_ids'}. ${SIGNATURES}`,
      file,
    );
  }
  const te2 = s.textEncoder2;
  if (!te2) {
    throw new EngineError('MODEL_LAYOUT_INVALID', `An SDXL pipeline${cls} needs ${LAYOUT_FILES.textEncoder2}; it was not loaded.`, LAYOUT_FILES.textEncoder2);
  }
  const te = s.textEncoder;
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null);
  const hidden1 = penultimateHiddenState([...te.outputs.keys()], num(layout.textEncoderConfig.num_hidden_layers), te.file);
  const hidden2 = penultimateHiddenState([...te2.outputs.keys()], num(layout.textEncoder2Config?.num_hidden_layers), te2.file);
  const pooledOut = IO_NAMES.textEncoder.projected.find((n) => te2.outputs.has(n));
  if (!pooledOut) {
    throw new EngineError(
      'MODEL_LAYOUT_INVALID',
      `${te2.file} has no text_embeds output (outputs: ${[...te2.outputs.keys()].join(', ')}): SDXL feeds text_encoder_2's pooled projection ` +
        '(CLIPTextModelWithProjection) to the UNet as text_embeds.',
      te2.file,
    );
  }
  const last = (spec: IoSpec | undefined): number | string | undefined => spec?.shape[spec.shape.length - 1];
  const ids2 = te2.findInput(...IO_NAMES.textEncoder.inputIds) ?? [...te2.inputs.values()][0];
  const sdxl: SdxlIo = {
    hidden1,
    ids2,
    mask2: te2.findInput(...IO_NAMES.textEncoder.attentionMask),
    hidden2,
    pooledOut,
    width1: last(te.outputs.get(hidden1)) ?? num(layout.textEncoderConfig.hidden_size) ?? undefined,
    width2: last(te2.outputs.get(hidden2)) ?? num(layout.textEncoder2Config?.hidden_size) ?? undefined,
    pooledWidth: last(te2.outputs.get(pooledOut)),
    textEmbeds,
    timeIds,
  };
  const tw = last(textEmbeds);
  if (typeof tw === 'number' && typeof sdxl.pooledWidth === 'number' && tw !== sdxl.pooledWidth) {
    throw new EngineError(
      'TENSOR_SHAPE_MISMATCH',
      `${te2.file} outputs text_embeds of width ${sdxl.pooledWidth} but ${file} takes text_embeds of width ${tw}: the components come from different models.`,
      file,
    );
  }
  const ti = last(timeIds);
  if (typeof ti === 'number' && ti !== 6) {
    throw new EngineError('MODEL_LAYOUT_INVALID', `${file} takes time_ids of width ${ti}; SDXL's text-to-image time_ids have 6 values (original size, crop, target size).`, file);
  }
  const pw = typeof sdxl.pooledWidth === 'number' ? sdxl.pooledWidth : num(layout.textEncoder2Config?.projection_dim);
  checkAddEmbeddingDim(layout.unetConfig ?? {}, 6, pw);
  return sdxl;
}
