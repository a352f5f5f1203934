/**
 * App state (zustand). Components read narrow slices; all engine traffic goes through engineBridge.ts, which
 * writes results back here. Data flows one way: UI -> store/bridge -> worker -> engine -> bridge -> store -> UI.
 */
import { create } from 'zustand';
import type { GenerateResult, LoadedModel, LoadProgress, ProviderPreference, RngKind, WireError } from '../engine/protocol';
import type { ModelChoice } from './models';

export interface Settings {
  prompt: string;
  negativePrompt: string;
  seed: number;
  steps: number;
  guidanceScale: number;
  /** Scheduler class override; '' = the model's own scheduler. */
  sampler: string;
  provider: ProviderPreference;
  modelId: string;
  rng: RngKind;
  eta: number;
}

export interface RunResult {
  requestId: string;
  modelId: string;
  modelName: string;
  provider: string;
  params: Settings;
  result: GenerateResult;
  finishedAt: number;
}

export interface AppState {
  settings: Settings;
  models: ModelChoice[];
  modelsReady: boolean;
  loaded: LoadedModel | null;
  loading: { requestId: string; modelId: string; progress: LoadProgress | null; startedAt: number } | null;
  loadError: WireError | null;
  running: { requestId: string; step: number; total: number; startedAt: number } | null;
  last: RunResult | null;
  genError: WireError | null;
  runs: RunResult[];
}

export const DEFAULT_SETTINGS: Settings = {
  prompt: 'a red circle on a blue background',
  negativePrompt: '',
  seed: 42,
  steps: 1,
  guidanceScale: 0,
  sampler: '',
  provider: 'auto',
  modelId: '',
  rng: 'fewstep',
  eta: 0,
};

export const initialState: AppState = {
  settings: DEFAULT_SETTINGS,
  models: [],
  modelsReady: false,
  loaded: null,
  loading: null,
  loadError: null,
  running: null,
  last: null,
  genError: null,
  runs: [],
};

export const useAppStore = create<AppState>()(() => initialState);

export function updateSettings(patch: Partial<Settings>): void {
  useAppStore.setState((s) => ({ settings: { ...s.settings, ...patch } }));
}
