/**
 * Runs the comparison grid through the engine: row by row (each row's pipeline is loaded into the engine's pool
 * with `activate: false`, so the model in the control panel stays the active one), fewest steps first, same prompt
 * and seed everywhere so a row shares its initial noise. The user's own runs (slider, Generate) take priority: the
 * engine's latest-wins queue cancels the cell in flight, and the runner waits until the user's run is done and
 * retries that cell. Stop (here or in the control panel) ends the run at the next step boundary.
 */
import { isCancelled, type ProviderPreference, type RgbaImage } from '../../engine';
import { getEngine, latestInteractiveId, whenInteractiveIdle } from '../engineBridge';
import { generateParams, runResult } from '../runs';
import { addRun, pinRuns, useAppStore, type RunResult } from '../store';
import { setCell, useCompareStore, type CellState } from './compareStore';
import { scoreRun } from './scoring';
import { modelRefOf } from '../models';
import { buildColumns, buildRows, cellAllowed, cellKey, DEFAULT_COMPARE_STEPS, loraRowSpecs, rowSelected, type CompareRow } from './plan';
import { loraRefsFor, useLoraStore } from '../lora/loraStore';

let stopRequested = false;
let inFlight: string | null = null;
/** A cell superseded more often than this is given up (the user keeps generating). */
const MAX_ATTEMPTS = 5;

let planSeq = 0;

/**
 * Reads every offered model's defaults (the engine's `describe`: two small JSON files each, from wherever the model
 * lives: shipped folder, download cache, picked folder, custom URL) and plans the rows: each model's own, then its
 * base + LoRA set rows (the shipped LoRAs made for it, and the control panel's applied set). A model whose files
 * cannot be read is left out.
 */
export async function planComparison(): Promise<void> {
  // The model list can change while an earlier plan is still reading files: only the latest plan is applied.
  const seq = ++planSeq;
  const { models, settings } = useAppStore.getState();
  const loraRows = loraRowSpecs(useLoraStore.getState().shipped, { modelId: settings.modelId, loras: settings.loras });
  useCompareStore.setState({ planning: true });
  const withDefaults = await Promise.all(
    models.map(async (choice) => ({
      choice,
      defaults: await getEngine()
        .request('describe', { model: modelRefOf(choice) })
        .done.catch(() => null),
    })),
  );
  if (seq !== planSeq) return;
  const rows = buildRows(
    withDefaults.filter((m): m is { choice: typeof m.choice; defaults: NonNullable<typeof m.defaults> } => m.defaults !== null),
    loraRows,
  );
  useCompareStore.setState((s) => ({
    rows,
    planning: false,
    // Keep a selection restored from the URL, minus rows this checkout does not have.
    selectedRows: s.selectedRows ? s.selectedRows.filter((k) => rows.some((r) => r.key === k)) : null,
  }));
}

/** The rows and columns a run would use now. */
export function currentPlan(): { rows: CompareRow[]; cols: number[] } {
  const { rows, selectedRows, selectedSteps } = useCompareStore.getState();
  const picked = rows.filter((r) => rowSelected(r, selectedRows));
  return { rows: picked, cols: buildColumns(picked, selectedSteps ?? DEFAULT_COMPARE_STEPS) };
}

export function stopComparison(): void {
  if (useCompareStore.getState().status !== 'running') return;
  stopRequested = true;
  useCompareStore.setState({ status: 'stopping' });
  if (inFlight) void getEngine().request('cancel', { target: inFlight }).done;
}

export async function runComparison(): Promise<void> {
  if (useCompareStore.getState().status === 'running' || useCompareStore.getState().status === 'stopping') return;
  const { rows, cols } = currentPlan();
  if (rows.length === 0 || cols.length === 0) return;
  const settings = useAppStore.getState().settings;
  const cells: Record<string, CellState> = {};
  for (const row of rows) for (const steps of cols) cells[cellKey(row.key, steps)] = { status: cellAllowed(row, steps) ? 'queued' : 'not-allowed' };
  stopRequested = false;
  pinRuns([], true);
  useCompareStore.setState({
    runRows: rows,
    runCols: cols,
    cells,
    status: 'running',
    error: null,
    enlarged: null,
    runInfo: { prompt: settings.prompt, seed: settings.seed, provider: settings.provider, startedAt: performance.now(), finishedAt: null },
  });
  for (const row of rows) {
    if (stopRequested) break;
    const loaded = await loadRow(row, settings.provider);
    if (loaded === 'stop') {
      stopRequested = true;
      break;
    }
    if (loaded !== 'ok') {
      for (const steps of cols) {
        if (cellAllowed(row, steps)) setCell(cellKey(row.key, steps), { status: 'error', error: `Could not load ${row.modelName}: ${loaded.error}` });
      }
      continue;
    }
    for (const steps of cols) {
      if (stopRequested) break;
      if (!cellAllowed(row, steps)) continue;
      await runCell(row, steps, settings);
    }
  }
  const stopped = stopRequested;
  useCompareStore.setState((s) => ({
    status: stopped ? 'stopped' : 'done',
    cells: Object.fromEntries(Object.entries(s.cells).map(([k, c]) => [k, c.status === 'queued' || c.status === 'running' ? { ...c, status: 'stopped' } : c])),
    runInfo: s.runInfo ? { ...s.runInfo, finishedAt: performance.now() } : null,
  }));
  stopRequested = false;
}

