/**
 * Measured runs -> aligned chart data (uPlot wants one shared x array and one y array per series, null for gaps).
 * Runs are grouped by pipeline+sampler ("<modelId>:<SchedulerClass>", the grid's row key; a model with LoRAs is
 * "<modelId>+lora:<set>") and step count; repeated
 * measurements are summarised by their median, which a first (warm-up) run does not drag around.
 */
import { breakdownOf, CHART_STAGES, type StageBreakdown } from './records';
import type { QualityReport } from './quality';
import type { RunResult } from '../store';
import { poolIdFor } from '../lora/loraSet';
import { samplerLabelFor } from '../../export/metadata';

export interface LatencyGroup {
  key: string;
  label: string;
  /** steps -> medians */
  bySteps: Map<number, { totalMs: number; stages: StageBreakdown; n: number }>;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The group of a run: its model (with its LoRA set, lora/loraSet.poolIdFor) and the scheduler that ran. */
export function runKey(run: Pick<RunResult, 'modelId' | 'result'> & { params?: Pick<RunResult['params'], 'loras'> }): string {
  return `${poolIdFor(run.modelId, run.params?.loras)}:${run.result.schedulerClass}`;
}

/** Groups runs (optionally only those on one provider) by pipeline+sampler, in first-seen order unless `order` is given. */
export function latencyGroups(
  runs: readonly RunResult[],
  labelFor: (run: RunResult) => string,
  opts: { provider?: string; order?: readonly string[] } = {},
): LatencyGroup[] {
  const raw = new Map<string, { label: string; samples: Map<number, RunResult[]> }>();
  for (const run of runs) {
    if (opts.provider && run.provider !== opts.provider) continue;
    const key = runKey(run);
    let g = raw.get(key);
    if (!g) raw.set(key, (g = { label: labelFor(run), samples: new Map() }));
    const list = g.samples.get(run.params.steps) ?? [];
    list.push(run);
    g.samples.set(run.params.steps, list);
  }
  const groups = [...raw.entries()].map(([key, g]) => {
    const bySteps = new Map<number, { totalMs: number; stages: StageBreakdown; n: number }>();
    for (const [steps, list] of g.samples) {
      const parts = list.map((r) => breakdownOf(r.result.timings));
      const stages = Object.fromEntries(CHART_STAGES.map(([k]) => [k, median(parts.map((p) => p[k]))])) as unknown as StageBreakdown;
      bySteps.set(steps, { totalMs: median(list.map((r) => r.result.timings.totalMs)), stages, n: list.length });
    }
    return { key, label: g.label, bySteps };
  });
  if (opts.order) {
    const rank = (k: string): number => {
      const i = opts.order!.indexOf(k);
      return i < 0 ? Infinity : i;
    };
    groups.sort((a, b) => rank(a.key) - rank(b.key));
  }
  return groups;
}

export interface AlignedData {
  x: number[];
  series: Array<{ label: string; key: string; values: Array<number | null> }>;
}

/** Total latency per group on a shared, ascending step axis. */
export function alignLatency(groups: readonly LatencyGroup[]): AlignedData {
  const x = [...new Set(groups.flatMap((g) => [...g.bySteps.keys()]))].sort((a, b) => a - b);
  return {
    x,
    series: groups.map((g) => ({ key: g.key, label: g.label, values: x.map((s) => g.bySteps.get(s)?.totalMs ?? null) })),
  };
}

/** One group's per-stage medians on its own step axis (for the stacked breakdown). */
export function alignStages(group: LatencyGroup): AlignedData {
  const x = [...group.bySteps.keys()].sort((a, b) => a - b);
  return {
    x,
    series: CHART_STAGES.map(([k, label]) => ({ key: k, label, values: x.map((s) => group.bySteps.get(s)!.stages[k]) })),
  };
}

/** Running sums bottom-up, so the series can be drawn as stacked bands; gaps stay gaps. */
export function stack(series: ReadonlyArray<Array<number | null>>): Array<Array<number | null>> {
  const out: Array<Array<number | null>> = [];
  series.forEach((vals, i) => {
    out.push(vals.map((v, j) => (v === null ? null : v + (i > 0 ? (out[i - 1][j] ?? 0) : 0))));
  });
  return out;
}

/** Report series plus the app's own evaluator scores, on a shared step axis. */
export function alignQuality(
  report: QualityReport | null,
  scored: ReadonlyArray<{ key: string; label: string; points: Array<[number, number]> }>,
): AlignedData {
  const all = [
    ...(report?.series ?? []).map((s) => ({ ...s, label: `${s.label} (report)` })),
    ...scored.map((s) => ({ ...s, label: `${s.label} (scored here)` })),
  ];
  const x = [...new Set(all.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  return {
    x,
    series: all.map((s) => {
      const m = new Map(s.points);
      return { key: s.key, label: s.label, values: x.map((v) => m.get(v) ?? null) };
    }),
  };
}

/** Evaluator scores of this session's runs: mean score per pipeline+sampler and step count. */
export function scoredSeries(
  runs: readonly RunResult[],
  labelFor: (run: RunResult) => string,
): Array<{ key: string; label: string; points: Array<[number, number]> }> {
  const groups = new Map<string, { label: string; by: Map<number, number[]> }>();
  for (const r of runs) {
    if (typeof r.qualityScore !== 'number') continue;
    const key = runKey(r);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { label: labelFor(r), by: new Map() }));
    const list = g.by.get(r.params.steps) ?? [];
    list.push(r.qualityScore);
    g.by.set(r.params.steps, list);
  }
  return [...groups.entries()].map(([key, g]) => ({
    key,
    label: g.label,
    points: [...g.by.entries()].map(([s, v]) => [s, v.reduce((a, b) => a + b, 0) / v.length] as [number, number]).sort((a, b) => a[0] - b[0]),
  }));
}

/**
 * Series colours: 20 distinct hues first (every method in the report plus this session's runs fit), then golden-angle
 * hues, so no two series of a chart share a colour (the quality chart used to wrap a 10-colour palette: teacher and
 * teacher + style LoRA both blue).
 */
export const SERIES_COLORS: readonly string[] = [
  '#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d',
  '#1e3a8a', '#f87171', '#86efac', '#c084fc', '#7c2d12', '#67e8f9', '#a16207', '#f9a8d4', '#0f766e', '#000000',
];

/** The colour of the `i`-th series (0-based): see {@link SERIES_COLORS}. */
export function seriesColor(i: number): string {
  if (i < SERIES_COLORS.length) return SERIES_COLORS[i];
  const hue = Math.round(((i - SERIES_COLORS.length) * 137.508 + 20) % 360);
  return `hsl(${hue} 70% ${i % 2 ? 35 : 55}%)`;
}

/**
 * A run's label in the charts: its grid row label, else "<model> + <LoRAs> · <sampler>" (`modelNames`: model id ->
 * short name; `loraNames`: LoRA id -> display name, ids themselves otherwise). A run with the Ink style LoRA is no
 * longer labelled like the plain model, as its own latency series.
 */
export function runLabel(
  run: Pick<RunResult, 'rowLabel' | 'modelId' | 'modelName' | 'result'> & { params?: Pick<RunResult['params'], 'loras'> },
  modelNames: ReadonlyMap<string, string>,
  loraNames: ReadonlyMap<string, string> = new Map(),
): string {
  if (run.rowLabel) return run.rowLabel;
  const loras = (run.params?.loras ?? []).map((l) => `${loraNames.get(l.id) ?? l.id}${l.scale === 1 ? '' : ` ${l.scale}`}`);
  const model = modelNames.get(run.modelId) ?? run.modelName;
  return `${model}${loras.length ? ` + ${loras.join(' + ')}` : ''} · ${samplerLabelFor(run.result.schedulerClass)}`;
}

/**
 * The stage breakdown as one line when only one step count was measured (a stacked band chart over one x value
 * draws nothing): "4 steps: Text encoder 10.0 ms, U-Net 80.0 ms, ... (median)". Null with two or more step counts.
 */
export function singleStepBreakdown(a: AlignedData): string | null {
  if (a.x.length !== 1) return null;
  const steps = a.x[0];
  const parts = a.series.map((s) => `${s.label} ${(s.values[0] ?? 0).toFixed(1)} ms`);
  return `${steps} step${steps === 1 ? '' : 's'}: ${parts.join(', ')} (median).`;
}
