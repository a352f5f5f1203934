/**
 * Benchmark panel: the same measurement as `npm run bench` (src/app/bench/benchRunner.ts through the app's engine),
 * with a progress bar, a results table and a latency chart (uPlot). Rows arrive one by one while it runs.
 */
import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { getEngine } from '../engineBridge';
import { samplerLabel } from '../../schedulers';
import { runBenchmark, type BenchRow } from './benchRunner';
import { useBenchStore } from './benchStore';
import { defaultMatrix } from './matrix';
import { benchPipelines } from './pipelines';
import { fmt } from './stats';

let abort: AbortController | null = null;

export async function startBenchmark(): Promise<void> {
  const st = useBenchStore.getState();
  if (st.running) return;
  abort = new AbortController();
  useBenchStore.setState({ running: true, rows: [], error: null, progress: { done: 0, total: 1, label: 'finding pipelines' }, startedAt: Date.now(), finishedAt: null });
  try {
    const pipelines = await benchPipelines();
    const all = defaultMatrix(pipelines, { ddpm: false });
    const configs = st.scope === 'full' ? all : all.filter((c) => c.steps <= 4 && c.role !== 'teacher');
    if (!configs.length) throw new Error('No pipelines to benchmark: this build serves neither shipped models nor fixtures.');
    const rows = await runBenchmark(getEngine(), pipelines, configs, {
      provider: st.provider,
      runs: st.runs,
      warmup: 1,
      bare: true,
      signal: abort.signal,
      onProgress: (progress) => useBenchStore.setState({ progress }),
      onRow: (row) => useBenchStore.setState((s) => ({ rows: [...s.rows, row] })),
    });
    useBenchStore.setState({ rows });
  } catch (e) {
    if ((e as Error).name !== 'AbortError') useBenchStore.setState({ error: (e as Error).message });
  } finally {
    abort = null;
    useBenchStore.setState({ running: false, finishedAt: Date.now() });
  }
}

export function stopBenchmark(): void {
  abort?.abort(new DOMException('Benchmark stopped', 'AbortError'));
}

const primaryOf = (r: BenchRow) => r.loops.find((l) => l.loop === r.primary);

function BenchChart({ rows }: { rows: BenchRow[] }) {
  const box = useRef<HTMLDivElement>(null);
  const data = useMemo((): uPlot.AlignedData => {
    const ok = rows.filter((r) => r.loops.length);
    const x = ok.map((_, i) => i);
    const med = (r: BenchRow, loop: 'cpu' | 'gpu') => r.loops.find((l) => l.loop === loop)?.engine.median ?? null;
    return [x, ok.map((r) => med(r, 'cpu')), ok.map((r) => med(r, 'gpu')), ok.map((r) => r.bare?.median ?? null)];
  }, [rows]);
  const labels = useMemo(() => rows.filter((r) => r.loops.length).map((r) => `${samplerLabel(r.config.scheduler)} ${r.config.steps}`), [rows]);
  useEffect(() => {
    const el = box.current;
    if (!el || data[0].length === 0) return;
    // CPU-loop bars left of each row's tick, GPU-loop bars right of it; the bare loop as a dot.
    const left = uPlot.paths.bars!({ size: [0.35, 28], align: 1 });
    const right = uPlot.paths.bars!({ size: [0.35, 28], align: -1 });
    const opts: uPlot.Options = {
      width: Math.max(300, Math.min(760, el.clientWidth || 600)),
      height: 240,
      scales: { x: { time: false, range: (_u, lo, hi) => [lo - 0.6, hi + 0.6] }, y: { distr: 3 } },
      axes: [
        { values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? (labels[t] ?? '') : '')), gap: 4, size: 40 },
        { label: 'ms (log)', values: (_u, ticks) => ticks.map((t) => fmt(t)) },
      ],
      series: [
        { label: 'row', value: (_u, v) => (v === null ? '' : (labels[v] ?? '')) },
        { label: 'CPU loop', stroke: '#2563eb', fill: '#2563eb88', paths: left, points: { show: false }, value: (_u, v) => (v === null ? '–' : `${fmt(v)} ms`) },
        { label: 'GPU loop', stroke: '#16a34a', fill: '#16a34a88', paths: right, points: { show: false }, value: (_u, v) => (v === null ? '–' : `${fmt(v)} ms`) },
        { label: 'bare session.run', stroke: '#9ca3af', points: { show: true, size: 8, fill: '#9ca3af' }, paths: () => null, value: (_u, v) => (v === null ? '–' : `${fmt(v)} ms`) },
      ],
    };
    const plot = new uPlot(opts, data, el);
    return () => plot.destroy();
  }, [data, labels]);
  return <div ref={box} className="uplot-box" data-testid="bench-chart" />;
}

