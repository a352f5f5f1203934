/**
 * Downloads and PNG import. The bytes are made by src/export (PNG encoder, text chunks, grid composer, CSV/JSON);
 * this module only picks what to export from the stores and hands the browser a Blob with a meaningful name.
 */
import { composeGrid } from '../../export/grid';
import { pngChunksFor, recordFromChunks } from '../../export/metadata';
import { encodePng, readTextChunks } from '../../export/png';
import { runsToCsv, runsToJson } from '../../export/runs';
import { fileNameFor } from '../../export/filenames';
import { loadModel, generate } from '../engineBridge';
import { selectRun, updateSettings, useAppStore, type RunResult } from '../store';
import { useCompareStore } from './compareStore';
import { sameLoraSet } from '../lora/loraSet';
import { cellKey, type CompareRow } from './plan';
import { APP_VERSION, settingsFromRecord, toGenerationRecord, toRunRecord } from './records';

function download(bytes: Uint8Array | string, name: string, type: string): void {
  const blob = new Blob([bytes as BlobPart], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoke after the click has been handled (Firefox needs the URL alive until the download starts).
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** PNG bytes of one run with its `parameters` and `fewstep` text chunks. */
async function imagePngBytes(run: RunResult): Promise<Uint8Array> {
  const { data, width, height } = run.result.image;
  return encodePng(data, width, height, { text: pngChunksFor(toGenerationRecord(run)) });
}

export async function exportImage(run: RunResult): Promise<void> {
  const record = toGenerationRecord(run);
  download(await imagePngBytes(run), fileNameFor('image', record), 'image/png');
}

/** The comparison grid as one labelled PNG: rows = samplers, columns = step counts, latency under each cell. */
export async function exportGrid(): Promise<void> {
  const { runRows, runCols, cells, runInfo } = useCompareStore.getState();
  if (!runInfo || runRows.length === 0) return;
  const app = useAppStore.getState();
  const runOf = (r: CompareRow, n: number): RunResult | null => selectRun(app, cells[cellKey(r.key, n)]?.runId);
  const imgs = runRows.map((r) => runCols.map((n) => runOf(r, n)?.result.image ?? null));
  const size = Math.max(64, ...imgs.flat().map((i) => (i ? Math.max(i.width, i.height) : 0)));
  const provider = runRows.flatMap((r) => runCols.map((n) => runOf(r, n))).find((x) => x !== null)?.provider ?? runInfo.provider;
  const grid = composeGrid({
    rows: runRows.map((r) => r.label),
    cols: runCols.map((n) => `${n} step${n === 1 ? '' : 's'}`),
    cells: imgs,
    cellSize: size < 128 ? 128 : size,
    captions: runRows.map((r) =>
      runCols.map((n) => {
        const c = cells[cellKey(r.key, n)];
        const run = runOf(r, n);
        if (run) return `${Math.round(run.result.timings.totalMs)} ms`;
        return c?.status === 'not-allowed' ? 'n/a' : c?.status === 'error' ? 'error' : '';
      }),
    ),
    title: `"${runInfo.prompt}"  seed ${runInfo.seed}  ${provider === 'webgpu' ? 'WebGPU' : 'WASM'}`,
  });
  const png = await encodePng(grid.data, grid.width, grid.height, {
    text: [
      { keyword: 'Title', text: 'Fewstep comparison grid' },
      {
        keyword: 'fewstep-grid',
        text: JSON.stringify({ prompt: runInfo.prompt, seed: runInfo.seed, rows: runRows.map((r) => r.label), steps: runCols, appVersion: APP_VERSION }),
      },
    ],
  });
  download(png, fileNameFor('grid', { seed: runInfo.seed, prompt: runInfo.prompt }), 'image/png');
}

export function exportRuns(format: 'csv' | 'json'): void {
  const runs = useAppStore.getState().runs.map(toRunRecord);
  if (format === 'csv') download(runsToCsv(runs), fileNameFor('runs-csv'), 'text/csv');
  else download(runsToJson(runs, { appVersion: APP_VERSION }), fileNameFor('runs-json'), 'application/json');
}

/**
 * Restores the settings an exported PNG carries (prompt, seed, steps, sampler, guidance, model) and regenerates.
 * PNGs from other Stable Diffusion UIs work too when they have a `parameters` chunk.
 */
export async function importPng(file: File): Promise<void> {
  const set = (ok: boolean, message: string): void => useAppStore.setState({ importNote: { ok, message } });
  let chunks: Record<string, string>;
  try {
    chunks = readTextChunks(new Uint8Array(await file.arrayBuffer()));
  } catch (e) {
    set(false, `${file.name} is not a readable PNG (${(e as Error).message}).`);
    return;
  }
  const record = recordFromChunks(chunks);
  if (!record) {
    set(false, `${file.name} has no generation settings (no "parameters" or "fewstep" text chunk).`);
    return;
  }
  const { models, settings } = useAppStore.getState();
  const { patch, modelFound, notes } = settingsFromRecord(record, models);
  const switchModel = modelFound && patch.modelId !== settings.modelId;
  // The LoRA set is applied by the load (it changes the model's weights), not written as a setting.
  const { loras, ...rest } = patch;
  const switchLoras = !sameLoraSet(loras, settings.loras);
  updateSettings(rest);
  set(true, `Restored settings from ${file.name}${notes.length ? ` (${notes.join('; ')})` : ''}.`);
  if (switchModel || switchLoras) await loadModel(patch.modelId ?? settings.modelId, { keep: { steps: true, guidanceScale: true, sampler: true }, loras: loras ?? [] });
  else void generate();
}
