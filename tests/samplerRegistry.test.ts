/**
 * Acceptance test of the sampler registry (issue 11): a sampler registered in one place, with no edit anywhere
 * else, shows up in the app's sampler picker, in PNG metadata (and is recognised when the PNG is read back), in
 * the comparison records and in the benchmark matrix, and drives the scheduler factory. It is a trivial scheduler
 * ("x0 = model output"), built from the same shared parts as the real ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultMatrix, type BenchPipeline } from '../src/app/bench/matrix';
import { samplerOptions } from '../src/app/components/samplerOptions';
import { settingsFromRecord, toGenerationRecord, toRunRecord } from '../src/app/compare/records';
import type { RunResult } from '../src/app/store';
import { samplerClass } from '../src/engine/layout';
import { stepPlan } from '../src/engine/gpu/stepPlan';
import { parseParametersText, pngChunksFor } from '../src/export/metadata';
import {
  defineScheduler,
  registerSampler,
  samplerLabel,
  ScheduleState,
  schedulerFromConfig,
  type CommonConfig,
  type Scheduler,
} from '../src/schedulers';

const CLS = 'TestEchoScheduler';

/** x_prev = x0 = model output at every step (a "sample"-prediction one-shot sampler). */
function createEchoScheduler(raw: Record<string, unknown> = {}): Scheduler {
  const config: CommonConfig = Object.freeze({
    _class_name: CLS,
    num_train_timesteps: typeof raw.num_train_timesteps === 'number' ? raw.num_train_timesteps : 1000,
    beta_start: 0.0001,
    beta_end: 0.02,
    beta_schedule: 'linear',
    trained_betas: null,
    prediction_type: 'sample',
    timestep_spacing: 'leading',
    steps_offset: 0,
    rescale_betas_zero_snr: false,
  });
  const state = new ScheduleState(CLS, false);
  const T = config.num_train_timesteps;
  return defineScheduler({
    config,
    alphasCumprod: new Float64Array(T).fill(0.5),
    state,
    setTimesteps(n) {
      state.set(Array.from({ length: n }, (_, i) => T - 1 - Math.floor((i * T) / n)), n);
    },
    step(modelOutput) {
      return { prevSample: modelOutput.slice(), predOriginalSample: modelOutput.slice() };
    },
    needsNoise: () => false,
    isStochastic: () => false,
  });
}

let unregister: () => void = () => undefined;

beforeAll(() => {
  unregister = registerSampler({
    className: CLS,
    label: 'Echo',
    a1111: 'Echo (test)',
    aliases: ['echo'],
    needs: { cfg: true, guidanceEmbedding: false, noise: 'never', gpuStep: false },
    create: createEchoScheduler,
  });
});
afterAll(() => unregister());

describe('a sampler registered through the registry only', () => {
  it('builds from a scheduler config and runs', () => {
    const s = schedulerFromConfig({ _class_name: CLS });
    s.setTimesteps(3);
    expect(s.timesteps).toEqual([999, 666, 333]);
    const m = Float32Array.from([1, 2, 3]);
    expect([...s.step(m, 999, new Float32Array(3)).prevSample]).toEqual([1, 2, 3]);
    // Run from another class's config, as diffusers' from_config does; short names resolve through the registry.
    expect(schedulerFromConfig({ _class_name: 'DDIMScheduler' }, { className: CLS }).className).toBe(CLS);
    expect(samplerClass('echo')).toBe(CLS);
    // gpuStep: false -> no stepCoefficients, so the GPU loop refuses it and the CPU loop runs it.
    expect(() => stepPlan(s)).toThrow(/No GPU step port/);
  });

  it('appears in the sampler picker', () => {
    const options = samplerOptions();
    expect(options).toContainEqual([CLS, 'Echo']);
    expect(options[0]).toEqual(['', "Model's own"]);
    expect(options.map(([, l]) => l)).toEqual(["Model's own", 'CM multistep', 'DDIM', 'DDPM', 'DPM++ 2M', 'Echo', 'Euler', 'Euler a', 'LCM', 'TCD']);
  });

  it('is named in PNG metadata and comparison records, and read back from a PNG', () => {
    const run = {
      requestId: 'r1',
      modelId: 'fewstep-turbo',
      modelName: 'Turbo',
      provider: 'wasm',
      params: { prompt: 'a red circle', negativePrompt: '', seed: 7, steps: 2, guidanceScale: 1, rng: 'fewstep' },
      result: {
        image: { data: new Uint8ClampedArray(4), width: 1, height: 1 },
        schedulerClass: CLS,
        timings: { tokenizeMs: 0, textEncoderMs: 0, embeddingCached: true, unetMs: [1, 1], schedulerMs: [0, 0], vaeMs: 1, readbackMs: 0, previewMs: 0, totalMs: 4 },
      },
      finishedAt: Date.parse('2026-12-01T00:00:00Z'),
    } as unknown as RunResult;
    const record = toGenerationRecord(run);
    expect(record).toMatchObject({ sampler: CLS, samplerLabel: 'Echo (test)' });
    const [parameters] = pngChunksFor(record);
    expect(parameters.text).toContain('Steps: 2, Sampler: Echo (test), CFG scale: 1');
    // Read back without the class name: the A1111 label alone finds the class.
    const textOnly = parameters.text.replace(/, Scheduler: [^,]+/, '');
    expect(parseParametersText(textOnly).record).toMatchObject({ sampler: CLS, samplerLabel: 'Echo (test)' });
    expect(toRunRecord(run).sampler).toBe('Echo');
    expect(settingsFromRecord(record, []).patch.sampler).toBe(CLS);
  });

  it('appears in the bench matrix sweep, labelled from the registry', () => {
    const pipelines: BenchPipeline[] = [
      { id: 'fewstep-teacher', name: 'Teacher', baseUrl: '/models/fewstep-teacher/', fixture: false },
      { id: 'fewstep-lcm', name: 'LCM', baseUrl: '/models/fewstep-lcm/', fixture: false },
    ];
    const plain = defaultMatrix(pipelines);
    expect(plain.some((c) => c.scheduler === CLS)).toBe(false); // the sweep is opt-in: the default table is unchanged
    const all = defaultMatrix(pipelines, { samplers: 'all' });
    const echo = all.find((c) => c.scheduler === CLS)!;
    expect(echo).toMatchObject({ pipelineId: 'fewstep-teacher', role: 'sampler', samplerLabel: 'Echo', steps: 4, key: 'fewstep-teacher/sampler/Echo/4' });
    // Samplers made for a guidance embedding are swept on the LCM pipeline; every label comes from the registry.
    expect(all.find((c) => c.role === 'sampler' && c.scheduler === 'LCMScheduler')?.pipelineId).toBe('fewstep-lcm');
    expect(all.find((c) => c.scheduler === 'EulerAncestralDiscreteScheduler')?.samplerLabel).toBe('Euler a');
    expect(defaultMatrix(pipelines, { samplers: ['echo'] }).filter((c) => c.role === 'sampler').map((c) => c.samplerLabel)).toEqual(['Echo']);
    expect(samplerLabel('EulerAncestralDiscreteScheduler')).toBe('Euler a');
  });
});
