/**
 * Model catalog schema: the typed view of `models/catalog.json` (documented in `models/catalog.schema.md`) and the
 * path rules every catalog module shares. Validation is in validate.ts, URLs in urls.ts, custom sources in
 * custom.ts, the file list of an entry and the folder check in files.ts.
 *
 * The catalog is data. Adding a model means adding an entry to `models/catalog.json`; nothing here names a
 * particular model. Keys follow the project split: camelCase for our own fields, snake_case only inside
 * `sampler.config` and `componentConfig`, which mirror diffusers JSON.
 */
import { EngineError } from '../errors';

export type Precision = 'fp32' | 'fp16';
export type ModelKind = 'shipped' | 'remote';

/** Files served by the app itself, relative to the app's base URL (`models/fewstep-turbo`). */
export interface LocalLocation {
  type: 'local';
  path: string;
}

/** A Hugging Face repository, fetched from `{hubBase}/{repo}/resolve/{revision}/{path}`. */
export interface HfLocation {
  type: 'hf';
  repo: string;
  revision: string;
}

/** A user-supplied base URL (custom source); always produced by {@link validateCustomSource}, never by the JSON. */
export interface UrlLocation {
  type: 'url';
  baseUrl: string;
}

/**
 * Where an entry's files live (the JSON's `source` field). Named "location" so it is not confused with the
 * engine's file readers (`ModelSource`, `UrlSource` in source.ts), which read the files from one.
 */
export type EntryLocation = LocalLocation | HfLocation | UrlLocation;

export interface CatalogFile {
  /** Path inside the model's diffusers layout, `/`-separated, e.g. `unet/model.onnx`. */
  path: string;
  /** Exact byte size, or null when unknown (the downloader then asks the server with HEAD before starting). */
  size: number | null;
  /** Lower-case hex SHA-256 of the whole file; checked after download when present. */
  sha256?: string;
  /** When true, a 404 for this file means "this export does not have it" and the file is skipped. */
  optional?: boolean;
}

export interface SamplerDefaults {
  /** diffusers scheduler class name, e.g. `EulerDiscreteScheduler`, `LCMScheduler`, `DDIMScheduler`. */
  schedulerClass: string;
  steps: number;
  /** Inclusive [min, max] number of steps the UI allows. */
  stepRange: [number, number];
  guidanceScale: number;
  /** Inclusive [min, max] guidance the UI allows; [0, 0] means the model takes no guidance. */
  guidanceRange: [number, number];
  /** diffusers scheduler_config keys (snake_case) overriding or replacing the repo's scheduler_config.json. */
  config?: Record<string, unknown>;
}

export interface TokenizerFromModel {
  /** The tokenizer lives in the model's own layout, under `path` (normally `tokenizer`). */
  source: 'model';
  path: string;
  /** Pad id override; null keeps what tokenizer_config.json says. */
  padTokenId: number | null;
  maxLength: number;
}

export interface TokenizerFromHf {
  /** The tokenizer lives in another Hugging Face repo (SD-Turbo uses Xenova/clip-vit-base-patch16). */
  source: 'hf';
  repo: string;
  revision: string;
  /** Folder inside that repo holding the files; '' for the repo root. */
  path: string;
  /** Files to fetch, relative to `path`; they are stored under `tokenizer/` in the model's layout. */
  files: CatalogFile[];
  padTokenId: number | null;
  maxLength: number;
}

export type TokenizerSource = TokenizerFromModel | TokenizerFromHf;

export interface Size2D {
  width: number;
  height: number;
}

export interface CatalogEntry {
  /** Stable id, also the storage key: lower-case letters, digits, `-`, `_`, `.`. */
  id: string;
  name: string;
  kind: ModelKind;
  source: EntryLocation;
  files: CatalogFile[];
  /** Precision of the weights. */
  precision: Precision;
  /** Precision of the graph inputs and outputs (fp16 I/O needs Float16Array/Uint16Array conversion). */
  ioPrecision: Precision;
  resolution: Size2D;
  latentSize: Size2D & { channels: number };
  /** WebGPU adapter features the model needs, e.g. `shader-f16` for fp16 weights. */
  requiredFeatures: string[];
  sampler: SamplerDefaults;
  tokenizer: TokenizerSource;
  /** Per-component config values (diffusers keys) for exports that ship no config.json. */
  componentConfig?: Record<string, Record<string, unknown>>;
  license: string;
  licenseUrl?: string;
  approxVramMB: number;
  notes: string[];
}

