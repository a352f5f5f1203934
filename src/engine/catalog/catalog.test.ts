import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { guidanceScaleEmbedding } from '../../schedulers';
import { CustomSourceError, validateCustomSource } from './custom';
import { catalogEntryForFiles, checkLayout, layoutFilesFor, resolveLayoutFileUrl } from './files';
import { CatalogError, type CatalogEntry } from './schema';
import { encodePath, hfResolveUrl, resolveFileUrl } from './urls';
import { getCatalogEntry, getLoraEntry, lorasFor, validateCatalog } from './validate';

const catalogJson = JSON.parse(readFileSync(new URL('../../../models/catalog.json', import.meta.url), 'utf8'));
/** Positions of the entries the error tests edit (the shipped list grows; the tests must not depend on it). */
const SD_TURBO = (catalogJson.models as Array<{ id: string }>).findIndex((m) => m.id === 'sd-turbo');
const LCM_DS = (catalogJson.models as Array<{ id: string }>).findIndex((m) => m.id === 'lcm-dreamshaper-v7');

function clone<T>(v: T): T {
  return structuredClone(v);
}

function issuesOf(json: unknown): string[] {
  try {
    validateCatalog(json);
  } catch (err) {
    expect(err).toBeInstanceOf(CatalogError);
    return (err as CatalogError).issues;
  }
  throw new Error('expected validateCatalog to throw');
}

