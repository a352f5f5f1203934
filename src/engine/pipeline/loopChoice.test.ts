import { describe, expect, it } from 'vitest';
import { samplerLabel, samplerRows, schedulerFromConfig } from '../../schedulers';
import { hasGpuStep } from '../gpu/stepPlan';
import { chooseLoop, type LoopInputs } from './loopChoice';

const onGpu: LoopInputs = { want: 'auto', modelBlocker: null, webgpu: true, samplerLabel: 'DDIM', gpuStep: true, preview: false };

describe('loop choice (GPU-resident loop or CPU loop)', () => {
  it('runs the GPU loop for a GPU-capable sampler on a WebGPU model, for auto and gpu', () => {
    expect(chooseLoop(onGpu)).toEqual({ kind: 'gpu', reason: 'GPU-resident loop (one readback per image)', fallback: false });
    expect(chooseLoop({ ...onGpu, want: 'gpu' }).kind).toBe('gpu');
    expect(chooseLoop({ ...onGpu, want: undefined }).kind).toBe('gpu');
  });

  it('falls back to the CPU loop (never throws) for a sampler without a GPU step kernel, and says so', () => {
    for (const want of ['auto', 'gpu', undefined] as const) {
      expect(chooseLoop({ ...onGpu, want, samplerLabel: 'DPM++ 2M', gpuStep: false })).toEqual({
        kind: 'cpu',
        reason: 'CPU loop (DPM++ 2M has no GPU step kernel)',
        fallback: true,
      });
    }
    expect(chooseLoop({ ...onGpu, want: 'gpu', preview: true })).toEqual({ kind: 'cpu', reason: 'CPU loop (per-step previews need the latents on the CPU)', fallback: true });
  });

  it('an explicit CPU request is not a fallback', () => {
    expect(chooseLoop({ ...onGpu, want: 'cpu', gpuStep: false })).toEqual({ kind: 'cpu', reason: 'CPU loop (requested)', fallback: false });
  });

  it('a model the GPU loop cannot run: CPU loop under auto (a fallback only on WebGPU), refused for an explicit gpu', () => {
    const wasm = { ...onGpu, webgpu: false, modelBlocker: 'the model runs on WASM' };
    expect(chooseLoop(wasm)).toEqual({ kind: 'cpu', reason: 'CPU loop (the model runs on WASM)', fallback: false });
    expect(() => chooseLoop({ ...wasm, want: 'gpu' })).toThrow(/GPU loop cannot run this generation: the model runs on WASM\. Use loop 'auto' or 'cpu'/);
    const fp16 = { ...onGpu, modelBlocker: 'the model has float16 inputs (the GPU loop handles float32 I/O)' };
    expect(chooseLoop(fp16)).toMatchObject({ kind: 'cpu', fallback: true });
  });

  it('the registry rows and the schedulers agree: DPM++ 2M and Euler a take the CPU loop, TCD and CM the GPU loop', () => {
    const kinds = Object.fromEntries(
      samplerRows().map((r) => {
        const scheduler = schedulerFromConfig({}, { className: r.className });
        const gpuStep = r.needs.gpuStep && hasGpuStep(scheduler);
        return [r.className, chooseLoop({ ...onGpu, samplerLabel: samplerLabel(r.className), gpuStep }).reason];
      }),
    );
    expect(kinds.DPMSolverMultistepScheduler).toBe('CPU loop (DPM++ 2M has no GPU step kernel)');
    expect(kinds.EulerAncestralDiscreteScheduler).toBe('CPU loop (Euler a has no GPU step kernel)');
    for (const c of ['DDPMScheduler', 'DDIMScheduler', 'LCMScheduler', 'EulerDiscreteScheduler', 'TCDScheduler', 'CMStochasticIterativeScheduler']) {
      expect(kinds[c], c).toMatch(/^GPU-resident loop/);
    }
  });
});
