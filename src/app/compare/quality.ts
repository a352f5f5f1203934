/**
 * Quality numbers for the quality-vs-steps chart. Measured offline by training/evaluate.py and written by
 * training/report.py to models/report.json (the rows behind models/REPORT.md):
 *   { pipeline: "fewstep-teacher" | "fewstep-progressive-8" | ... | "real", scheduler: "DDIMScheduler" | null, steps,
 *     guidance_scale, prompt_accuracy, prompt_accuracy_partial?, prompt_accuracy_heldout, attribute_accuracy,
 *     frechet_distance, method?, ... }
 * The chart draws one curve per method: a pipeline with its sampler (teacher DDIM, teacher DDPM, LCM, Turbo, ...),
 * where the per-step-count students of one method ("fewstep-progressive-1/2/4/8", each measured at its own step
 * count) form one curve. Unknown pipelines get a curve of their own, named by their `method` field or their id.
 */
import { samplerLabelFor } from '../../export/metadata';

export interface ReportRow {
  pipeline: string;
  scheduler: string | null;
  steps: number | null;
  guidanceScale: number | null;
  /** Prompt accuracy on full captions, 0..1: the chart's y. (`prompt_accuracy_partial`, on partial captions, is not charted.) */
  promptAccuracy: number | null;
  attributeAccuracy: number | null;
  frechet: number | null;
  /** The method the row measures ("direct distillation"), when report.json names it. */
  method: string | null;
}

export interface QualitySeries {
  /** "<method family>:<scheduler>", e.g. "fewstep-progressive:DDIMScheduler" or "fewstep-lcm:LCMScheduler". */
  key: string;
  label: string;
  /** [steps, prompt accuracy 0..1], ascending steps: only the step counts the method was measured at. */
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
    // The LoRA section's reference rows (real / VAE-reconstructed ink renderings, training/evaluate_lora.py) measure
    // the style evaluation, not a sampler: they are not ceilings of the quality chart.
    if (Array.isArray(o.loras) && typeof o.scheduler !== 'string') continue;
    out.push({
      pipeline: o.pipeline,
      scheduler: typeof o.scheduler === 'string' ? o.scheduler : null,
      steps: numOrNull(o.steps),
      guidanceScale: numOrNull(o.guidance_scale),
      promptAccuracy: numOrNull(o.prompt_accuracy),
      attributeAccuracy: numOrNull(o.attribute_accuracy),
      frechet: numOrNull(o.frechet_distance),
      method: typeof o.method === 'string' && o.method.trim() ? o.method.trim() : null,
    });
  }
  return out;
}

/**
 * The curve a row belongs to: its pipeline id without a trailing "-<n>" equal to its step count, so the students
 * distilled for one step count each ("fewstep-progressive-4" measured at 4 steps) join one curve
 * ("fewstep-progressive"). Any other id is its own family.
 */
export function methodFamily(r: Pick<ReportRow, 'pipeline' | 'steps'>): string {
  const m = /^(.+)-(\d+)$/.exec(r.pipeline);
  return m && r.steps !== null && Number(m[2]) === r.steps ? m[1] : r.pipeline;
}

/** Names of the shipped methods (by family id without "fewstep-"); other ids are spelled out from the id. */
const METHOD_NAMES: Record<string, string> = {
  teacher: 'Teacher',
  progressive: 'Progressive distillation',
  lcm: 'LCM',
  turbo: 'Turbo',
  direct: 'Direct distillation',
  ict: 'Consistency training (iCT)',
  real: 'Real',
  'vae-reconstruction': 'VAE reconstruction',
};

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** "fewstep-progressive" -> "Progressive distillation"; an unknown "fewstep-my-new_method" -> "My new method". */
export function familyLabel(family: string): string {
  const id = family.replace(/^fewstep-/, '');
  return METHOD_NAMES[id] ?? capitalize(id.replace(/[-_]+/g, ' ').trim());
}

/**
 * One series per method (family + sampler) with prompt accuracy vs steps, labelled "<method> · <sampler>" from the
 * rows' `method` when they have one, else from the id. When a (method, sampler, steps) was evaluated at several
 * guidance scales, the best one is kept: the chart answers "what can this method reach at N steps".
 */
export function qualitySeries(rows: readonly ReportRow[]): QualityReport {
  const byKey = new Map<string, { family: string; scheduler: string; method: string | null; best: Map<number, number> }>();
  const references: Array<{ label: string; value: number }> = [];
  for (const r of rows) {
    if (r.promptAccuracy === null) continue;
    if (r.steps === null || r.scheduler === null) {
      references.push({ label: r.method ? capitalize(r.method) : familyLabel(r.pipeline), value: r.promptAccuracy });
      continue;
    }
    const family = methodFamily(r);
    const key = `${family}:${r.scheduler}`;
    let s = byKey.get(key);
    if (!s) byKey.set(key, (s = { family, scheduler: r.scheduler, method: null, best: new Map() }));
    s.method ??= r.method;
    s.best.set(r.steps, Math.max(s.best.get(r.steps) ?? -Infinity, r.promptAccuracy));
  }
  const series = [...byKey.entries()].map(([key, s]) => ({
    key,
    label: `${s.method ? capitalize(s.method) : familyLabel(s.family)} · ${samplerLabelFor(s.scheduler)}`,
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
