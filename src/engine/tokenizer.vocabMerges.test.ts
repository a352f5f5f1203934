/**
 * The CLIP tokenizer built from vocab.json + merges.txt (tokenizer.ts clipTokenizerJson / readTokenizerFiles), checked
 * against published data only:
 *  - the real CLIP vocab.json + merges.txt and published tokenizer.json files (tests/fixtures/clip-vocab, from
 *    microsoft/webnn-developer-preview @ fedae01; see its published.json for paths, sizes and sha256);
 *  - the golden ids of tests/fixtures/clip-tokenizer-golden.json (transformers.js tests, diffusers.js, clip-bpe-js
 *    docs; 29 prompts + 8 padded/truncated ones), under both pad conventions: SD 1.x (<|endoftext|>) and SD 2.x ("!").
 * Both routes (vocab.json + merges.txt, and the published tokenizer.json) must give the golden ids.
 */
import { brotliDecompressSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLIP_MAX_MERGES, PromptTokenizer, clipTokenizerJson, readTokenizerFiles } from './tokenizer';
import { EngineError } from './errors';
import { CatalogOverlaySource, type OverlayEntry } from './sources/catalogSource';

type Json = Record<string, unknown>;
const FIX = join(__dirname, '..', '..', 'tests', 'fixtures');
const vocabBytes = brotliDecompressSync(readFileSync(join(FIX, 'clip-vocab', 'vocab.json.br')));
const mergesBytes = brotliDecompressSync(readFileSync(join(FIX, 'clip-vocab', 'merges.txt.br')));
const published = JSON.parse(readFileSync(join(FIX, 'clip-vocab', 'published.json'), 'utf8')) as {
  files: Record<string, { bytes: number; sha256: string }>;
  tokenizerJson: Record<string, { json: Json }>;
  configs: Record<string, { json: Json }>;
};
const VOCAB = JSON.parse(vocabBytes.toString('utf8')) as Json;
const MERGES_TEXT = mergesBytes.toString('utf8');

interface GoldenCase {
  id: string;
  text: string;
  ids: number[];
  padding: { padTokenId: number | null; maxLength: number } | null;
  standinCheckable?: boolean;
}
const golden = JSON.parse(readFileSync(join(FIX, 'clip-tokenizer-golden.json'), 'utf8')) as { cases: GoldenCase[]; padded: GoldenCase[] };

/** A published tokenizer.json, rebuilt: its stored skeleton plus model.vocab / model.merges (= vocab.json / merges.txt). */
function publishedTokenizerJson(name: string): Json {
  const skel = published.tokenizerJson[name].json;
  const merges = MERGES_TEXT.split('\n').slice(1).filter((l) => l !== '');
  return { ...skel, model: { ...(skel.model as Json), vocab: VOCAB, merges } };
}

const SD1_CONFIG = published.configs.sd15.json; // pad_token "<|endoftext|>"
const SD2_CONFIG = published.configs['sdxl-tokenizer_2'].json; // pad_token "!" (SD 2.x, SD-Turbo, SDXL tokenizer_2)
const EOS = 49407;

const sd1Vocab = PromptTokenizer.fromJson(clipTokenizerJson(VOCAB, MERGES_TEXT, SD1_CONFIG), SD1_CONFIG);
const sd2Vocab = PromptTokenizer.fromJson(clipTokenizerJson(VOCAB, MERGES_TEXT, SD2_CONFIG), SD2_CONFIG);
const sd1Json = PromptTokenizer.fromJson(publishedTokenizerJson('sd-turbo-tokenizer'), SD1_CONFIG);
const sd2Json = PromptTokenizer.fromJson(publishedTokenizerJson('sdxl-turbo-tokenizer_2'), SD2_CONFIG);

/** A golden's unpadded ids as a 77-long prompt: truncated (EOS kept last, diffusers' truncation=True) or padded. */
function expected77(ids: number[], pad: number): number[] {
  if (ids.length > 77) return [...ids.slice(0, 76), EOS];
  return [...ids, ...new Array<number>(77 - ids.length).fill(pad)];
}

describe('the fixture is the published CLIP vocabulary', () => {
  it('vocab.json and merges.txt decompress to the published bytes (sha256)', () => {
    for (const [name, buf] of [['vocab.json', vocabBytes], ['merges.txt', mergesBytes]] as const) {
      expect(buf.byteLength).toBe(published.files[name].bytes);
      expect(createHash('sha256').update(buf).digest('hex')).toBe(published.files[name].sha256);
    }
    expect(Object.keys(VOCAB)).toHaveLength(49408);
    expect([VOCAB['!'], VOCAB['<|startoftext|>'], VOCAB['<|endoftext|>']]).toEqual([0, 49406, 49407]);
    expect(MERGES_TEXT.trim().split('\n')).toHaveLength(CLIP_MAX_MERGES + 1);
  });
});

