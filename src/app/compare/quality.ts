/**
 * Quality numbers for the quality-vs-steps chart. Measured offline by training/evaluate.py and written by
 * training/report.py to models/report.json (the rows behind models/REPORT.md):
 *   { pipeline: "teacher" | "progressive-8" | ... | "real", scheduler: "DDIMScheduler" | null, steps, guidance_scale,
 *     prompt_accuracy, prompt_accuracy_heldout, attribute_accuracy, frechet_distance, ... }
 */
import { samplerLabelFor } from '../../export/metadata';

export interface ReportRow {
  pipeline: string;
  scheduler: string | null;
  steps: number | null;
  guidanceScale: number | null;
  promptAccuracy: number | null;
  attributeAccuracy: number | null;
  frechet: number | null;
}

export interface QualitySeries {
  /** "<pipeline>:<scheduler>", comparable with the grid's row keys once prefixed with "fewstep-". */
  key: string;
  label: string;
  /** [steps, prompt accuracy 0..1], ascending steps. */
  points: Array<[number, number]>;
}

export interface QualityReport {
  series: QualitySeries[];
  /** Rows with no sampler (real images, VAE reconstructions): the ceiling the samplers are measured against. */
  references: Array<{ label: string; value: number }>;
}

const numOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Tolerant parse of report.json: unknown fields ignored, rows without a pipeline dropped. */
export function parseReport(json: unknown): ReportRow[] {
  const list = Array.isArray(json) ? json : Array.isArray((json as { rows?: unknown })?.rows) ? (json as { rows: unknown[] }).rows : [];
  const out: ReportRow[] = [];
  for (const r of list) {
    if (typeof r !== 'object' || r === null) continue;
    const o = r as Record<string, unknown>;
    if (typeof o.pipeline !== 'string') continue;
    out.push({
      pipeline: o.pipeline,
      scheduler: typeof o.scheduler === 'string' ? o.scheduler : null,
      steps: numOrNull(o.steps),
      guidanceScale: numOrNull(o.guidance_scale),
      promptAccuracy: numOrNull(o.prompt_accuracy),
      attributeAccuracy: numOrNull(o.attribute_accuracy),
      frechet: numOrNull(o.frechet_distance),
    });
  }
  return out;
}

function pipelineLabel(p: string): string {
  // report.json names shipped pipelines by model id ("fewstep-progressive-8"); the app's labels drop the prefix.
  const s = p.replace(/^fewstep-/, '').replace(/^progressive-/, 'progressive ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * One series per pipeline+sampler with prompt accuracy vs steps. When a (pipeline, sampler, steps) was evaluated at
 * several guidance scales, the best one is kept: the chart answers "what can this sampler reach at N steps".
 */
export function qualitySeries(rows: readonly ReportRow[]): QualityReport {
  const byKey = new Map<string, { label: string; best: Map<number, number> }>();
  const references: Array<{ label: string; value: number }> = [];
  for (const r of rows) {
    if (r.promptAccuracy === null) continue;
    if (r.steps === null || r.scheduler === null) {
      references.push({ label: pipelineLabel(r.pipeline), value: r.promptAccuracy });
      continue;
    }
    const key = `${r.pipeline}:${r.scheduler}`;
    let s = byKey.get(key);
    if (!s) byKey.set(key, (s = { label: `${pipelineLabel(r.pipeline)} · ${samplerLabelFor(r.scheduler)}`, best: new Map() }));
    s.best.set(r.steps, Math.max(s.best.get(r.steps) ?? -Infinity, r.promptAccuracy));
  }
  const series = [...byKey.entries()].map(([key, s]) => ({
    key,
    label: s.label,
    points: [...s.best.entries()].sort((a, b) => a[0] - b[0]) as Array<[number, number]>,
  }));
  return { series, references };
}

export async function loadReport(url: string, fetcher: typeof fetch = fetch): Promise<QualityReport | null> {
  try {
    const r = await fetcher(url);
    if (!r.ok || !(r.headers.get('content-type') ?? '').includes('json')) return null;
    const rows = parseReport(await r.json());
    return rows.length ? qualitySeries(rows) : null;
  } catch {
    return null;
  }
}