describe('models/catalog.json', () => {
  const catalog = validateCatalog(catalogJson);

  it('validates and lists the 9 shipped pipelines and the 5 remote models', () => {
    expect(catalog.models.filter((m) => m.kind === 'shipped').map((m) => m.id)).toEqual([
      'fewstep-teacher', 'fewstep-progressive-8', 'fewstep-progressive-4', 'fewstep-progressive-2',
      'fewstep-progressive-1', 'fewstep-lcm', 'fewstep-turbo', 'fewstep-direct', 'fewstep-ict',
    ]);
    expect(catalog.models.filter((m) => m.kind === 'remote').map((m) => m.id)).toEqual(['sd-turbo', 'lcm-dreamshaper-v7', 'sd-2-1-base', 'sdxl-turbo', 'sd-1-5']);
  });

  it('points remote entries at the public repos with the right files and sampler settings', () => {
    const turbo = getCatalogEntry(catalog, 'sd-turbo');
    expect(turbo.source).toEqual({ type: 'hf', repo: 'schmuell/sd-turbo-ort-web', revision: 'main' });
    expect(turbo.files.map((f) => f.path).sort()).toEqual(['text_encoder/model.onnx', 'unet/model.onnx', 'vae_decoder/model.onnx']);
    expect(turbo.tokenizer).toMatchObject({ source: 'hf', repo: 'Xenova/clip-vit-base-patch16', padTokenId: 0 });
    expect(turbo.sampler).toMatchObject({ schedulerClass: 'EulerDiscreteScheduler', steps: 1, guidanceScale: 0 });
    expect(turbo.requiredFeatures).toContain('shader-f16');

    const lcm = getCatalogEntry(catalog, 'lcm-dreamshaper-v7');
    expect(lcm.source).toMatchObject({ repo: 'aislamov/lcm-dreamshaper-v7-onnx' });
    expect(lcm.files.map((f) => f.path)).toContain('unet/model.onnx_data');
    expect(lcm.sampler).toMatchObject({ schedulerClass: 'LCMScheduler', steps: 4 });

    expect(getCatalogEntry(catalog, 'sd-2-1-base').source).toMatchObject({ repo: 'aislamov/stable-diffusion-2-1-base-onnx' });
  });

  it('SD 2.1 base lists the VAE decoder sidecar and the exact byte sizes of a public file-by-file download list', () => {
    const sd21 = getCatalogEntry(catalog, 'sd-2-1-base');
    const size = (p: string) => sd21.files.find((f) => f.path === p);
    // Verilean/lean-tea-chuhan ChuHan/fetch-models.sh (training/standins/EVIDENCE.md, "sd-2-1-base").
    expect(size('vae_decoder/model.onnx')).toEqual({ path: 'vae_decoder/model.onnx', size: 2_111_342 });
    expect(size('vae_decoder/model.onnx_data')).toEqual({ path: 'vae_decoder/model.onnx_data', size: 97_389_312 }); // required
    expect(size('unet/model.onnx')).toEqual({ path: 'unet/model.onnx', size: 1_750_977_785 });
    expect(size('unet/model.onnx_data')).toBeUndefined(); // one file, no sidecar
    expect(size('text_encoder/model.onnx')).toEqual({ path: 'text_encoder/model.onnx', size: 681_552_894 });
    expect(size('model_index.json')?.size).toBe(587);
    expect(size('scheduler/scheduler_config.json')?.size).toBe(341);
    // Every required file has its size, so the download needs no HEAD for them.
    expect(sd21.files.filter((f) => !f.optional).every((f) => f.size !== null)).toBe(true);
  });

  it("LCM-Dreamshaper's sidecars are optional: the engine probes for them and loads without them", () => {
    const lcm = getCatalogEntry(catalog, 'lcm-dreamshaper-v7');
    expect(lcm.files.find((f) => f.path === 'unet/model.onnx_data')).toEqual({ path: 'unet/model.onnx_data', size: null, optional: true });
    expect(lcm.files.find((f) => f.path === 'vae_decoder/model.onnx_data')?.optional).toBe(true);
    expect(lcm.files.find((f) => f.path === 'unet/model.onnx')?.optional).toBeUndefined();
  });

  it('LCM guidance means w = guidance_scale - 1 (diffusers), with the default chosen as diffusers\' 8.5 and said so', () => {
    const lcm = getCatalogEntry(catalog, 'lcm-dreamshaper-v7');
    expect(lcm.sampler.guidanceScale).toBe(8.5);
    // The embedding the engine feeds for the default is the one of w = 7.5 (first frequency is 1: emb[0] = sin(1000 w)).
    const emb = guidanceScaleEmbedding(lcm.sampler.guidanceScale, 256);
    expect(emb[0]).toBeCloseTo(Math.sin(7500), 3);
    expect(emb[128]).toBeCloseTo(Math.cos(7500), 3);
    const notes = lcm.notes.join(' ');
    expect(notes).not.toMatch(/as in diffusers\.js/);
    expect(notes).toMatch(/w = guidance_scale - 1/);
    expect(notes).toMatch(/default 8\.5 is diffusers' own default \(w = 7\.5\)/);
  });

  it('remote entries pin their sample size and widths, so the resolution never depends on an optional config.json', () => {
    const pinned = { 'sd-turbo': [64, 1024, 512], 'lcm-dreamshaper-v7': [96, 768, 768], 'sd-2-1-base': [64, 1024, 512], 'sd-1-5': [64, 768, 512] } as const;
    for (const [id, [sample, width, px]] of Object.entries(pinned)) {
      const e = getCatalogEntry(catalog, id);
      expect(e.componentConfig?.unet, id).toMatchObject({ sample_size: sample, in_channels: 4, cross_attention_dim: width });
      expect(e.componentConfig?.text_encoder, id).toEqual({ hidden_size: width });
      expect(e.componentConfig?.vae_decoder, id).toEqual({ scaling_factor: 0.18215 });
      expect(e.resolution, id).toEqual({ width: px, height: px });
      expect(e.latentSize, id).toEqual({ width: sample, height: sample, channels: 4 });
    }
    expect(getCatalogEntry(catalog, 'lcm-dreamshaper-v7').componentConfig?.unet.time_cond_proj_dim).toBe(256);
  });

  it('shipped entries have the full diffusers layout from a local source', () => {
    for (const e of catalog.models.filter((m) => m.kind === 'shipped')) {
      expect(e.source).toEqual({ type: 'local', path: `models/${e.id}` });
      expect(checkLayout(layoutFilesFor(e).map((f) => f.path)).missing).toEqual([]);
    }
  });

  it('getCatalogEntry names the known ids for an unknown one', () => {
    expect(() => getCatalogEntry(catalog, 'nope')).toThrow(/Unknown model "nope". Should be one of: fewstep-teacher, /);
  });
});

describe('catalog entry sd-1-5 (nmkd/stable-diffusion-1.5-onnx-fp16, training/standins/EVIDENCE.md#sd-1-5)', () => {
  const catalog = validateCatalog(catalogJson);
  const e = getCatalogEntry(catalog, 'sd-1-5');

  it("lists the fp16 diffusers-script export's graphs with the byte sizes of a public download table, weights.pb required", () => {
    expect(e.source).toEqual({ type: 'hf', repo: 'nmkd/stable-diffusion-1.5-onnx-fp16', revision: 'main' });
    const size = (p: string) => e.files.find((f) => f.path === p);
    // search-index file 61677984112 (a downloader that checks each file's length)
    expect(size('text_encoder/model.onnx')).toEqual({ path: 'text_encoder/model.onnx', size: 246_476_214 });
    expect(size('unet/model.onnx')).toEqual({ path: 'unet/model.onnx', size: 1_217_704 });
    expect(size('unet/weights.pb')).toEqual({ path: 'unet/weights.pb', size: 1_718_976_000 }); // the script's sidecar name
    expect(size('vae_decoder/model.onnx')).toEqual({ path: 'vae_decoder/model.onnx', size: 99_094_195 });
    expect(size('vae_encoder/model.onnx')).toBeUndefined(); // img2img only
    // What no listing shows is optional (asked with HEAD, skipped on 404); everything required has its size.
    expect(e.files.filter((f) => f.optional).map((f) => f.path).sort()).toEqual([
      'model_index.json', 'scheduler/scheduler_config.json', 'text_encoder/config.json', 'unet/config.json', 'vae_decoder/config.json',
    ]);
    expect(e.files.filter((f) => !f.optional).every((f) => f.size !== null)).toBe(true);
  });

  it('is fp16 with fp16 I/O, 512 px, SD 1.x padding, and carries the SD 1.5 schedule for a repo without a scheduler file', () => {
    expect([e.precision, e.ioPrecision]).toEqual(['fp16', 'fp16']);
    expect(e.requiredFeatures).toContain('shader-f16');
    expect(e.tokenizer).toMatchObject({ source: 'hf', repo: 'Xenova/clip-vit-base-patch16', padTokenId: 49407, maxLength: 77 });
    expect(e.componentConfig?.unet).toEqual({ sample_size: 64, in_channels: 4, cross_attention_dim: 768 });
    expect(e.sampler).toMatchObject({ schedulerClass: 'DDIMScheduler', steps: 20, guidanceScale: 7.5 });
    expect(e.sampler.config).toMatchObject({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, steps_offset: 1, set_alpha_to_one: false });
  });
});

describe('catalog LoRA adapters (loras)', () => {
  const catalog = validateCatalog(catalogJson);

  it('lists the shipped adapters and the public LCM-LoRAs, each made for catalog pipelines', () => {
    expect(catalog.loras?.map((l) => [l.id, l.kind, l.format, l.role])).toEqual([
      ['fewstep-lcm-lora', 'shipped', 'peft', 'lcm'],
      ['fewstep-style-ink', 'shipped', 'kohya', 'style'],
      ['lcm-lora-sdv1-5', 'remote', 'kohya', 'lcm'],
      ['lcm-lora-sdxl', 'remote', 'kohya', 'lcm'],
    ]);
    expect(lorasFor(catalog, 'fewstep-teacher').map((l) => l.id)).toEqual(['fewstep-lcm-lora', 'fewstep-style-ink']);
    expect(lorasFor(catalog, 'sd-1-5').map((l) => l.id)).toEqual(['lcm-lora-sdv1-5']);
    expect(lorasFor(catalog, 'sdxl-turbo')).toEqual([]); // int4 MatMulNBits weights take no float delta
    expect(() => getLoraEntry(catalog, 'nope')).toThrow(/Unknown LoRA "nope". Should be one of: fewstep-lcm-lora, /);
  });

  it('lcm-lora-sdv1-5: the published file (size, sha256), kohya keys with .alpha, rank 64, alpha unverified, the LCM preset', () => {
    const l = getLoraEntry(catalog, 'lcm-lora-sdv1-5');
    expect(l.source).toEqual({ type: 'hf', repo: 'latent-consistency/lcm-lora-sdv1-5', revision: 'main' });
    expect(l.files).toEqual([{ path: 'pytorch_lora_weights.safetensors', size: 134_621_556, sha256: '8f90d840e075ff588a58e22c6586e2ae9a6f7922996ee6649a7f01072333afe4' }]);
    expect(l).toMatchObject({ baseFamily: 'sd1', rank: 64, alpha: null, alphaStorage: 'keys', precision: 'fp16', tensorCount: 834, defaultScale: 1 });
    expect(l.targets).toEqual(expect.arrayContaining(['to_q', 'to_out.0', 'proj_in', 'proj_out', 'ff.net.0.proj', 'conv_shortcut', 'time_emb_proj', 'upsamplers.0.conv']));
    expect(l.sampler).toEqual({ schedulerClass: 'LCMScheduler', steps: 4, stepRange: [2, 8], guidanceScale: 1, guidanceRange: [1, 2] });
    expect(resolveFileUrl(l, l.files[0].path)).toBe('https://huggingface.co/latent-consistency/lcm-lora-sdv1-5/resolve/main/pytorch_lora_weights.safetensors');
    expect(l.notes.join(' ')).toMatch(/alpha is null here \(unverified\)/);
  });

  it('lcm-lora-sdxl: the published size and sha256; no catalog pipeline it can merge into', () => {
    const l = getLoraEntry(catalog, 'lcm-lora-sdxl');
    expect(l.files).toEqual([{ path: 'pytorch_lora_weights.safetensors', size: 393_855_224, sha256: 'a764e6859b6e04047cd761c08ff0cee96413a8e004c9f07707530cd776b19141' }]);
    expect(l).toMatchObject({ baseFamily: 'sdxl', appliesTo: [], rank: 64, tensorCount: 2364 });
  });

  it('shipped adapters are the files in models/loras, with their size and sha256 once the files exist', () => {
    for (const l of (catalog.loras ?? []).filter((x) => x.kind === 'shipped')) {
      expect(l.source).toEqual({ type: 'local', path: 'models/loras' });
      expect(l.appliesTo).toEqual(['fewstep-teacher']);
      const f = l.files[0];
      const onDisk = new URL(`../../../models/loras/${f.path}`, import.meta.url);
      if (f.size === null || !existsSync(onDisk)) continue; // filled by scripts/update-catalog-sizes.mjs
      const bytes = readFileSync(onDisk);
      expect(bytes.length, f.path).toBe(f.size);
      expect(createHash('sha256').update(bytes).digest('hex'), f.path).toBe(f.sha256);
    }
    expect(getLoraEntry(catalog, 'fewstep-lcm-lora')).toMatchObject({ rank: 8, alpha: 8, alphaStorage: 'metadata', sampler: { schedulerClass: 'LCMScheduler' } });
    expect(getLoraEntry(catalog, 'fewstep-style-ink')).toMatchObject({ rank: 8, alpha: 8, alphaStorage: 'keys', defaultScale: 0.8 });
    expect(getLoraEntry(catalog, 'fewstep-style-ink').sampler).toBeUndefined();
  });

  it('a catalog without loras is valid, and a shipped adapter may wait for its file (size null)', () => {
    const { loras: _unused, ...rest } = clone(catalogJson);
    expect(validateCatalog(rest).loras).toBeUndefined();
    const c = clone(catalogJson);
    c.loras[0].files[0] = { path: 'fewstep-lcm-lora.safetensors', size: null };
    expect(validateCatalog(c).loras?.[0].files[0].size).toBeNull();
  });
});

describe('validateCatalog errors', () => {
  const base = () => clone(catalogJson);

  it('rejects a non-object and a wrong schema version', () => {
    expect(issuesOf(42)).toEqual(['catalog: received 42, expected an object']);
    const c = base();
    c.schemaVersion = 2;
    expect(issuesOf(c)).toEqual(['catalog.schemaVersion: received 2, expected 1']);
  });

  it('names the path, the value received and what is allowed', () => {
    const c = base();
    c.models[0].kind = 'local';
    c.models[1].sampler.steps = 0;
    c.models[SD_TURBO].precision = 'int8';
    const issues = issuesOf(c);
    expect(issues).toContain('models[0].kind: received "local", expected one of: shipped, remote');
    expect(issues).toContain('models[1].sampler.steps: received 0, expected an integer >= 1 <= 1000');
    expect(issues).toContain(`models[${SD_TURBO}].precision: received "int8", expected one of: fp32, fp16`);
  });

  it('checks steps against stepRange and guidance against guidanceRange', () => {
    const c = base();
    c.models[SD_TURBO].sampler.steps = 9; // sd-turbo: 1..4
    c.models[SD_TURBO].sampler.guidanceScale = 5; // [0, 0]
    const issues = issuesOf(c);
    expect(issues).toContain(`models[${SD_TURBO}].sampler.steps: received 9, expected a value inside stepRange [1, 4]`);
    expect(issues).toContain(`models[${SD_TURBO}].sampler.guidanceScale: received 5, expected a value inside guidanceRange [0, 0]`);
  });

  it('rejects unsafe file paths, duplicate paths, bad sizes and bad hashes', () => {
    const c = base();
    c.models[SD_TURBO].files[0].path = '../secret';
    c.models[SD_TURBO].files[1].path = 'vae_decoder/model.onnx';
    c.models[SD_TURBO].files[2].size = -1;
    c.models[SD_TURBO].files[2].sha256 = 'ABC';
    const issues = issuesOf(c).join('\n');
    expect(issues).toMatch(new RegExp(`models\\[${SD_TURBO}\\]\\.files\\[0\\]\\.path: received "\\.\\./secret", expected a relative path`));
    expect(issues).toMatch(new RegExp(`models\\[${SD_TURBO}\\]\\.files\\[2\\]\\.path: received "vae_decoder/model.onnx", expected a path not listed twice`));
    expect(issues).toMatch(new RegExp(`models\\[${SD_TURBO}\\]\\.files\\[2\\]\\.size: received -1, expected an integer >= 0`));
    expect(issues).toMatch(new RegExp(`models\\[${SD_TURBO}\\]\\.files\\[2\\]\\.sha256: received "ABC", expected 64 lower-case hex characters`));
  });

  it('requires shader-f16 for fp16 weights, a latent 8x smaller than the image, and matching source kinds', () => {
    const c = base();
    c.models[LCM_DS].requiredFeatures = [];
    c.models[LCM_DS].latentSize.width = 64; // resolution 768
    c.models[0].source = { type: 'hf', repo: 'a/b', revision: 'main' };
    const issues = issuesOf(c).join('\n');
    expect(issues).toMatch(new RegExp(`models\\[${LCM_DS}\\]\\.requiredFeatures: received \\[\\], expected to include "shader-f16" because precision is "fp16"`));
    expect(issues).toMatch(new RegExp(`models\\[${LCM_DS}\\]\\.latentSize: .* expected 8x smaller than resolution 768x768`));
    expect(issues).toMatch(/models\[0\]\.source\.type: received "hf", expected "local" for a shipped entry/);
  });

  it('rejects duplicate ids, unknown fields, bad repos and a tokenizer without tokenizer.json', () => {
    const c = base();
    c.models[1].id = c.models[0].id;
    c.models[2].defaults = { steps: 4 };
    c.models[SD_TURBO].source.repo = 'not a repo';
    c.models[SD_TURBO].tokenizer.files = [{ path: 'vocab.json', size: null }];
    const issues = issuesOf(c).join('\n');
    expect(issues).toMatch(/models\[1\]\.id: received "fewstep-teacher", expected an id not used by another entry/);
    expect(issues).toMatch(/models\[2\]\.defaults: unknown field\. Allowed fields: id, name, kind/);
    expect(issues).toMatch(new RegExp(`models\\[${SD_TURBO}\\]\\.source\\.repo: received "not a repo", expected a Hugging Face repo "owner\\/name"`));
    expect(issues).toMatch(new RegExp(`models\\[${SD_TURBO}\\]\\.tokenizer\\.files: received \\["vocab.json"\\], expected to include tokenizer.json`));
  });

  it('accepts a tokenizer given as vocab.json + merges.txt (the diffusers form), not half of it', () => {
    const c = base();
    c.models[SD_TURBO].tokenizer.files = [{ path: 'vocab.json', size: null }, { path: 'merges.txt', size: null }, { path: 'tokenizer_config.json', size: null }];
    expect(() => validateCatalog(c)).not.toThrow();
    c.models[SD_TURBO].tokenizer.files = [{ path: 'merges.txt', size: null }];
    expect(issuesOf(c).join('\n')).toMatch(/tokenizer\.files: received \["merges.txt"\], expected to include tokenizer.json, or vocab.json and merges.txt/);
  });

  it('reports every problem at once in the message', () => {
    const c = base();
    c.models[0].name = '';
    c.models[0].approxVramMB = 'lots';
    expect(() => validateCatalog(c)).toThrow(/Invalid model catalog \(2 problems\):\n- models\[0\]\.name: received "", expected a non-empty string\n- models\[0\]\.approxVramMB: received "lots", expected a number >= 0/);
  });

  describe('LoRA entries', () => {
    const at = (id: string): number => (catalogJson.loras as Array<{ id: string }>).findIndex((l) => l.id === id);
    const SD = at('lcm-lora-sdv1-5');
    const INK = at('fewstep-style-ink');

    it('rejects an unknown key layout, role and family, naming the path and the allowed values', () => {
      const c = base();
      c.loras[SD].format = 'lycoris';
      c.loras[SD].role = 'turbo';
      c.loras[SD].baseFamily = 'sd3';
      const issues = issuesOf(c);
      expect(issues).toContain(`loras[${SD}].format: received "lycoris", expected one of: peft, kohya`);
      expect(issues).toContain(`loras[${SD}].role: received "turbo", expected one of: lcm, style`);
      expect(issues).toContain(`loras[${SD}].baseFamily: received "sd3", expected one of: fewstep, sd1, sd2, sdxl`);
    });

    it('requires exactly one .safetensors file', () => {
      const c = base();
      c.loras[SD].files = [{ path: 'pytorch_lora_weights.bin', size: 1 }];
      c.loras[INK].files.push({ path: 'extra.safetensors', size: 3 });
      const issues = issuesOf(c);
      expect(issues).toContain(`loras[${SD}].files: received ["pytorch_lora_weights.bin"], expected exactly one .safetensors file (a LoRA adapter is one file)`);
      expect(issues).toContain(`loras[${INK}].files: received ["fewstep-style-ink.safetensors","extra.safetensors"], expected exactly one .safetensors file (a LoRA adapter is one file)`);
    });

    it('appliesTo must name catalog pipelines', () => {
      const c = base();
      c.loras[SD].appliesTo = ['sd-1-5', 'sd-9'];
      expect(issuesOf(c)).toEqual([expect.stringMatching(new RegExp(`^loras\\[${SD}\\]\\.appliesTo\\[1\\]: received "sd-9", expected the id of a catalog pipeline \\(one of: fewstep-teacher, .*sd-1-5\\)$`))]);
    });

    it('an LCM adapter needs an LCMScheduler sampler (its preset); samplers are range-checked like pipelines\'', () => {
      const c = base();
      delete c.loras[SD].sampler;
      c.loras[at('lcm-lora-sdxl')].sampler.schedulerClass = 'DDIMScheduler';
      c.loras[at('fewstep-lcm-lora')].sampler.steps = 12; // stepRange [1, 8]
      const issues = issuesOf(c);
      expect(issues).toContain(`loras[${SD}].sampler: received nothing, expected the LCM sampler to switch to (an LCM adapter needs one: the "LCM-LoRA" preset)`);
      expect(issues).toContain(`loras[${at('lcm-lora-sdxl')}].sampler.schedulerClass: received "DDIMScheduler", expected "LCMScheduler" for an LCM adapter`);
      expect(issues).toContain(`loras[${at('fewstep-lcm-lora')}].sampler.steps: received 12, expected a value inside stepRange [1, 8]`);
    });

    it('checks rank, alpha, where alpha is stored, the strength and the tensor count', () => {
      const c = base();
      c.loras[SD].rank = 0;
      c.loras[SD].alpha = -1;
      c.loras[SD].alphaStorage = 'header';
      c.loras[SD].defaultScale = 3;
      c.loras[SD].tensorCount = 1.5;
      c.loras[INK].alphaStorage = 'none'; // rank 8, alpha 8: fine
      c.loras[at('fewstep-lcm-lora')].alphaStorage = 'none';
      c.loras[at('fewstep-lcm-lora')].alpha = 4;
      const issues = issuesOf(c);
      expect(issues).toContain(`loras[${SD}].rank: received 0, expected an integer >= 1 <= 4096`);
      expect(issues).toContain(`loras[${SD}].alpha: received -1, expected a number >= 0`);
      expect(issues).toContain(`loras[${SD}].alphaStorage: received "header", expected one of: keys, metadata, none`);
      expect(issues).toContain(`loras[${SD}].defaultScale: received 3, expected a number >= -2 <= 2`);
      expect(issues).toContain(`loras[${SD}].tensorCount: received 1.5, expected an integer >= 2`);
      expect(issues).toContain(`loras[${at('fewstep-lcm-lora')}].alpha: received 4, expected 8 (the rank: a file without alpha is applied with alpha = rank)`);
      expect(issues.some((i) => i.startsWith(`loras[${INK}]`))).toBe(false);
    });

    it('rejects missing required fields, unknown fields, a shipped adapter from the hub and an id a pipeline has', () => {
      const c = base();
      delete c.loras[SD].rank;
      c.loras[SD].scale = 1;
      c.loras[INK].source = { type: 'hf', repo: 'a/b', revision: 'main' };
      c.loras[at('lcm-lora-sdxl')].id = 'sd-1-5';
      const issues = issuesOf(c);
      expect(issues).toContain(`loras[${SD}].rank: received nothing, expected an integer >= 1 <= 4096`);
      expect(issues).toContainEqual(expect.stringMatching(new RegExp(`^loras\\[${SD}\\]\\.scale: unknown field\\. Allowed fields: id, name, kind, source, files, format, role`)));
      expect(issues).toContain(`loras[${INK}].source.type: received "hf", expected "local" for a shipped entry`);
      expect(issues).toContain(`loras[${at('lcm-lora-sdxl')}].id: received "sd-1-5", expected an id not used by another entry (pipelines and LoRAs share ids)`);
    });

    it('rejects a loras field that is not a list', () => {
      const c = base();
      c.loras = { 'lcm-lora-sdv1-5': {} };
      expect(issuesOf(c)).toEqual(['catalog.loras: received {"lcm-lora-sdv1-5":{}}, expected an array']);
    });
  });
});

describe('URL building', () => {
  const catalog = validateCatalog(catalogJson);
  const turbo = getCatalogEntry(catalog, 'sd-turbo');

  it('builds Hugging Face resolve URLs, with a configurable hub base', () => {
    expect(resolveFileUrl(turbo, 'unet/model.onnx')).toBe('https://huggingface.co/schmuell/sd-turbo-ort-web/resolve/main/unet/model.onnx');
    expect(resolveFileUrl(turbo, 'unet/model.onnx', { hubBase: 'http://127.0.0.1:8787/' })).toBe(
      'http://127.0.0.1:8787/schmuell/sd-turbo-ort-web/resolve/main/unet/model.onnx',
    );
  });

  it('encodes each path segment and the revision, but keeps the slashes', () => {
    expect(encodePath('a b/c#d/e?f')).toBe('a%20b/c%23d/e%3Ff');
    expect(hfResolveUrl('o/n', 'refs/pr/1', 'x y/z.onnx')).toBe('https://huggingface.co/o/n/resolve/refs%2Fpr%2F1/x%20y/z.onnx');
  });

  it('rejects unsafe paths and bad repos', () => {
    expect(() => resolveFileUrl(turbo, '../x')).toThrow(/Invalid file path "\.\.\/x"/);
    expect(() => resolveFileUrl(turbo, '/abs')).toThrow(/Invalid file path/);
    expect(() => hfResolveUrl('bad', 'main', 'x')).toThrow(/Invalid Hugging Face repo "bad"/);
  });

  it('resolves local sources against the app base, and custom sources against their base URL', () => {
    const local = getCatalogEntry(catalog, 'fewstep-turbo');
    expect(resolveFileUrl(local, 'unet/model.onnx', { appBase: 'http://localhost:5173/app/' })).toBe(
      'http://localhost:5173/app/models/fewstep-turbo/unet/model.onnx',
    );
    expect(() => resolveFileUrl(local, 'unet/model.onnx')).toThrow(/appBase is required/);
    expect(resolveFileUrl({ source: { type: 'url', baseUrl: 'https://cdn.example/m/' } }, 'unet/model.onnx')).toBe(
      'https://cdn.example/m/unet/model.onnx',
    );
  });

  it('layoutFilesFor adds the tokenizer from its own repo, stored under tokenizer/', () => {
    const files = layoutFilesFor(turbo);
    const tok = files.find((f) => f.path === 'tokenizer/tokenizer.json')!;
    expect(tok).toMatchObject({ role: 'tokenizer', origin: { type: 'hf', repo: 'Xenova/clip-vit-base-patch16', path: 'tokenizer.json' } });
    expect(resolveLayoutFileUrl(turbo, tok, { hubBase: 'http://hub' })).toBe('http://hub/Xenova/clip-vit-base-patch16/resolve/main/tokenizer.json');
    expect(files.find((f) => f.path === 'unet/model.onnx')).toMatchObject({ role: 'weights', optional: false, origin: { type: 'model' } });
    const lcm = layoutFilesFor(getCatalogEntry(catalog, 'lcm-dreamshaper-v7'));
    expect(lcm.find((f) => f.path === 'vae_decoder/model.onnx_data')).toMatchObject({ optional: true, role: 'weights' });
  });
});

describe('validateCustomSource', () => {
  const page = 'http://localhost:5173';

  it('accepts https URLs and normalizes the trailing slash', () => {
    expect(validateCustomSource('https://cdn.example.com/models/sd/', page)).toEqual({ baseUrl: 'https://cdn.example.com/models/sd' });
  });

  it('accepts same-origin URLs, including plain http on the page origin and relative paths', () => {
    expect(validateCustomSource('http://localhost:5173/models/x', page).baseUrl).toBe('http://localhost:5173/models/x');
    expect(validateCustomSource('/fixtures/tiny/', page).baseUrl).toBe('http://localhost:5173/fixtures/tiny');
  });

  it('turns a Hugging Face repo page into its resolve base', () => {
    expect(validateCustomSource('https://huggingface.co/schmuell/sd-turbo-ort-web', page)).toEqual({
      baseUrl: 'https://huggingface.co/schmuell/sd-turbo-ort-web/resolve/main',
      hf: { repo: 'schmuell/sd-turbo-ort-web', revision: 'main' },
    });
    expect(validateCustomSource('https://huggingface.co/a/b/tree/v2', page).hf).toEqual({ repo: 'a/b', revision: 'v2' });
  });

  it.each([
    ['javascript:alert(1)', /"javascript:" scheme is not allowed/],
    ['data:application/octet-stream;base64,AAAA', /"data:" scheme is not allowed/],
    ['file:///etc/passwd', /"file:" scheme is not allowed/],
    ['http://evil.example/models', /plain http is only allowed on this page's own origin/],
    ['https://user:pw@cdn.example/m', /contains credentials/],
    ['https://cdn.example/m?token=1', /remove the query or fragment/],
    ['', /Custom source is empty/],
    ['https://', /not a valid URL/],
  ])('rejects %s with a clear message', (url, message) => {
    expect(() => validateCustomSource(url, page)).toThrow(CustomSourceError);
    expect(() => validateCustomSource(url, page)).toThrow(message);
  });
});

describe('checkLayout', () => {
  const full = [
    'model_index.json', 'scheduler/scheduler_config.json', 'tokenizer/tokenizer.json', 'tokenizer/tokenizer_config.json',
    'text_encoder/model.onnx', 'unet/model.onnx', 'vae_decoder/model.onnx',
  ];

  it('accepts a full export, also inside a wrapping folder', () => {
    expect(checkLayout(full).ok).toBe(true);
    expect(checkLayout(full.map((p) => `my-export/${p}`)).ok).toBe(true);
  });

  it('names each missing file and what it is for', () => {
    const r = checkLayout(full.filter((p) => p !== 'unet/model.onnx'));
    expect(r.ok).toBe(false);
    expect(r.missing).toEqual(['unet/model.onnx']);
    expect(r.messages).toEqual(['Missing unet/model.onnx (the UNet (denoiser) graph).']);
  });

  it('takes vocab.json + merges.txt for tokenizer.json, not one of them', () => {
    const bpe = full.filter((p) => p !== 'tokenizer/tokenizer.json');
    expect(checkLayout([...bpe, 'tokenizer/vocab.json', 'tokenizer/merges.txt']).ok).toBe(true);
    const half = checkLayout([...bpe, 'tokenizer/vocab.json']);
    expect(half.missing).toEqual(['tokenizer/tokenizer.json']);
    expect(half.messages[0]).toMatch(/tokenizer\.json, or vocab\.json \+ merges\.txt/);
  });

  // webnn/sdxl-turbo as its repo has it (catalog entry sdxl-turbo), plus the tokenizers a user adds.
  const sdxlFlat = [
    'onnx/text_encoder_model_q4f16.onnx', 'onnx/text_encoder_2_model_q4f16.onnx', 'onnx/unet_model_q4f16.onnx', 'onnx/vae_decoder_model_q4f16.onnx',
    'onnx/unet_model_qdq_q4f16.onnx', 'tokenizer/tokenizer.json', 'tokenizer/tokenizer_config.json',
  ];
  it('finds graphs in the flat onnx/ layout; the matching catalog entry supplies the scheduler config', () => {
    const entries = validateCatalog(catalogJson).models;
    expect(checkLayout(sdxlFlat).missing).toEqual(['scheduler/scheduler_config.json']);
    const entry = catalogEntryForFiles(sdxlFlat, entries);
    expect(entry?.id).toBe('sdxl-turbo');
    expect(checkLayout(sdxlFlat, undefined, entry).ok).toBe(true);
    expect(catalogEntryForFiles(sdxlFlat.filter((p) => !p.startsWith('onnx/unet_model_q4')), entries)).toBeNull();
  });

  it('matches a plain diffusers folder to an entry only by its exact graph set and without a scheduler config', () => {
    const entries = validateCatalog(catalogJson).models;
    const bare = ['text_encoder/model.onnx', 'unet/model.onnx', 'vae_decoder/model.onnx', 'tokenizer/tokenizer.json', 'tokenizer/tokenizer_config.json'];
    expect(catalogEntryForFiles(bare, entries)?.id).toBe('sd-turbo'); // schmuell/sd-turbo-ort-web's three graphs
    expect(catalogEntryForFiles([...bare, 'scheduler/scheduler_config.json'], entries)).toBeNull(); // any SD export
    expect(catalogEntryForFiles([...bare, 'unet/model.onnx_data'], entries)).toBeNull();
    expect(catalogEntryForFiles(full, entries.filter((e) => e.kind === 'shipped'))).toBeNull();
  });

  it('uses the catalog entry files type', () => {
    const e: Pick<CatalogEntry, 'source'> = { source: { type: 'url', baseUrl: 'https://x' } };
    expect(resolveFileUrl(e, 'a')).toBe('https://x/a');
  });
});
