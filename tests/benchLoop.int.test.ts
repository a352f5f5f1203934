/**
 * Integration (Node, onnxruntime-web wasm): the benchmark's engine hooks on a real pipeline. The bare loop times the
 * same sessions without the sampling loop; on WASM the CPU loop runs (the GPU loop needs WebGPU) and says why; an
 * explicit GPU request fails with a message that names the fix. Timings are recorded, never asserted.
 */
import { basename } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { configureOrt } from '../src/engine/ort';
import { Pipeline } from '../src/engine/pipeline';
import { CancelToken } from '../src/engine/queue';
import { fixtureDir, FsSource, shippedModelDirs } from './modelDirs';

const dir = shippedModelDirs()[0] ?? fixtureDir('tiny');

describe.skipIf(!dir)('benchmark hooks on a real pipeline', () => {
  let pipe: Pipeline;
  beforeAll(async () => {
    configureOrt({ numThreads: 1 });
    pipe = await Pipeline.load(new FsSource(dir!), { name: basename(dir!), provider: 'wasm' });
  }, 600_000);

  it('bareLoop returns one positive wall time per run', async () => {
    const ms = await pipe.bareLoop({ prompt: 'a red circle', seed: 1, steps: 2, guidanceScale: pipe.info.defaults.guidanceScale }, 3);
    expect(ms).toHaveLength(3);
    for (const t of ms) expect(t).toBeGreaterThan(0);
  });

  it('runs the CPU loop on WASM, reports why, and refuses an explicit GPU loop', async () => {
    const params = { prompt: 'a red circle', seed: 1, steps: 2, guidanceScale: pipe.info.defaults.guidanceScale };
    const r = await pipe.generate(params, new CancelToken());
    expect(r.loop).toBe('cpu');
    expect(r.loopReason).toMatch(/runs on WASM/);
    await expect(pipe.generate({ ...params, loop: 'gpu' }, new CancelToken())).rejects.toThrow(/GPU loop cannot run this generation: the model runs on WASM/);
  }, 600_000);
});