/** Key layout of a LoRA file: diffusers / PEFT (`unet.<path>.lora_A.weight`) or kohya (`lora_unet_<path_>.lora_down.weight`). */
export type LoraFormat = 'peft' | 'kohya';
/** What an adapter is for: `lcm` makes its base sample in a few LCM steps (its `sampler` is the preset); `style` changes the look. */
export type LoraRole = 'lcm' | 'style';
/** Model family whose U-Net the adapter's keys and shapes fit. */
export type LoraBaseFamily = 'fewstep' | 'sd1' | 'sd2' | 'sdxl';
/** Where the file keeps alpha: `.alpha` tensors, the `lora_adapter_metadata` header entry, or nowhere (alpha = rank). */
export type LoraAlphaStorage = 'keys' | 'metadata' | 'none';

/**
 * A LoRA adapter (the catalog's `loras` list): one .safetensors file merged into a pipeline's U-Net weights at load
 * time. Sources and files work as for pipelines (`local` for shipped files, `hf` for downloads).
 */
export interface LoraEntry {
  /** Stable id, also the storage key; unique across `models` and `loras`. */
  id: string;
  name: string;
  kind: ModelKind;
  source: EntryLocation;
  /** Exactly one `.safetensors` file. */
  files: CatalogFile[];
  format: LoraFormat;
  role: LoraRole;
  baseFamily: LoraBaseFamily;
  /** Catalog pipeline ids (`models[].id`) the adapter is made for and merges into; may be empty. */
  appliesTo: string[];
  /** LoRA rank of every module, or null when it varies or is unknown. */
  rank: number | null;
  /** Alpha of every module (scale = alpha / rank), or null when it varies or is unknown: the loader reads the file's. */
  alpha: number | null;
  /** Where the file carries alpha, or null when unknown. */
  alphaStorage: LoraAlphaStorage | null;
  /** Precision of the low-rank weights. */
  precision: Precision;
  /** Number of tensors in the file (up + down (+ alpha) per module), when known. */
  tensorCount?: number;
  /** Module-name suffixes the adapter targets (`to_q`, `ff.net.2`, `conv1`, ...), when known. */
  targets?: string[];
  /** Strength the UI starts from (the merge multiplies alpha / rank by it). */
  defaultScale: number;
  /** Sampling to use with the adapter; required for `role: "lcm"` (LCMScheduler), the "LCM-LoRA" preset. */
  sampler?: SamplerDefaults;
  license: string;
  licenseUrl?: string;
  notes: string[];
}

export interface Catalog {
  schemaVersion: 1;
  doc?: string;
  models: CatalogEntry[];
  /** LoRA adapters (optional; absent means none). */
  loras?: LoraEntry[];
}

/** Thrown by {@link validateCatalog}; `issues` lists every problem found, each naming the JSON path. */
export class CatalogError extends EngineError {
  override readonly name = 'CatalogError';
  constructor(readonly issues: string[]) {
    super(
      'CATALOG_INVALID',
      issues.length === 1
        ? `Invalid model catalog: ${issues[0]}`
        : `Invalid model catalog (${issues.length} problems):\n- ${issues.join('\n- ')}`,
    );
  }
}

// Hugging Face: owner and name of letters, digits, '-', '_', '.'; no '..' and no leading/trailing '.'/'-'.
export const REPO_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}\/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$/;

/** A relative `/`-separated path with no empty, `.` or `..` segments and no backslashes. */
export function isSafeRelPath(p: string): boolean {
  if (p.startsWith('/') || p.includes('\\') || p.includes('\0')) return false;
  return p.split('/').every((s) => s.length > 0 && s !== '.' && s !== '..');
}

export const SAFE_PATH = 'a relative path like "unet/model.onnx" (no leading /, no "." or ".." segments, no backslash)';
