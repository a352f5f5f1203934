/**
 * Model-library state (zustand): the catalog, downloads in flight with per-file and total progress, the storage
 * report, folder-import and custom-source outcomes. Written only by libraryBridge.ts; components select narrow
 * pieces. Kept as its own store next to the app store so library traffic (progress events several times a second)
 * never re-renders the generation UI.
 */
import { create } from 'zustand';
import { DEFAULT_HUB_BASE, type CachedList, type CatalogEntry, type DownloadProgress, type EngineError } from '../../engine';

export interface FileProgress {
  loaded: number;
  total: number;
  status: DownloadProgress['status'];
}

export interface DownloadState {
  requestId: string;
  status: 'downloading' | 'done' | 'error' | 'cancelled';
  /** Latest total numbers (bytes, %, speed, ETA); null until the first event (sizes are being asked). */
  overall: DownloadProgress['overall'] | null;
  files: Record<string, FileProgress>;
  /** The error the engine threw (same class and code as in the worker). */
  error: EngineError | null;
  startedAt: number;
  /** Bytes that came over the network in this download (resumed and cached bytes excluded). */
  bytesFetched: number | null;
  finishedAt: number | null;
}

export interface GpuSupport {
  checked: boolean;
  available: boolean;
  shaderF16: boolean;
  maxBufferSize: number;
}

export interface LibraryState {
  catalog: CatalogEntry[];
  catalogError: string | null;
  hubBase: string;
  hubWarning: string | null;
  chunkSize: number | undefined;
  gpu: GpuSupport;
  downloads: Record<string, DownloadState>;
  cached: CachedList | null;
  storageError: string | null;
  folder: { status: 'idle' | 'loading' | 'error' | 'done'; message: string | null; missing: string[] };
  custom: { status: 'idle' | 'loading' | 'error' | 'done'; message: string | null };
}

export const initialLibraryState: LibraryState = {
  catalog: [],
  catalogError: null,
  hubBase: DEFAULT_HUB_BASE,
  hubWarning: null,
  chunkSize: undefined,
  gpu: { checked: false, available: false, shaderF16: false, maxBufferSize: 0 },
  downloads: {},
  cached: null,
  storageError: null,
  folder: { status: 'idle', message: null, missing: [] },
  custom: { status: 'idle', message: null },
};

export const useLibraryStore = create<LibraryState>()(() => initialLibraryState);
