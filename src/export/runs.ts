/**
 * Measured runs export: CSV (RFC 4180) and JSON, plus a small RFC 4180 parser.
 */

import type { StageTotals } from '../engine';

export interface RunRecord {
  id: string;
  modelId: string;
  pipeline: string;
  sampler: string;
  steps: number;
  /** Custom timesteps the run used, "999,749,499,249" (absent: the scheduler's own spacing). */
  timesteps?: string;
  /** TCD's gamma ("stochasticity", the eta of its step), for TCD runs. */
  gamma?: number;
  /** The LoRAs merged into the model, "fewstep-style-ink:0.8, fewstep-lcm-lora:1" (metadata.formatLoras); absent: none. */
  loras?: string;
  guidanceScale: number;
  seed: number;
  prompt: string;
  executionProvider: string;
  totalMs: number;
  /** Per-stage times in ms. */
  stages: StageTotals;
  qualityScore?: number | null;
  /** ISO 8601 timestamp. */
  createdAt: string;
}

export const STAGE_KEYS: readonly (keyof StageTotals)[] = [
  'tokenize', 'textEncoder', 'unet', 'scheduler', 'vae', 'readback', 'overhead',
];

/** CSV columns, in their fixed order. Stage columns are named `<stage>Ms`. */
export const RUN_CSV_COLUMNS: readonly string[] = [
  'id', 'createdAt', 'modelId', 'pipeline', 'sampler', 'steps', 'timesteps', 'gamma', 'loras', 'guidanceScale', 'seed',
  'executionProvider', 'totalMs', ...STAGE_KEYS.map((k) => `${k}Ms`), 'qualityScore', 'prompt',
];

/** Rounds to 0.01 and prints without grouping or exponent; non-finite gives "". */
export function formatMs(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '';
  // Beyond 1e15 every double is already a multiple of 0.125; scaling by 100 would only add error.
  return formatPlain(Math.abs(ms) >= 1e15 ? ms : Math.round(ms * 100) / 100);
}

function formatPlain(n: number | null | undefined): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '';
  if (Object.is(n, -0) || n === 0) return '0';
  const s = String(n);
  if (!/e/i.test(s)) return s;
  // Avoid exponent notation for very small or very large values.
  return Math.abs(n) < 1 ? n.toFixed(20).replace(/0+$/, '').replace(/\.$/, '') : BigInt(n).toString();
}

/** Quotes a CSV field when it contains a comma, quote, CR or LF (RFC 4180), doubling quotes. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function runRow(r: RunRecord): string[] {
  return [
    r.id,
    r.createdAt,
    r.modelId,
    r.pipeline,
    r.sampler,
    formatPlain(r.steps),
    r.timesteps ?? '',
    formatPlain(r.gamma),
    r.loras ?? '',
    formatPlain(r.guidanceScale),
    formatPlain(r.seed),
    r.executionProvider,
    formatMs(r.totalMs),
    ...STAGE_KEYS.map((k) => formatMs(r.stages?.[k])),
    r.qualityScore === null || r.qualityScore === undefined ? '' : formatPlain(r.qualityScore),
    r.prompt,
  ].map((v) => String(v ?? ''));
}

/** CSV with a header row, CRLF line endings and a trailing CRLF. */
export function runsToCsv(runs: readonly RunRecord[]): string {
  const lines = [RUN_CSV_COLUMNS.map(csvField).join(','), ...runs.map((r) => runRow(r).map(csvField).join(','))];
  return lines.join('\r\n') + '\r\n';
}

export interface RunsJsonMeta {
  appVersion?: string;
  exportedAt?: string;
}

/** Pretty JSON document: { format: "fewstep-runs", version: 1, exportedAt, appVersion?, runs }. */
export function runsToJson(runs: readonly RunRecord[], meta: RunsJsonMeta = {}): string {
  const doc: Record<string, unknown> = {
    format: 'fewstep-runs',
    version: 1,
    exportedAt: meta.exportedAt ?? new Date().toISOString(),
  };
  if (meta.appVersion) doc.appVersion = meta.appVersion;
  doc.runs = runs;
  return JSON.stringify(doc, null, 2) + '\n';
}

/**
 * Parses RFC 4180 CSV into rows of fields. Accepts CRLF or LF line ends, quoted fields with
 * embedded commas, quotes ("") and newlines; a trailing line break does not add an empty row.
 * Throws on an unterminated quoted field.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  const n = text.length;
  let inQuotes = false;
  let fieldStarted = false;
  while (i < n) {
    const ch = text[i];
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
        i++;
        continue;
      }
      field += ch;
      i++;
      continue;
    }
    if (ch === '"' && !fieldStarted) {
      inQuotes = true;
      fieldStarted = true;
      i++;
    } else if (ch === ',') {
      row.push(field);
      field = '';
      fieldStarted = false;
      i++;
    } else if (ch === '\r' || ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      fieldStarted = false;
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += ch;
      fieldStarted = true;
      i++;
    }
  }
  if (inQuotes) throw new SyntaxError('CSV: unterminated quoted field');
  if (fieldStarted || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Parses CSV with a header row into objects keyed by column name. */
export function parseCsvObjects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) return [];
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}
