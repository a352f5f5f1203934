/**
 * Settings <-> URL. On start the query string (?p=..&seed=7&steps=4&ts=999,749,499,249&model=..&sampler=..&gamma=0.3
 * &cfg=..&ep=wasm&lora=fewstep-style-ink:0.8,fewstep-lcm-lora:1&cm=..&cs=..)
 * is decoded with urlState.decodeSettings; afterwards every settings change is written back with
 * history.replaceState (no history entry per slider move), so the address bar always shares the current view.
 * Query keys urlState does not own (e.g. `fixtures`) are kept.
 */
import { useCompareStore } from './compare/compareStore';
import { GENERATE_LIMITS } from '../engine';
import { updateSettings, useAppStore, type Settings } from './store';
import { parseView, useUiStore } from './ui/uiStore';
import { formatTimesteps, parseTimesteps } from '../schedulers';
import { effectiveSampler, hasCustomTimesteps } from './timesteps';
import { isShippedLoraId } from './lora/loraSet';
import { decodeSettings, encodeSettings, loraLinkList, timestepsProblem, URL_KEYS } from './urlState';

/** Query keys of the link that were present but not valid (`steps=abc`), as "key=value" (values cut to 24 chars). */
export function rejectedUrlKeys(search: string, decoded: ReturnType<typeof decodeSettings>): string[] {
  const q = new URLSearchParams(search);
  const out: string[] = [];
  for (const [field, key] of Object.entries(URL_KEYS) as Array<[keyof typeof URL_KEYS, string]>) {
    const raw = q.get(key);
    // A `ts` that does not read, and LoRAs left out, get their own sentences (applyUrlSettings).
    if (raw === null || decoded[field] !== undefined || field === 'timesteps' || field === 'loras') continue;
    if ((field === 'prompt' || field === 'negativePrompt') && raw === '') continue;
    out.push(`${key}=${raw.length > 24 ? `${raw.slice(0, 24)}…` : raw}`);
  }
  const view = q.get('view');
  if (view !== null && parseView(`?view=${encodeURIComponent(view)}`) !== view) out.push(`view=${view.slice(0, 24)}`);
  return out;
}

const IGNORED_PREFIX = 'Ignored settings in the link (out of range or not understood): ';

/**
 * `notice` with `item` ("model=nope (no such model …)") added to its "Ignored settings in the link …" sentence, which
 * applyUrlSettings writes last; the sentence is started when there is none. For settings that can only be checked
 * once the app knows more than the link (the model list, known after discovery in engineBridge.initApp).
 */
export function withIgnoredSetting(notice: string | null, item: string): string {
  if (!notice) return `${IGNORED_PREFIX}${item}.`;
  if (notice.includes(IGNORED_PREFIX)) return `${notice.replace(/\.$/, '')}, ${item}.`;
  return `${notice} ${IGNORED_PREFIX}${item}.`;
}

/**
 * Report a link's `model=` that names no model the app found (`known`: the ids discovered), in the page notice;
 * the first model is loaded instead and the URL is rewritten with it. No-op when the link has no `model=` or it is known.
 */
export function noteUnknownLinkModel(search: string, known: readonly string[]): void {
  const raw = new URLSearchParams(search).get(URL_KEYS.modelId);
  if (raw === null || known.includes(raw)) return;
  const shown = raw.length > 24 ? `${raw.slice(0, 24)}…` : raw;
  const item = `${URL_KEYS.modelId}=${shown} (not a known model; known: ${known.join(', ') || 'none'})`;
  useUiStore.setState((s) => ({ notice: withIgnoredSetting(s.notice, item) }));
}

