/**
 * What a comparison runs: rows (a pipeline with one sampler) x columns (step counts). Pure functions, so the
 * ordering, labels and "which cells are allowed" rules are unit-tested without a browser.
 */
import { GENERATE_LIMITS, type ModelRef, type PipelineDefaults } from '../../engine';
import { samplerLabelFor } from '../../export/metadata';
import { modelRefOf, type ModelChoice } from '../models';

/** The step counts the issue asks for; a row only runs the ones its pipeline allows. */
export const DEFAULT_COMPARE_STEPS: readonly number[] = [1, 2, 4, 8, 16, 32, 50];

export interface CompareRow {
  /** Stable id used in the URL (`cm=`) and as the cell key prefix: "<modelId>:<SchedulerClass>". */
  key: string;
  /** Short label for the grid, charts and exported grid, e.g. "Teacher · DDPM". */
  label: string;
  modelId: string;
  modelName: string;
  /** How the engine loads this row's pipeline (shipped folder, download cache, picked folder, custom URL). */
  ref: ModelRef;
  /** Scheduler class override sent with each generation ('' = the model's own). */
  sampler: string;
  /** The scheduler class that actually runs. */
  samplerClass: string;
  guidanceScale: number;
  /** Step counts the pipeline was trained/tested for; null = any. */
  allowedSteps: number[] | null;
}

export interface ModelWithDefaults {
  choice: ModelChoice;
  defaults: PipelineDefaults;
}

/** Issue order: teacher, progressive students (8 -> 1), LCM, Turbo, then anything else (real or fixture models). */
export function modelRank(id: string): number {
  const m = /^fewstep-(teacher|progressive-(\d+)|lcm|turbo|direct|ict)$/.exec(id);
  if (!m) return 100;
  if (m[1] === 'teacher') return 0;
  if (m[2]) return 10 + (64 - Number(m[2]));
  return { lcm: 80, turbo: 90, direct: 92, ict: 95 }[m[1]] ?? 100;
}

/** "fewstep-progressive-8" -> "Progressive 8", "fixture-tiny-lcm" -> "Fixture tiny-lcm"; other names as given. */
export function shortModelLabel(choice: Pick<ModelChoice, 'id' | 'name' | 'kind'>): string {
  const shipped = /^fewstep-(.+)$/.exec(choice.id);
  if (shipped) {
    const rest = shipped[1].replace(/^progressive-/, 'progressive ');
    return rest.charAt(0).toUpperCase() + rest.slice(1);
  }
  const fixture = /^fixture-(.+)$/.exec(choice.id);
  if (fixture) return `Fixture ${fixture[1]}`;
  return choice.name.length > 28 ? `${choice.name.slice(0, 27)}…` : choice.name;
}

/**
 * One row per model with its own sampler; a DDIM model (the teacher, not a progressive student) also gets a DDPM
 * row, the ancestral sampler it was trained with, so the grid shows what the deterministic sampler buys at low
 * step counts.
 */
export function buildRows(models: readonly ModelWithDefaults[]): CompareRow[] {
  const sorted = [...models].sort((a, b) => modelRank(a.choice.id) - modelRank(b.choice.id));
  const rows: CompareRow[] = [];
  for (const { choice, defaults } of sorted) {
    const base = shortModelLabel(choice);
    const own = defaults.sampler || 'DDIMScheduler';
    const add = (samplerClass: string, override: string): void => {
      rows.push({
        key: `${choice.id}:${samplerClass}`,
        label: `${base} · ${samplerLabelFor(samplerClass)}`,
        modelId: choice.id,
        modelName: choice.name,
        ref: modelRefOf(choice),
        sampler: override,
        samplerClass,
        guidanceScale: defaults.guidanceScale,
        allowedSteps: defaults.allowedSteps,
      });
    };
    add(own, '');
    // Progressive students are distilled for DDIM at their own step count; DDPM there says nothing.
    if (own === 'DDIMScheduler' && !/progressive/.test(choice.id)) add('DDPMScheduler', 'DDPMScheduler');
  }
  return rows;
}

/** Whether a row runs at this step count. */
export function cellAllowed(row: Pick<CompareRow, 'allowedSteps'>, steps: number): boolean {
  return row.allowedSteps === null ? steps >= GENERATE_LIMITS.minSteps && steps <= GENERATE_LIMITS.maxSteps : row.allowedSteps.includes(steps);
}

/** Columns: the requested step counts (default 1..50) that at least one of the rows allows, ascending. */
export function buildColumns(rows: readonly CompareRow[], requested: readonly number[] = DEFAULT_COMPARE_STEPS): number[] {
  const wanted = [...new Set(requested)].filter((n) => Number.isInteger(n) && n >= 1).sort((a, b) => a - b);
  if (rows.length === 0) return wanted;
  return wanted.filter((n) => rows.some((r) => cellAllowed(r, n)));
}

export function cellKey(rowKey: string, steps: number): string {
  return `${rowKey}@${steps}`;
}

/** Run order: row by row (one model load per row, same seed so the row shares its initial noise), fewest steps first. */
export function runOrder(rows: readonly CompareRow[], cols: readonly number[]): Array<{ row: CompareRow; steps: number }> {
  const out: Array<{ row: CompareRow; steps: number }> = [];
  for (const row of rows) for (const steps of cols) if (cellAllowed(row, steps)) out.push({ row, steps });
  return out;
}

/** Step counts the slider offers when a model does not list its allowed ones. */
const ANY_STEPS = Array.from({ length: 50 }, (_, i) => i + 1);

/** The positions the steps slider snaps to: the model's allowed step counts, plus the current value if off-list. */
export function sliderPositions(allowed: readonly number[] | null, current: number): number[] {
  const base = allowed && allowed.length ? allowed : ANY_STEPS;
  return [...new Set([...base, current])].filter((n) => Number.isInteger(n) && n >= 1).sort((a, b) => a - b);
}
