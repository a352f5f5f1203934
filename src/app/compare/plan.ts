/**
 * What a comparison runs: rows (a pipeline with one sampler, optionally with a LoRA set merged in) x columns (step
 * counts). Pure functions, so the ordering, labels and "which cells are allowed" rules are unit-tested without a
 * browser.
 */
import { GENERATE_LIMITS, type ModelRef, type PipelineDefaults } from '../../engine';
import { samplerLabelFor } from '../../export/metadata';
import { modelRefOf, type ModelChoice } from '../models';
import { shortLoraLabel, type ShippedLora } from '../lora/loraIndex';
import { formatLoraList, poolIdFor, sameLoraSet, type LoraSetting } from '../lora/loraSet';

/** The step counts the issue asks for; a row only runs the ones its pipeline allows. */
export const DEFAULT_COMPARE_STEPS: readonly number[] = [1, 2, 4, 8, 16, 32, 50];

export interface CompareRow {
  /**
   * Stable id used in the URL (`cm=`) and as the cell key prefix: "<modelId>:<SchedulerClass>", with a LoRA set
   * "<modelId>+lora:<a:0.8+b:1>:<SchedulerClass>" (its pool id, lora/loraSet.poolIdFor).
   */
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
  /** LoRAs the runner merges into the model before the row (empty: the base model). */
  loras: LoraSetting[];
  /** The engine pool id the row loads and generates with (the model id when it has no LoRAs). */
  poolId: string;
}

/** A base model + LoRA set row to add after the model's own rows (see {@link loraRowSpecs}). */
export interface LoraRowSpec {
  modelId: string;
  loras: LoraSetting[];
  /** What the set is called in the row label: "LCM-LoRA", "Ink style + LCM-LoRA". */
  label: string;
  /** Scheduler class override ('' = the model's own). */
  sampler: string;
  /** Guidance for the row; null = the model's default. */
  guidanceScale: number | null;
  /** Step counts the set is made for; null = the model's. */
  allowedSteps: number[] | null;
}

const stepsIn = ([lo, hi]: [number, number]): number[] => Array.from({ length: Math.max(0, Math.floor(hi) - Math.ceil(lo) + 1) }, (_, i) => Math.ceil(lo) + i);

/**
 * LoRA rows for the grid, per base model the shipped LoRAs name: each LCM-LoRA with the LCM sampler at its guidance
 * (its step range, e.g. 1/2/4/8), each style LoRA with the model's own sampler, each style + LCM-LoRA pair with LCM;
 * and the control panel's applied set (`current`) when it is none of these (picked files included).
 */
