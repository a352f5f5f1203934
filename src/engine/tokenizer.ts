/**
 * CLIP-style prompt tokenization: tokenizer.json + tokenizer_config.json through @huggingface/tokenizers (the
 * tokenizer engine of @huggingface/transformers), then BOS ... EOS, truncated and padded to the text encoder's length.
 * SD 1.x pads with <|endoftext|>, SD 2.x / SD-Turbo with "!" (id 0): the pad token comes from the config.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { EngineError } from './errors';

type Json = Record<string, unknown>;

function tokenString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return null;
}

export class PromptTokenizer {
  private constructor(
    private readonly tok: Tokenizer,
    readonly maxLength: number,
    readonly bosId: number | null,
    readonly eosId: number | null,
    readonly padId: number,
  ) {}

  /**
   * @param file the tokenizer.json path errors name (`tokenizer/tokenizer.json`; SDXL's second one
   *   `tokenizer_2/tokenizer.json`)
   */
  static fromJson(tokenizerJson: Json, tokenizerConfig: Json, maxLengthHint?: number | null, file = 'tokenizer/tokenizer.json'): PromptTokenizer {
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new EngineError(
        'MODEL_FILE_CORRUPT',
        `${file} could not be loaded: ${(e as Error).message}. Supported models: BPE, WordPiece, Unigram.`,
        file,
      );
    }
    const idOf = (key: string): number | null => {
      const s = tokenString(tokenizerConfig[key]);
      if (s === null) return null;
      return tok.token_to_id(s) ?? null;
    };
    const bos = idOf('bos_token');
    const eos = idOf('eos_token');
    const pad = idOf('pad_token') ?? eos ?? 0;
    const cfgMax = tokenizerConfig.model_max_length;
    const maxLength =
      maxLengthHint && maxLengthHint > 0
        ? maxLengthHint
        : typeof cfgMax === 'number' && cfgMax > 0 && cfgMax < 100_000
          ? cfgMax
          : 77;
    return new PromptTokenizer(tok, maxLength, bos, eos, pad);
  }

  /** Token ids for one prompt, exactly maxLength long. */
  encode(text: string): number[] {
    let ids = this.tok.encode(text, { add_special_tokens: true }).ids.slice();
    if (this.bosId !== null && ids[0] !== this.bosId) ids.unshift(this.bosId);
    if (this.eosId !== null && ids[ids.length - 1] !== this.eosId) ids.push(this.eosId);
    if (ids.length > this.maxLength) {
      ids = ids.slice(0, this.maxLength);
      if (this.eosId !== null) ids[this.maxLength - 1] = this.eosId;
    }
    while (ids.length < this.maxLength) ids.push(this.padId);
    return ids;
  }

  /** Number of prompt tokens that fit (without BOS/EOS) and whether the prompt was truncated. */
  count(text: string): { tokens: number; truncated: boolean } {
    const n = this.tok.encode(text, { add_special_tokens: false }).ids.length;
    return { tokens: n, truncated: n > this.maxLength - 2 };
  }
}

/**
 * SDXL's second tokenizer (`tokenizer_2`, the one text_encoder_2 reads) made from the first one's files, for exports
 * that ship one tokenizer or none (webnn/sdxl-turbo's Hugging Face repo has none; the catalog fetches
 * Xenova/clip-vit-base-patch16's tokenizer.json into tokenizer/). Both SDXL tokenizers share the CLIP BPE vocabulary
 * (49408 tokens); tokenizer_2 pads with "!" (id 0) instead of <|endoftext|> and registers "!" as an added special
 * token: stabilityai/sdxl-turbo's tokenizer_2/special_tokens_map.json has pad_token "!", and the WebNN demo's
 * tokenizer_2/tokenizer.json (2,224,281 bytes) is its tokenizer/tokenizer.json (2,224,108 bytes) plus the added token
 * {id 0, "!", special, normalized false} (microsoft/webnn-developer-preview demos/sdxl-turbo/models @ fedae01).
 *
 * @param tokenizerJson tokenizer/tokenizer.json (not modified)
 * @param tokenizerConfig tokenizer/tokenizer_config.json (not modified)
 * @returns the tokenizer.json and tokenizer_config.json of tokenizer_2
 * @throws EngineError MODEL_LAYOUT_INVALID naming tokenizer/tokenizer.json when "!" is not id 0 (not a CLIP vocabulary)
 */
export function sdxlSecondTokenizerFiles(tokenizerJson: Json, tokenizerConfig: Json): { tokenizerJson: Json; tokenizerConfig: Json } {
  const vocab = (tokenizerJson.model as Json | undefined)?.vocab as Json | undefined;
  if (!vocab || typeof vocab !== 'object' || Array.isArray(vocab) || vocab['!'] !== 0) {
    throw new EngineError(
      'MODEL_LAYOUT_INVALID',
      'tokenizer/tokenizer.json is not a CLIP BPE vocabulary with "!" as id 0, so SDXL\'s second tokenizer (pad "!") cannot be made from it; add tokenizer_2/tokenizer.json and tokenizer_2/tokenizer_config.json.',
      'tokenizer/tokenizer.json',
    );
  }
  const added = Array.isArray(tokenizerJson.added_tokens) ? (tokenizerJson.added_tokens as Json[]) : [];
  const bang = { id: 0, content: '!', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  return {
    tokenizerJson: { ...tokenizerJson, added_tokens: [bang, ...added.filter((t) => t.id !== 0)] },
    tokenizerConfig: { ...tokenizerConfig, pad_token: '!' },
  };
}