async function runCell(row: CompareRow, steps: number, settings: ReturnType<typeof useAppStore.getState>['settings']): Promise<void> {
  const key = cellKey(row.key, steps);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    await whenInteractiveIdle();
    if (stopRequested) return;
    const userBefore = latestInteractiveId();
    setCell(key, { status: 'running', step: 0, total: steps, error: undefined });
    // Columns are step counts, so a custom timestep list of the control panel does not apply here; TCD rows take its
    // gamma ("stochasticity").
    const params = { ...settings, steps, guidanceScale: row.guidanceScale, sampler: row.sampler, modelId: row.modelId, eta: 0, timesteps: '', loras: row.loras };
    const req = getEngine().request(
      'generate',
      { modelId: row.poolId, params: generateParams(params, { schedulerClass: row.samplerClass }) },
      (ev) => {
        if (ev.type === 'step') setCell(key, { step: ev.step.index + 1, total: ev.step.total });
      },
    );
    inFlight = req.id;
    try {
      const ev = await req.done;
      const run = runResult(ev, { requestId: req.id, modelId: row.modelId, modelName: row.modelName, params, source: 'grid', rowLabel: row.label });
      pinRuns([run.requestId]);
      addRun(run);
      setCell(key, { status: 'done', runId: run.requestId });
      // Not awaited: the engine queues the classifier behind the next cell's ORT calls.
      void scoreRun(run);
      return;
    } catch (e) {
      if (isCancelled(e)) {
        // Superseded by the user's own generation: wait for it, then redo this cell. Anything else is a stop.
        // (A model load in the control panel also cancels the running generation.)
        if (!stopRequested && (latestInteractiveId() !== userBefore || useAppStore.getState().loading !== null)) continue;
        stopRequested = true;
        setCell(key, { status: 'stopped' });
        return;
      }
      setCell(key, { status: 'error', error: (e as Error).message });
      return;
    } finally {
      inFlight = null;
    }
  }
  setCell(key, { status: 'error', error: 'Interrupted repeatedly by other generations; run the grid again.' });
}

/**
 * Re-runs one grid cell with per-step previews (decoded x0 after every step) for the enlarged view's filmstrip.
 * Same params as the cell, so the final frame is the cell's image.
 */
export function previewCell(
  row: CompareRow,
  run: RunResult,
  onFrame: (frame: { index: number; total: number; timestep: number; image: RgbaImage }) => void,
): { cancel: () => void; done: Promise<void> } {
  const req = getEngine().request(
    'generate',
    { modelId: row.poolId, params: generateParams({ ...run.params, sampler: row.sampler }, { preview: true, schedulerClass: row.samplerClass }) },
    (ev) => {
      if (ev.type === 'step' && ev.step.preview) onFrame({ index: ev.step.index, total: ev.step.total, timestep: ev.step.timestep, image: ev.step.preview });
    },
  );
  return {
    cancel: () => void getEngine().request('cancel', { target: req.id }).done,
    done: req.done.then(() => undefined),
  };
}

/**
 * Adds a row's pipeline to the engine pool without activating it, with the row's LoRAs merged in (under the row's own
 * pool id, so the control panel's model keeps its weights); a load the user starts meanwhile wins, then we retry.
 */
async function loadRow(row: CompareRow, provider: ProviderPreference): Promise<'ok' | 'stop' | { error: string }> {
  const { refs, missing } = loraRefsFor(row.loras);
  if (missing.length) return { error: `LoRA not available in this session: ${missing.join(', ')}` };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    await whenInteractiveIdle();
    if (stopRequested) return 'stop';
    const load = getEngine().request('load', {
      model: { ...row.ref, id: row.poolId },
      provider,
      activate: false,
      ...(refs.length ? { loras: refs.map((r) => (r.bytes ? { ...r, bytes: r.bytes.slice(0) } : r)) } : {}),
    });
    inFlight = load.id;
    try {
      await load.done;
      return 'ok';
    } catch (e) {
      if (!isCancelled(e)) return { error: (e as Error).message };
      if (stopRequested || useAppStore.getState().loading === null) return 'stop';
    } finally {
      inFlight = null;
    }
  }
  return { error: 'interrupted repeatedly by other model loads' };
}
