/**
 * What the embedded models understand, for the first screen: the default prompt, clickable examples, and the
 * autocomplete. The grammar is training/fewstep/grammar.py: one or two shapes (circle, square, triangle) in six
 * colours, small or large, in five positions, on black, white, gray or navy; partial captions and synonyms
 * ("grey", "in the middle", "dark blue", "a pair of ...") since issue 15's retraining. Held-out colour/shape pairs
 * (red triangle, green circle, blue square) measure generalisation and are avoided here.
 */

/** One full caption of the training grammar with a seen colour/shape pair and a training background. */
export const DEFAULT_PROMPT = 'a large yellow circle in the center on a navy background';

/** Clickable examples: full captions first, then partial ones as people write them. */
export const PROMPT_EXAMPLES: readonly string[] = [
  DEFAULT_PROMPT,
  'a small purple square on the left on a white background',
  'an orange triangle and a blue circle on a black background',
  'a red circle',
  'two squares on a white background',
  'a pair of green triangles',
  'a big orange square in the middle on a grey background',
];

/** What the embedded models can draw, in one line. */
export const CAPABILITY_LINE =
  'The embedded models draw simple scenes: circles, squares and triangles in red, green, blue, yellow, purple or orange, small or large, in the center, left, right, top or bottom, on a black, white, gray or navy background; one or two objects.';

/** The word being typed at `caret` (letters before it), with where it starts; null when the caret is not in a word. */
export function wordAt(text: string, caret: number): { prefix: string; start: number } | null {
  let start = caret;
  while (start > 0 && /\p{L}/u.test(text[start - 1])) start--;
  if (start === caret || (caret < text.length && /\p{L}/u.test(text[caret]))) return null;
  return { prefix: text.slice(start, caret), start };
}

/** How long (ms) without a keystroke before the word at the caret counts as finished and is checked. */
export const TYPING_PAUSE_MS = 600;

/**
 * The part of `text` whose words are checked against the vocabulary. While the user is typing (a keystroke less
 * than {@link TYPING_PAUSE_MS} ago) the word ending at `caret` is left out, since "whi" is on its way to "white";
 * once typing pauses (or the caret is not at the end of a word) the whole text is checked, so "a cat" left as is
 * flags "cat".
 */
export function settledText(text: string, caret: number | null, typing: boolean): string {
  if (!typing || caret === null) return text;
  const at = wordAt(text, caret);
  return at ? text.slice(0, at.start) + text.slice(caret) : text;
}

/** Known words that complete `prefix` (case-insensitive), shortest first; the prefix itself is left out. */
export function completions(prefix: string, words: readonly string[], max = 6): string[] {
  const p = prefix.toLowerCase();
  if (!p) return [];
  return words
    .filter((w) => w.startsWith(p) && w !== p)
    .sort((a, b) => a.length - b.length || a.localeCompare(b))
    .slice(0, max);
}

/** `text` with the word at [start, caret) replaced by `word` and a space; returns the new text and caret. */
export function applyCompletion(text: string, start: number, caret: number, word: string): { text: string; caret: number } {
  const after = text.slice(caret);
  const sep = after.startsWith(' ') ? '' : ' ';
  const next = `${text.slice(0, start)}${word}${sep}${after}`;
  return { text: next, caret: start + word.length + 1 };
}
