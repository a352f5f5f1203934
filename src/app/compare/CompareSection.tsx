import { useEffect, useRef, useState } from 'react';
import type { RgbaImage } from '../../engine';
import { useShallow } from 'zustand/react/shallow';
import { selectRun, useAppStore } from '../store';
import { useLoraStore } from '../lora/loraStore';
import { formatLoraList } from '../lora/loraSet';
import { toggleRow, toggleSteps, useCompareStore, type CellState } from './compareStore';
import { exportImage } from './exporters';
import { buildColumns, cellKey, DEFAULT_COMPARE_STEPS, rowSelected, type CompareRow } from './plan';
import { RgbaCanvas } from './RgbaCanvas';
import { currentPlan, planComparison, previewCell, runComparison, stopComparison } from './runner';

/**
 * The sampler x steps grid: pick rows and step counts, run, watch cells fill in (image + latency), click a cell to
 * enlarge it. Same prompt and seed for every cell (the control panel's), each row with its pipeline's own guidance.
 */
export function CompareSection() {
  const modelsReady = useAppStore((s) => s.modelsReady);
  const models = useAppStore((s) => s.models);
  // The control panel's applied LoRA set is offered as a row too (plan.loraRowSpecs): plan again when it changes.
  const appliedLoras = useAppStore((s) => s.settings.loras);
  const shippedLoras = useLoraStore((s) => s.shipped);
  const { rows, planning, status, selectedRows, selectedSteps } = useCompareStore(
    useShallow((s) => ({ rows: s.rows, planning: s.planning, status: s.status, selectedRows: s.selectedRows, selectedSteps: s.selectedSteps })),
  );
  useEffect(() => {
    if (modelsReady) void planComparison();
  }, [modelsReady, models, appliedLoras, shippedLoras]);
  const running = status === 'running' || status === 'stopping';
  const plan = currentPlan();
  const allCols = buildColumns(rows, DEFAULT_COMPARE_STEPS);
  const cellsToRun = plan.rows.reduce((n, r) => n + plan.cols.filter((c) => (r.allowedSteps ? r.allowedSteps.includes(c) : true)).length, 0);
  const why =
    !modelsReady || planning
      ? 'Looking for pipelines…'
      : rows.length === 0
        ? 'No pipelines found to compare.'
        : plan.rows.length === 0
          ? 'Pick at least one sampler row.'
          : plan.cols.length === 0
            ? 'Pick at least one step count that a selected row allows.'
            : null;
  return (
    <section className="compare" aria-labelledby="compare-title">
      <h2 id="compare-title">Compare samplers × steps</h2>
      <p className="hint">
        Same prompt and seed in every cell, so a row shares its initial noise and differences come from the sampler. Rows use
        their pipeline&apos;s default guidance; a row with a LoRA set (&quot;Teacher + LCM-LoRA&quot;) loads the model with those
        LoRAs merged in first, at its recommended sampler and guidance (LoRA rows are off until ticked).
      </p>
      <fieldset className="picker" disabled={running}>
        <legend>Rows</legend>
        {rows.map((r) => (
          <label key={r.key} className="chip" title={`${r.modelName}${r.loras.length ? ` + LoRA ${formatLoraList(r.loras)}` : ''}, ${r.samplerClass}, guidance ${r.guidanceScale}${r.allowedSteps ? `, steps ${r.allowedSteps.join('/')}` : ''}`}>
            <input type="checkbox" data-testid={`row-${r.key}`} checked={rowSelected(r, selectedRows)} onChange={(e) => toggleRow(r.key, e.target.checked)} />
            {r.label}
          </label>
        ))}
      </fieldset>
      <fieldset className="picker" disabled={running}>
        <legend>Step counts</legend>
        {allCols.map((n) => (
          <label key={n} className="chip">
            <input type="checkbox" data-testid={`col-${n}`} checked={!selectedSteps || selectedSteps.includes(n)} onChange={(e) => toggleSteps(n, e.target.checked, allCols)} />
            {n}
          </label>
        ))}
      </fieldset>
      <div className="row">
        <button type="button" data-testid="compare-run" disabled={running || why !== null} onClick={() => void runComparison()}>
          Run comparison{why === null ? ` (${cellsToRun} images)` : ''}
        </button>
        <button type="button" data-testid="compare-stop" disabled={!running} onClick={stopComparison}>
          {status === 'stopping' ? 'Stopping…' : 'Stop'}
        </button>
        <CompareProgress />
      </div>
      {why && <p className="hint" data-testid="compare-why">{why}</p>}
      <CompareGrid />
      <EnlargedCell />
    </section>
  );
}