describe('clipTokenizerJson (transformers CLIPConverter)', () => {
  it('builds the published tokenizer.json: normalizer, pre-tokenizer, BPE model, post-processor, decoder', () => {
    const built = clipTokenizerJson(VOCAB, MERGES_TEXT, SD1_CONFIG);
    const pub = publishedTokenizerJson('sd-turbo-tokenizer');
    const { added_tokens: builtAdded, ...builtRest } = built;
    const { added_tokens: pubAdded, ...pubRest } = pub;
    expect(builtRest).toEqual(pubRest);
    const idc = (a: unknown): Array<[number, string, boolean]> => (a as Json[]).map((t) => [t.id as number, t.content as string, t.special as boolean]);
    expect(idc(builtAdded)).toEqual(idc(pubAdded)); // [49406 <|startoftext|>, 49407 <|endoftext|>]
  });

  it('with SD 2.x\'s config registers "!" (id 0) as a special token, as the published SDXL tokenizer_2/tokenizer.json has it', () => {
    const built = clipTokenizerJson(VOCAB, MERGES_TEXT, SD2_CONFIG);
    const pub = publishedTokenizerJson('sdxl-turbo-tokenizer_2');
    const key = (a: unknown): string[] => (a as Json[]).map((t) => `${String(t.id)}:${String(t.content)}:${String(t.special)}:${String(t.normalized)}`).sort();
    expect(key(built.added_tokens)).toEqual(key(pub.added_tokens));
  });
});

describe('golden ids (published), vocab.json + merges.txt and tokenizer.json routes', () => {
  const unpadded = golden.cases.filter((c) => c.id !== 'tfjs-owlvit-bang-added-special');
  it('has the issue\'s coverage: at least 20 prompts, both pad conventions, one over 77 tokens', () => {
    expect(unpadded.length + golden.padded.length).toBeGreaterThanOrEqual(20);
    expect(golden.padded.some((c) => c.padding?.padTokenId === 0)).toBe(true);
    expect(golden.padded.some((c) => c.padding?.padTokenId === EOS)).toBe(true);
    expect(unpadded.some((c) => c.ids.length > 77)).toBe(true);
  });

  it.each(unpadded.map((c) => [c.id, c] as const))('%s: SD 1.x padding (<|endoftext|>)', (_id, c) => {
    const want = expected77(c.ids, EOS);
    expect(sd1Vocab.encode(c.text)).toEqual(want);
    expect(sd1Json.encode(c.text)).toEqual(want);
  });

  it.each(unpadded.filter((c) => !c.text.includes('!')).map((c) => [c.id, c] as const))('%s: SD 2.x padding ("!" = 0)', (_id, c) => {
    const want = expected77(c.ids, 0);
    expect(sd2Vocab.encode(c.text)).toEqual(want);
    expect(sd2Json.encode(c.text)).toEqual(want);
  });

  it.each(golden.padded.map((c) => [c.id, c] as const))('%s (77 ids as published or derived)', (_id, c) => {
    expect(c.ids).toHaveLength(77);
    const pad = c.padding?.padTokenId;
    if (pad === EOS || pad === null || pad === undefined) {
      expect(sd1Vocab.encode(c.text)).toEqual(c.ids);
      expect(sd1Json.encode(c.text)).toEqual(c.ids);
    }
    if (pad === 0 || pad === null || pad === undefined) {
      // SD 2.x registers its pad token "!" as special (transformers adds every config special token; the published
      // tfjs-owlvit-bang-added-special case shows the effect), so a "!" piece is id 0 there, not "!</w>" (256). The
      // OpenAI-CLIP convention of pad-zero-published-hello-world ("!" = 256) differs exactly there.
      const want = c.ids.map((id, i) => (id === 256 && i < c.ids.indexOf(EOS) ? 0 : id));
      expect(sd2Vocab.encode(c.text)).toEqual(want);
      expect(sd2Json.encode(c.text)).toEqual(want);
    }
  });

  it('tfjs-owlvit-bang-added-special: with pad "!" registered, "!!" is two special 0s (both routes)', () => {
    const c = golden.cases.find((x) => x.id === 'tfjs-owlvit-bang-added-special')!;
    expect(sd2Vocab.encode(c.text)).toEqual(expected77(c.ids, 0));
    expect(sd2Json.encode(c.text)).toEqual(expected77(c.ids, 0));
  });

  it('the published Xenova-style tokenizer.json with SD 2.x\'s config also registers "!" (one code path)', () => {
    const c = golden.cases.find((x) => x.id === 'tfjs-owlvit-bang-added-special')!;
    const tok = PromptTokenizer.fromJson(publishedTokenizerJson('sd-turbo-tokenizer'), SD2_CONFIG);
    expect(tok.encode(c.text)).toEqual(expected77(c.ids, 0));
    expect(tok.padId).toBe(0);
    expect(sd1Vocab.padId).toBe(EOS);
  });
});

