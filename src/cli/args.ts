/**
 * Command line parsing and checking, before anything is read: `fewstep <command> --flag value ...`. Each bad input
 * becomes a UsageError whose message names the flag and what it accepts. Pure (no I/O): the checks that need the
 * disk (the --out folder) or the model (its size, its scheduler) are in generate.ts.
 *
 * Flags take `--name value` or `--name=value`; `--lora` may repeat; every other flag may appear once.
 */
import { GENERATE_LIMITS, isLoraScale, LORA_SCALE_RANGE } from '../engine';
import { isSupportedScheduler, parseTimesteps, samplerClassFor, samplerRows } from '../schedulers';
import { UsageError } from './errors';

export type Command = 'generate' | 'info';

interface FlagSpec {
  /** Takes a value (else a switch). */
  value: boolean;
  repeat?: boolean;
  /** Example value for messages ("--steps needs a value, e.g. --steps 4"). */
  example?: string;
  help: string;
}

/** Flags every model-reading command takes. */
const MODEL_FLAGS: Record<string, FlagSpec> = {
  model: { value: true, example: 'models/fewstep-turbo', help: 'a pipeline folder (diffusers ONNX layout), its http(s) URL, or a catalog id' },
  catalog: { value: true, example: 'models/catalog.json', help: "catalog for ids (default: this package's models/catalog.json)" },
  hub: { value: true, example: 'https://huggingface.co', help: 'hub for catalog downloads (default $FEWSTEP_HUB, else https://huggingface.co)' },
  'cache-dir': { value: true, example: '~/.cache/fewstep', help: 'download cache (default $FEWSTEP_CACHE_DIR, else $XDG_CACHE_HOME/fewstep or ~/.cache/fewstep)' },
  help: { value: false, help: 'print this help' },
};

export const FLAGS: Record<Command, Record<string, FlagSpec>> = {
  generate: {
    ...MODEL_FLAGS,
    prompt: { value: true, example: '"a red circle"', help: 'the prompt ("" draws an unconditional sample)' },
    'negative-prompt': { value: true, example: '"blurry"', help: 'negative prompt (with classifier-free guidance)' },
    steps: { value: true, example: '4', help: "denoising steps (default: the model's)" },
    seed: { value: true, example: '42', help: 'seed, 0..4294967295 (default 42, as the app)' },
    sampler: { value: true, example: 'DDIMScheduler', help: "diffusers scheduler class or registry alias (default: the model's)" },
    guidance: { value: true, example: '7.5', help: "guidance scale (default: the model's)" },
    width: { value: true, example: '64', help: "image width; must be the model's (sizes are fixed by the model today)" },
    height: { value: true, example: '64', help: "image height; must be the model's" },
    timesteps: { value: true, example: '999,749,499,249', help: 'custom timesteps, strictly descending (sets --steps)' },
    eta: { value: true, example: '0', help: 'DDIM eta (default 0)' },
    gamma: { value: true, example: '0.3', help: "TCD's gamma, 0..1 (default 0.3)" },
    rng: { value: true, example: 'fewstep', help: 'noise generator: fewstep (default, as the app) or torch (torch.manual_seed)' },
    lora: {
      value: true,
      repeat: true,
      example: 'adapter.safetensors:0.8',
      help: `LoRA .safetensors file[:strength] merged into the U-Net (PEFT/diffusers or kohya keys; strength default 1, ${LORA_SCALE_RANGE.min}..${LORA_SCALE_RANGE.max}); repeatable`,
    },
    out: { value: true, example: 'image.png', help: 'the PNG to write (its folder must exist)' },
  },
  info: {
    ...MODEL_FLAGS,
    lora: {
      value: true,
      repeat: true,
      example: 'adapter.safetensors',
      help: 'a LoRA .safetensors file[:strength] to check against the U-Net: its keys matched and unmatched (nothing is generated); repeatable',
    },
  },
};

export interface ParsedArgs {
  command: Command | null;
  /** Flag values as given (switches: 'true'). */
  values: Record<string, string[]>;
}

/**
 * Split argv (without node and the script) into a command and its flags.
 * @throws UsageError for an unknown command or flag, a flag without its value, a repeated flag, a stray argument.
 */
