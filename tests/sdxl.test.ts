/**
 * The SDXL pipeline kind without ONNX Runtime: kind detection from model_index.json, the graph signature checks
 * (and the message for a graph that fits no kind), the penultimate hidden-state choice, the concatenation order,
 * time_ids, the conditioning feeds, tokenizer_2 from tokenizer/, and the catalog overlay's synthesized SDXL index.
 * Values follow diffusers' StableDiffusionXLPipeline (encode_prompt, _get_add_time_ids).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../src/engine/catalog/schema';
import { validateCatalog } from '../src/engine/catalog/validate';
import { EngineError } from '../src/engine/errors';
import { float16BitsToFloat32 } from '../src/engine/float16';
import { buildLayout, componentFilesFromList, componentFilesOf, pipelineKindOf, validateModelIndex } from '../src/engine/layout';
import type { SessionHandle } from '../src/engine/ort';
import { ModelIo, type Sessions } from '../src/engine/pipeline/bindings';
import { checkAddEmbeddingDim, concatHiddenStates, penultimateHiddenState, sdxlTimeIds } from '../src/engine/pipeline/sdxl';
import { synthesizeModelIndex } from '../src/engine/sources/catalogSource';
import { sdxlSecondTokenizerFiles } from '../src/engine/tokenizer';
import { ROOT } from './modelDirs';

type Io = [name: string, type: string, shape: Array<number | string>];

/** One entry of models/catalog.json, validated on its own (other entries may be mid-edit). */
function catalogEntry(id: string): CatalogEntry {
  const all = JSON.parse(readFileSync(join(ROOT, 'models/catalog.json'), 'utf8')) as { models: Array<{ id: string }> };
  const entry = all.models.find((m) => m.id === id);
  if (!entry) throw new Error(`models/catalog.json has no entry ${id}`);
  return validateCatalog({ schemaVersion: 1, models: [entry] }).models[0];
}

/** The parts of a SessionHandle that ModelIo reads: file, inputs, outputs, findInput. */
function fakeSession(file: string, inputs: Io[], outputs: Io[]): SessionHandle {
  const map = (l: Io[]) => new Map(l.map(([name, type, shape]) => [name, { name, type, shape }]));
  const ins = map(inputs);
  return { file, inputs: ins, outputs: map(outputs), findInput: (...c: string[]) => c.map((n) => ins.get(n)).find(Boolean) } as unknown as SessionHandle;
}

// The WebNN export's signatures (microsoft/webnn-developer-preview demos/sdxl-turbo/index.js; the stand-in's standin.json).
const S = ['unet_sample_batch', 'unet_sample_channels', 'unet_sample_height', 'unet_sample_width'];
const te1 = () => fakeSession('onnx/text_encoder_model_q4f16.onnx', [['input_ids', 'int32', ['batch_size', 'sequence_length']]], [['hidden_states.11', 'float16', ['batch_size', 'sequence_length', 768]]]);
const te2 = (outputs: Io[] = [
  ['hidden_states.31', 'float16', ['batch_size', 'sequence_length', 1280]],
  ['text_embeds', 'float16', ['batch_size', 1280]],
]) => fakeSession('onnx/text_encoder_2_model_q4f16.onnx', [['input_ids', 'int64', ['batch_size', 'sequence_length']]], outputs);
const sdxlUnet = (extra: Io[] = []) =>
  fakeSession(
    'onnx/unet_model_q4f16.onnx',
    [
      ['sample', 'float16', S],
      ['timestep', 'float16', ['unet_time_batch']],
      ['encoder_hidden_states', 'float16', ['unet_hidden_batch', 'unet_hidden_sequence', 2048]],
      ['text_embeds', 'float16', ['unet_text_embeds_batch', 'unet_text_embeds_size']],
      ['time_ids', 'float16', ['unet_time_ids_batch', 'unet_time_ids_size']],
      ...extra,
    ],
    [['out_sample', 'float16', S]],
  );
