/**
 * Integration: full pipelines in Node through onnxruntime-web (wasm): tokenizer -> text encoder -> scheduler loop
 * -> VAE -> RGBA. Runs every shipped pipeline in models/ and the random-weight fixtures when present.
 */
import { basename } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { configureOrt } from '../src/engine/ort';
import { Pipeline, type GenerateParams } from '../src/engine/pipeline';
import { CancelToken } from '../src/engine/queue';
import { meanAbsDiff, pixelStd } from '../src/engine/image';
import { fixtureDir, FsSource, shippedModelDirs } from './modelDirs';

const dirs = [...shippedModelDirs(), ...[fixtureDir('tiny'), fixtureDir('tiny-lcm')].filter((d): d is string => d !== null)];

beforeAll(() => configureOrt({ numThreads: 1 }));

describe('model folders to test', () => {
  it('finds at least one pipeline (shipped models or fixtures)', () => {
    expect(dirs.length).toBeGreaterThan(0);
  });
});

describe.each(dirs.map((d) => [basename(d), d]))('pipeline %s', (_name, dir) => {
  let pipe: Pipeline;
  beforeAll(async () => {
    pipe = await Pipeline.load(new FsSource(dir), { name: basename(dir), provider: 'wasm' });
  });

  const params = (p: Partial<GenerateParams> = {}): GenerateParams => ({
    prompt: 'a red circle on a blue background',
    seed: 7,
    steps: Math.min(pipe.info.defaults.steps, 4),
    guidanceScale: pipe.info.defaults.guidanceScale,
    ...p,
  });

  it('loads on wasm with the layout read from its files', () => {
    expect(pipe.info.provider).toBe('wasm');
    expect(pipe.info.latentShape).toHaveLength(4);
    expect(pipe.info.io.unet.inputs.join(' ')).toMatch(/sample/);
  });

  it('generates a finite, non-constant image, deterministic for a fixed seed', async () => {
    const a = await pipe.generate(params(), new CancelToken());
    const b = await pipe.generate(params(), new CancelToken());
    const c = await pipe.generate(params({ seed: 8 }), new CancelToken());
    expect(a.image.width).toBe(pipe.info.imageSize[0]);
    expect(a.latents.every(Number.isFinite)).toBe(true);
    expect(pixelStd(a.image)).toBeGreaterThan(1);
    expect(Buffer.from(a.image.data).equals(Buffer.from(b.image.data))).toBe(true);
    expect(meanAbsDiff(a.image, c.image)).toBeGreaterThan(0);
    expect(a.timings.unetMs.length).toBe(a.timesteps.length * (a.guidanceMode === 'cfg' ? 1 : 1));
    expect(a.timings.totalMs).toBeGreaterThan(0);
    // Only the seed changed: the prompt embedding came from the cache.
    expect(c.timings.embeddingCached).toBe(true);
    expect(c.timings.textEncoderMs).toBe(0);
  });

  it('stops at the next step boundary when cancelled', async () => {
    const token = new CancelToken();
    let steps = 0;
    const run = pipe.generate(params({ steps: 4, scheduler: 'DDIMScheduler', guidanceScale: 1 }), token, () => {
      steps++;
      token.cancel('test');
    });
    await expect(run).rejects.toThrow(/test/);
    expect(steps).toBe(1);
  });

  it('rejects bad parameters with specific messages', async () => {
    await expect(pipe.generate(params({ steps: 0 }), new CancelToken())).rejects.toThrow(/steps must be a whole number >= 1/);
    await expect(pipe.generate(params({ seed: -1 }), new CancelToken())).rejects.toThrow(/seed must be/);
    await expect(pipe.generate(params({ scheduler: 'PNDMScheduler' }), new CancelToken())).rejects.toThrow(/supported: /);
  });
});
