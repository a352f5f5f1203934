/**
 * App state (zustand). Components read narrow slices; all engine traffic goes through engineBridge.ts, which
 * writes results back here. Data flows one way: UI -> store/bridge -> worker -> engine -> bridge -> store -> UI.
 */
import { create } from 'zustand';
import type { GenerateResult, LoadedModel, LoadProgress, ProviderPreference, RgbaImage, RngKind, WireError } from '../engine/protocol';
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
  /** 'grid' runs come from the comparison runner; they never replace `last`. */
  source?: 'single' | 'grid';
  /** Grid row label ("Teacher · DDPM") for grid runs. */
  rowLabel?: string;
  /** Evaluator score 0..1 when models/evaluator scored the image. */
  qualityScore?: number | null;
}

/** One decoded x0 prediction per step (params.preview), for the filmstrip. */
export interface PreviewFrame {
  index: number;
  total: number;
  timestep: number;
  image: RgbaImage;
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
  /** Decode each step's x0 for the filmstrip (costs one VAE run per step). */
  showPreviews: boolean;
  /** Frames of the latest interactive run (cleared when a new one starts). */
  previews: { requestId: string; frames: PreviewFrame[] } | null;
  /** Outcome of the last PNG import, shown next to the import button. */
  importNote: { ok: boolean; message: string } | null;
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
  showPreviews: false,
  previews: null,
  importNote: null,
};

export const useAppStore = create<AppState>()(() => initialState);

export function updateSettings(patch: Partial<Settings>): void {
  useAppStore.setState((s) => ({ settings: { ...s.settings, ...patch } }));
}
