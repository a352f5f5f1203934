/**
 * Meaningful, filesystem-safe download names, e.g.
 *   fewstep_turbo_euler_1step_seed42_a-red-circle.png
 *   fewstep-grid_seed42_a-red-circle.png
 *   fewstep-runs_2026-11-25T20-10.csv
 */
import { samplerLabelFor } from './metadata';

export interface SlugOptions {
  /** Maximum length (default 48). Cut at a '-' boundary when possible. */
  maxLength?: number;
  /** Returned when nothing usable remains (default "untitled"). */
  fallback?: string;
}

/** Lower-case ASCII slug: letters and digits joined by single '-'; accents are folded. */
export function slugify(text: string, opts: SlugOptions = {}): string {
  const max = Math.max(1, opts.maxLength ?? 48);
  const fallback = opts.fallback ?? 'untitled';
  let s = String(text ?? '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (s.length > max) {
    const cut = s.slice(0, max + 1);
    const dash = cut.lastIndexOf('-');
    s = (dash >= Math.floor(max / 2) ? cut.slice(0, dash) : s.slice(0, max)).replace(/-+$/, '');
  }
  return s || fallback;
}

export interface ImageNameInput {
  modelId: string;
  /** Scheduler class name; used when samplerLabel is missing. */
  sampler?: string;
  samplerLabel?: string;
  steps: number;
  seed: number;
  prompt: string;
}

export interface GridNameInput {
  seed: number;
  prompt: string;
}

export interface RunsNameInput {
  /** Timestamp for the name (default: now). Written in UTC, to the minute. */
  createdAt?: Date | string | number;
}

export type FileKind = 'image' | 'grid' | 'runs-csv' | 'runs-json';

const MAX_NAME = 120;

function intPart(n: number): string {
  return Number.isFinite(n) ? String(Math.trunc(n)) : 'x';
}

function timestamp(t: Date | string | number | undefined): string {
  const d = t === undefined ? new Date() : new Date(t);
  const valid = Number.isFinite(d.getTime()) ? d : new Date();
  return valid.toISOString().slice(0, 16).replace(':', '-');
}

function finish(stem: string, ext: string): string {
  const s = stem.length > MAX_NAME - ext.length ? stem.slice(0, MAX_NAME - ext.length).replace(/[-_]+$/, '') : stem;
  return s + ext;
}

/** A download file name for an export of the given kind. */
export function fileNameFor(kind: 'image', record: ImageNameInput): string;
export function fileNameFor(kind: 'grid', record: GridNameInput): string;
export function fileNameFor(kind: 'runs-csv' | 'runs-json', record?: RunsNameInput): string;
export function fileNameFor(kind: FileKind, record?: ImageNameInput | GridNameInput | RunsNameInput): string {
  switch (kind) {
    case 'image': {
      const r = record as ImageNameInput;
      const model = slugify(r.modelId.replace(/^fewstep[-_ ]?/i, ''), { maxLength: 24, fallback: 'model' });
      const sampler = slugify(r.samplerLabel || samplerLabelFor(r.sampler ?? ''), { maxLength: 16, fallback: 'sampler' });
      return finish(`fewstep_${model}_${sampler}_${intPart(r.steps)}step_seed${intPart(r.seed)}_${slugify(r.prompt)}`, '.png');
    }
    case 'grid': {
      const r = record as GridNameInput;
      return finish(`fewstep-grid_seed${intPart(r.seed)}_${slugify(r.prompt)}`, '.png');
    }
    case 'runs-csv':
    case 'runs-json':
      return `fewstep-runs_${timestamp((record as RunsNameInput | undefined)?.createdAt)}${kind === 'runs-csv' ? '.csv' : '.json'}`;
    default:
      throw new RangeError(`Unknown export kind "${String(kind)}"`);
  }
}
