/**
 * Parity: for each shipped pipeline, training/parity/<pipeline>.json holds the Python reference sampler's run
 * (training/parity.py: same initial noise, same step noise, same prompt). The app engine (ORT wasm in Node, our
 * TS schedulers) must land on the same final latents within the fixture's tolerance (1e-3 max abs).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { configureOrt } from '../src/engine/ort';
import { Pipeline } from '../src/engine/pipeline';
import { CancelToken } from '../src/engine/queue';
import { FsSource, ROOT, shippedModelDirs } from './modelDirs';

interface ParityCase {
  pipeline: string;
  prompt: string;
  input_ids: number[];
  steps: number;
  guidance_scale: number;
  scheduler: string;
  timesteps: number[];
  initial_latents: number[];
  step_noises: number[][];
  final_latents: number[];
  tolerance: number;
}

const PARITY_DIR = join(ROOT, 'training/parity');
const cases: Array<[string, ParityCase]> = existsSync(PARITY_DIR)
  ? readdirSync(PARITY_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => [f, JSON.parse(readFileSync(join(PARITY_DIR, f), 'utf8')) as ParityCase])
  : [];
// Shipped pipelines (not the evaluator) that must each have a parity fixture.
const pipelines = shippedModelDirs().map((d) => basename(d));

beforeAll(() => configureOrt({ numThreads: 1 }));

describe('parity fixtures', () => {
  it('every shipped pipeline has a parity fixture', () => {
    const covered = new Set(cases.map(([, c]) => c.pipeline));
    expect(pipelines.filter((p) => !covered.has(p))).toEqual([]);
  });
});

const loaded = new Map<string, Promise<Pipeline>>();
const load = (name: string): Promise<Pipeline> => {
  if (!loaded.has(name)) loaded.set(name, Pipeline.load(new FsSource(join(ROOT, 'models', name)), { name, provider: 'wasm' }));
  return loaded.get(name)!;
};

describe.each(cases.filter(([, c]) => pipelines.includes(c.pipeline)))('%s', (_file, c) => {
  it('tokenizes the prompt like the Python tokenizer', async () => {
    const pipe = await load(c.pipeline);
    expect(pipe.tokenIds(c.prompt)).toEqual(c.input_ids);
  });

  it(`reaches the reference final latents (max abs diff < ${c.tolerance})`, async () => {
    const pipe = await load(c.pipeline);
    const res = await pipe.generate(
      {
        prompt: c.prompt,
        seed: 0,
        steps: c.steps,
        guidanceScale: c.guidance_scale,
        scheduler: c.scheduler,
        initialLatents: Float32Array.from(c.initial_latents),
        stepNoises: c.step_noises.map((s) => Float32Array.from(s)),
      },
      new CancelToken(),
    );
    expect(res.timesteps.map((t) => Math.round(t * 1000) / 1000)).toEqual(c.timesteps.map((t) => Math.round(t * 1000) / 1000));
    let maxDiff = 0;
    res.latents.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - c.final_latents[i]))));
    expect(res.latents.length).toBe(c.final_latents.length);
    expect(maxDiff).toBeLessThan(c.tolerance);
  });
});