function CompareProgress() {
  const { cells, status, runInfo } = useCompareStore(useShallow((s) => ({ cells: s.cells, status: s.status, runInfo: s.runInfo })));
  const list = Object.values(cells).filter((c) => c.status !== 'not-allowed');
  if (!runInfo || list.length === 0) return null;
  const done = list.filter((c) => c.status === 'done').length;
  const errors = list.filter((c) => c.status === 'error').length;
  const secs = ((runInfo.finishedAt ?? performance.now()) - runInfo.startedAt) / 1000;
  return (
    <span className="compare-progress" role="status" data-testid="compare-progress" data-status={status} data-done={done} data-total={list.length}>
      {done}/{list.length} images{errors ? `, ${errors} failed` : ''} · {secs.toFixed(1)} s
      {status === 'stopped' ? ' · stopped' : status === 'done' ? ' · done' : ''}
    </span>
  );
}

function cellText(c: CellState | undefined): string {
  if (!c) return '';
  switch (c.status) {
    case 'queued':
      return 'queued';
    case 'running':
      return c.total ? `step ${c.step ?? 0}/${c.total}` : 'running';
    case 'stopped':
      return 'stopped';
    case 'error':
      return 'failed';
    case 'not-allowed':
      return 'n/a';
    default:
      return '';
  }
}

