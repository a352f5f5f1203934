import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { GENERATE_LIMITS, unknownWords } from '../../engine';
import { liveTypingOn, requestLive } from '../live';
import { updateSettings, useAppStore } from '../store';
import { setView, useUiStore } from '../ui/uiStore';
import { markInput } from '../ux/marks';
import { applyCompletion, CAPABILITY_LINE, completions, PROMPT_EXAMPLES, settledText, TYPING_PAUSE_MS, wordAt } from './suggestions';

/** Set the prompt (clamped to the engine's limit) and, with a 1-2 step model, regenerate as you type. */
function setPrompt(text: string): boolean {
  const max = GENERATE_LIMITS.maxPromptLength;
  const cut = text.length > max;
  markInput('typing');
  updateSettings({ prompt: cut ? text.slice(0, max) : text });
  if (liveTypingOn()) requestLive();
  return cut;
}

/**
 * The prompt box of the first screen: what the embedded models draw, clickable examples, autocomplete of the
 * words the loaded model knows (from its tokenizer), and a note for each word it does not know. Memoised: it reads
 * its own state, so a slider move that re-renders the control panel does not re-render it.
 */
export const PromptBox = memo(function PromptBox() {
  const prompt = useAppStore((s) => s.settings.prompt);
  const vocab = useUiStore((s) => s.vocab);
  const [caret, setCaret] = useState<number | null>(null);
  const [active, setActive] = useState(0);
  const [cutNote, setCutNote] = useState(false);
  // True from a keystroke until TYPING_PAUSE_MS without one: the word at the caret is then checked too.
  const [typing, setTyping] = useState(false);
  const pauseTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const noteTyping = (): void => {
    setTyping(true);
    if (pauseTimer.current) clearTimeout(pauseTimer.current);
    pauseTimer.current = setTimeout(() => setTyping(false), TYPING_PAUSE_MS);
  };
  useEffect(() => () => {
    if (pauseTimer.current) clearTimeout(pauseTimer.current);
  }, []);
  const box = useRef<HTMLTextAreaElement>(null);
  // Caret to restore after an accepted completion, applied in the same commit as the new text. A later frame
  // (requestAnimationFrame) raced keys typed meanwhile on a busy machine: "ca" typed after Tab landed as "ac".
  const pendingCaret = useRef<number | null>(null);
  useLayoutEffect(() => {
    if (pendingCaret.current === null || !box.current) return;
    box.current.setSelectionRange(pendingCaret.current, pendingCaret.current);
    pendingCaret.current = null;
  });
  const vocabSet = useMemo(() => (vocab ? new Set(vocab.words) : null), [vocab]);
  const at = caret === null ? null : wordAt(prompt, caret);
  // The word still being typed (caret at its end) is not flagged until typing pauses: "whi" is on its way to "white".
  const settled = settledText(prompt, caret, typing);
  const unknown = useMemo(() => (vocabSet ? unknownWords(settled, vocabSet) : []), [settled, vocabSet]);
  const options = vocab && at ? completions(at.prefix, vocab.words) : [];

  const accept = (word: string): void => {
    if (!at || caret === null) return;
    const next = applyCompletion(prompt, at.start, caret, word);
    setCutNote(setPrompt(next.text));
    setCaret(next.caret);
    setActive(0);
    pendingCaret.current = next.caret;
    box.current?.focus();
  };

  return (
    <div className="prompt-box">
      <label htmlFor="prompt-input">Prompt</label>
      <div className="prompt-input-wrap">
        <textarea
          id="prompt-input"
          ref={box}
          data-testid="prompt"
          rows={3}
          value={prompt}
          spellCheck={false}
          autoComplete="off"
          aria-autocomplete="list"
          aria-controls={options.length ? 'prompt-completions' : undefined}
          aria-describedby="prompt-help"
          onChange={(e) => {
            setCutNote(setPrompt(e.target.value));
            noteTyping();
            setCaret(e.target.selectionStart);
            setActive(0);
          }}
          onSelect={(e) => setCaret(e.currentTarget.selectionStart === e.currentTarget.selectionEnd ? e.currentTarget.selectionStart : null)}
          onBlur={() => setTimeout(() => setCaret(null), 150)}
          onKeyDown={(e) => {
            if (!options.length || e.ctrlKey || e.metaKey || e.altKey) return;
            if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
              e.preventDefault();
              setActive((i) => (i + (e.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length);
            } else if (e.key === 'Tab' || e.key === 'Enter') {
              e.preventDefault();
              accept(options[Math.min(active, options.length - 1)]);
            } else if (e.key === 'Escape') {
              setCaret(null);
            }
          }}
        />
        {options.length > 0 && (
          <ul className="completions" id="prompt-completions" role="listbox" aria-label="Words the model knows" data-testid="completions">
            {options.map((w, i) => (
              <li
                key={w}
                role="option"
                aria-selected={i === active}
                className={i === active ? 'on' : ''}
                onMouseDown={(e) => {
                  e.preventDefault();
                  accept(w);
                }}
              >
                {w}
              </li>
            ))}
          </ul>
        )}
      </div>
      {cutNote && (
        <p className="hint warn" role="status" data-testid="prompt-cut">
          The prompt was cut to {GENERATE_LIMITS.maxPromptLength} characters (the models read about 75 words at most).
        </p>
      )}
      {unknown.length > 0 && (
        <p className="hint warn" role="status" data-testid="oov">
          {unknown.slice(0, 5).map((w) => `'${w}'`).join(', ')}
          {unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''} {unknown.length === 1 ? 'is' : 'are'} not known to the embedded
          models; real models in the{' '}
          <button type="button" className="link" onClick={() => setView('library')}>
            library
          </button>{' '}
          understand {unknown.length === 1 ? 'it' : 'them'}.
        </p>
      )}
      {prompt.trim() === '' && (
        <p className="hint" data-testid="empty-prompt">
          Empty prompt: the model draws whatever it likes (an unconditional sample). Pick an example below.
        </p>
      )}
      <p className="hint" id="prompt-help" data-testid="capabilities">
        {CAPABILITY_LINE} For anything else, get a real model (SD-Turbo, LCM-Dreamshaper) from the{' '}
        <button type="button" className="link" onClick={() => setView('library')}>
          Library
        </button>
        .
      </p>
      <div className="examples" role="group" aria-label="Example prompts" data-testid="examples">
        {PROMPT_EXAMPLES.map((ex) => (
          <button
            type="button"
            key={ex}
            className={`chip-button${ex === prompt ? ' on' : ''}`}
            onClick={() => {
              setCutNote(false);
              markInput('other');
              updateSettings({ prompt: ex });
              if (useAppStore.getState().loaded) requestLive();
            }}
          >
            {ex}
          </button>
        ))}
      </div>
    </div>
  );
});
