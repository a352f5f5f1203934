/**
 * `fewstep generate`: one image through the app's engine request path (load, then generate, on WASM), written as
 * a PNG with the app's export metadata. The generate params are built as the app's src/app/runs.ts generateParams
 * builds them from its settings: the model's default steps and guidance unless given, the sampler override, eta
 * (TCD: its gamma, default 0.3), custom timesteps (steps = their number), rng 'fewstep'.
 */
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { GenerateParams, LoadedModel, LoraMergeResult, LoraRef } from '../engine';
import { pngChunksFor } from '../export/metadata';
import { encodePng } from '../export/png';
import { TCD_DEFAULT_GAMMA } from '../schedulers';
import type { GenerateOptions, LoraOption } from './args';
import { CliError } from './errors';
import { generationRecord } from './record';
import { openSession, type CliEnv } from './session';

/**
 * Check that --out can be written before any model is read: its folder exists, it is not a folder itself.
 * @returns the absolute path
 * @throws CliError naming the missing folder
 */
export async function checkOut(out: string): Promise<string> {
  const file = resolve(out);
  const dir = dirname(file);
  const d = await stat(dir).catch(() => null);
  if (!d) throw new CliError(`--out ${out}: the folder ${dir} does not exist`);
  if (!d.isDirectory()) throw new CliError(`--out ${out}: ${dir} is not a folder`);
  if ((await stat(file).catch(() => null))?.isDirectory()) throw new CliError(`--out ${out} is a folder; give a file name such as ${out.replace(/\/?$/, '/image.png')}`);
  return file;
}

/** A LoRA's name in reports and the PNG record: its file name without `.safetensors` (as the app names shipped ones). */
export function loraNameOf(file: string): string {
  return basename(file).replace(/\.safetensors$/i, '');
}

/**
 * Read the --lora files (before any model is read) as the load request's `loras`, in the order given.
 * @throws CliError naming a file that does not exist or cannot be read
 */
export async function readLoras(loras: readonly LoraOption[]): Promise<LoraRef[]> {
  const out: LoraRef[] = [];
  for (const l of loras) {
    let buf: Buffer;
    try {
      buf = await readFile(resolve(l.file));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CliError(
        code === 'ENOENT'
          ? `--lora ${l.file}: no such file`
          : code === 'EISDIR'
            ? `--lora ${l.file} is a folder; give the .safetensors file`
            : `--lora ${l.file}: cannot read it (${code ?? (e as Error).message})`,
      );
    }
    out.push({ name: loraNameOf(l.file), scale: l.scale, bytes: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer });
  }
  return out;
}

/** ", LoRA fewstep-lcm-lora:1 + fewstep-style-ink:0.8 (merged in 35 ms; 4 keys unmatched)" for the summary line. */
export function loraSummary(lora: LoraMergeResult | undefined): string {
  if (!lora?.adapters.length) return '';
  const unmatched = lora.adapters.reduce((n, a) => n + a.unmatched, 0);
  const te = lora.adapters.reduce((n, a) => n + a.textEncoderKeys, 0);
  const notes = [`merged in ${Math.round(lora.ms)} ms`, ...(unmatched ? [`${unmatched} keys unmatched`] : []), ...(te ? [`${te} text-encoder keys not applied`] : [])];
  return `, LoRA ${lora.adapters.map((a) => `${a.name}:${a.scale}`).join(' + ')} (${notes.join('; ')})`;
}

/** The params the app would send for these flags on this loaded model (see the module comment). */
export function paramsFor(opts: GenerateOptions, loaded: Pick<LoadedModel, 'defaults' | 'schedulerClass'>): GenerateParams {
  const schedulerClass = opts.sampler ?? loaded.schedulerClass;
  const tcd = schedulerClass === 'TCDScheduler';
  return {
    prompt: opts.prompt,
    negativePrompt: opts.negativePrompt ?? '',
    seed: opts.seed,
    steps: opts.timesteps ? opts.timesteps.length : (opts.steps ?? loaded.defaults.steps),
    guidanceScale: opts.guidance ?? loaded.defaults.guidanceScale,
    ...(opts.sampler ? { scheduler: opts.sampler } : {}),
    eta: tcd ? (opts.gamma ?? TCD_DEFAULT_GAMMA) : (opts.eta ?? 0),
    ...(opts.timesteps ? { timesteps: opts.timesteps } : {}),
    rng: opts.rng,
  };
}

/** The model's size must be the one asked for: the engine renders at the size its UNet and config fix. */
function checkSize(opts: GenerateOptions, loaded: Pick<LoadedModel, 'imageSize' | 'name' | 'latentShape'>): void {
  const [w, h] = loaded.imageSize;
  if ((opts.width !== undefined && opts.width !== w) || (opts.height !== undefined && opts.height !== h)) {
    const asked = `${opts.width ?? w}x${opts.height ?? h}`;
    throw new CliError(
      `--width/--height ${asked}: ${loaded.name} renders ${w}x${h} (latents [${loaded.latentShape.join(', ')}]); other sizes are not supported yet`,
    );
  }
}

/** Write `bytes` to `file` through a temporary sibling and a rename (no half-written PNG on failure). */
async function writeOut(file: string, bytes: Uint8Array, given: string): Promise<void> {
  const tmp = `${dirname(file)}/.${basename(file)}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new CliError(`cannot write --out ${given}: ${(e as NodeJS.ErrnoException).code ?? ''} ${(e as Error).message}`.replace(/\s+/g, ' '));
  }
}

/**
 * An engine error about a LoRA names it by its adapter name (`LoRA "fewstep-lcm-lora": ...`); on the command line the
 * file as typed is what the user can act on, so the message names that path instead. Other errors pass unchanged.
 */
export function withLoraPaths(e: unknown, loras: readonly LoraOption[]): unknown {
  if (!(e instanceof Error) || loras.length === 0) return e;
  let message = e.message;
  for (const l of loras) message = message.split(`LoRA "${loraNameOf(l.file)}"`).join(`LoRA "${l.file}"`);
  if (message !== e.message) e.message = message;
  return e;
}

/**
 * Run `generate`. Prints one summary line on stdout.
 * @throws UsageError / CliError / EngineError (the caller prints the one line and picks the exit status)
 */
export async function runGenerate(opts: GenerateOptions, cli: CliEnv): Promise<void> {
  const outFile = await checkOut(opts.out);
  const loras = await readLoras(opts.loras);
  const { engine, model } = await openSession(opts, cli);
  try {
    const loaded = await engine
      .request('load', { model: model.ref, provider: 'wasm', ...(loras.length ? { loras } : {}) })
      .done.catch((e: unknown) => {
        throw withLoraPaths(e, opts.loras);
      });
    checkSize(opts, loaded);
    const params = paramsFor(opts, loaded);
    const { result } = await engine.request('generate', { params, modelId: loaded.id }).done;
    const record = generationRecord(params, result, model, new Date(), opts.loras.map((l) => ({ name: loraNameOf(l.file), scale: l.scale })));
    const png = await encodePng(result.image.data, result.image.width, result.image.height, { text: pngChunksFor(record) });
    await writeOut(outFile, png, opts.out);
    const steps = `${result.timesteps.length} step${result.timesteps.length === 1 ? '' : 's'}`;
    cli.stdout(
      `wrote ${opts.out}: ${result.image.width}x${result.image.height}, ${model.id}, ${result.schedulerClass} ${steps}, ` +
        `seed ${params.seed}, ${Math.round(result.timings.totalMs)} ms${loraSummary(loaded.lora)}\n`,
    );
  } finally {
    engine.terminate();
  }
}
