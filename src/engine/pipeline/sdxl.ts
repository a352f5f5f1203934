/**
 * The SDXL pipeline kind's own arithmetic, as diffusers' StableDiffusionXLPipeline does it
 * (diffusers/pipelines/stable_diffusion_xl/pipeline_stable_diffusion_xl.py, `encode_prompt` and `_get_add_time_ids`):
 *
 *  - prompt: `tokenizer` + `text_encoder` (CLIP ViT-L/14, 12 layers, width 768) and `tokenizer_2` + `text_encoder_2`
 *    (OpenCLIP ViT-bigG/14 with projection, 32 layers, width 1280) each give the hidden states of their penultimate
 *    layer (`output_hidden_states=True`, `hidden_states[-2]`), concatenated along the channels in that order:
 *    encoder_hidden_states [B, 77, 768 + 1280 = 2048] (`torch.concat(prompt_embeds_list, dim=-1)`);
 *  - pooled: text_encoder_2's projected pooled output (`prompt_embeds[0]` of CLIPTextModelWithProjection, the ONNX
 *    output `text_embeds`) [B, 1280], the UNet's added_cond_kwargs["text_embeds"];
 *  - time_ids: `list(original_size + crops_coords_top_left + target_size)` = [H, W, 0, 0, H, W] for a H x W image,
 *    the UNet's added_cond_kwargs["time_ids"] [B, 6].
 *
 * Pure functions; the ONNX wiring is in bindings.ts (ModelIo), the prompt cache in prompts.ts.
 */
import { EngineError } from '../errors';
import { IO_NAMES } from '../io';
import { LAYOUT_FILES } from '../layout';
import { PromptTokenizer, readTokenizerFiles, sdxlSecondTokenizerFiles, type TokenizerFileRead } from '../tokenizer';

type Json = Record<string, unknown>;

/**
 * The text-encoder output that holds the penultimate layer's hidden states (diffusers: `hidden_states[-2]`):
 *  1. with `numHiddenLayers` L known (the component's config.json `num_hidden_layers`): `hidden_states.{L-1}`;
 *  2. else a graph with a single `hidden_states.K` output: that one (the WebNN export keeps only the penultimate
 *     layer: `hidden_states.11` of CLIP ViT-L, `hidden_states.31` of OpenCLIP bigG);
 *  3. else `hidden_states.0` .. `hidden_states.M` (Optimum exports all L + 1 = M + 1 of them: the embeddings and
 *     every layer): `hidden_states.{M-1}`.
 * `last_hidden_state` is never used: it is one layer later and has the final layer norm applied.
 *
 * @param outputs the graph's output names
 * @param numHiddenLayers `num_hidden_layers` from the component's config.json, or null
 * @param file the graph's path, for the message
 * @throws EngineError MODEL_LAYOUT_INVALID naming `file` when no output holds the penultimate layer
 */
export function penultimateHiddenState(outputs: readonly string[], numHiddenLayers: number | null, file: string): string {
  const prefix = IO_NAMES.textEncoder.hiddenStatePrefix;
  const layers = outputs
    .filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))
    .map((n) => Number(n.slice(prefix.length)))
    .sort((a, b) => a - b);
  const fail = (why: string): never => {
    throw new EngineError(
      'MODEL_LAYOUT_INVALID',
      `${file}: ${why} (outputs: ${outputs.join(', ') || 'none'}). SDXL conditions on the penultimate layer's hidden ` +
        `states (diffusers: hidden_states[-2]); export the text encoders with output_hidden_states=True, as Optimum ` +
        `does for SDXL (outputs hidden_states.0 .. hidden_states.<layers>).`,
      file,
    );
  };
  if (layers.length === 0) return fail('no hidden_states.<layer> output');
  if (numHiddenLayers !== null && numHiddenLayers > 0) {
    if (!layers.includes(numHiddenLayers - 1)) return fail(`no hidden_states.${numHiddenLayers - 1} output for a ${numHiddenLayers}-layer encoder (config.json num_hidden_layers)`);
    return `${prefix}${numHiddenLayers - 1}`;
  }
  if (layers.length === 1) return `${prefix}${layers[0]}`;
  const max = layers[layers.length - 1];
  if (layers[0] !== 0 || layers.length !== max + 1) return fail(`hidden_states outputs ${layers.join(', ')} are neither one layer nor all of 0..${max}, and config.json gives no num_hidden_layers`);
  return `${prefix}${max - 1}`;
}

