/** Test helper: a finished run with predictable timings (U-Net 20 ms and scheduler 0.5 ms per step). */
import type { GenerateResult } from '../../engine';
import { DEFAULT_SETTINGS, type RunResult } from '../store';

export function fakeRun(over: Partial<RunResult> & { steps?: number; totalMs?: number; schedulerClass?: string } = {}): RunResult {
  const steps = over.steps ?? 4;
  const image = { width: 8, height: 6, data: new Uint8ClampedArray(8 * 6 * 4).map((_, i) => (i * 37) & 255) };
  // Cast: the engine's result type grows fields (loop, readbacks, ...) that these tests do not look at.
  const result = {
    image,
    latents: new Float32Array(4),
    timesteps: Array.from({ length: steps }, (_, i) => 999 - i * 250),
    schedulerClass: over.schedulerClass ?? 'DDIMScheduler',
    guidanceMode: 'cfg',
    timings: {
      tokenizeMs: 1,
      textEncoderMs: 10,
      embeddingCached: false,
      unetMs: Array.from({ length: steps }, () => 20),
      schedulerMs: Array.from({ length: steps }, () => 0.5),
      vaeMs: 15,
      readbackMs: 2,
      previewMs: 0,
      totalMs: over.totalMs ?? 1 + 10 + 20 * steps + 0.5 * steps + 15 + 2 + 3,
    },
    loop: 'cpu',
    loopReason: 'test',
    readbacks: null,
  } as unknown as GenerateResult;
  return {
    requestId: over.requestId ?? `r-${steps}`,
    modelId: 'fewstep-teacher',
    modelName: 'Fewstep teacher',
    provider: 'wasm',
    params: { ...DEFAULT_SETTINGS, prompt: 'a red, "round" circle\non blue', seed: 1234, steps, guidanceScale: 7.5, sampler: '', modelId: 'fewstep-teacher' },
    result,
    finishedAt: Date.UTC(2026, 10, 25, 20, 0, 0),
    ...over,
  };
}

