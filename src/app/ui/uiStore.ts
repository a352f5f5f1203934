/**
 * UI-only state of the redesigned layout (issue 15): the active view (mirrored in ?view=), the run the main image
 * shows when one is picked from the history, the A/B pair, and the loaded model's known words. Kept apart from the
 * app store so a view switch or a history pick never re-renders the engine-facing components.
 */
import { create } from 'zustand';

export const VIEWS = ['generate', 'compare', 'charts', 'library', 'bench'] as const;
export type View = (typeof VIEWS)[number];

export const VIEW_LABELS: Record<View, string> = {
  generate: 'Generate',
  compare: 'Compare grid',
  charts: 'Charts',
  library: 'Library',
  bench: 'Benchmark',
};

export interface UiState {
  view: View;
  /** A run picked in the history strip; null = show the newest interactive run. */
  shownRunId: string | null;
  /** Request ids of the two runs the A/B view compares (A = left/under, B = right/over). */
  ab: { a: string | null; b: string | null; mode: 'wipe' | 'side' };
  /** Whole words the loaded model's tokenizer knows (null: not a closed vocabulary, e.g. CLIP BPE: no flagging). */
  vocab: { modelId: string; words: string[] } | null;
  /** A one-line message about the page's input (e.g. link settings that were ignored); dismissable. */
  notice: string | null;
}

export const initialUiState: UiState = {
  view: 'generate',
  shownRunId: null,
  ab: { a: null, b: null, mode: 'wipe' },
  vocab: null,
  notice: null,
};

export const useUiStore = create<UiState>()(() => initialUiState);

/** `?view=` value -> view; anything else is the generator. */
export function parseView(search: string): View {
  const v = new URLSearchParams(search).get('view');
  return (VIEWS as readonly string[]).includes(v ?? '') ? (v as View) : 'generate';
}

/** Switch views and write ?view= into the URL (replaceState, keeping every other query key). */
export function setView(view: View): void {
  useUiStore.setState({ view });
  if (typeof location === 'undefined') return;
  const q = new URLSearchParams(location.search);
  if (view === 'generate') q.delete('view');
  else q.set('view', view);
  const s = q.toString();
  history.replaceState(history.state, '', `${location.pathname}${s ? `?${s}` : ''}${location.hash}`);
}
