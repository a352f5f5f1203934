/**
 * Integration: the SDXL-Turbo stand-in (training/make_standins.py, the webnn/sdxl-turbo layout: onnx/*_q4f16.onnx,
 * float16 I/O, int32 / int64 input ids, tokenizer/ + tokenizer_2/, no model_index.json, no scheduler, no configs)
 * loads through the engine in Node on WASM with the catalog entry `sdxl-turbo` as the app's downloads do
 * (CatalogOverlaySource over the files), and renders images that change with prompt and seed.
 * Skipped, with the command to run, when the stand-ins are not built (`make -C training standins`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CatalogEntry } from '../src/engine/catalog/schema';
import { validateCatalog } from '../src/engine/catalog/validate';
import { meanAbsDiff, pixelStd } from '../src/engine/image';
import { IO_NAMES } from '../src/engine/io';
import { configureOrt, createSession } from '../src/engine/ort';
import { Pipeline, type GenerateParams } from '../src/engine/pipeline';
import { newTimings } from '../src/engine/pipeline/timings';
import { CancelToken } from '../src/engine/queue';
import type { ModelSource, ReadOptions } from '../src/engine/source';
import { CatalogOverlaySource } from '../src/engine/sources/catalogSource';
import { PromptTokenizer } from '../src/engine/tokenizer';
import { FsSource, ROOT } from './modelDirs';

const STANDIN = join(ROOT, 'fixtures/generated/standins/sdxl-turbo');
const BUILT = existsSync(join(STANDIN, 'standin.json'));
const NOT_BUILT = 'SKIPPED: the SDXL-Turbo stand-in is not built (fixtures/generated/standins/sdxl-turbo); run `make -C training standins` (numpy + onnx, a few seconds)';

/** The catalog entry, validated on its own (other entries of models/catalog.json may be mid-edit). */
function catalogEntry(id: string): CatalogEntry {
  const all = JSON.parse(readFileSync(join(ROOT, 'models/catalog.json'), 'utf8')) as { models: Array<{ id: string }> };
  return validateCatalog({ schemaVersion: 1, models: [all.models.find((m) => m.id === id)] }).models[0];
}

/** A folder without some files (e.g. tokenizer_2/, as in the real download where the catalog brings one tokenizer). */
class Without implements ModelSource {
  readonly label: string;
  constructor(
    private readonly inner: ModelSource,
    private readonly hidden: (path: string) => boolean,
  ) {
    this.label = inner.label;
  }
  read(path: string, opts: ReadOptions = {}): Promise<ArrayBuffer | null> {
    if (this.hidden(path) && opts.optional) return Promise.resolve(null);
    return this.inner.read(path, opts);
  }
}

const bytesOf = (p: string): ArrayBuffer => {
  const b = readFileSync(join(STANDIN, p));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
};
const json = (p: string): Record<string, unknown> => JSON.parse(readFileSync(join(STANDIN, p), 'utf8')) as Record<string, unknown>;

if (!BUILT) {
  describe('SDXL-Turbo stand-in', () => {
    it.skip(NOT_BUILT, () => undefined);
  });
}

