import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { guidanceScaleEmbedding } from '../../schedulers';
import { CustomSourceError, validateCustomSource } from './custom';
import { checkLayout, layoutFilesFor, resolveLayoutFileUrl } from './files';
import { CatalogError, type CatalogEntry } from './schema';
import { encodePath, hfResolveUrl, resolveFileUrl } from './urls';
import { getCatalogEntry, validateCatalog } from './validate';

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

  it('validates and lists the 9 shipped pipelines and the 4 remote models', () => {
    expect(catalog.models.filter((m) => m.kind === 'shipped').map((m) => m.id)).toEqual([
      'fewstep-teacher', 'fewstep-progressive-8', 'fewstep-progressive-4', 'fewstep-progressive-2',
      'fewstep-progressive-1', 'fewstep-lcm', 'fewstep-turbo', 'fewstep-direct', 'fewstep-ict',
    ]);
    expect(catalog.models.filter((m) => m.kind === 'remote').map((m) => m.id)).toEqual(['sd-turbo', 'lcm-dreamshaper-v7', 'sd-2-1-base', 'sdxl-turbo']);
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
    const pinned = { 'sd-turbo': [64, 1024, 512], 'lcm-dreamshaper-v7': [96, 768, 768], 'sd-2-1-base': [64, 1024, 512] } as const;
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

  it('reports every problem at once in the message', () => {
    const c = base();
    c.models[0].name = '';
    c.models[0].approxVramMB = 'lots';
    expect(() => validateCatalog(c)).toThrow(/Invalid model catalog \(2 problems\):\n- models\[0\]\.name: received "", expected a non-empty string\n- models\[0\]\.approxVramMB: received "lots", expected a number >= 0/);
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

  it('uses the catalog entry files type', () => {
    const e: Pick<CatalogEntry, 'source'> = { source: { type: 'url', baseUrl: 'https://x' } };
    expect(resolveFileUrl(e, 'a')).toBe('https://x/a');
  });
});
