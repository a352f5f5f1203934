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

  static fromJson(tokenizerJson: Json, tokenizerConfig: Json, maxLengthHint?: number | null): PromptTokenizer {
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new EngineError(
        'MODEL_FILE_CORRUPT',
        `tokenizer/tokenizer.json could not be loaded: ${(e as Error).message}. Supported models: BPE, WordPiece, Unigram.`,
        'tokenizer/tokenizer.json',
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
