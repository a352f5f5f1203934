/**
 * LoRA key layouts, normalised to one list of modules (module path, down/A, up/B, alpha) per file.
 *
 * Layouts read (reference: /work/shared/reference/lora-consistency-sdxl.md; training/fewstep/lora.py writes the
 * first and the last):
 * - 'peft': diffusers / PEFT, `unet.<module path>.lora_A.weight` (down, [r, in] or conv [r, in, kh, kw]) and
 *   `.lora_B.weight` (up, [out, r] or [out, r, 1, 1]) (peft tuners/lora/layer.py; diffusers loaders/peft.py). Also
 *   read: PEFT's raw `base_model.model.` prefix and an adapter name (`.lora_A.default.weight`), and keys without the
 *   `unet.` prefix.
 * - 'diffusers-old': diffusers' attention-processor files, `<path>.processor.to_q_lora.down.weight` / `.up.weight`,
 *   renamed as diffusers utils/state_dict_utils.py does (`to_X_lora` -> `to_X`, `to_out_lora` -> `to_out.0`);
 *   and the LoRACompatibleLinear form `<path>.lora.down.weight` / `.lora_linear_layer.up.weight`.
 * - 'kohya': kohya-ss/sd-scripts networks/lora.py, `lora_unet_<module path with "." -> "_">.lora_down.weight`,
 *   `.lora_up.weight`, `.alpha` (scalar). The underscored path is resolved later against the module paths of the
 *   graph (lora/onnxWeights.ts), since "_" is ambiguous (`down_blocks_0` is `down_blocks.0`).
 *
 * Alpha (the numerator of the scale alpha / r), first match wins, as diffusers utils/peft_utils.py and
 * loaders/lora_base.py read it: a `<path>.alpha` tensor; else the header's `__metadata__["lora_adapter_metadata"]`
 * (JSON of PEFT's LoraConfig, flat `{"r", "lora_alpha", ...}` as `save_lora_adapter` writes it, or with a
 * `unet.` prefix on each key as the pipelines' `save_lora_weights` packs it), with its `alpha_pattern` per-module
 * overrides; else alpha = r. kohya: an `.alpha` of 0 or none means alpha = r (networks/lora.py). With
 * `use_rslora` the scale is alpha / sqrt(r) (peft tuners/lora/layer.py).
 *
 * Text-encoder keys (`lora_te_`, `lora_te1_`, `lora_te2_`, `text_encoder.`, `text_encoder_2.`) are counted, not
 * applied. Weights of other adapter kinds (LoHa/LoKr/OFT from LyCORIS, DoRA magnitudes, LoCon's `lora_mid`
 * Tucker core) are refused: merging only their down/up halves would be wrong.
 */
import { EngineError } from '../errors';
import type { SafetensorsFile, SafetensorsTensor } from './safetensors';

export type LoraFormat = 'peft' | 'diffusers-old' | 'kohya';

/** One adapted module as the file names it. */
export interface LoraModule {
  /** Dotted module path (`down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q`), or kohya's underscored one. */
  path: string;
  /** True when `path` is kohya's underscored form (resolve it against the graph's module paths). */
  underscored: boolean;
  format: LoraFormat;
  /** A, the down projection: [r, in] or [r, in, kh, kw]. */
  down?: SafetensorsTensor;
  /** B, the up projection: [out, r] or [out, r, 1, 1]. */
  up?: SafetensorsTensor;
  /** A scalar alpha tensor, when the file has one for this module. */
  alpha?: SafetensorsTensor;
  /** Every key of this module, in file order (for counts and messages). */
  keys: string[];
}

/** PEFT LoraConfig values read from the header (see the module comment). */
export interface LoraConfigMeta {
  alpha?: number;
  rank?: number;
  rslora: boolean;
  /** Module-name pattern -> alpha (PEFT `alpha_pattern`). */
  alphaPattern: Record<string, number>;
}

export interface NormalizedLora {
  modules: LoraModule[];
  /** Keys of text-encoder LoRAs (not supported: counted in the report). */
  textEncoderKeys: number;
  /** Keys that are neither U-Net LoRA weights nor text-encoder keys (counted as unmatched). */
  otherKeys: string[];
  config: LoraConfigMeta;
  /** Total number of tensors in the file. */
  totalKeys: number;
}

const TEXT_ENCODER = /^(lora_te\d*_|text_encoder(_\d+)?\.|te\d?\.)/;
const UNSUPPORTED: Array<[RegExp, string]> = [
  [/\.(hada_w[12]_[ab]|hada_t[12])$/, 'LoHa (LyCORIS)'],
  [/\.(lokr_w[12](_[ab])?|lokr_t2)$/, 'LoKr (LyCORIS)'],
  [/\.(oft_blocks|oft_diag|oft_r\.weight)$/, 'OFT'],
  [/\.(dora_scale|lora_magnitude_vector(\.[^.]+)?(\.weight)?)$/, 'DoRA'],
  [/\.lora_mid\.weight$/, "LoCon with a Tucker core ('lora_mid')"],
];

type Part = 'down' | 'up' | 'alpha';

