/**
 * Settings <-> URL. On start the query string (?p=..&seed=7&steps=4&model=..&sampler=..&cfg=..&ep=wasm&cm=..&cs=..)
 * is decoded with urlState.decodeSettings; afterwards every settings change is written back with
 * history.replaceState (no history entry per slider move), so the address bar always shares the current view.
 * Query keys urlState does not own (e.g. `fixtures`) are kept.
 */
import { useCompareStore } from './compare/compareStore';
import { updateSettings, useAppStore, type Settings } from './store';
import { decodeSettings, encodeSettings, URL_KEYS } from './urlState';

/** Apply the settings a query string describes; invalid values are ignored. */
export function applyUrlSettings(search: string = location.search): void {
  const d = decodeSettings(search);
  const patch: Partial<Settings> = {};
  if (d.prompt !== undefined) patch.prompt = d.prompt;
  if (d.negativePrompt !== undefined) patch.negativePrompt = d.negativePrompt;
  if (d.seed !== undefined && d.seed <= 2 ** 32 - 1) patch.seed = d.seed;
  if (d.steps !== undefined) patch.steps = d.steps;
  if (d.modelId !== undefined) patch.modelId = d.modelId;
  if (d.sampler !== undefined) patch.sampler = d.sampler;
  if (d.guidanceScale !== undefined) patch.guidanceScale = d.guidanceScale;
  if (d.provider !== undefined) patch.provider = d.provider;
  updateSettings(patch);
  if (d.compareModels || d.compareSteps) {
    useCompareStore.setState({ selectedRows: d.compareModels ?? null, selectedSteps: d.compareSteps ?? null });
  }
}

/** The query string for the current state, keeping keys urlState does not own. */
export function currentQuery(search: string = location.search): string {
  const { settings } = useAppStore.getState();
  const { selectedRows, selectedSteps } = useCompareStore.getState();
  const kept = new URLSearchParams(search);
  for (const k of Object.values(URL_KEYS)) kept.delete(k);
  const ours = encodeSettings({
    prompt: settings.prompt,
    negativePrompt: settings.negativePrompt,
    seed: settings.seed,
    steps: settings.steps,
    modelId: settings.modelId || undefined,
    sampler: settings.sampler || undefined,
    guidanceScale: settings.guidanceScale,
    provider: settings.provider,
    ...(selectedRows ? { compareModels: selectedRows } : {}),
    ...(selectedSteps ? { compareSteps: selectedSteps } : {}),
  });
  const rest = kept.toString();
  return [ours, rest].filter(Boolean).join('&');
}

/** Keep the URL in step with the settings (debounced: a dragged slider changes them many times a second). */
export function syncUrlWithSettings(): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const write = (): void => {
    timer = null;
    const q = currentQuery();
    if (q !== location.search.replace(/^\?/, '')) history.replaceState(history.state, '', `${location.pathname}${q ? `?${q}` : ''}${location.hash}`);
  };
  const schedule = (): void => {
    if (timer === null) timer = setTimeout(write, 150);
  };
  const unsubA = useAppStore.subscribe((s, prev) => {
    if (s.settings !== prev.settings) schedule();
  });
  const unsubB = useCompareStore.subscribe((s, prev) => {
    if (s.selectedRows !== prev.selectedRows || s.selectedSteps !== prev.selectedSteps) schedule();
  });
  return () => {
    unsubA();
    unsubB();
    if (timer !== null) clearTimeout(timer);
  };
}