export function parseArgv(argv: readonly string[]): ParsedArgs {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') return { command: null, values: { help: ['true'] } };
  if (first === '--version' || first === '-v') return { command: null, values: { version: ['true'] } };
  if (first !== 'generate' && first !== 'info') {
    throw new UsageError(`unknown command "${first}": use "fewstep generate ..." or "fewstep info ..." (fewstep --help lists the flags)`);
  }
  const specs = FLAGS[first];
  const values: Record<string, string[]> = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === '-h') {
      values.help = ['true'];
      continue;
    }
    if (!arg.startsWith('--')) {
      throw new UsageError(`unexpected argument "${arg}": flags take the form --name value (fewstep ${first} --help)`);
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = specs[name];
    if (!spec) {
      throw new UsageError(`${first}: unknown flag --${name} (flags: ${Object.keys(specs).map((k) => `--${k}`).join(', ')})`);
    }
    let value: string;
    if (!spec.value) {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      value = 'true';
    } else if (eq > 0) {
      value = arg.slice(eq + 1);
    } else {
      const next = rest[i + 1];
      // "--prompt --x" is missing its value; a negative number ("--seed -1") is a value, checked below.
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`--${name} needs a value, e.g. --${name} ${spec.example ?? 'VALUE'}`);
      }
      value = next;
      i++;
    }
    if (values[name] && !spec.repeat) throw new UsageError(`--${name} is given twice`);
    (values[name] ??= []).push(value);
  }
  return { command: first, values };
}

const one = (v: Record<string, string[]>, name: string): string | undefined => v[name]?.[0];