const sdUnet = (extra: Io[] = []) =>
  fakeSession(
    'unet/model.onnx',
    [
      ['sample', 'float32', ['batch_size', 4, 'height', 'width']],
      ['timestep', 'int64', ['steps']],
      ['encoder_hidden_states', 'float32', ['batch_size', 'sequence_length', 1024]],
      ...extra,
    ],
    [['out_sample', 'float32', ['batch_size', 4, 'height', 'width']]],
  );
const vae = (file = 'onnx/vae_decoder_model_q4f16.onnx') => fakeSession(file, [['latent_sample', 'float16', ['batch_size', 4, 'h', 'w']]], [['sample', 'float16', ['batch_size', 3, 'H', 'W']]]);
const sdTe = () => fakeSession('text_encoder/model.onnx', [['input_ids', 'int32', ['batch_size', 'sequence_length']]], [['last_hidden_state', 'float32', ['batch_size', 'sequence_length', 1024]], ['pooler_output', 'float32', ['batch_size', 1024]]]);

const SDXL_LAYOUT = {
  kind: 'sdxl' as const,
  pipelineClass: 'ORTStableDiffusionXLPipeline',
  textEncoderConfig: { hidden_size: 768, num_hidden_layers: 12 },
  textEncoder2Config: { hidden_size: 1280, num_hidden_layers: 32, projection_dim: 1280 },
  unetConfig: { addition_time_embed_dim: 256, projection_class_embeddings_input_dim: 2816 },
};
const sdxlSessions = (over: Partial<Sessions> = {}): Sessions => ({ textEncoder: te1(), textEncoder2: te2(), unet: sdxlUnet(), vae: vae(), ...over });

function engineError(f: () => unknown): EngineError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EngineError);
    return e as EngineError;
  }
  throw new Error('expected an EngineError');
}

const SDXL_INDEX = {
  _class_name: 'StableDiffusionXLPipeline',
  force_zeros_for_empty_prompt: true,
  scheduler: ['diffusers', 'EulerAncestralDiscreteScheduler'],
  text_encoder: ['transformers', 'CLIPTextModel'],
  text_encoder_2: ['transformers', 'CLIPTextModelWithProjection'],
  tokenizer: ['transformers', 'CLIPTokenizer'],
  tokenizer_2: ['transformers', 'CLIPTokenizer'],
  unet: ['diffusers', 'UNet2DConditionModel'],
  vae: ['diffusers', 'AutoencoderKL'],
};

describe('pipeline kind detection (model_index.json)', () => {
  it('SDXL classes (diffusers, Optimum ORT, Onnx) and an index listing text_encoder_2 are SDXL; SD and LCM are SD', () => {
    for (const c of ['StableDiffusionXLPipeline', 'ORTStableDiffusionXLPipeline', 'OnnxStableDiffusionXLPipeline']) {
      expect(pipelineKindOf({ _class_name: c }), c).toBe('sdxl');
    }
    expect(pipelineKindOf({ _class_name: 'SomeExport', text_encoder: ['x', 'y'], text_encoder_2: ['x', 'y'], unet: ['x', 'y'] })).toBe('sdxl');
    for (const c of ['OnnxStableDiffusionPipeline', 'StableDiffusionPipeline', 'LatentConsistencyModelPipeline', 'ORTStableDiffusionPipeline']) {
      expect(pipelineKindOf({ _class_name: c, text_encoder: ['a', 'b'], unet: ['a', 'b'] }), c).toBe('sd');
    }
  });

  it('refuses the SDXL refiner with a specific message', () => {
    const e = engineError(() => pipelineKindOf({ ...SDXL_INDEX, _class_name: 'StableDiffusionXLImg2ImgPipeline', text_encoder: [null, null], requires_aesthetics_score: true }));
    expect(e.code).toBe('MODEL_LAYOUT_INVALID');
    expect(e.message).toMatch(/SDXL refiner .*image-to-image stage/);
    expect(e.file).toBe('model_index.json');
  });

  it('an SDXL index must list text_encoder_2', () => {
    const { text_encoder_2: _, ...rest } = SDXL_INDEX;
    expect(() => validateModelIndex(rest)).toThrow(/does not list the component\(s\) text_encoder_2.*an SDXL pipeline \(StableDiffusionXLPipeline\) also text_encoder_2/);
  });

  it('buildLayout: kind, default graph paths, force_zeros_for_empty_prompt', () => {
    const l = buildLayout({ modelIndex: SDXL_INDEX, schedulerConfig: { _class_name: 'EulerAncestralDiscreteScheduler' }, unetConfig: null, vaeConfig: { scaling_factor: 0.13025 }, textEncoderConfig: null, textEncoder2Config: { hidden_size: 1280 } });
    expect(l.kind).toBe('sdxl');
    expect(l.components).toEqual({ textEncoder: 'text_encoder/model.onnx', textEncoder2: 'text_encoder_2/model.onnx', unet: 'unet/model.onnx', vaeDecoder: 'vae_decoder/model.onnx' });
    expect(l.textEncoder2Config).toEqual({ hidden_size: 1280 });
    expect(l.forceZerosForEmptyPrompt).toBe(true);
    expect(l.scalingFactor).toBe(0.13025);
    const { text_encoder_2: _t, tokenizer_2: _k, ...sdIndex } = SDXL_INDEX;
    const sd = buildLayout({ modelIndex: { ...sdIndex, _class_name: 'OnnxStableDiffusionPipeline', force_zeros_for_empty_prompt: false }, schedulerConfig: { _class_name: 'DDIMScheduler' }, unetConfig: null, vaeConfig: null, textEncoderConfig: null });
    expect(sd.kind).toBe('sd');
    expect(sd.components.textEncoder2).toBeNull();
    expect(sd.forceZerosForEmptyPrompt).toBe(false);
  });
});