export function BenchPanel() {
  const s = useBenchStore();
  const pct = s.progress && s.progress.total > 0 ? Math.round((100 * s.progress.done) / s.progress.total) : 0;
  return (
    // Open on first visit: the tab holds nothing else, so a closed section looked empty.
    <details className="bench-panel" data-testid="bench-panel" open>
      <summary>Benchmark</summary>
      <p className="hint">
        Times the pipelines this build serves through the app's own engine: warm-up, then {s.runs} timed runs per row, median
        (min–max), the bare loop (only <code>session.run</code> calls) and the overhead ratio; on WebGPU the CPU loop and the
        GPU-resident loop with GPU readbacks per image. <code>npm run bench</code> runs the full table headless.
      </p>
      <div className="row">
        <label>
          Provider{' '}
          <select value={s.provider} disabled={s.running} onChange={(e) => useBenchStore.setState({ provider: e.target.value as 'wasm' | 'webgpu' })}>
            <option value="webgpu">WebGPU</option>
            <option value="wasm">WASM</option>
          </select>
        </label>
        <label>
          Rows{' '}
          <select value={s.scope} disabled={s.running} onChange={(e) => useBenchStore.setState({ scope: e.target.value as 'few' | 'full' })}>
            <option value="few">few-step (≤ 4 steps)</option>
            <option value="full">full table (teacher DDIM 50/25/10 too)</option>
          </select>
        </label>
        <label>
          Runs{' '}
          <input type="number" min={1} max={50} value={s.runs} disabled={s.running} onChange={(e) => useBenchStore.setState({ runs: Math.max(1, Math.min(50, Number(e.target.value) || 1)) })} />
        </label>
        <button type="button" data-testid="bench-run" disabled={s.running} onClick={() => void startBenchmark()}>
          Run benchmark
        </button>
        <button type="button" disabled={!s.running} onClick={stopBenchmark}>
          Stop
        </button>
      </div>
      {(s.running || s.progress) && (
        <div className="bench-progress">
          <progress data-testid="bench-progress" max={100} value={pct} />
          <span>
            {pct}% {s.progress?.label}
          </span>
        </div>
      )}
      {s.error && (
        <div className="error" role="alert">
          {s.error}
        </div>
      )}
      {s.rows.length > 0 && (
        <>
          <BenchChart rows={s.rows} />
          <table className="bench-table" data-testid="bench-table">
            <thead>
              <tr>
                <th>pipeline</th>
                <th>sampler</th>
                <th>steps</th>
                <th>median ms (min–max)</th>
                <th>ms/step</th>
                <th>speed-up</th>
                <th>quality</th>
                <th>bare ms</th>
                <th>overhead</th>
                <th>loop</th>
                <th>readbacks</th>
              </tr>
            </thead>
            <tbody>
              {s.rows.map((r) => {
                const l = primaryOf(r);
                return (
                  <tr key={r.config.key}>
                    <td title={r.providerReason}>{r.config.label}</td>
                    <td>{samplerLabel(r.config.scheduler)}</td>
                    <td>{r.config.steps}</td>
                    <td>{l ? `${fmt(l.engine.median)} (${fmt(l.engine.min)}–${fmt(l.engine.max)})` : (r.error ?? '–')}</td>
                    <td>{l ? fmt(l.msPerStep) : '–'}</td>
                    <td>{r.speedup === null ? '–' : `${r.speedup.toFixed(1)}×`}</td>
                    <td>{r.quality === null ? (r.fixture ? 'n/a' : '–') : r.quality.toFixed(3)}</td>
                    <td>{r.bare ? fmt(r.bare.median) : '–'}</td>
                    <td>{r.overhead === null ? '–' : r.overhead.toFixed(3)}</td>
                    <td title={l?.loopReason}>{r.primary}</td>
                    <td>{l?.readbacksPerImage ?? '–'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </details>
  );
}
