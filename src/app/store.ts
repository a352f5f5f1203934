/**
 * App state (zustand). Components read narrow slices; all engine traffic goes through engineBridge.ts, which
 * writes results back here. Data flows one way: UI -> store/bridge -> worker -> engine -> bridge -> store -> UI.
 *
 * Each piece of state has one holder: every finished run (control panel and grid) is in `runs` once, and what is
 * derived from it (the latest interactive run: {@link selectLast}; a grid cell's run: its `runId`) is looked up.
 */
import { create } from 'zustand';
import type { EngineError, GenerateResult, LoadedModel, LoadProgress, ProviderPreference, RgbaImage, RngKind } from '../engine';
import { TCD_DEFAULT_GAMMA } from '../schedulers';
import type { LoraSetting } from './lora/loraSet';
import type { ModelChoice } from './models';
import { DEFAULT_PROMPT } from './prompt/suggestions';

export interface Settings {
  prompt: string;
  negativePrompt: string;
  seed: number;
  steps: number;
  guidanceScale: number;
  /** Scheduler class override; '' = the model's own scheduler. */
  sampler: string;
  provider: ProviderPreference;
  /** The selected model (picker, URL); written by engineBridge.loadModel, which loads it. */
  modelId: string;
  rng: RngKind;
  /** The step's eta for DDIM (0 = deterministic; no control in the UI). TCD runs send `gamma` as their eta instead. */
  eta: number;
  /**
   * Custom timesteps as typed ("999,749,499,249"; '' = the scheduler's own spacing). A valid list sets `steps` to its
   * length (timesteps.ts checks it against the scheduler; an invalid one blocks Generate with the reason).
   */
  timesteps: string;
  /** TCD's gamma, "stochasticity" in [0, 1] (default 0.3, diffusers' TCDPipeline): sent as the step's eta for TCD. */
  gamma: number;
  /**
   * The LoRAs merged into the loaded model, in merge order, each with its strength (written by engineBridge.loadModel
   * once the engine has merged them; the picker edits a draft until Apply). Empty: the base model. Runs keep it in
   * their params, so history, records and PNG metadata say which LoRAs made an image.
   */
  loras: LoraSetting[];
}

export interface RunResult {
  requestId: string;
  modelId: string;
  modelName: string;
  provider: string;
  params: Settings;
  result: GenerateResult;
  finishedAt: number;
  /** 'grid' runs come from the comparison runner; they are never the latest interactive run ({@link selectLast}). */
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
  /**
   * The load in flight; it is for `settings.modelId` (loadModel sets both). `loras`: how many LoRAs it merges into the
   * U-Net (0: the base model).
   */
  loading: { requestId: string; progress: LoadProgress | null; startedAt: number; loras: number } | null;
  /** The error the engine threw (same class and code as in the worker). */
  loadError: EngineError | null;
  running: { requestId: string; step: number; total: number; startedAt: number } | null;
  genError: EngineError | null;
  /** Every finished run, oldest first: the control panel's and the grid's (at most MAX_RUNS, see addRun). */
  runs: RunResult[];
  /** Decode each step's x0 for the filmstrip (costs one VAE run per step). */
  showPreviews: boolean;
  /** Frames of the latest interactive run (cleared when a new one starts). */
  previews: { requestId: string; frames: PreviewFrame[] } | null;
  /** Outcome of the last PNG import, shown next to the import button. */
  importNote: { ok: boolean; message: string } | null;
}

export const DEFAULT_SETTINGS: Settings = {
  // In-domain for the embedded models (issue 15): a full caption of their grammar with a seen colour/shape pair.
  prompt: DEFAULT_PROMPT,
  negativePrompt: '',
  seed: 42,
  steps: 1,
  guidanceScale: 0,
  sampler: '',
  provider: 'auto',
  modelId: '',
  rng: 'fewstep',
  eta: 0,
  timesteps: '',
  gamma: TCD_DEFAULT_GAMMA,
  loras: [],
};

export const initialState: AppState = {
  settings: DEFAULT_SETTINGS,
  models: [],
  modelsReady: false,
  loaded: null,
  loading: null,
  loadError: null,
  running: null,
  genError: null,
  runs: [],
  showPreviews: false,
  previews: null,
  importNote: null,
};

export const useAppStore = create<AppState>()(() => initialState);

/** Merge `patch` into the settings (the one writer besides whole-state resets in tests). */
export function updateSettings(patch: Partial<Settings>): void {
  useAppStore.setState((s) => ({ settings: { ...s.settings, ...patch } }));
}

/** Runs kept for the charts and the CSV; the oldest unpinned ones go first. */
export const MAX_RUNS = 500;

/** Request ids of runs that must stay while they are shown (the current grid's cells). */
const pinned = new Set<string>();

/** Keep these runs past MAX_RUNS (the grid pins its cells' runs; `replace` drops the previous grid's pins). */
export function pinRuns(ids: Iterable<string>, replace = false): void {
  if (replace) pinned.clear();
  for (const id of ids) pinned.add(id);
}

/** Record a finished run (the one place runs are stored). */
export function addRun(run: RunResult): void {
  useAppStore.setState((s) => {
    const runs = [...s.runs, run];
    for (let i = 0; runs.length > MAX_RUNS && i < runs.length; ) {
      if (pinned.has(runs[i].requestId)) i++;
      else runs.splice(i, 1);
    }
    return { runs };
  });
}

/** The latest interactive (control panel) run: the image, its timings and its export. */
export function selectLast(s: Pick<AppState, 'runs'>): RunResult | null {
  for (let i = s.runs.length - 1; i >= 0; i--) if (s.runs[i].source !== 'grid') return s.runs[i];
  return null;
}

/** A run by request id (a grid cell's run). */
export function selectRun(s: Pick<AppState, 'runs'>, requestId: string | undefined): RunResult | null {
  return requestId === undefined ? null : (s.runs.find((r) => r.requestId === requestId) ?? null);
}
