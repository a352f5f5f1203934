/**
 * Test-only catalog overlay for the stand-in hub: two remote entries served from a local copy of a shipped
 * pipeline (a trained one under models/ when it has landed, else the random-weight fixture), appended to the real
 * models/catalog.json. Used by e2e/library.spec.ts (through page.route on /models/catalog.json) and by
 * tests/library.int.test.ts.
 *
 * - `standin-sd-turbo`: shaped like the real sd-turbo entry: only the three model.onnx files in the model repo,
 *   sizes unknown (the downloader asks with HEAD), tokenizer from a second repo with a pad id override, scheduler
 *   and component configs inline in the catalog.
 * - `standin-fewstep-copy`: the full diffusers layout with exact sizes, so wrong-size faults are detectable.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/** The pipeline the stand-in hub serves: the first trained shipped model that exists, else the tiny fixture. */
export function standinPipelineDir(): string {
  for (const id of ['fewstep-turbo', 'fewstep-progressive-1', 'fewstep-lcm']) {
    const d = join(ROOT, 'models', id);
    if (existsSync(join(d, 'model_index.json')) && existsSync(join(d, 'unet/model.onnx'))) return d;
  }
  return join(ROOT, 'fixtures/generated/tiny');
}

export const REPOS = {
  turbo: 'standin/sd-turbo-ort-web',
  tokenizer: 'standin/clip-vit-base-patch16',
  copy: 'standin/fewstep-copy',
} as const;

/** owner/name -> directory, for startHub({repos}). */
export function hubRepos(dir = standinPipelineDir()): Record<string, string> {
  return { [REPOS.turbo]: dir, [REPOS.tokenizer]: join(dir, 'tokenizer'), [REPOS.copy]: dir };
}

function walk(dir: string): string[] {
  const out: string[] = [];
  const rec = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) rec(p);
      else out.push(relative(dir, p).split('\\').join('/'));
    }
  };
  rec(dir);
  return out;
}

const json = (p: string): Record<string, unknown> => (existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : {});

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined && o[k] !== null).map((k) => [k, o[k]]));
}

/** The two overlay entries for the pipeline in `dir`. */
export function overlayEntries(dir = standinPipelineDir()): Record<string, unknown>[] {
  const unet = json(join(dir, 'unet/config.json'));
  const vae = json(join(dir, 'vae_decoder/config.json'));
  const te = json(join(dir, 'text_encoder/config.json'));
  const sched = json(join(dir, 'scheduler/scheduler_config.json'));
  const sample = typeof unet.sample_size === 'number' ? unet.sample_size : 8;
  const blocks = Array.isArray(vae.block_out_channels) ? vae.block_out_channels.length : 4;
  const px = sample * 2 ** (blocks - 1);
  const common = {
    precision: 'fp32',
    ioPrecision: 'fp32',
    resolution: { width: px, height: px },
    latentSize: { width: px / 8, height: px / 8, channels: typeof unet.in_channels === 'number' ? unet.in_channels : 4 },
    requiredFeatures: [],
    license: 'MIT (test copy)',
    approxVramMB: 64,
  };
  const { _class_name: _c, _diffusers_version: _v, ...schedRest } = sched;
  return [
    {
      id: 'standin-sd-turbo',
      name: 'SD-Turbo-shaped (stand-in hub)',
      kind: 'remote',
      source: { type: 'hf', repo: REPOS.turbo, revision: 'main' },
      files: ['unet/model.onnx', 'text_encoder/model.onnx', 'vae_decoder/model.onnx'].map((path) => ({ path, size: null })),
      ...common,
      sampler: {
        schedulerClass: 'EulerDiscreteScheduler',
        steps: 1,
        stepRange: [1, 4],
        guidanceScale: 0,
        guidanceRange: [0, 0],
        config: { ...schedRest, timestep_spacing: 'trailing' },
      },
      tokenizer: {
        source: 'hf',
        repo: REPOS.tokenizer,
        revision: 'main',
        path: '',
        files: [
          { path: 'tokenizer.json', size: null },
          { path: 'tokenizer_config.json', size: null },
        ],
        padTokenId: 0,
        maxLength: 77,
      },
      componentConfig: {
        unet: pick(unet, ['sample_size', 'in_channels', 'cross_attention_dim', 'time_cond_proj_dim']),
        vae_decoder: pick(vae, ['scaling_factor', 'block_out_channels', 'latent_channels']),
        text_encoder: pick(te, ['hidden_size', 'max_position_embeddings']),
      },
      notes: [`Test-only: ${relative(ROOT, dir)} served by the stand-in hub as ${REPOS.turbo}, laid out like schmuell/sd-turbo-ort-web.`],
    },
    {
      id: 'standin-fewstep-copy',
      name: 'Shipped pipeline copy (stand-in hub)',
      kind: 'remote',
      source: { type: 'hf', repo: REPOS.copy, revision: 'main' },
      files: walk(dir).map((path) => ({ path, size: statSync(join(dir, path)).size })),
      ...common,
      sampler: { schedulerClass: 'DDIMScheduler', steps: 2, stepRange: [1, 8], guidanceScale: 1, guidanceRange: [1, 8] },
      tokenizer: { source: 'model', path: 'tokenizer', padTokenId: null, maxLength: 77 },
      notes: [`Test-only: ${relative(ROOT, dir)} served by the stand-in hub as ${REPOS.copy}.`],
    },
  ];
}

/**
 * The SD-Turbo-shaped entry declared fp16 (needs WebGPU shader-f16), for the precision checks. The files are the
 * same fp32 ones: what is tested is the app's decision, made from the catalog before any session exists.
 */
export function f16Entry(dir = standinPipelineDir()): Record<string, unknown> {
  const turbo = overlayEntries(dir)[0];
  return { ...turbo, id: 'standin-sd-turbo-f16', name: 'SD-Turbo-shaped fp16 (stand-in hub)', precision: 'fp16', requiredFeatures: ['shader-f16'] };
}

/** models/catalog.json with the overlay entries appended. */
export function overlayCatalog(dir = standinPipelineDir()): Record<string, unknown> {
  const base = JSON.parse(readFileSync(join(ROOT, 'models/catalog.json'), 'utf8'));
  return { ...base, models: [...base.models, ...overlayEntries(dir), f16Entry(dir)] };
}