/** A folder as a map of path -> text, read like a ModelSource (optional reads give null). */
function reader(files: Record<string, string>): (path: string, optional: boolean) => Promise<ArrayBuffer | null> {
  return async (path, optional) => {
    const t = files[path];
    if (t === undefined) {
      if (optional) return null;
      throw new EngineError('MODEL_FILE_MISSING', `Missing ${path}`, path);
    }
    return new TextEncoder().encode(t).buffer as ArrayBuffer;
  };
}

async function rejection(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    return e as EngineError;
  }
  throw new Error('expected a rejection');
}

describe('readTokenizerFiles', () => {
  const cfg = JSON.stringify(SD1_CONFIG);
  it('reads vocab.json + merges.txt when there is no tokenizer.json, special_tokens_map.json over tokenizer_config.json', async () => {
    const files = {
      'tokenizer/vocab.json': vocabBytes.toString('utf8'),
      'tokenizer/merges.txt': MERGES_TEXT.replace(/\n/g, '\r\n'), // CRLF reads the same
      'tokenizer/tokenizer_config.json': cfg,
      'tokenizer/special_tokens_map.json': JSON.stringify({ pad_token: '!' }),
    };
    const t = (await readTokenizerFiles(reader(files)))!;
    expect(t.file).toBe('tokenizer/vocab.json + merges.txt');
    expect(t.tokenizerConfig.pad_token).toBe('!');
    const tok = PromptTokenizer.fromJson(t.tokenizerJson, t.tokenizerConfig);
    expect(tok.encode('An astronaut riding a horse')).toEqual(golden.padded.find((c) => c.id === 'pad-sd2-bang-astronaut')!.ids);
  });

  it('prefers tokenizer.json when both forms are there', async () => {
    const files = {
      'tokenizer_2/tokenizer.json': JSON.stringify(publishedTokenizerJson('sdxl-turbo-tokenizer_2')),
      'tokenizer_2/tokenizer_config.json': JSON.stringify(SD2_CONFIG),
      'tokenizer_2/vocab.json': '{}',
      'tokenizer_2/merges.txt': '',
    };
    const t = (await readTokenizerFiles(reader(files), 'tokenizer_2'))!;
    expect(t.file).toBe('tokenizer_2/tokenizer.json');
    expect(t.paths).toEqual(['tokenizer_2/tokenizer.json', 'tokenizer_2/tokenizer_config.json']);
  });

  it('a folder without either form: MODEL_FILE_MISSING naming tokenizer.json, or null when optional', async () => {
    const e = await rejection(readTokenizerFiles(reader({ 'tokenizer/tokenizer_config.json': cfg })));
    expect(e).toMatchObject({ code: 'MODEL_FILE_MISSING', file: 'tokenizer/tokenizer.json' });
    expect(e.message).toMatch(/neither tokenizer\.json nor vocab\.json \+ merges\.txt/);
    expect(await readTokenizerFiles(reader({}), 'tokenizer_2', true)).toBeNull();
  });

  it('half of vocab.json + merges.txt names the missing file', async () => {
    const e = await rejection(readTokenizerFiles(reader({ 'tokenizer/vocab.json': '{"a": 0}', 'tokenizer/tokenizer_config.json': cfg })));
    expect(e).toMatchObject({ code: 'MODEL_FILE_MISSING', file: 'tokenizer/merges.txt' });
  });

  it('a missing tokenizer_config.json is the reader\'s missing-file error', async () => {
    const e = await rejection(readTokenizerFiles(reader({ 'tokenizer/vocab.json': vocabBytes.toString('utf8'), 'tokenizer/merges.txt': MERGES_TEXT })));
    expect(e).toMatchObject({ code: 'MODEL_FILE_MISSING', file: 'tokenizer/tokenizer_config.json' });
  });

  it('vocab.json that is not JSON: MODEL_FILE_CORRUPT naming it', async () => {
    const e = await rejection(readTokenizerFiles(reader({ 'tokenizer/vocab.json': '<html>', 'tokenizer/merges.txt': MERGES_TEXT, 'tokenizer/tokenizer_config.json': cfg })));
    expect(e).toMatchObject({ code: 'MODEL_FILE_CORRUPT', file: 'tokenizer/vocab.json' });
  });
});

