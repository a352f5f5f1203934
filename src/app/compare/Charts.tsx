import { useEffect, useMemo, useState } from 'react';
import type uPlot from 'uplot';
import { useAppStore, type RunResult } from '../store';
import { alignLatency, alignQuality, alignStages, latencyGroups, runLabel, scoredSeries, seriesColor, singleStepBreakdown, stack } from './chartData';
import { useLoraStore } from '../lora/loraStore';
import { useCompareStore } from './compareStore';
import { shortModelLabel } from './plan';
import { loadReport, type QualityReport } from './quality';
import { evaluatorAvailable } from './scoring';
import { UPlotChart } from './UPlotChart';

const STAGE_COLORS = ['#a78bfa', '#2563eb', '#f59e0b', '#10b981', '#9ca3af'];
const BASE = import.meta.env.BASE_URL;

const stepsAxis: uPlot.Axis = { label: 'steps', values: (_u, ticks) => ticks.map((t) => String(Math.round(t))) };
const stepsScale: uPlot.Scale = { time: false, distr: 3, log: 2 };
const fmtMs = (v: number | null): string => (v === null || v === undefined ? '–' : `${v.toFixed(1)} ms`);

/** Latency vs steps per sampler, the per-stage breakdown of one sampler, and quality vs steps. */
export function Charts() {
  const runs = useAppStore((s) => s.runs);
  const models = useAppStore((s) => s.models);
  const rowOrder = useCompareStore((s) => s.rows);
  const providers = useMemo(() => [...new Set(runs.map((r) => r.provider))], [runs]);
  const [provider, setProvider] = useState<string>('');
  const shownProvider = provider && providers.includes(provider) ? provider : (runs[runs.length - 1]?.provider ?? '');
  const shippedLoras = useLoraStore((s) => s.shipped);
  const labelFor = useMemo(() => {
    const names = new Map(models.map((m) => [m.id, shortModelLabel(m)]));
    const loraNames = new Map(shippedLoras.map((l) => [l.id, l.name]));
    return (r: RunResult): string => runLabel(r, names, loraNames);
  }, [models, shippedLoras]);
  const groups = useMemo(
    () => latencyGroups(runs, labelFor, { provider: shownProvider, order: rowOrder.map((r) => r.key) }),
    [runs, labelFor, shownProvider, rowOrder],
  );
  const [stageKey, setStageKey] = useState('');
  const stageGroup = groups.find((g) => g.key === stageKey) ?? groups[0];

  const latency = useMemo(() => {
    const a = alignLatency(groups);
    const data = [a.x, ...a.series.map((s) => s.values)] as unknown as uPlot.AlignedData;
    const options: Omit<uPlot.Options, 'width'> = {
      title: `Latency vs steps (median, ${shownProvider === 'webgpu' ? 'WebGPU' : 'WASM'})`,
      height: 280,
      scales: { x: stepsScale, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] } },
      axes: [stepsAxis, { label: 'ms', size: 60 }],
      series: [
        { label: 'steps', value: (_u, v) => (v === null ? '–' : String(v)) },
        ...a.series.map((s, i) => ({ label: s.label, stroke: seriesColor(i), width: 2, spanGaps: true, points: { size: 6 }, value: (_u: uPlot, v: number | null) => fmtMs(v) })),
      ],
    };
    return { data, options, n: a.x.length };
  }, [groups, shownProvider]);

  const stages = useMemo(() => {
    if (!stageGroup) return null;
    const a = alignStages(stageGroup);
    const single = singleStepBreakdown(a);
    const raw = a.series.map((s) => s.values);
    const cum = stack(raw);
    // Draw the top band first: each series fills down to 0, the next (smaller) one paints over it.
    const order = a.series.map((_, i) => i).reverse();
    const data = [a.x, ...order.map((i) => cum[i])] as unknown as uPlot.AlignedData;
    const options: Omit<uPlot.Options, 'width'> = {
      title: `Where the time goes: ${stageGroup.label}`,
      height: 260,
      scales: { x: stepsScale, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] } },
      axes: [stepsAxis, { label: 'ms (stacked)', size: 60 }],
      series: [
        { label: 'steps', value: (_u, v) => (v === null ? '–' : String(v)) },
        ...order.map((i) => ({
          label: a.series[i].label,
          stroke: STAGE_COLORS[i],
          fill: `${STAGE_COLORS[i]}cc`,
          width: 1,
          points: { show: false },
          // The legend shows the stage's own time, not the running sum the band is drawn at.
          value: (_u: uPlot, _v: number | null, _s: number, idx: number | null) => (idx === null ? '–' : fmtMs(raw[i][idx])),
        })),
      ],
    };
    return { data, options, single };
  }, [stageGroup]);

  return (
    <section className="charts" aria-labelledby="charts-title">
      <h2 id="charts-title">Cost and quality</h2>
      {runs.length === 0 ? (
        <p className="hint" data-testid="charts-empty">
          Latency charts fill in from measured runs: move the step slider or run the comparison.
        </p>
      ) : (
        <>
          <div className="row chart-controls">
            {providers.length > 1 && (
              <label>
                Provider{' '}
                <select value={shownProvider} onChange={(e) => setProvider(e.target.value)}>
                  {providers.map((p) => (
                    <option key={p} value={p}>
                      {p === 'webgpu' ? 'WebGPU' : 'WASM'}
                    </option>
                  ))}
                </select>
              </label>
            )}
            <span className="hint">Hover a chart to read its values. First runs include warm-up; medians are shown.</span>
          </div>
          <UPlotChart options={latency.options} data={latency.data} testId="latency-chart" />
          {stages && (
            <>
              <label className="chart-pick">
                Breakdown for{' '}
                <select data-testid="breakdown-pick" value={stageGroup!.key} onChange={(e) => setStageKey(e.target.value)}>
                  {groups.map((g) => (
                    <option key={g.key} value={g.key}>
                      {g.label}
                    </option>
                  ))}
                </select>
              </label>
              {stages.single ? (
                <p className="hint" data-testid="breakdown-single">
                  Where the time goes, {stageGroup!.label}: {stages.single} Only one step count measured: move the step slider
                  or run the comparison at other step counts to draw the breakdown chart.
                </p>
              ) : (
                <UPlotChart options={stages.options} data={stages.data} testId="breakdown-chart" />
              )}
            </>
          )}
        </>
      )}
      <QualityChart labelFor={labelFor} />
    </section>
  );
}

