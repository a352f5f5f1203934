import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { promptWords, unknownWords, vocabularyWords } from './vocab';

const shipped = JSON.parse(readFileSync(new URL('../../models/fewstep-turbo/tokenizer/tokenizer.json', import.meta.url), 'utf8'));

describe('vocabularyWords', () => {
  it('keeps whole words of a WordPiece vocab: no ## pieces, single characters, punctuation or special tokens', () => {
    const words = vocabularyWords(shipped)!;
    expect(words).toEqual(expect.arrayContaining(['circle', 'square', 'triangle', 'navy', 'background', 'yellow']));
    expect(words.some((w) => w.startsWith('##') || w.length < 2 || w.startsWith('<'))).toBe(false);
    expect(words).toEqual([...words].sort());
  });

  it('gives no word list for BPE (CLIP) or malformed tokenizers', () => {
    expect(vocabularyWords({ model: { type: 'BPE', vocab: { 'cat</w>': 1 } } })).toBeNull();
    expect(vocabularyWords(null)).toBeNull();
    expect(vocabularyWords({ model: { type: 'WordPiece' } })).toBeNull();
    expect(vocabularyWords({ added_tokens: [{ content: '[CLS]' }], model: { type: 'WordPiece', vocab: { '[CLS]': 0, red: 1, '##s': 2, x: 3, '.': 4 } } })).toEqual(['red']);
  });
});

describe('unknownWords', () => {
  const vocab = new Set(vocabularyWords(shipped)!);
  it('flags words the model does not know, once each, in order', () => {
    expect(unknownWords('a cat and a Cat on a dog', vocab)).toEqual(['cat', 'dog']);
  });
  it('accepts single letters, plurals of known words, punctuation and unicode noise', () => {
    expect(unknownWords('a red circle', vocab)).toEqual([]);
    expect(unknownWords('two squares, on a white background!', vocab)).toEqual([]);
    expect(unknownWords('🦄 \u202e 日本語', vocab)).toEqual(['日本語']);
    expect(unknownWords('', vocab)).toEqual([]);
  });
  it('splits prompts into lower-cased words with offsets', () => {
    expect(promptWords('A red-ish  Circle')).toEqual([
      { word: 'a', start: 0, end: 1 },
      { word: 'red-ish', start: 2, end: 9 },
      { word: 'circle', start: 11, end: 17 },
    ]);
  });
});