function wholeNumber(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  const n = /^[+-]?\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

function decimal(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name} must be a number from ${min} to ${max}, got "${text}"`);
  return n;
}

/** "DDIMScheduler (ddim), LCMScheduler (lcm), ...": the registry's classes with their aliases. */
export function knownSamplers(): string {
  return samplerRows()
    .map((r) => (r.aliases.length ? `${r.className} (${r.aliases.join(', ')})` : r.className))
    .join(', ');
}

/** A --sampler value as a registered class name (class name, label, A1111 name or alias, any case). */
export function resolveSampler(name: string): string {
  const cls = samplerClassFor(name);
  if (!isSupportedScheduler(cls)) throw new UsageError(`unknown sampler "${name}"; known: ${knownSamplers()}`);
  return cls;
}

/** The model flags, checked. */
export interface ModelOptions {
  model: string;
  catalog?: string;
  hub?: string;
  cacheDir?: string;
}

export interface GenerateOptions extends ModelOptions {
  prompt: string;
  negativePrompt?: string;
  /** Undefined: the model's default (or the number of --timesteps). */
  steps?: number;
  seed: number;
  /** A registered class name. */
  sampler?: string;
  guidance?: number;
  width?: number;
  height?: number;
  timesteps?: number[];
  eta?: number;
  gamma?: number;
  rng: 'fewstep' | 'torch';
  /** --lora files with their strengths, in the order given (the merge order). */
  loras: LoraOption[];
  out: string;
}

/** One --lora: the file as given and its strength. */
export interface LoraOption {
  file: string;
  scale: number;
}

/** A --lora strength: a decimal number, optionally signed, with an optional exponent. */
const STRENGTH = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A --lora value: `file` or `file:strength`. The last ':' starts the strength when what follows it is a number, or
 * when what precedes it ends in `.safetensors` (so a bad strength is reported as such); otherwise the ':' is part of
 * the file name (`my:lora.safetensors`, `C:\loras\a.safetensors`).
 * @throws UsageError for an empty file name, or a strength that is not a number within LORA_SCALE_RANGE
 */
export function parseLoraOption(text: string): LoraOption {
  const i = text.lastIndexOf(':');
  const after = text.slice(i + 1).trim();
  const split = i >= 0 && (STRENGTH.test(after) || /\.safetensors$/i.test(text.slice(0, i)));
  const file = split ? text.slice(0, i) : text;
  const strength = split ? text.slice(i + 1).trim() : '1';
  if (file.trim() === '') throw new UsageError(`--lora "${text}": give a .safetensors file, e.g. --lora adapter.safetensors:0.8`);
  const scale = STRENGTH.test(strength) ? Number(strength) : NaN;
  if (!isLoraScale(scale)) {
    throw new UsageError(`--lora ${text}: the strength after ':' must be a number from ${LORA_SCALE_RANGE.min} to ${LORA_SCALE_RANGE.max}, got "${strength}"`);
  }
  return { file, scale };
}

/** The app's default seed (src/app/store.ts DEFAULT_SETTINGS). */
export const DEFAULT_SEED = 42;

function modelOptions(v: Record<string, string[]>): ModelOptions {
  const model = one(v, 'model');
  if (model === undefined || model.trim() === '') {
    throw new UsageError('--model is required: a pipeline folder, its URL, or a catalog id such as fewstep-turbo');
  }
  const catalog = one(v, 'catalog');
  const hub = one(v, 'hub');
  const cacheDir = one(v, 'cache-dir');
  return { model, ...(catalog ? { catalog } : {}), ...(hub ? { hub } : {}), ...(cacheDir ? { cacheDir } : {}) };
}

/**
 * Check `generate`'s flags (everything that needs neither the disk nor the model; --lora files are read in
 * generate.ts).
 * @throws UsageError naming the flag
 */
export function generateOptions(v: Record<string, string[]>): GenerateOptions {
  const base = modelOptions(v);
  const prompt = one(v, 'prompt');
  if (prompt === undefined) throw new UsageError('--prompt is required (--prompt "" draws an unconditional sample)');
  const negativePrompt = one(v, 'negative-prompt');
  for (const [name, text] of [['prompt', prompt], ['negative-prompt', negativePrompt]] as const) {
    if (text !== undefined && text.length > GENERATE_LIMITS.maxPromptLength) {
      throw new UsageError(`--${name} has ${text.length} characters; the limit is ${GENERATE_LIMITS.maxPromptLength}`);
    }
  }
  const steps = wholeNumber('steps', one(v, 'steps'), GENERATE_LIMITS.minSteps, GENERATE_LIMITS.maxSteps);
  const seed = wholeNumber('seed', one(v, 'seed'), 0, GENERATE_LIMITS.maxSeed) ?? DEFAULT_SEED;
  const samplerText = one(v, 'sampler');
  const sampler = samplerText !== undefined ? resolveSampler(samplerText) : undefined;
  const guidance = decimal('guidance', one(v, 'guidance'), GENERATE_LIMITS.minGuidance, GENERATE_LIMITS.maxGuidance);
  const width = wholeNumber('width', one(v, 'width'), 1, 16384);
  const height = wholeNumber('height', one(v, 'height'), 1, 16384);
  let timesteps: number[] | undefined;
  const tsText = one(v, 'timesteps');
  if (tsText !== undefined) {
    try {
      timesteps = parseTimesteps(tsText);
    } catch (e) {
      throw new UsageError(`--timesteps ${JSON.stringify(tsText)}: ${(e as Error).message}`);
    }
    if (steps !== undefined && steps !== timesteps.length) {
      throw new UsageError(`--steps ${steps} disagrees with --timesteps ${tsText} (${timesteps.length} timesteps); leave --steps out`);
    }
  }
  const eta = decimal('eta', one(v, 'eta'), 0, 1e6);
  const gamma = decimal('gamma', one(v, 'gamma'), 0, 1);
  const rng = one(v, 'rng') ?? 'fewstep';
  if (rng !== 'fewstep' && rng !== 'torch') throw new UsageError(`--rng must be fewstep or torch, got "${rng}"`);
  const loras = (v.lora ?? []).map(parseLoraOption);
  const out = one(v, 'out');
  if (out === undefined || out.trim() === '') throw new UsageError('--out is required: the PNG file to write, e.g. --out image.png');
  return {
    ...base,
    prompt,
    ...(negativePrompt !== undefined ? { negativePrompt } : {}),
    ...(steps !== undefined ? { steps } : {}),
    seed,
    ...(sampler !== undefined ? { sampler } : {}),
    ...(guidance !== undefined ? { guidance } : {}),
    ...(width !== undefined ? { width } : {}),
    ...(height !== undefined ? { height } : {}),
    ...(timesteps !== undefined ? { timesteps } : {}),
    ...(eta !== undefined ? { eta } : {}),
    ...(gamma !== undefined ? { gamma } : {}),
    rng,
    loras,
    out,
  };
}

export interface InfoOptions extends ModelOptions {
  /** --lora files to check against the model's U-Net, each on its own (info.ts). */
  loras: LoraOption[];
}

/** Check `info`'s flags. */
export function infoOptions(v: Record<string, string[]>): InfoOptions {
  return { ...modelOptions(v), loras: (v.lora ?? []).map(parseLoraOption) };
}

/** Help text: the usage line and each flag of `command` (all commands when null). */
export function helpText(command: Command | null): string {
  const usage = {
    generate: 'fewstep generate --model <folder|URL|catalog id> --prompt "<text>" [--steps N] [--seed N] [--sampler NAME] [--guidance G] [--width W --height H] [--timesteps 999,749,499,249] [--lora file.safetensors[:strength] ...] --out image.png',
    info: 'fewstep info --model <folder|URL|catalog id> [--lora file.safetensors[:strength] ...]',
  };
  const cmds: Command[] = command ? [command] : ['generate', 'info'];
  const lines = ['Fewstep: text-to-image diffusion on the app\'s engine (onnxruntime-web WASM) from the command line.', ''];
  for (const c of cmds) {
    lines.push(`usage: ${usage[c]}`);
    for (const [name, spec] of Object.entries(FLAGS[c])) {
      lines.push(`  --${name}${spec.value ? ` ${spec.example ?? 'VALUE'}` : ''}`.padEnd(44) + spec.help);
    }
    lines.push('');
  }
  lines.push('Exit status: 0 done, 1 failed (one line on stderr), 2 bad command line (one line on stderr).');
  lines.push(`Samplers: ${knownSamplers()}.`);
  return lines.join('\n');
}