describe('graph paths', () => {
  it('model_index.json fewstep.components moves graphs; bad entries name model_index.json', () => {
    const files = componentFilesOf({ ...SDXL_INDEX, fewstep: { components: { unet: 'onnx/unet_model_q4f16.onnx', text_encoder_2: 'onnx/text_encoder_2_model_q4f16.onnx' } } });
    expect(files).toEqual({ textEncoder: 'text_encoder/model.onnx', textEncoder2: 'onnx/text_encoder_2_model_q4f16.onnx', unet: 'onnx/unet_model_q4f16.onnx', vaeDecoder: 'vae_decoder/model.onnx' });
    expect(() => componentFilesOf({ ...SDXL_INDEX, fewstep: { components: { unet: '../x.onnx' } } })).toThrow(/fewstep.components.unet must be a relative path to an .onnx file/);
    expect(() => componentFilesOf({ ...SDXL_INDEX, fewstep: { components: { safety_checker: 'onnx/s.onnx' } } })).toThrow(/safety_checker is not a component this app loads/);
  });

  it('reads the WebNN flat layout and the diffusers layout from a file list, text_encoder never taking text_encoder_2', () => {
    const webnn = ['onnx/text_encoder_2_model_q4f16.onnx', 'onnx/text_encoder_model_q4f16.onnx', 'onnx/unet_model_q4f16.onnx', 'onnx/vae_decoder_model_q4f16.onnx', 'onnx/concat_model_f16.onnx', 'tokenizer/tokenizer.json'];
    expect(componentFilesFromList(webnn)).toEqual({
      text_encoder: 'onnx/text_encoder_model_q4f16.onnx',
      text_encoder_2: 'onnx/text_encoder_2_model_q4f16.onnx',
      unet: 'onnx/unet_model_q4f16.onnx',
      vae_decoder: 'onnx/vae_decoder_model_q4f16.onnx',
    });
    expect(componentFilesFromList(['unet/model.onnx', 'text_encoder/model.onnx', 'vae_decoder/model.onnx', 'unet/model.onnx_data'])).toEqual({
      unet: 'unet/model.onnx', text_encoder: 'text_encoder/model.onnx', vae_decoder: 'vae_decoder/model.onnx',
    });
  });

  it('the catalog overlay synthesizes an SDXL index naming the onnx/ graphs for the sdxl-turbo entry (and leaves SD entries as they were)', () => {
    const index = synthesizeModelIndex(catalogEntry('sdxl-turbo'));
    expect(index._class_name).toBe('ORTStableDiffusionXLPipeline');
    expect(index).toHaveProperty('text_encoder_2');
    expect((index.fewstep as Record<string, unknown>).components).toEqual({
      text_encoder: 'onnx/text_encoder_model_q4f16.onnx',
      text_encoder_2: 'onnx/text_encoder_2_model_q4f16.onnx',
      unet: 'onnx/unet_model_q4f16.onnx',
      vae_decoder: 'onnx/vae_decoder_model_q4f16.onnx',
    });
    const l = buildLayout({ modelIndex: index, schedulerConfig: { _class_name: 'EulerAncestralDiscreteScheduler' }, unetConfig: null, vaeConfig: null, textEncoderConfig: null });
    expect(l.kind).toBe('sdxl');
    expect(l.components.textEncoder2).toBe('onnx/text_encoder_2_model_q4f16.onnx');
    const sd = synthesizeModelIndex(catalogEntry('sd-turbo'));
    expect(sd._class_name).toBe('OnnxStableDiffusionPipeline');
    expect(sd).not.toHaveProperty('text_encoder_2');
    expect(sd.fewstep).not.toHaveProperty('components');
  });
});

