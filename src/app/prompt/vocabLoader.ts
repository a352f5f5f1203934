/**
 * Keeps `useUiStore.vocab` in step with the loaded model: reads the model's tokenizer/tokenizer.json (a URL model;
 * the browser cache already has it from the load) and keeps its whole words. Real models (BPE/CLIP), downloaded
 * or picked folders get no word list, so nothing is flagged for them.
 */
import { vocabularyWords } from '../../engine';
import { useAppStore } from '../store';
import { useUiStore } from '../ui/uiStore';

const cache = new Map<string, Promise<string[] | null>>();

async function wordsOf(tokenizerUrl: string): Promise<string[] | null> {
  try {
    const r = await fetch(tokenizerUrl);
    if (!r.ok) return null;
    return vocabularyWords(await r.json());
  } catch {
    return null;
  }
}

/** Start following the loaded model; returns the unsubscribe function. */
export function followModelVocab(): () => void {
  let current = '';
  const update = (): void => {
    const { loaded, models } = useAppStore.getState();
    const id = loaded?.id ?? '';
    if (id === current) return;
    current = id;
    const choice = models.find((m) => m.id === id);
    const baseUrl = choice && !choice.ref ? choice.baseUrl : null;
    if (!baseUrl) {
      useUiStore.setState({ vocab: null });
      return;
    }
    const url = `${baseUrl}tokenizer/tokenizer.json`;
    if (!cache.has(url)) cache.set(url, wordsOf(url));
    void cache.get(url)!.then((words) => {
      if (current !== id) return;
      useUiStore.setState({ vocab: words ? { modelId: id, words } : null });
    });
  };
  update();
  return useAppStore.subscribe((s, prev) => {
    if (s.loaded !== prev.loaded) update();
  });
}
