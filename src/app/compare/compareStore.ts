/**
 * Comparison grid state: the planned rows/columns, which of them the user picked, and one cell per
 * (row, steps) that fills in as the runner finishes it. Kept apart from the app store so the grid can re-render
 * per cell without touching the control panel. A finished cell names its run (`runId`); the run itself is stored once,
 * in the app store's `runs` (charts, CSV), and pinned there while the grid shows it.
 */
import { create } from 'zustand';
import { rowSelected, type CompareRow } from './plan';

export type CellStatus = 'queued' | 'running' | 'done' | 'error' | 'stopped' | 'not-allowed';

export interface CellState {
  status: CellStatus;
  /** Request id of the cell's run in the app store's `runs` (selectRun). */
  runId?: string;
  error?: string;
  step?: number;
  total?: number;
}

export interface CompareState {
  /** Every row the loaded catalog offers (planned once the model list is known). */
  rows: CompareRow[];
  planning: boolean;
  /** Row keys and step counts the user picked (null = the rows without LoRAs (plan.rowSelected) / the default columns). */
  selectedRows: string[] | null;
  selectedSteps: number[] | null;
  /** The rows/columns of the current (or last) run, frozen at start. */
  runRows: CompareRow[];
  runCols: number[];
  cells: Record<string, CellState>;
  status: 'idle' | 'running' | 'stopping' | 'stopped' | 'done';
  /** Prompt/seed/provider the grid was run with (its label and export name). */
  runInfo: { prompt: string; seed: number; provider: string; startedAt: number; finishedAt: number | null } | null;
  /** Cell key shown enlarged, or null. */
  enlarged: string | null;
  error: string | null;
  /** models/evaluator/ status: unknown until checked; 'failed' when it is served but could not run. */
  evaluator: 'unknown' | 'available' | 'missing' | 'failed';
  evaluatorError: string | null;
  /** Set when the evaluator could not score a prompt (outside its grammar). */
  unscorablePrompt: string | null;
}

export const initialCompareState: CompareState = {
  rows: [],
  planning: false,
  selectedRows: null,
  selectedSteps: null,
  runRows: [],
  runCols: [],
  cells: {},
  status: 'idle',
  runInfo: null,
  enlarged: null,
  error: null,
  evaluator: 'unknown',
  evaluatorError: null,
  unscorablePrompt: null,
};

export const useCompareStore = create<CompareState>()(() => initialCompareState);

export function setCell(key: string, patch: Partial<CellState>): void {
  useCompareStore.setState((s) => ({ cells: { ...s.cells, [key]: { ...(s.cells[key] ?? { status: 'queued' }), ...patch } } }));
}

export function toggleRow(key: string, on: boolean): void {
  useCompareStore.setState((s) => {
    const current = s.rows.filter((r) => rowSelected(r, s.selectedRows)).map((r) => r.key);
    const next = on ? [...new Set([...current, key])] : current.filter((k) => k !== key);
    return { selectedRows: s.rows.map((r) => r.key).filter((k) => next.includes(k)) };
  });
}

export function toggleSteps(steps: number, on: boolean, all: readonly number[]): void {
  useCompareStore.setState((s) => {
    const current = s.selectedSteps ?? [...all];
    const next = on ? [...new Set([...current, steps])] : current.filter((n) => n !== steps);
    return { selectedSteps: next.sort((a, b) => a - b) };
  });
}