describe.skipIf(!BUILT)('SDXL-Turbo stand-in (webnn/sdxl-turbo) through the engine on WASM', () => {
  const entry = BUILT ? catalogEntry('sdxl-turbo') : (null as unknown as CatalogEntry);
  let pipe: Pipeline;
  const params = (p: Partial<GenerateParams> = {}): GenerateParams => ({
    prompt: 'a red circle on a blue background',
    seed: 7,
    steps: pipe.info.defaults.steps,
    guidanceScale: pipe.info.defaults.guidanceScale,
    ...p,
  });

  beforeAll(async () => {
    configureOrt({ numThreads: 1 });
    pipe = await Pipeline.load(new CatalogOverlaySource(new FsSource(STANDIN), entry), { name: entry.name, provider: 'wasm' });
  }, 300_000);
  afterAll(async () => {
    await pipe?.release();
  });

  it('loads as the SDXL kind: both text encoders, the onnx/ graphs, fp16 I/O, the catalog defaults', () => {
    expect(pipe.layout.kind).toBe('sdxl');
    expect(pipe.info.pipelineClass).toBe('ORTStableDiffusionXLPipeline');
    expect(pipe.layout.components).toEqual({
      textEncoder: 'onnx/text_encoder_model_q4f16.onnx',
      textEncoder2: 'onnx/text_encoder_2_model_q4f16.onnx',
      unet: 'onnx/unet_model_q4f16.onnx',
      vaeDecoder: 'onnx/vae_decoder_model_q4f16.onnx',
    });
    expect(pipe.io.sdxl).toMatchObject({ hidden1: 'hidden_states.11', hidden2: 'hidden_states.31', pooledOut: 'text_embeds', width1: 768, width2: 1280 });
    expect(pipe.io.ids.type).toBe('int32');
    expect(pipe.io.sdxl?.ids2.type).toBe('int64');
    expect(pipe.io.sample.type).toBe('float16');
    expect(pipe.textDim()).toBe(2048);
    expect(pipe.info.latentShape).toEqual([1, 4, 64, 64]);
    expect(pipe.info.imageSize).toEqual([512, 512]);
    expect(pipe.scalingFactor).toBe(0.13025);
    expect(pipe.info.defaults).toMatchObject({ steps: 1, guidanceScale: 0, sampler: 'EulerAncestralDiscreteScheduler', allowedSteps: [1, 2, 3, 4] });
    expect(Object.keys(pipe.info.io).sort()).toEqual(['textEncoder', 'textEncoder2', 'unet', 'vae']);
  });

  it('renders a 1-step image (t = 999, no CFG) that changes with prompt and seed, the same for the same seed', async () => {
    const a = await pipe.generate(params(), new CancelToken());
    const b = await pipe.generate(params(), new CancelToken());
    const seed = await pipe.generate(params({ seed: 8 }), new CancelToken());
    const prompt = await pipe.generate(params({ prompt: 'two green squares on a white background' }), new CancelToken());
    expect(a.timesteps).toEqual([999]);
    expect(a.schedulerClass).toBe('EulerAncestralDiscreteScheduler');
    expect(a.guidanceMode).toBe('none');
    expect([a.image.width, a.image.height]).toEqual([512, 512]);
    expect(a.latents.every(Number.isFinite)).toBe(true);
    expect(pixelStd(a.image)).toBeGreaterThan(1);
    expect(Buffer.from(a.image.data).equals(Buffer.from(b.image.data))).toBe(true);
    expect(meanAbsDiff(a.image, seed.image)).toBeGreaterThan(0.5);
    expect(meanAbsDiff(a.image, prompt.image)).toBeGreaterThan(0.5);
    expect(seed.timings.embeddingCached).toBe(true); // only the seed changed
  }, 300_000);

  it('encoder_hidden_states = [text_encoder hidden_states.11 | text_encoder_2 hidden_states.31] per token; text_embeds from text_encoder_2', async () => {
    const text = 'a small yellow triangle';
    const emb = await pipe.prompts.cpu(text, newTimings());
    const pooled = pipe.prompts.pooled(text);
    // The same graphs run by hand, with the stand-in's own two tokenizers.
    const tok1 = PromptTokenizer.fromJson(json('tokenizer/tokenizer.json'), json('tokenizer/tokenizer_config.json'));
    const tok2 = PromptTokenizer.fromJson(json('tokenizer_2/tokenizer.json'), json('tokenizer_2/tokenizer_config.json'));
    expect(tok2.padId).toBe(0);
    expect(tok1.padId).toBe(49407);
    const s1 = await createSession(bytesOf('onnx/text_encoder_model_q4f16.onnx'), 'te1', 'wasm');
    const s2 = await createSession(bytesOf('onnx/text_encoder_2_model_q4f16.onnx'), 'te2', 'wasm');
    try {
      const ids1 = tok1.encode(text);
      const ids2 = tok2.encode(text);
      const h1 = (await s1.run({ input_ids: [Int32Array.from(ids1), [1, 77]] }))['hidden_states.11'];
      const o2 = await s2.run({ input_ids: [BigInt64Array.from(ids2, BigInt), [1, 77]] });
      const h2 = o2['hidden_states.31'];
      expect(h1.dims).toEqual([1, 77, 768]);
      expect(h2.dims).toEqual([1, 77, 1280]);
      expect(emb.length).toBe(77 * 2048);
      for (const s of [0, 1, 40, 76]) {
        expect(emb.subarray(s * 2048, s * 2048 + 768)).toEqual(h1.data.subarray(s * 768, (s + 1) * 768));
        expect(emb.subarray(s * 2048 + 768, (s + 1) * 2048)).toEqual(h2.data.subarray(s * 1280, (s + 1) * 1280));
      }
      expect(pooled).toEqual(o2[IO_NAMES.textEncoder.projected[0]].data);
      expect(pooled.length).toBe(1280);
    } finally {
      await s1.release();
      await s2.release();
    }
  });

  it('feeds the UNet text_embeds = the prompt\'s pooled embedding and time_ids = [512, 512, 0, 0, 512, 512]', async () => {
    const spy = vi.spyOn(pipe.io, 'conditioningFeeds');
    try {
      const prompt = 'a large blue square';
      await pipe.generate(params({ prompt }), new CancelToken());
      expect(spy).toHaveBeenCalled();
      const [c, batch] = spy.mock.calls[0];
      expect(batch).toBe(1);
      expect([...c!.timeIds!]).toEqual([512, 512, 0, 0, 512, 512]);
      expect(c!.textEmbeds!.cond).toBe(pipe.prompts.pooled(prompt));
      expect(c!.textEmbeds!.uncond).toBeNull();
      expect(c!.wEmb).toBeNull();
      const feeds = spy.mock.results[0].value as Record<string, [unknown, number[]]>;
      expect(Object.keys(feeds).sort()).toEqual(['text_embeds', 'time_ids']);
      expect(feeds.text_embeds[1]).toEqual([1, 1280]);
      expect(feeds.time_ids[1]).toEqual([1, 6]);
    } finally {
      spy.mockRestore();
    }
  }, 300_000);

  it('runs 1-4 steps with Euler a (the model default) and Euler, trailing spacing', async () => {
    const want = { 1: [999], 2: [999, 499], 3: [999, 666, 332], 4: [999, 749, 499, 249] } as const;
    const runs: Array<[1 | 2 | 3 | 4, string]> = [[2, 'EulerAncestralDiscreteScheduler'], [3, 'EulerAncestralDiscreteScheduler'], [4, 'EulerAncestralDiscreteScheduler'], [1, 'EulerDiscreteScheduler'], [4, 'EulerDiscreteScheduler']];
    for (const [steps, scheduler] of runs) {
      const r = await pipe.generate(params({ steps, scheduler }), new CancelToken());
      expect(r.timesteps, `${scheduler} ${steps}`).toEqual(want[steps]);
      expect(r.schedulerClass).toBe(scheduler);
      expect(pixelStd(r.image), `${scheduler} ${steps}`).toBeGreaterThan(1);
    }
  }, 300_000);

  it('guidance > 1 runs CFG with the zero negative embedding for an empty negative prompt (force_zeros_for_empty_prompt)', async () => {
    const none = await pipe.generate(params(), new CancelToken());
    const cfg = await pipe.generate(params({ guidanceScale: 3 }), new CancelToken());
    const neg = await pipe.generate(params({ guidanceScale: 3, negativePrompt: 'blurry' }), new CancelToken());
    expect(cfg.guidanceMode).toBe('cfg');
    expect(cfg.latents.every(Number.isFinite)).toBe(true);
    expect(meanAbsDiff(none.image, cfg.image)).toBeGreaterThan(0.5);
    expect(meanAbsDiff(cfg.image, neg.image)).toBeGreaterThan(0.5);
  }, 300_000);

  it('without tokenizer_2/ (the real download: one tokenizer from the catalog) tokenizer_2 is made from tokenizer/ and gives the same image', async () => {
    const bare = await Pipeline.load(new CatalogOverlaySource(new Without(new FsSource(STANDIN), (p) => p.startsWith('tokenizer_2/')), entry), { name: entry.name, provider: 'wasm' });
    try {
      for (const prompt of ['a red circle on a blue background', 'Hello, world! one!!two']) {
        const x = await pipe.generate(params({ prompt }), new CancelToken());
        const y = await bare.generate(params({ prompt }), new CancelToken());
        expect(Buffer.from(y.image.data).equals(Buffer.from(x.image.data)), prompt).toBe(true);
      }
    } finally {
      await bare.release();
    }
  }, 300_000);
});