export function loraRowSpecs(shipped: readonly ShippedLora[], current?: { modelId: string; loras: readonly LoraSetting[] }): LoraRowSpec[] {
  const out: LoraRowSpec[] = [];
  const lcmSpec = (modelId: string, loras: LoraSetting[], label: string, lcm: ShippedLora): LoraRowSpec => ({
    modelId,
    loras,
    label,
    sampler: lcm.recommended!.sampler,
    guidanceScale: lcm.recommended!.guidance_scale,
    allowedSteps: stepsIn(lcm.recommended!.stepRange),
  });
  const bases = [...new Set(shipped.flatMap((l) => l.base))];
  for (const modelId of bases) {
    const fit = shipped.filter((l) => l.base.includes(modelId));
    const lcms = fit.filter((l) => l.kind === 'lcm' && l.recommended);
    const styles = fit.filter((l) => l.kind !== 'lcm');
    for (const l of lcms) out.push(lcmSpec(modelId, [{ id: l.id, scale: l.defaultScale }], shortLoraLabel(l), l));
    for (const st of styles) {
      out.push({ modelId, loras: [{ id: st.id, scale: st.defaultScale }], label: st.name, sampler: '', guidanceScale: null, allowedSteps: null });
      for (const l of lcms) out.push(lcmSpec(modelId, [{ id: st.id, scale: st.defaultScale }, { id: l.id, scale: l.defaultScale }], `${st.name} + ${shortLoraLabel(l)}`, l));
    }
  }
  if (current && current.loras.length && !out.some((o) => o.modelId === current.modelId && sameLoraSet(o.loras, current.loras))) {
    const lcm = current.loras.map((c) => shipped.find((l) => l.id === c.id)).find((l) => l?.kind === 'lcm' && l.recommended);
    const loras = [...current.loras];
    const label = `LoRA ${formatLoraList(loras)}`;
    out.push(lcm ? lcmSpec(current.modelId, loras, label, lcm) : { modelId: current.modelId, loras, label, sampler: '', guidanceScale: null, allowedSteps: null });
  }
  return out;
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

/**
 * The model's name for grid rows and charts: its display name as the model picker shows it, without the trailing
 * "(…)" explanation ("Fewstep LCM (latent consistency distillation)" -> "Fewstep LCM") when that fits in 28 characters;
 * else, for shipped models, from the id ("fewstep-progressive-8" -> "Progressive 8"); fixtures "Fixture tiny-lcm";
 * other long names cut to 28 characters.
 */
export function shortModelLabel(choice: Pick<ModelChoice, 'id' | 'name' | 'kind'>): string {
  const fixture = /^fixture-(.+)$/.exec(choice.id);
  if (fixture) return `Fixture ${fixture[1]}`;
  const plain = choice.name.replace(/\s*\([^()]*\)\s*$/, '').trim();
  if (plain && plain !== choice.id && plain.length <= 28) return plain;
  const shipped = /^fewstep-(.+)$/.exec(choice.id);
  if (shipped) {
    const rest = shipped[1].replace(/^progressive-/, 'progressive ');
    return rest.charAt(0).toUpperCase() + rest.slice(1);
  }
  return choice.name.length > 28 ? `${choice.name.slice(0, 27)}…` : choice.name;
}

/**
 * One row per model with its own sampler; a DDIM model (the teacher, not a progressive student) also gets a DDPM
 * row, the ancestral sampler it was trained with, so the grid shows what the deterministic sampler buys at low
 * step counts. `loraRows` add base + LoRA set rows after their model's (a spec whose model is not offered is left out).
 */
export function buildRows(models: readonly ModelWithDefaults[], loraRows: readonly LoraRowSpec[] = []): CompareRow[] {
  const sorted = [...models].sort((a, b) => modelRank(a.choice.id) - modelRank(b.choice.id));
  const rows: CompareRow[] = [];
  for (const { choice, defaults } of sorted) {
    const base = shortModelLabel(choice);
    const own = defaults.sampler || 'DDIMScheduler';
    const add = (samplerClass: string, override: string, lora?: LoraRowSpec): void => {
      const loras = lora?.loras ?? [];
      const poolId = poolIdFor(choice.id, loras);
      rows.push({
        key: `${poolId}:${samplerClass}`,
        label: `${base}${lora ? ` + ${lora.label}` : ''} · ${samplerLabelFor(samplerClass)}`,
        modelId: choice.id,
        modelName: choice.name,
        ref: modelRefOf(choice),
        sampler: override,
        samplerClass,
        guidanceScale: lora?.guidanceScale ?? defaults.guidanceScale,
        allowedSteps: lora?.allowedSteps ?? defaults.allowedSteps,
        loras,
        poolId,
      });
    };
    add(own, '');
    // Progressive students are distilled for DDIM at their own step count; DDPM there says nothing.
    if (own === 'DDIMScheduler' && !/progressive/.test(choice.id)) add('DDPMScheduler', 'DDPMScheduler');
    // Base + LoRA set rows right after the base model's own (e.g. "Fewstep teacher + LCM-LoRA · LCM" next to "Fewstep teacher · DDIM").
    for (const spec of loraRows) if (spec.modelId === choice.id) add(spec.sampler || own, spec.sampler, spec);
  }
  return rows;
}

/**
 * Whether a row is ticked: the user's pick (`selected`, e.g. from `cm=`), else every row without LoRAs (a LoRA row
 * merges its set into a fresh copy of the model, so it is opt-in).
 */
export function rowSelected(row: Pick<CompareRow, 'key' | 'loras'>, selected: readonly string[] | null): boolean {
  return selected ? selected.includes(row.key) : row.loras.length === 0;
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
