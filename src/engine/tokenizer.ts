/**
 * CLIP-style prompt tokenization through @huggingface/tokenizers (the tokenizer engine of @huggingface/transformers):
 * BOS ... EOS, truncated and padded to the text encoder's length. SD 1.x pads with <|endoftext|>, SD 2.x / SD-Turbo
 * with "!" (id 0): the pad token comes from the config.
 *
 * Two ways in, one tokenizer:
 *  - a tokenizer.json (+ tokenizer_config.json), as transformers.js repos and some ONNX exports ship it;
 *  - vocab.json + merges.txt (+ tokenizer_config.json, special_tokens_map.json), as real diffusers exports ship it
 *    (SD 1.5, SD 2.1, LCM-Dreamshaper, Optimum): {@link clipTokenizerJson} builds the tokenizer.json that Hugging Face
 *    transformers' `CLIPConverter` (convert_slow_tokenizer.py) makes for CLIPTokenizerFast from the same files.
 * Either way {@link PromptTokenizer.fromJson} then registers the config's special tokens (bos/eos/unk/pad/...) as
 * added special tokens, as transformers' tokenizer __init__ does (`_add_tokens(all_special_tokens_extended,
 * special_tokens=True)`): with SD 2.x's pad_token "!", a "!" in a prompt is the special token 0, not "!</w>".
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { EngineError } from './errors';

type Json = Record<string, unknown>;

function tokenString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return null;
}

/**
 * CLIP's pre-tokenizer pattern (openai/CLIP simple_tokenizer.py without the two special-token alternatives, which
 * the added-token matcher handles), as transformers' CLIPConverter passes it to a `Split` (behavior "removed",
 * invert: the matches are the pieces).
 */
export const CLIP_SPLIT_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

/**
 * Merges CLIPTokenizer reads: merges.txt's lines 1 .. 49152 - 256 - 2 (line 0 is the "#version" header), the
 * original CLIP vocabulary size minus the 512 byte tokens' 256 pairs and the two special tokens
 * (transformers tokenization_clip.py, openai/CLIP simple_tokenizer.py). The real file has exactly this many.
 */
export const CLIP_MAX_MERGES = 49152 - 256 - 2;