function CompareGrid() {
  const { runRows, runCols, cells, runInfo } = useCompareStore(useShallow((s) => ({ runRows: s.runRows, runCols: s.runCols, cells: s.cells, runInfo: s.runInfo })));
  if (!runInfo) return <p className="hint">The grid appears here when you run a comparison.</p>;
  return (
    <div className="grid-scroll">
      <table className="compare-grid" data-testid="compare-grid">
        <caption>
          “{runInfo.prompt}” · seed {runInfo.seed}
        </caption>
        <thead>
          <tr>
            <th scope="col">Sampler</th>
            {runCols.map((n) => (
              <th scope="col" key={n}>
                {n} step{n === 1 ? '' : 's'}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {runRows.map((r) => (
            <tr key={r.key}>
              <th scope="row">{r.label}</th>
              {runCols.map((n) => (
                <GridCell key={n} row={r} steps={n} cell={cells[cellKey(r.key, n)]} />
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function GridCell({ row, steps, cell }: { row: CompareRow; steps: number; cell: CellState | undefined }) {
  const key = cellKey(row.key, steps);
  const run = useAppStore((s) => selectRun(s, cell?.runId));
  const title =
    cell?.status === 'not-allowed'
      ? `${row.modelName} is not made for ${steps} steps (allowed: ${row.allowedSteps?.join(', ')})`
      : cell?.status === 'error'
        ? cell.error
        : undefined;
  return (
    <td className={`cell cell-${cell?.status ?? 'none'}`} data-testid="grid-cell" data-key={key} data-status={cell?.status ?? ''} data-ms={run ? run.result.timings.totalMs.toFixed(1) : ''} title={title}>
      {run ? (
        <button type="button" className="cell-button" onClick={() => useCompareStore.setState({ enlarged: key })} aria-label={`Enlarge ${row.label}, ${steps} steps`}>
          <RgbaCanvas image={run.result.image} label={`${row.label}, ${steps} steps`} />
          <span className="latency">
            {run.result.timings.totalMs.toFixed(0)} ms
            {typeof run.qualityScore === 'number' ? <span className="score" title="Evaluator: fraction of the prompt's attributes seen in the image"> · {Math.round(run.qualityScore * 100)}%</span> : null}
          </span>
        </button>
      ) : (
        <div className="cell-empty">{cellText(cell)}</div>
      )}
    </td>
  );
}

type Frame = { index: number; total: number; timestep: number; image: RgbaImage };

function EnlargedCell() {
  const enlarged = useCompareStore((s) => s.enlarged);
  const gridBusy = useCompareStore((s) => s.status === 'running' || s.status === 'stopping');
  const [frames, setFrames] = useState<Frame[]>([]);
  const [strip, setStrip] = useState<{ state: 'idle' | 'running' | 'done' | 'error'; message?: string }>({ state: 'idle' });
  const cancelRef = useRef<(() => void) | null>(null);
  useEffect(() => {
    setFrames([]);
    setStrip({ state: 'idle' });
    return () => {
      cancelRef.current?.();
      cancelRef.current = null;
    };
  }, [enlarged]);
  const cell = useCompareStore((s) => (s.enlarged ? s.cells[s.enlarged] : undefined));
  const row = useCompareStore((s) => s.runRows.find((r) => s.enlarged?.startsWith(`${r.key}@`)));
  useEffect(() => {
    if (!enlarged) return;
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape') useCompareStore.setState({ enlarged: null });
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [enlarged]);
  const run = useAppStore((s) => selectRun(s, cell?.runId));
  if (!enlarged || !run || !row) return null;
  const t = run.result.timings;
  const close = (): void => useCompareStore.setState({ enlarged: null });
  return (
    <div className="modal-backdrop" onClick={close}>
      <div className="modal" role="dialog" aria-modal="true" aria-label={`${row.label}, ${run.params.steps} steps`} data-testid="enlarged" onClick={(e) => e.stopPropagation()}>
        <RgbaCanvas image={run.result.image} label={`${row.label}, ${run.params.steps} steps`} className="big" />
        <div className="modal-side">
          <h3>
            {row.label} · {run.params.steps} step{run.params.steps === 1 ? '' : 's'}
          </h3>
          <p>
            {t.totalMs.toFixed(0)} ms on {run.provider === 'webgpu' ? 'WebGPU' : 'WASM'} · guidance {run.params.guidanceScale} ({run.result.guidanceMode}) · seed{' '}
            {run.params.seed}
          </p>
          <p className="hint">
            U-Net {t.unetMs.reduce((a, b) => a + b, 0).toFixed(0)} ms ({t.unetMs.length} calls) · VAE {t.vaeMs.toFixed(0)} ms · text encoder{' '}
            {t.embeddingCached ? 'cached' : `${t.textEncoderMs.toFixed(0)} ms`}
          </p>
          <div className="row wrap">
            <button
              type="button"
              data-testid="enlarged-steps"
              disabled={gridBusy || strip.state === 'running'}
              title={gridBusy ? 'Wait for the comparison to finish (or stop it) first' : 'Re-run this cell decoding the predicted clean image after every step'}
              onClick={() => {
                setFrames([]);
                setStrip({ state: 'running' });
                const job = previewCell(row, run, (f) => setFrames((fs) => [...fs, f]));
                cancelRef.current = job.cancel;
                job.done.then(
                  () => setStrip({ state: 'done' }),
                  (e: Error) => setStrip({ state: 'error', message: e.message }),
                );
              }}
            >
              {strip.state === 'running' ? 'Decoding steps…' : 'Show each step'}
            </button>
            <button type="button" data-testid="enlarged-export" onClick={() => void exportImage(run)}>
              Download PNG
            </button>
            <button type="button" onClick={close} autoFocus>
              Close
            </button>
          </div>
          {strip.state === 'error' && <p className="error">{strip.message}</p>}
          {frames.length > 0 && (
            <ol className="mini-strip" data-testid="enlarged-frames" data-frames={frames.length}>
              {frames.map((f) => (
                <li key={f.index}>
                  <RgbaCanvas image={f.image} label={`Step ${f.index + 1} of ${f.total}`} />
                  <span>{f.index + 1}</span>
                </li>
              ))}
            </ol>
          )}
        </div>
      </div>
    </div>
  );
}