describe('clipTokenizerJson errors name the file and the line', () => {
  const small: Json = { a: 0, b: 1, 'b</w>': 2, 'ab</w>': 3, '<|startoftext|>': 4, '<|endoftext|>': 5 };
  const expectCorrupt = (f: () => unknown, file: string, msg: RegExp): void => {
    let err: unknown = null;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'MODEL_FILE_CORRUPT', file });
    expect((err as Error).message).toMatch(msg);
  };
  it('a small valid pair works and merges; a config without special tokens takes CLIPTokenizer\'s', async () => {
    const files = { 'tokenizer/vocab.json': JSON.stringify(small), 'tokenizer/merges.txt': '#version: 0.2\na b</w>\n', 'tokenizer/tokenizer_config.json': '{}' };
    const t = (await readTokenizerFiles(reader(files)))!;
    const tok = PromptTokenizer.fromJson(t.tokenizerJson, t.tokenizerConfig);
    expect(tok.encode('ab').slice(0, 4)).toEqual([4, 3, 5, 5]); // BOS, "ab</w>", EOS, pad <|endoftext|>
  });
  it('a merge whose tokens or result the vocabulary lacks', () => {
    expectCorrupt(() => clipTokenizerJson(small, '#version: 0.2\na c</w>\n', {}), 'tokenizer/merges.txt', /line 2 .*lacks/);
    expectCorrupt(() => clipTokenizerJson(small, '#version: 0.2\na b</w>\nb a\n', {}, 'tokenizer_2'), 'tokenizer_2/merges.txt', /line 3 .*merges into "ba"/);
    expectCorrupt(() => clipTokenizerJson(small, '#version: 0.2\na\n', {}), 'tokenizer/merges.txt', /not two tokens/);
  });
  it('a vocabulary without the BOS/EOS tokens, or with non-integer ids', () => {
    expectCorrupt(() => clipTokenizerJson({ a: 0 }, '#version: 0.2\n', {}), 'tokenizer/vocab.json', /<\|startoftext\|>/);
    expectCorrupt(() => clipTokenizerJson({ a: 'x' }, '#version: 0.2\n', {}), 'tokenizer/vocab.json', /integer ids/);
  });
});

describe('the catalog overlay\'s padTokenId with vocab.json + merges.txt (no tokenizer.json)', () => {
  const entry = (pad: number): OverlayEntry => ({
    id: 'x',
    name: 'X',
    sampler: { schedulerClass: 'EulerDiscreteScheduler', steps: 1, stepRange: [1, 4], guidanceScale: 0, guidanceRange: [0, 0] },
    tokenizer: { source: 'model', path: 'tokenizer', padTokenId: pad, maxLength: 77 },
  } as unknown as OverlayEntry);
  const files = { 'tokenizer/vocab.json': '{"!": 0, "a": 1, "<|endoftext|>": 49407}', 'tokenizer/tokenizer_config.json': '{"pad_token": "<|endoftext|>"}' };
  const src = (pad: number): CatalogOverlaySource =>
    new CatalogOverlaySource({ label: 'mem', read: (p, o) => reader(files)(p, o?.optional === true) }, entry(pad));
  it('takes the pad token from vocab.json', async () => {
    const cfg = JSON.parse(new TextDecoder().decode((await src(0).read('tokenizer/tokenizer_config.json'))!)) as Json;
    expect(cfg.pad_token).toBe('!');
  });
  it('an id vocab.json lacks names vocab.json', async () => {
    expect(await rejection(src(5).read('tokenizer/tokenizer_config.json'))).toMatchObject({ code: 'MODEL_LAYOUT_INVALID', file: 'tokenizer/vocab.json' });
  });
});

// The generated stand-ins (training/make_standins.py; fixtures/ is not committed): every tokenizer/ that has only
// vocab.json + merges.txt loads through readTokenizerFiles and gives the published ids of the checkable goldens.
const STANDINS = join(__dirname, '..', '..', 'fixtures', 'generated', 'standins');
const standinDirs = existsSync(STANDINS)
  ? readdirSync(STANDINS).filter((d) => existsSync(join(STANDINS, d, 'tokenizer', 'vocab.json')) && !existsSync(join(STANDINS, d, 'tokenizer', 'tokenizer.json')))
  : [];
describe.skipIf(standinDirs.length === 0)('stand-ins with vocab.json + merges.txt only', () => {
  it.each(standinDirs)('%s', async (dir) => {
    const read = async (p: string, optional: boolean): Promise<ArrayBuffer | null> => {
      const f = join(STANDINS, dir, p);
      if (!existsSync(f)) {
        if (optional) return null;
        throw new Error(`missing ${p}`);
      }
      const b = readFileSync(f);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    };
    const t = (await readTokenizerFiles(read))!;
    const tok = PromptTokenizer.fromJson(t.tokenizerJson, t.tokenizerConfig);
    const bang = tok.padId === 0;
    for (const c of golden.cases.filter((x) => x.standinCheckable && x.ids.length <= 77 && !(bang && x.text.includes('!')))) {
      expect(tok.encode(c.text).slice(0, c.ids.length), c.id).toEqual(c.ids);
    }
  });
});