/**
 * diffusers' `_get_add_time_ids(original_size, crops_coords_top_left, target_size)` for a text-to-image call with
 * the defaults (original_size = target_size = (height, width), crops_coords_top_left = (0, 0)).
 * @returns [height, width, 0, 0, height, width] as float32 (the UNet input's dtype is applied when fed)
 */
export function sdxlTimeIds(height: number, width: number): Float32Array {
  return Float32Array.from([height, width, 0, 0, height, width]);
}

/**
 * `torch.concat([prompt_embeds_1, prompt_embeds_2], dim=-1)` for one prompt: per token, text_encoder's channels
 * first, then text_encoder_2's.
 * @param a text_encoder's penultimate hidden states [1, seq, widthA], row-major
 * @param b text_encoder_2's penultimate hidden states [1, seq, widthB]
 * @returns encoder_hidden_states [1, seq, widthA + widthB]
 */
export function concatHiddenStates(a: Float32Array, widthA: number, b: Float32Array, widthB: number): Float32Array {
  const seq = a.length / widthA;
  if (!Number.isInteger(seq) || b.length !== seq * widthB) {
    throw new EngineError(
      'TENSOR_SHAPE_MISMATCH',
      `The two SDXL text encoders disagree on the sequence length: ${a.length} values of width ${widthA} vs ${b.length} of width ${widthB}.`,
    );
  }
  const w = widthA + widthB;
  const out = new Float32Array(seq * w);
  for (let s = 0; s < seq; s++) {
    out.set(a.subarray(s * widthA, (s + 1) * widthA), s * w);
    out.set(b.subarray(s * widthB, (s + 1) * widthB), s * w + widthA);
  }
  return out;
}

/**
 * diffusers' check in `_get_add_time_ids`: the UNet's add_embedding takes `addition_time_embed_dim * len(time_ids) +
 * text_encoder_projection_dim` values (SDXL: 256 * 6 + 1280 = 2816 = `projection_class_embeddings_input_dim`).
 * Skipped when the UNet config lacks the two keys (exports without unet/config.json).
 * @throws EngineError TENSOR_SHAPE_MISMATCH naming unet/config.json
 */
export function checkAddEmbeddingDim(unetConfig: Record<string, unknown>, timeIdsLength: number, textEmbedsDim: number | null): void {
  const per = unetConfig.addition_time_embed_dim;
  const expected = unetConfig.projection_class_embeddings_input_dim;
  if (typeof per !== 'number' || typeof expected !== 'number' || textEmbedsDim === null) return;
  const passed = per * timeIdsLength + textEmbedsDim;
  if (passed !== expected) {
    throw new EngineError(
      'TENSOR_SHAPE_MISMATCH',
      `unet/config.json: the UNet expects an added time embedding vector of length ${expected} ` +
        `(projection_class_embeddings_input_dim), but ${per} x ${timeIdsLength} time ids + ${textEmbedsDim} text_embeds = ${passed}: ` +
        'the text encoders and the UNet come from different models.',
      'unet/config.json',
    );
  }
}

/**
 * SDXL's tokenizer_2: tokenizer_2/'s own files when the export has them (tokenizer.json as in Optimum's layout and the
 * WebNN demo, or vocab.json + merges.txt as in stabilityai/sdxl-turbo; tokenizer.ts readTokenizerFiles), else made
 * from tokenizer/'s files with tokenizer_2's padding ("!" = id 0, tokenizer.ts sdxlSecondTokenizerFiles), as for
 * webnn/sdxl-turbo, whose Hugging Face repo ships no tokenizer.
 *
 * @param read reads a file of the pipeline folder (optional reads give null when absent)
 * @param first tokenizer/'s tokenizer.json (shipped or built from vocab.json + merges.txt) and tokenizer_config.json
 * @param maxLengthHint text_encoder_2/config.json's max_position_embeddings, or null
 */
export async function loadSecondTokenizer(
  read: TokenizerFileRead,
  first: { tokenizerJson: Json; tokenizerConfig: Json },
  maxLengthHint: number | null,
): Promise<PromptTokenizer> {
  const own = await readTokenizerFiles(read, 'tokenizer_2', true);
  if (own) return PromptTokenizer.fromJson(own.tokenizerJson, own.tokenizerConfig, maxLengthHint, own.file);
  const derived = sdxlSecondTokenizerFiles(first.tokenizerJson, first.tokenizerConfig);
  return PromptTokenizer.fromJson(derived.tokenizerJson, derived.tokenizerConfig, maxLengthHint, LAYOUT_FILES.tokenizer);
}
