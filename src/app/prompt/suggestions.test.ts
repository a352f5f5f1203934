import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { unknownWords, vocabularyWords } from '../../engine';
import { applyCompletion, completions, DEFAULT_PROMPT, PROMPT_EXAMPLES, settledText, TYPING_PAUSE_MS, wordAt } from './suggestions';

const vocab = vocabularyWords(JSON.parse(readFileSync(new URL('../../../models/fewstep-turbo/tokenizer/tokenizer.json', import.meta.url), 'utf8')))!;
const HELD_OUT = [/red triangle/, /green circle/, /blue square/];

describe('prompt suggestions', () => {
  it('the default prompt is a full caption of the training grammar with a seen pair, all words known', () => {
    expect(DEFAULT_PROMPT).toMatch(/^an? (small|large) (red|green|blue|yellow|purple|orange) (circle|square|triangle) (in the center|on the left|on the right|at the top|at the bottom) on an? (black|white|gray|navy) background$/);
    for (const re of HELD_OUT) expect(DEFAULT_PROMPT).not.toMatch(re);
    expect(unknownWords(DEFAULT_PROMPT, new Set(vocab))).toEqual([]);
  });

  it('examples avoid held-out pairs and include partial prompts', () => {
    for (const ex of PROMPT_EXAMPLES) for (const re of HELD_OUT) expect(ex).not.toMatch(re);
    expect(PROMPT_EXAMPLES).toEqual(expect.arrayContaining(['a red circle', 'two squares on a white background']));
  });

  it('completes the word at the caret from the known words', () => {
    expect(wordAt('a yel', 5)).toEqual({ prefix: 'yel', start: 2 });
    expect(wordAt('a yel ', 6)).toBeNull();
    expect(wordAt('a yellow', 4)).toBeNull();
    expect(completions('yel', vocab)).toEqual(['yellow']);
    expect(completions('', vocab)).toEqual([]);
    expect(completions('yellow', vocab)).toEqual([]);
    expect(completions('circle', vocab)).toEqual(['circles']);
    expect(applyCompletion('a yel on', 2, 5, 'yellow')).toEqual({ text: 'a yellow on', caret: 9 });
    expect(applyCompletion('a yel', 2, 5, 'yellow')).toEqual({ text: 'a yellow ', caret: 9 });
  });
});

describe('settledText (which words are checked for the unknown-word note)', () => {
  it('leaves out the word at the caret only while typing', () => {
    expect(settledText('a cat', 5, true)).toBe('a ');
    expect(settledText('a cat', 5, false)).toBe('a cat');
    expect(unknownWords(settledText('a cat', 5, false), new Set(vocab))).toEqual(['cat']);
    expect(unknownWords(settledText('a whi', 5, true), new Set(vocab))).toEqual([]);
  });

  it('checks the whole text when the caret is not at the end of a word or unknown', () => {
    expect(settledText('a cat on', 8, true)).toBe('a cat ');
    expect(settledText('a cat ', 6, true)).toBe('a cat ');
    expect(settledText('a cat', null, true)).toBe('a cat');
    expect(settledText('a cat', 3, true)).toBe('a cat');
  });

  it('waits a short pause', () => {
    expect(TYPING_PAUSE_MS).toBeGreaterThanOrEqual(300);
    expect(TYPING_PAUSE_MS).toBeLessThanOrEqual(1000);
  });
});