function QualityChart({ labelFor }: { labelFor: (r: RunResult) => string }) {
  const [report, setReport] = useState<QualityReport | null | undefined>(undefined);
  const runs = useAppStore((s) => s.runs);
  const evaluator = useCompareStore((s) => s.evaluator);
  const evaluatorError = useCompareStore((s) => s.evaluatorError);
  const unscorable = useCompareStore((s) => s.unscorablePrompt);
  useEffect(() => {
    let live = true;
    void loadReport(`${BASE}models/report.json`).then((r) => live && setReport(r));
    void evaluatorAvailable();
    return () => {
      live = false;
    };
  }, []);
  const scored = useMemo(() => scoredSeries(runs, labelFor), [runs, labelFor]);
  const chart = useMemo(() => {
    if ((!report || report.series.length === 0) && scored.length === 0) return null;
    const a = alignQuality(report ?? null, scored);
    const reportCount = report?.series.length ?? 0;
    const data = [a.x, ...a.series.map((s) => s.values)] as unknown as uPlot.AlignedData;
    const options: Omit<uPlot.Options, 'width'> = {
      title: 'Quality vs steps (evaluator: prompt accuracy in the report, attribute accuracy here)',
      height: 280,
      scales: { x: stepsScale, y: { range: [0, 1] } },
      axes: [stepsAxis, { label: 'accuracy', size: 60, values: (_u, t) => t.map((v) => `${Math.round(v * 100)}%`) }],
      series: [
        { label: 'steps', value: (_u, v) => (v === null ? '–' : String(v)) },
        // One curve per method, drawn through the step counts it was measured at (spanGaps skips the others'),
        // with its points always shown: a 1-step method is a single point.
        ...a.series.map((s, i) => ({
          label: s.label,
          stroke: seriesColor(i),
          width: 2,
          spanGaps: true,
          points: { show: true, size: 7 },
          ...(i >= reportCount ? { dash: [6, 4] } : {}),
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)}%`),
        })),
      ],
    };
    return { data, options };
  }, [report, scored]);
  return (
    <div className="quality" data-testid="quality">
      {chart ? (
        <>
          <UPlotChart options={chart.options} data={chart.data} testId="quality-chart" />
          {report && report.references.length > 0 && (
            <p className="hint">
              Reference: {report.references.map((r) => `${r.label} ${(r.value * 100).toFixed(1)}%`).join(' · ')} (from models/REPORT.md).
            </p>
          )}
        </>
      ) : null}
      <p className="hint" data-testid="quality-note">
        {report === undefined
          ? 'Looking for quality numbers…'
          : report === null
            ? 'No models/report.json in this build (the numbers behind models/REPORT.md). '
            : 'Report: models/report.json, measured offline on the exported weights over many prompts: one curve per method at the step counts it was measured at (best guidance per point; the progressive students, one per step count, form one curve). '}
        {evaluator === 'available'
          ? scored.length
            ? 'Scored here: the in-browser evaluator checks each grid image against the attributes its prompt names (one image per point, so expect noise).'
            : 'The in-browser evaluator scores each grid image; run the comparison with a prompt from the training grammar (e.g. “a small red circle on the left on a black background”).'
          : evaluator === 'failed'
            ? `In-browser scores unavailable: the evaluator failed (${evaluatorError ?? 'unknown error'}).`
            : evaluator === 'missing'
              ? 'In-browser scores unavailable: models/evaluator/ is not in this build, so images generated here cannot be scored.'
              : ''}
        {evaluator === 'available' && unscorable ? ` The prompt “${unscorable}” is outside the evaluator's grammar, so its images are not scored.` : ''}
      </p>
    </div>
  );
}