/** Apply the settings a query string describes; invalid values are ignored. */
export function applyUrlSettings(search: string = location.search): void {
  const d = decodeSettings(search);
  const notes: string[] = [];
  // A prompt over the limit is cut rather than dropped, so a long shared prompt still draws something.
  const rawPrompt = new URLSearchParams(search).get(URL_KEYS.prompt);
  if (d.prompt === undefined && rawPrompt !== null && rawPrompt.length > GENERATE_LIMITS.maxPromptLength) {
    d.prompt = rawPrompt.slice(0, GENERATE_LIMITS.maxPromptLength);
    notes.push(`The prompt in the link was cut to ${GENERATE_LIMITS.maxPromptLength} characters.`);
  }
  const rawTs = new URLSearchParams(search).get(URL_KEYS.timesteps);
  const tsProblem = rawTs !== null && d.timesteps === undefined ? (timestepsProblem(rawTs) ?? 'not understood') : null;
  if (tsProblem !== null) {
    const shown = rawTs!.length > 24 ? `${rawTs!.slice(0, 24)}…` : rawTs;
    notes.push(`The timesteps in the link (ts=${shown}) were ignored: ${tsProblem} Using the scheduler's own spacing.`);
  }
  const rawLora = new URLSearchParams(search).get(URL_KEYS.loras);
  const loraProblems = rawLora !== null ? loraLinkList(rawLora).problems : [];
  if (loraProblems.length) notes.push(`Some LoRAs in the link were left out: ${loraProblems.join(' ')}`);
  const rejected = rejectedUrlKeys(search, d);
  if (rejected.length) notes.push(`${IGNORED_PREFIX}${rejected.join(', ')}.`);
  useUiStore.setState({ view: parseView(search), notice: notes.length ? notes.join(' ') : null });
  const patch: Partial<Settings> = {};
  if (d.prompt !== undefined) patch.prompt = d.prompt;
  if (d.negativePrompt !== undefined) patch.negativePrompt = d.negativePrompt;
  if (d.seed !== undefined) patch.seed = d.seed;
  if (d.steps !== undefined) patch.steps = d.steps;
  if (d.timesteps !== undefined) patch.timesteps = formatTimesteps(d.timesteps);
  if (d.modelId !== undefined) patch.modelId = d.modelId;
  if (d.sampler !== undefined) patch.sampler = d.sampler;
  if (d.gamma !== undefined) patch.gamma = d.gamma;
  if (d.guidanceScale !== undefined) patch.guidanceScale = d.guidanceScale;
  if (d.provider !== undefined) patch.provider = d.provider;
  // Applied by the first model load, once the shipped list says which of them exist and fit (engineBridge.initApp).
  if (d.loras !== undefined) patch.loras = d.loras;
  updateSettings(patch);
  if (d.compareModels || d.compareSteps) {
    useCompareStore.setState({ selectedRows: d.compareModels ?? null, selectedSteps: d.compareSteps ?? null });
  }
}

/** The query string for the current state, keeping keys urlState does not own. */
export function currentQuery(search: string = location.search): string {
  const { settings, loaded } = useAppStore.getState();
  const { selectedRows, selectedSteps } = useCompareStore.getState();
  let timesteps: number[] | undefined;
  try {
    timesteps = hasCustomTimesteps(settings) ? parseTimesteps(settings.timesteps) : undefined;
  } catch {
    timesteps = undefined; // still being typed: the link keeps the step count until the list reads
  }
  const kept = new URLSearchParams(search);
  for (const k of Object.values(URL_KEYS)) kept.delete(k);
  // A `view=` the app does not have was ignored (the notice lists it): the rewritten link drops it.
  const view = kept.get('view');
  if (view !== null && parseView(`?view=${encodeURIComponent(view)}`) !== view) kept.delete('view');
  const ours = encodeSettings({
    prompt: settings.prompt,
    negativePrompt: settings.negativePrompt,
    seed: settings.seed,
    steps: settings.steps,
    timesteps,
    modelId: settings.modelId || undefined,
    sampler: settings.sampler || undefined,
    // TCD's gamma only while TCD runs (the model's own scheduler or the override).
    gamma: effectiveSampler(settings.sampler, loaded) === 'TCDScheduler' ? settings.gamma : undefined,
    guidanceScale: settings.guidanceScale,
    provider: settings.provider,
    // The LoRAs merged into the model (shipped ones: a link cannot carry a picked file).
    loras: settings.loras.filter((l) => isShippedLoraId(l.id)),
    ...(selectedRows ? { compareModels: selectedRows } : {}),
    ...(selectedSteps ? { compareSteps: selectedSteps } : {}),
  });
  const rest = kept.toString();
  return [ours, rest].filter(Boolean).join('&');
}

/**
 * How long the settings must stay unchanged before the URL is rewritten. Each history.replaceState is a
 * same-document navigation, and Chromium reloads the page's icon on it (favicon.svg fetched and parsed again: about
 * 5 ms of the main thread, more under load, measured in a trace of slider moves), so the URL follows once a drag or
 * a burst of keystrokes has settled instead of on every move.
 */
export const URL_SYNC_DELAY_MS = 400;

/** Keep the URL in step with the settings (debounced: a dragged slider changes them many times a second). */
export function syncUrlWithSettings(): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const write = (): void => {
    timer = null;
    const q = currentQuery();
    if (q !== location.search.replace(/^\?/, '')) history.replaceState(history.state, '', `${location.pathname}${q ? `?${q}` : ''}${location.hash}`);
  };
  const schedule = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(write, URL_SYNC_DELAY_MS);
  };
  const unsubA = useAppStore.subscribe((s, prev) => {
    if (s.settings !== prev.settings || s.loaded !== prev.loaded) schedule();
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
