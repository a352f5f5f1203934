/**
 * A model's ONNX inputs and outputs, resolved once from the alias table (io.ts IO_NAMES) against the sessions'
 * metadata, and the feeds every loop builds from them (timestep, guidance embedding, prompt ids), so the CPU,
 * GPU-resident and bare loops cannot drift apart on names, dtypes or ranks.
 */
import { EngineError } from '../errors';
import { fixedBatch, IO_NAMES, timestepDims, toTypedArray, type IoSpec, type TensorData } from '../io';
import { LAYOUT_FILES } from '../layout';
import { cpuTensor, type OrtTensor, type SessionHandle } from '../ort';

/** A feed as SessionHandle.run takes it: data converted to the input's dtype, and dims. */
export type Feed = [TensorData, number[]];

export interface Sessions {
  textEncoder: SessionHandle;
  unet: SessionHandle;
  vae: SessionHandle;
}

const firstOutput = (s: SessionHandle, preferred: string): string => (s.outputs.has(preferred) ? preferred : [...s.outputs.keys()][0]);

export class ModelIo {
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

  /** Throws MODEL_LAYOUT_INVALID when the UNet lacks encoder_hidden_states or a timestep input. */
  constructor(s: Sessions) {
    const te = s.textEncoder;
    const unet = s.unet;
    const ehs = unet.findInput(...IO_NAMES.unet.encoderHiddenStates);
    if (!ehs) {
      throw new EngineError('MODEL_LAYOUT_INVALID', 'unet/model.onnx has no encoder_hidden_states input; is it a text-conditioned UNet?', LAYOUT_FILES.unet);
    }
    const t = unet.findInput(...IO_NAMES.unet.timestep);
    if (!t) throw new EngineError('MODEL_LAYOUT_INVALID', 'unet/model.onnx has no timestep input.', LAYOUT_FILES.unet);
    this.ids = te.findInput(...IO_NAMES.textEncoder.inputIds) ?? [...te.inputs.values()][0];
    this.mask = te.findInput(...IO_NAMES.textEncoder.attentionMask);
    this.textOut = firstOutput(te, IO_NAMES.textEncoder.output);
    this.sample = unet.findInput(...IO_NAMES.unet.sample) ?? [...unet.inputs.values()][0];
    this.timestep = t;
    this.encoderHiddenStates = ehs;
    this.timestepCond = unet.findInput(...IO_NAMES.unet.timestepCond);
    this.unetOut = firstOutput(unet, IO_NAMES.unet.output);
    this.vaeIn = s.vae.findInput(...IO_NAMES.vae.latents) ?? [...s.vae.inputs.values()][0];
    this.vaeOut = firstOutput(s.vae, IO_NAMES.vae.output);
    this.fixedBatch = fixedBatch(this.sample);
  }

  /** Text encoder feeds for token ids [1, L] (plus an all-ones attention mask when the export takes one). */
  textFeeds(ids: number[]): Record<string, Feed> {
    const feeds: Record<string, Feed> = { [this.ids.name]: [toTypedArray(ids, this.ids.type, this.ids.name), [1, ids.length]] };
    if (this.mask) feeds[this.mask.name] = [toTypedArray(ids.map(() => 1), this.mask.type, this.mask.name), [1, ids.length]];
    return feeds;
  }

  /** The timestep feed for a batch of `batch`, in the export's dtype and rank. */
  timestepFeed(t: number, batch: number): Feed {
    const dims = timestepDims(this.timestep, batch);
    const count = dims.reduce((a, c) => a * c, 1);
    return [toTypedArray(new Array(count).fill(t), this.timestep.type, this.timestep.name), dims];
  }

  /**
   * The UNet's conditioning inputs besides sample, timestep and encoder_hidden_states, the same on every step, for
   * a batch of `batch`: today LCM's guidance embedding timestep_cond [batch, dim] (when the UNet takes one). Every
   * loop adds these feeds as they are, so a pipeline kind with more conditioning (SDXL's text_embeds / time_ids)
   * adds its inputs here and in IO_NAMES.
   */
  conditioningFeeds(wEmb: Float32Array | null, batch: number): Record<string, Feed> {
    const spec = this.timestepCond;
    if (!spec || !wEmb) return {};
    const w = new Float32Array(batch * wEmb.length);
    for (let k = 0; k < batch; k++) w.set(wEmb, k * wEmb.length);
    return { [spec.name]: [toTypedArray(w, spec.type, spec.name), [batch, wEmb.length]] };
  }

  /** A float32 array in `spec`'s dtype as a feed. */
  feed(spec: IoSpec, values: Float32Array, dims: number[]): Feed {
    return [toTypedArray(values, spec.type, spec.name), dims];
  }
}

/** Feeds as ORT CPU tensors (runTensors / runDirect take tensors). */
export function asTensors(session: SessionHandle, feeds: Record<string, Feed>): Record<string, OrtTensor> {
  const out: Record<string, OrtTensor> = {};
  for (const [name, [data, dims]] of Object.entries(feeds)) out[name] = cpuTensor(session.inputs.get(name)?.type ?? 'float32', data, dims);
  return out;
}
