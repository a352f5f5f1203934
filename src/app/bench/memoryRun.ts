/**
 * Flat-memory run: many consecutive generations with mixed samplers and step counts on one pipeline, sampled in
 * chunks so the caller can read resource counters between chunks (GPU buffers from the engine; JS heaps from CDP
 * in `npm run bench`, or performance.memory in the panel).
 */
import type { Engine, EngineStats, GenerateParams } from '../../engine';

export interface MemorySample {
  generations: number;
  /** Engine thread: live GPU buffers and their bytes (created - destroyed), cumulative readbacks. */
  liveGpuBuffers: number;
  liveGpuBytes: number;
  readbacks: number;
  engineHeap: number | null;
  /** Main thread heap (performance.memory, Chromium), or null. */
  mainHeap: number | null;
  /** Median generation time in this chunk (ms). */
  chunkMedianMs: number;
}

/**
 * The mixed schedule: sampler x steps pairs the pipeline supports, cycled; `maxSteps` caps the step counts (the
 * harness uses 2 on SwiftShader WebGPU, where each UNet run takes about a second).
 */
export function mixedSchedule(schedulerClass: string, maxSteps = 8): Array<Pick<GenerateParams, 'scheduler' | 'steps'>> {
  const all: Array<Pick<GenerateParams, 'scheduler' | 'steps'>> =
    schedulerClass === 'LCMScheduler'
      ? [1, 2, 4, 8, 3].map((steps) => ({ scheduler: 'LCMScheduler', steps }))
      : [
          { scheduler: 'DDIMScheduler', steps: 4 },
          { scheduler: 'EulerDiscreteScheduler', steps: 2 },
          { scheduler: 'DDIMScheduler', steps: 1 },
          { scheduler: 'EulerDiscreteScheduler', steps: 4 },
          { scheduler: 'DDIMScheduler', steps: 8 },
          { scheduler: 'EulerAncestralDiscreteScheduler', steps: 2 },
          { scheduler: 'DDIMScheduler', steps: 2 },
          { scheduler: 'EulerDiscreteScheduler', steps: 1 },
        ];
  return all.filter((s) => s.steps <= maxSteps);
}

export class MemoryRun {
  private done = 0;
  constructor(
    private readonly engine: Engine,
    private readonly modelId: string,
    private readonly schedulerClass: string,
    private readonly guidanceScale: number,
    private readonly maxSteps = 8,
  ) {}

  async stats(): Promise<EngineStats> {
    return this.engine.request('stats', {}).done;
  }

  /** Run `k` more generations (seed and prompt vary too, so the embedding cache turns over) and sample counters. */
  async chunk(k: number): Promise<MemorySample> {
    const schedule = mixedSchedule(this.schedulerClass, this.maxSteps);
    const times: number[] = [];
    for (let i = 0; i < k; i++) {
      const j = this.done++;
      const s = schedule[j % schedule.length];
      const t0 = performance.now();
      await this.engine.request('generate', {
        modelId: this.modelId,
        params: { prompt: `a ${['red', 'green', 'blue'][j % 3]} circle, variant ${j % 20}`, seed: j, guidanceScale: this.guidanceScale, ...s },
      }).done;
      times.push(performance.now() - t0);
    }
    const st = await this.stats();
    times.sort((a, b) => a - b);
    const mem = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory;
    return {
      generations: this.done,
      liveGpuBuffers: st.gpu.liveBuffers,
      liveGpuBytes: st.gpu.liveBytes,
      readbacks: st.gpu.readbacks,
      engineHeap: st.jsHeapUsed,
      mainHeap: mem ? mem.usedJSHeapSize : null,
      chunkMedianMs: times.length ? times[Math.floor(times.length / 2)] : 0,
    };
  }
}
