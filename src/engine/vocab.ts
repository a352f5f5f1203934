/**
 * The words a prompt tokenizer knows as whole words, for the prompt box's autocomplete and its out-of-vocabulary
 * hints. Pure JSON work (no tokenizer library), so the app can use it on the main thread.
 *
 * Only a WordPiece vocabulary (the embedded fewstep models, built by training/fewstep/grammar.py) is a closed
 * word list: every word outside it is read as a string of single letters the model never learnt. A BPE/CLIP
 * tokenizer (real models) splits any word into known pieces, so it gets no word list and no flagging (null).
 */
type Json = Record<string, unknown>;

/** Whole-word entries of a WordPiece tokenizer.json (no '##' pieces, single characters, punctuation or special tokens), sorted; null for other tokenizers. */
export function vocabularyWords(tokenizerJson: unknown): string[] | null {
  if (!tokenizerJson || typeof tokenizerJson !== 'object') return null;
  const model = (tokenizerJson as Json).model as Json | undefined;
  if (!model || model.type !== 'WordPiece' || !model.vocab || typeof model.vocab !== 'object') return null;
  const special = new Set<string>();
  const added = (tokenizerJson as Json).added_tokens;
  if (Array.isArray(added)) for (const t of added) if (t && typeof (t as Json).content === 'string') special.add((t as Json).content as string);
  const words = Object.keys(model.vocab as Json).filter((w) => !special.has(w) && !w.startsWith('##') && /^\p{L}[\p{L}'-]*\p{L}$/u.test(w));
  return [...new Set(words)].sort();
}

/** Words of a prompt as the autocomplete and the hints see them: lower-cased runs of letters (and inner ' or -). */
export function promptWords(prompt: string): Array<{ word: string; start: number; end: number }> {
  const out: Array<{ word: string; start: number; end: number }> = [];
  for (const m of prompt.matchAll(/\p{L}[\p{L}'-]*/gu)) out.push({ word: m[0].toLowerCase(), start: m.index, end: m.index + m[0].length });
  return out;
}

/**
 * Words of `prompt` a model with this vocabulary does not know, in order of first use. Single letters ("a") are
 * never flagged (the vocabulary keeps them as characters), and a plural of a known word ("squares": WordPiece reads
 * "square" + "##s") counts as known.
 */
export function unknownWords(prompt: string, vocab: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const { word } of promptWords(prompt)) {
    if (word.length < 2 || vocab.has(word) || out.includes(word)) continue;
    const stem = word.endsWith('es') && vocab.has(word.slice(0, -2)) ? true : word.endsWith('s') && vocab.has(word.slice(0, -1));
    if (!stem) out.push(word);
  }
  return out;
}