/** CLIPTokenizer's defaults for the special tokens a tokenizer_config.json leaves out (transformers tokenization_clip.py). */
export const CLIP_SPECIAL_DEFAULTS: Readonly<Json> = { bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', pad_token: '<|endoftext|>' };

/** The special-token keys of a tokenizer config, in transformers' SPECIAL_TOKENS_ATTRIBUTES order. */
const SPECIAL_KEYS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;

/** One entry of tokenizer.json's `added_tokens`. */
interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/**
 * The special tokens a tokenizer config names, as tokenizer.json `added_tokens` entries with their vocabulary ids:
 * `added_tokens_decoder` entries (id given), then bos/eos/unk/sep/pad/cls/mask and `additional_special_tokens`.
 * A token given as a string is {lstrip, rstrip, single_word, normalized: false, special: true} (transformers'
 * `_add_tokens` for special tokens); one given as an AddedToken object keeps its flags. Tokens the vocabulary
 * lacks are skipped: a new id would be past the text encoder's embedding table.
 */
function configSpecialTokens(config: Json, idOf: (token: string) => number | undefined): AddedTokenJson[] {
  const out: AddedTokenJson[] = [];
  const seen = new Set<string>();
  const add = (v: unknown, id?: number): void => {
    const content = tokenString(v);
    if (content === null || seen.has(content)) return;
    const tokenId = id ?? idOf(content);
    if (tokenId === undefined || !Number.isInteger(tokenId) || tokenId < 0) return;
    const o = v && typeof v === 'object' ? (v as Json) : {};
    const flag = (k: string, d: boolean): boolean => (typeof o[k] === 'boolean' ? (o[k] as boolean) : d);
    seen.add(content);
    out.push({
      id: tokenId,
      content,
      single_word: flag('single_word', false),
      lstrip: flag('lstrip', false),
      rstrip: flag('rstrip', false),
      normalized: flag('normalized', false),
      special: true,
    });
  };
  const decoder = config.added_tokens_decoder;
  if (decoder && typeof decoder === 'object' && !Array.isArray(decoder)) {
    for (const [k, v] of Object.entries(decoder as Json)) {
      const o = v && typeof v === 'object' ? (v as Json) : null;
      if (o && o.special === true && /^\d+$/.test(k)) add(v, Number(k));
    }
  }
  for (const key of SPECIAL_KEYS) add(config[key]);
  const extra = config.additional_special_tokens;
  if (Array.isArray(extra)) for (const v of extra) add(v);
  return out;
}

/**
 * The tokenizer.json CLIPTokenizerFast is made of when a folder has only vocab.json + merges.txt: what
 * transformers' `CLIPConverter.converted()` builds (convert_slow_tokenizer.py), then the config's special tokens as
 * added tokens (what the fast tokenizer's __init__ adds):
 *  - normalizer: NFC, every run of whitespace -> one space, lowercase;
 *  - pre-tokenizer: Split on {@link CLIP_SPLIT_PATTERN} (removed, inverted), then ByteLevel (no prefix space);
 *  - model: BPE over the vocab and merges, end_of_word_suffix "</w>", no continuing-subword prefix, unk_token from
 *    the config (CLIPTokenizer's default "<|endoftext|>");
 *  - post-processor: RobertaProcessing with cls = (bos_token, its id), sep = (eos_token, its id): BOS ... EOS;
 *  - decoder: ByteLevel.
 * merges.txt is read as CLIPTokenizer reads it: CRLF as LF, trimmed, line 0 (the "#version" header) skipped, at most
 * {@link CLIP_MAX_MERGES} lines, each "left right".
 *
 * @param vocab vocab.json: token -> id (CLIP: 49408 entries; "!" is 0, <|startoftext|> 49406, <|endoftext|> 49407)
 * @param mergesText merges.txt's text
 * @param config tokenizer_config.json (with special_tokens_map.json's tokens over it); bos/eos/unk default to
 *   CLIPTokenizer's ("<|startoftext|>", "<|endoftext|>", "<|endoftext|>")
 * @param dir the tokenizer's folder in the layout, for error messages ("tokenizer", "tokenizer_2")
 * @returns a tokenizer.json object for {@link PromptTokenizer.fromJson}
 * @throws EngineError MODEL_FILE_CORRUPT naming vocab.json (not a token -> id map; bos/eos missing) or merges.txt
 *   (a line that is not two tokens of the vocabulary whose concatenation is in it too, as the tokenizers BPE builder
 *   requires)
 */
export function clipTokenizerJson(vocab: Json, mergesText: string, config: Json, dir = 'tokenizer'): Json {
  const vocabFile = `${dir}/vocab.json`;
  const mergesFile = `${dir}/merges.txt`;
  const ids = new Map<string, number>();
  for (const [token, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new EngineError('MODEL_FILE_CORRUPT', `${vocabFile} must map tokens to non-negative integer ids; ${JSON.stringify(token)} maps to ${JSON.stringify(id)}. Re-download the tokenizer folder.`, vocabFile);
    }
    ids.set(token, id);
  }
  if (ids.size === 0) {
    throw new EngineError('MODEL_FILE_CORRUPT', `${vocabFile} holds no tokens. Re-download the tokenizer folder.`, vocabFile);
  }
  const lines = mergesText.replace(/\r\n?/g, '\n').trim().split('\n').slice(1, CLIP_MAX_MERGES + 1);
  const merges: string[] = [];
  lines.forEach((line, i) => {
    const parts = line.trim().split(/\s+/);
    const bad =
      parts.length !== 2 ? 'is not two tokens separated by a space'
        : !ids.has(parts[0]) || !ids.has(parts[1]) ? `names a token that ${vocabFile} lacks`
          : !ids.has(parts[0] + parts[1]) ? `merges into ${JSON.stringify(parts[0] + parts[1])}, which ${vocabFile} lacks`
            : null;
    if (bad) {
      throw new EngineError(
        'MODEL_FILE_CORRUPT',
        `${mergesFile} line ${i + 2} (${JSON.stringify(line.slice(0, 60))}) ${bad}: vocab.json and merges.txt must come from the same tokenizer. Re-download the tokenizer folder.`,
        mergesFile,
      );
    }
    merges.push(`${parts[0]} ${parts[1]}`);
  });
  const bos = tokenString(config.bos_token) ?? '<|startoftext|>';
  const eos = tokenString(config.eos_token) ?? '<|endoftext|>';
  const unk = tokenString(config.unk_token) ?? '<|endoftext|>';
  for (const [what, t] of [['bos_token', bos], ['eos_token', eos]] as const) {
    if (!ids.has(t)) {
      throw new EngineError('MODEL_FILE_CORRUPT', `${vocabFile} has no ${JSON.stringify(t)} (the ${what} of ${dir}/tokenizer_config.json); is this a CLIP vocabulary?`, vocabFile);
    }
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: configSpecialTokens({ ...config, bos_token: config.bos_token ?? bos, eos_token: config.eos_token ?? eos, unk_token: config.unk_token ?? unk }, (t) => ids.get(t)),
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT_PATTERN }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: { type: 'RobertaProcessing', sep: [eos, ids.get(eos)], cls: [bos, ids.get(bos)], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unk,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
}

/** Reads one file of a pipeline folder: its bytes, or null when `optional` and absent (ModelSource.read). */
export type TokenizerFileRead = (path: string, optional: boolean) => Promise<ArrayBuffer | null>;

/** A tokenizer folder's files, ready for {@link PromptTokenizer.fromJson}. */
export interface TokenizerFiles {
  /** tokenizer.json as shipped, or built by {@link clipTokenizerJson} from vocab.json + merges.txt. */
  tokenizerJson: Json;
  /** tokenizer_config.json; on the vocab.json route with special_tokens_map.json's tokens over it (transformers' precedence). */
  tokenizerConfig: Json;
  /** What the tokenizer came from, for messages: "tokenizer/tokenizer.json" or "tokenizer/vocab.json + merges.txt". */
  file: string;
  /** Every path asked for, found or not, in order (for progress counts). */
  paths: string[];
}

function parseJson(buf: ArrayBuffer, path: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(buf));
  } catch (e) {
    throw new EngineError('MODEL_FILE_CORRUPT', `${path} is not valid JSON: ${(e as Error).message}`, path);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new EngineError('MODEL_FILE_CORRUPT', `${path} must hold a JSON object.`, path);
  return v as Json;
}

/**
 * Reads the tokenizer in `dir` ("tokenizer", SDXL's "tokenizer_2"): `tokenizer.json` when the folder has one, else
 * `vocab.json` + `merges.txt` (+ `special_tokens_map.json` when present) converted with {@link clipTokenizerJson};
 * `tokenizer_config.json` in both cases. On the vocab.json route the config's missing special tokens take
 * CLIPTokenizer's defaults ({@link CLIP_SPECIAL_DEFAULTS}) and special_tokens_map.json's tokens win over the config's.
 *
 * @param read the folder's reader (optional reads return null for an absent file)
 * @param optional return null instead of throwing when the folder has no tokenizer files at all (SDXL's tokenizer_2)
 * @throws EngineError MODEL_FILE_MISSING naming `<dir>/tokenizer.json` when neither form is there, or the missing
 *   half of vocab.json + merges.txt; MODEL_FILE_CORRUPT for bad JSON or a vocab/merges mismatch; the reader's own
 *   error for a missing tokenizer_config.json
 */
export async function readTokenizerFiles(read: TokenizerFileRead, dir = 'tokenizer', optional = false): Promise<TokenizerFiles | null> {
  const paths: string[] = [];
  const get = async (name: string, opt = true): Promise<ArrayBuffer | null> => {
    paths.push(`${dir}/${name}`);
    return read(`${dir}/${name}`, opt);
  };
  const jsonBuf = await get('tokenizer.json');
  if (jsonBuf) {
    const tokenizerJson = parseJson(jsonBuf, `${dir}/tokenizer.json`);
    const tokenizerConfig = parseJson((await get('tokenizer_config.json', false))!, `${dir}/tokenizer_config.json`);
    return { tokenizerJson, tokenizerConfig, file: `${dir}/tokenizer.json`, paths };
  }
  const vocabBuf = await get('vocab.json');
  const mergesBuf = await get('merges.txt');
  if (!vocabBuf && !mergesBuf) {
    if (optional) return null;
    throw new EngineError(
      'MODEL_FILE_MISSING',
      `${dir}/ has neither tokenizer.json nor vocab.json + merges.txt; add the tokenizer files of the model's repo (diffusers exports ship vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json in ${dir}/).`,
      `${dir}/tokenizer.json`,
    );
  }
  if (!vocabBuf || !mergesBuf) {
    const missing = vocabBuf ? 'merges.txt' : 'vocab.json';
    throw new EngineError(
      'MODEL_FILE_MISSING',
      `${dir}/${missing} is missing: a tokenizer without tokenizer.json needs both vocab.json and merges.txt; add ${missing} from the model's repo.`,
      `${dir}/${missing}`,
    );
  }
  const config = parseJson((await get('tokenizer_config.json', false))!, `${dir}/tokenizer_config.json`);
  const mapBuf = await get('special_tokens_map.json');
  const map = mapBuf ? parseJson(mapBuf, `${dir}/special_tokens_map.json`) : {};
  const tokenizerConfig: Json = { ...CLIP_SPECIAL_DEFAULTS, ...config };
  for (const key of [...SPECIAL_KEYS, 'additional_special_tokens']) if (map[key] !== undefined && map[key] !== null) tokenizerConfig[key] = map[key];
  const vocab = parseJson(vocabBuf, `${dir}/vocab.json`);
  const tokenizerJson = clipTokenizerJson(vocab, new TextDecoder().decode(mergesBuf), tokenizerConfig, dir);
  return { tokenizerJson, tokenizerConfig, file: `${dir}/vocab.json + merges.txt`, paths };
}

/**
 * `tokenizerJson` with the config's special tokens ({@link configSpecialTokens}) that its added_tokens lack appended
 * (the input is not modified). Ids come from added_tokens, then the model's vocab (BPE/WordPiece: an object).
 */
function withConfigSpecialTokens(tokenizerJson: Json, tokenizerConfig: Json): Json {
  const added = Array.isArray(tokenizerJson.added_tokens) ? (tokenizerJson.added_tokens as AddedTokenJson[]) : [];
  const vocab = (tokenizerJson.model as Json | undefined)?.vocab;
  const vocabIds = vocab && typeof vocab === 'object' && !Array.isArray(vocab) ? (vocab as Record<string, unknown>) : {};
  const idOf = (t: string): number | undefined => {
    const a = added.find((x) => x && x.content === t);
    if (a) return a.id;
    const v = vocabIds[t];
    return typeof v === 'number' ? v : undefined;
  };
  const have = new Set(added.map((x) => x?.content));
  const extra = configSpecialTokens(tokenizerConfig, idOf).filter((t) => !have.has(t.content));
  return extra.length ? { ...tokenizerJson, added_tokens: [...added, ...extra] } : tokenizerJson;
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
   * The prompt tokenizer of a tokenizer.json (shipped, or {@link clipTokenizerJson}'s) and its tokenizer_config.json.
   * The config's special tokens missing from the JSON's added_tokens are registered first, as transformers does
   * (see the module comment): SD 2.x's pad_token "!" becomes the special token 0.
   * @param maxLengthHint the text encoder's max_position_embeddings (else the config's model_max_length, else 77)
   * @param file the tokenizer.json path errors name (`tokenizer/tokenizer.json`; SDXL's second one
   *   `tokenizer_2/tokenizer.json`)
   */
  static fromJson(tokenizerJson: Json, tokenizerConfig: Json, maxLengthHint?: number | null, file = 'tokenizer/tokenizer.json'): PromptTokenizer {
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(withConfigSpecialTokens(tokenizerJson, tokenizerConfig), tokenizerConfig);
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