describe('catalog entry sdxl-turbo (webnn/sdxl-turbo, training/standins/EVIDENCE.md#sdxl-turbo)', () => {
  it('lists the four plain q4f16 graphs with their exact sizes, fp16, Turbo sampling and SDXL configs', () => {
    const e = catalogEntry('sdxl-turbo');
    expect(e.source).toEqual({ type: 'hf', repo: 'webnn/sdxl-turbo', revision: 'main' });
    expect(e.files).toEqual([
      { path: 'onnx/text_encoder_model_q4f16.onnx', size: 124_433_929 },
      { path: 'onnx/text_encoder_2_model_q4f16.onnx', size: 483_677_630 },
      { path: 'onnx/unet_model_q4f16.onnx', size: 1_965_607_674 },
      { path: 'onnx/vae_decoder_model_q4f16.onnx', size: 97_617_257 },
    ]);
    expect([e.precision, e.ioPrecision, e.requiredFeatures]).toEqual(['fp16', 'fp16', ['shader-f16']]);
    expect(e.sampler).toMatchObject({ schedulerClass: 'EulerAncestralDiscreteScheduler', steps: 1, stepRange: [1, 4], guidanceScale: 0, guidanceRange: [0, 0] });
    expect(e.sampler.config).toMatchObject({ timestep_spacing: 'trailing', beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, prediction_type: 'epsilon' });
    expect(e.tokenizer).toMatchObject({ source: 'hf', repo: 'Xenova/clip-vit-base-patch16', padTokenId: 49407, maxLength: 77 });
    expect(e.componentConfig).toEqual({
      unet: { sample_size: 64, in_channels: 4, cross_attention_dim: 2048, addition_embed_type: 'text_time', addition_time_embed_dim: 256, projection_class_embeddings_input_dim: 2816 },
      text_encoder: { hidden_size: 768, num_hidden_layers: 12 },
      text_encoder_2: { hidden_size: 1280, num_hidden_layers: 32, projection_dim: 1280 },
      vae_decoder: { scaling_factor: 0.13025 },
    });
    expect([e.resolution, e.latentSize]).toEqual([{ width: 512, height: 512 }, { width: 64, height: 64, channels: 4 }]);
    expect(e.notes.join(' ')).toMatch(/51903791962/);
  });
});