/** What one key is: the module it belongs to and which part, or null for a key that is not a U-Net LoRA weight. */
function classify(key: string): { path: string; part: Part; format: LoraFormat; underscored: boolean } | null {
  let k = key;
  if (k.startsWith('base_model.model.')) k = k.slice('base_model.model.'.length);
  if (k.startsWith('unet.')) k = k.slice(5);
  let m = /^lora_unet_([^.]+)\.(lora_down\.weight|lora_up\.weight|alpha)$/.exec(k);
  if (m) return { path: m[1], part: m[2] === 'alpha' ? 'alpha' : m[2].startsWith('lora_down') ? 'down' : 'up', format: 'kohya', underscored: true };
  m = /^(.+)\.processor\.(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$/.exec(k);
  if (m) return { path: `${m[1]}.${m[2] === 'to_out' ? 'to_out.0' : m[2]}`, part: m[3] as Part, format: 'diffusers-old', underscored: false };
  m = /^(.+)\.(?:lora|lora_linear_layer)\.(down|up)\.weight$/.exec(k);
  if (m) return { path: m[1], part: m[2] as Part, format: 'diffusers-old', underscored: false };
  m = /^(.+)\.lora_([AB])(?:\.[A-Za-z0-9_-]+)?\.weight$/.exec(k);
  if (m) return { path: m[1], part: m[2] === 'A' ? 'down' : 'up', format: 'peft', underscored: false };
  m = /^(.+)\.alpha$/.exec(k);
  if (m && !k.startsWith('lora_')) return { path: m[1], part: 'alpha', format: 'peft', underscored: false };
  return null;
}

const finiteNumber = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** PEFT's LoraConfig from `__metadata__["lora_adapter_metadata"]`, flat or with the `unet.` prefix. */
function readConfig(f: SafetensorsFile): LoraConfigMeta {
  const raw = f.metadata.lora_adapter_metadata;
  const out: LoraConfigMeta = { rslora: false, alphaPattern: {} };
  if (raw === undefined) return out;
  let cfg: unknown;
  try {
    cfg = JSON.parse(raw);
  } catch (e) {
    throw new EngineError(
      'LORA_INVALID',
      `${f.file}: its __metadata__ "lora_adapter_metadata" is not JSON (${(e as Error).message}); the LoRA's alpha cannot be read. Export the LoRA again.`,
      f.file,
    );
  }
  if (cfg === null || typeof cfg !== 'object') return out;
  const c = cfg as Record<string, unknown>;
  const get = (k: string): unknown => (`unet.${k}` in c ? c[`unet.${k}`] : c[k]);
  out.alpha = finiteNumber(get('lora_alpha'));
  out.rank = finiteNumber(get('r'));
  out.rslora = get('use_rslora') === true;
  const pattern = get('alpha_pattern');
  if (pattern && typeof pattern === 'object') {
    for (const [k, v] of Object.entries(pattern as Record<string, unknown>)) {
      const a = finiteNumber(v);
      if (a !== undefined) out.alphaPattern[k] = a;
    }
  }
  return out;
}

/**
 * Group a parsed file's keys into modules (see the module comment for the layouts).
 *
 * @throws EngineError LORA_INVALID for adapter kinds that cannot be merged as down/up pairs (LoHa, LoKr, OFT,
 *   DoRA, `lora_mid`), naming the first such key; and for unreadable `lora_adapter_metadata` JSON
 */
export function normalizeLoraKeys(f: SafetensorsFile): NormalizedLora {
  const modules = new Map<string, LoraModule>();
  let textEncoderKeys = 0;
  const otherKeys: string[] = [];
  for (const key of f.tensors.keys()) {
    for (const [re, kind] of UNSUPPORTED) {
      if (re.test(key)) {
        throw new EngineError(
          'LORA_INVALID',
          `${f.file} is a ${kind} adapter (key "${key}"); only LoRA down/up pairs (PEFT lora_A/lora_B, kohya lora_down/lora_up) can be merged.`,
          f.file,
        );
      }
    }
    if (TEXT_ENCODER.test(key)) {
      textEncoderKeys++;
      continue;
    }
    const c = classify(key);
    if (!c) {
      otherKeys.push(key);
      continue;
    }
    const id = `${c.underscored ? 'k' : 'd'}:${c.path}`;
    let m = modules.get(id);
    if (!m) {
      m = { path: c.path, underscored: c.underscored, format: c.format, keys: [] };
      modules.set(id, m);
    }
    // An alpha key says nothing about the layout; the down/up keys decide the module's format.
    if (c.part !== 'alpha') m.format = c.format;
    m.keys.push(key);
    m[c.part] = f.tensors.get(key);
  }
  return { modules: [...modules.values()], textEncoderKeys, otherKeys, config: readConfig(f), totalKeys: f.tensors.size };
}

/**
 * The alpha of one module (see the module comment for the order), given its rank r.
 * @param alphaValue the module's `.alpha` tensor value, when it has one
 */
export function moduleAlpha(m: LoraModule, modulePath: string, r: number, config: LoraConfigMeta, alphaValue: number | undefined): number {
  if (alphaValue !== undefined) return m.format === 'kohya' && alphaValue === 0 ? r : alphaValue;
  // PEFT alpha_pattern: a key matches a module whose name ends with it (peft tuners_utils: `(.*\.)?{key}$`).
  for (const [pattern, a] of Object.entries(config.alphaPattern)) {
    let re: RegExp | null = null;
    try {
      re = new RegExp(`^(.*\\.)?${pattern}$`);
    } catch {
      re = null;
    }
    if (re ? re.test(modulePath) : modulePath === pattern || modulePath.endsWith(`.${pattern}`)) return a;
  }
  return config.alpha ?? r;
}

/** The multiplier of B @ A for one module: alpha / r, or alpha / sqrt(r) with rsLoRA (peft tuners/lora/layer.py). */
export function loraScaling(alpha: number, r: number, rslora: boolean): number {
  return rslora ? alpha / Math.sqrt(r) : alpha / r;
}
