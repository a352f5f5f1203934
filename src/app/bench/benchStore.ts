/** State of the in-app Benchmark panel (its own small store: nothing else reads it). */
import { create } from 'zustand';
import type { BenchProgress, BenchProvider, BenchRow } from './benchRunner';

export interface BenchState {
  provider: BenchProvider;
  runs: number;
  /** 'few': the few-step rows only (fast); 'full': the whole table (teacher DDIM 50/25/10 included). */
  scope: 'few' | 'full';
  running: boolean;
  progress: BenchProgress | null;
  rows: BenchRow[];
  error: string | null;
  startedAt: number | null;
  finishedAt: number | null;
}

export const initialBenchState: BenchState = {
  provider: typeof navigator !== 'undefined' && 'gpu' in navigator ? 'webgpu' : 'wasm',
  runs: 5,
  scope: 'few',
  running: false,
  progress: null,
  rows: [],
  error: null,
  startedAt: null,
  finishedAt: null,
};

export const useBenchStore = create<BenchState>()(() => initialBenchState);