describe('penultimate hidden states', () => {
  const all = (n: number) => ['last_hidden_state', 'pooler_output', ...Array.from({ length: n + 1 }, (_, i) => `hidden_states.${i}`)];
  it('num_hidden_layers L -> hidden_states.(L-1); a single hidden_states output (WebNN); all of 0..L (Optimum) -> L-1', () => {
    expect(penultimateHiddenState(['hidden_states.11'], 12, 'te')).toBe('hidden_states.11');
    expect(penultimateHiddenState(['hidden_states.11'], null, 'te')).toBe('hidden_states.11');
    expect(penultimateHiddenState(['hidden_states.31', 'text_embeds'], null, 'te2')).toBe('hidden_states.31');
    expect(penultimateHiddenState(all(12), null, 'te')).toBe('hidden_states.11');
    expect(penultimateHiddenState(['text_embeds', ...all(32).slice(2)], 32, 'te2')).toBe('hidden_states.31');
  });
  it('an export with only last_hidden_state (+ text_embeds) fits no SDXL encoder: the message names the file and the fix', () => {
    const e = engineError(() => penultimateHiddenState(['last_hidden_state', 'text_embeds'], null, 'text_encoder_2/model.onnx'));
    expect(e.message).toMatch(/^text_encoder_2\/model.onnx: no hidden_states.<layer> output \(outputs: last_hidden_state, text_embeds\)\. SDXL conditions on the penultimate layer/);
    expect(e.message).toMatch(/output_hidden_states=True/);
    expect(e.file).toBe('text_encoder_2/model.onnx');
    expect(() => penultimateHiddenState(['hidden_states.11'], 32, 'te2')).toThrow(/no hidden_states.31 output for a 32-layer encoder/);
    expect(() => penultimateHiddenState(['hidden_states.3', 'hidden_states.7'], null, 'te')).toThrow(/neither one layer nor all of 0..7/);
  });
});

describe('SDXL arithmetic (diffusers StableDiffusionXLPipeline)', () => {
  it('time_ids = original_size + crops_coords_top_left + target_size = [H, W, 0, 0, H, W]', () => {
    expect([...sdxlTimeIds(512, 512)]).toEqual([512, 512, 0, 0, 512, 512]); // the WebNN demo's getAddTimeIds
    expect([...sdxlTimeIds(768, 1024)]).toEqual([768, 1024, 0, 0, 768, 1024]); // height first
  });

  it('encoder_hidden_states = concat([text_encoder, text_encoder_2], dim=-1): per token, 768 then 1280 channels', () => {
    const seq = 3;
    const a = Float32Array.from({ length: seq * 768 }, (_, i) => 1000 + i); // token s, channel c: 1000 + s*768 + c
    const b = Float32Array.from({ length: seq * 1280 }, (_, i) => -1 - i);
    const out = concatHiddenStates(a, 768, b, 1280);
    expect(out.length).toBe(seq * 2048);
    for (let s = 0; s < seq; s++) {
      expect(out[s * 2048]).toBe(1000 + s * 768);
      expect(out[s * 2048 + 767]).toBe(1000 + s * 768 + 767);
      expect(out[s * 2048 + 768]).toBe(-1 - s * 1280);
      expect(out[s * 2048 + 2047]).toBe(-1 - s * 1280 - 1279);
    }
    expect(() => concatHiddenStates(a, 768, b.subarray(1), 1280)).toThrow(/disagree on the sequence length/);
  });

  it('add_embedding width: 256 x 6 time ids + 1280 = 2816, else a message naming unet/config.json', () => {
    expect(() => checkAddEmbeddingDim({ addition_time_embed_dim: 256, projection_class_embeddings_input_dim: 2816 }, 6, 1280)).not.toThrow();
    expect(() => checkAddEmbeddingDim({}, 6, 1280)).not.toThrow();
    const e = engineError(() => checkAddEmbeddingDim({ addition_time_embed_dim: 256, projection_class_embeddings_input_dim: 2816 }, 6, 1024));
    expect(e.message).toMatch(/expects an added time embedding vector of length 2816 .* 256 x 6 time ids \+ 1024 text_embeds = 2560/);
    expect(e.file).toBe('unet/config.json');
  });
});

describe('ModelIo: graph signatures per pipeline kind', () => {
  it('binds the WebNN SDXL-Turbo export', () => {
    const io = new ModelIo(sdxlSessions(), SDXL_LAYOUT);
    expect(io.kind).toBe('sdxl');
    expect(io.sdxl).toMatchObject({ hidden1: 'hidden_states.11', hidden2: 'hidden_states.31', pooledOut: 'text_embeds', width1: 768, width2: 1280, pooledWidth: 1280 });
    expect(io.sdxl?.ids2.type).toBe('int64');
    expect(io.ids.type).toBe('int32');
    expect(io.textOut).toBe('hidden_states.11');
    expect(io.textWidth).toBe(2048);
    expect(io.sdxl?.textEmbeds.name).toBe('text_embeds');
    expect(io.sdxl?.timeIds.name).toBe('time_ids');
  });

  it('conditioning feeds: text_embeds [B, 1280] in [uncond, cond] order and time_ids [B, 6], in the UNet dtype (float16)', () => {
    const io = new ModelIo(sdxlSessions(), SDXL_LAYOUT);
    const cond = new Float32Array(1280).fill(1);
    const uncond = new Float32Array(1280).fill(-2);
    const timeIds = sdxlTimeIds(512, 512);
    const one = io.conditioningFeeds({ wEmb: null, textEmbeds: { cond, uncond: null }, timeIds }, 1);
    expect(Object.keys(one).sort()).toEqual(['text_embeds', 'time_ids']);
    expect(one.text_embeds[1]).toEqual([1, 1280]);
    expect(one.time_ids[1]).toEqual([1, 6]);
    expect([...float16BitsToFloat32(one.time_ids[0] as Uint16Array)]).toEqual([512, 512, 0, 0, 512, 512]);
    const two = io.conditioningFeeds({ wEmb: null, textEmbeds: { cond, uncond }, timeIds }, 2);
    const te = float16BitsToFloat32(two.text_embeds[0] as Uint16Array);
    expect(two.text_embeds[1]).toEqual([2, 1280]);
    expect([te[0], te[1279], te[1280], te[2559]]).toEqual([-2, -2, 1, 1]);
    expect([...float16BitsToFloat32(two.time_ids[0] as Uint16Array)]).toEqual([512, 512, 0, 0, 512, 512, 512, 512, 0, 0, 512, 512]);
    expect(() => io.conditioningFeeds({ wEmb: null, textEmbeds: { cond, uncond }, timeIds }, 1)).toThrow(/batch of 2/);
    expect(io.conditioningFeeds(null, 1)).toEqual({});
  });

  it('an SD pipeline keeps its bindings; LCM guidance embedding still feeds timestep_cond', () => {
    const io = new ModelIo({ textEncoder: sdTe(), unet: sdUnet([['timestep_cond', 'float32', ['batch_size', 256]]]), vae: vae('vae_decoder/model.onnx') });
    expect(io.kind).toBe('sd');
    expect(io.sdxl).toBeNull();
    expect(io.textOut).toBe('last_hidden_state');
    expect(io.textWidth).toBe(1024);
    const f = io.conditioningFeeds({ wEmb: new Float32Array(256).fill(0.5), textEmbeds: null, timeIds: null }, 2);
    expect(Object.keys(f)).toEqual(['timestep_cond']);
    expect(f.timestep_cond[1]).toEqual([2, 256]);
  });

  it('an SDXL UNet in a pipeline described as SD: names the inputs and what an SDXL export needs', () => {
    const e = engineError(() => new ModelIo({ textEncoder: sdTe(), unet: sdxlUnet(), vae: vae() }, { kind: 'sd', textEncoderConfig: {}, pipelineClass: 'OnnxStableDiffusionPipeline' }));
    expect(e.code).toBe('MODEL_LAYOUT_INVALID');
    expect(e.file).toBe('onnx/unet_model_q4f16.onnx');
    expect(e.message).toMatch(/onnx\/unet_model_q4f16.onnx takes text_embeds and time_ids \(SDXL's added conditioning\), but model_index.json describes a Stable Diffusion pipeline \(OnnxStableDiffusionPipeline\)/);
    expect(e.message).toMatch(/needs text_encoder_2\/model.onnx/);
  });

  it('a UNet input no pipeline kind feeds gives a specific message listing the supported signatures', () => {
    const e = engineError(() => new ModelIo({ textEncoder: sdTe(), unet: sdUnet([['class_labels', 'int64', ['batch_size']]]), vae: vae() }));
    expect(e.message).toBe(
      'unet/model.onnx takes input(s) class_labels: int64[batch_size] that no supported pipeline kind feeds. Supported UNet signatures: ' +
        'SD 1.x/2.x/SD-Turbo: sample, timestep, encoder_hidden_states; LCM: + timestep_cond; SDXL/SDXL-Turbo: + text_embeds, time_ids (with text_encoder_2).',
    );
    expect(e.file).toBe('unet/model.onnx');
  });

  it('an SDXL pipeline whose UNet lacks text_embeds / time_ids, or without text_encoder_2, or whose text_encoder_2 lacks text_embeds', () => {
    expect(() => new ModelIo({ ...sdxlSessions(), unet: sdUnet() }, SDXL_LAYOUT)).toThrow(
      /model_index.json describes an SDXL pipeline \(ORTStableDiffusionXLPipeline\), but unet\/model.onnx \(inputs: sample, timestep, encoder_hidden_states\) lacks text_embeds and\/or time_ids/,
    );
    expect(() => new ModelIo({ ...sdxlSessions(), textEncoder2: undefined }, SDXL_LAYOUT)).toThrow(/needs text_encoder_2\/model.onnx/);
    const e = engineError(() => new ModelIo(sdxlSessions({ textEncoder2: te2([['hidden_states.31', 'float16', ['b', 's', 1280]], ['last_hidden_state', 'float16', ['b', 's', 1280]]]) }), SDXL_LAYOUT));
    expect(e.message).toMatch(/^onnx\/text_encoder_2_model_q4f16.onnx has no text_embeds output \(outputs: hidden_states.31, last_hidden_state\)/);
    expect(() => new ModelIo(sdxlSessions({ textEncoder2: te2([['last_hidden_state', 'float16', ['b', 's', 1280]], ['text_embeds', 'float16', ['b', 1280]]]) }), { ...SDXL_LAYOUT, textEncoder2Config: {} })).toThrow(
      /text_encoder_2_model_q4f16.onnx: no hidden_states.<layer> output/,
    );
  });

  it('components from different models: text_embeds width and the add_embedding width', () => {
    const wide = fakeSession('u.onnx', [...sdxlUnet().inputs.values()].map((v) => [v.name, v.type, v.name === 'text_embeds' ? ['b', 1024] : [...v.shape]] as Io), [['out_sample', 'float16', S]]);
    expect(() => new ModelIo(sdxlSessions({ unet: wide }), SDXL_LAYOUT)).toThrow(/outputs text_embeds of width 1280 but u.onnx takes text_embeds of width 1024/);
    expect(() => new ModelIo(sdxlSessions(), { ...SDXL_LAYOUT, unetConfig: { addition_time_embed_dim: 256, projection_class_embeddings_input_dim: 2560 } })).toThrow(/length 2560/);
  });
});

describe("tokenizer_2 from tokenizer/ (SDXL's second tokenizer pads with '!')", () => {
  const json = { model: { type: 'BPE', vocab: { '!': 0, a: 1 } }, added_tokens: [{ id: 49407, content: '<|endoftext|>', special: true }] };
  it('registers "!" (id 0) as an added special token and sets pad_token "!", leaving the inputs alone', () => {
    const out = sdxlSecondTokenizerFiles(json, { pad_token: '<|endoftext|>', model_max_length: 77 });
    expect(out.tokenizerConfig).toEqual({ pad_token: '!', model_max_length: 77 });
    expect((out.tokenizerJson.added_tokens as unknown[])[0]).toEqual({ id: 0, content: '!', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    expect(out.tokenizerJson.added_tokens).toHaveLength(2);
    expect(json.added_tokens).toHaveLength(1);
  });
  it('refuses a vocabulary where "!" is not id 0', () => {
    const e = engineError(() => sdxlSecondTokenizerFiles({ model: { vocab: { '!': 5 } } }, {}));
    expect(e.file).toBe('tokenizer/tokenizer.json');
    expect(e.message).toMatch(/add tokenizer_2\/tokenizer.json/);
  });
});
