/**
 * The scheduler step as per-step coefficients, for the GPU-resident loop's WGSL kernel (stepKernel.ts).
 *
 * Every GPU-capable step is element-wise and affine in (x, m, z) apart from the x0 clamp (see StepCoefficients in
 * src/schedulers/types.ts), so one kernel covers them. The coefficients come from the scheduler object itself
 * (`Scheduler.stepCoefficients`, computed from the same per-step scalars as its `step`); this file only collects
 * them and holds the kernel's CPU reference. tests/gpuStepPlan.test.ts checks `applyStepCpu` against
 * `scheduler.step` for every class and prediction type.
 */
import type { Scheduler, StepCoefficients } from '../../schedulers';

export type { StepCoefficients };

/** Whether the GPU kernel can run this scheduler's steps. */
export function hasGpuStep(scheduler: Scheduler): boolean {
  return typeof scheduler.stepCoefficients === 'function';
}

/**
 * Coefficients of every step of `scheduler`'s current schedule (call setTimesteps first). Throws for a scheduler
 * without `stepCoefficients` (its registry row says gpuStep: false).
 */
export function stepPlan(scheduler: Scheduler, opts: { eta?: number } = {}): StepCoefficients[] {
  const coefficients = scheduler.stepCoefficients?.bind(scheduler);
  if (!coefficients) throw new Error(`No GPU step port for ${scheduler.className}: it has no stepCoefficients.`);
  return scheduler.timesteps.map((_, i) => coefficients(i, opts));
}

/** Classifier-free guidance folded into the kernel: m = u + g (c - u) when the UNet ran a [uncond, cond] batch. */
export interface KernelInputs {
  x: Float32Array;
  /** UNet output: n values, or 2n ([uncond | cond]) with `guidance`. */
  out: Float32Array;
  guidance?: number;
  noise?: Float32Array | null;
}

/**
 * CPU reference of the WGSL step kernel, in float32 arithmetic (Math.fround at each operation as the GPU rounds).
 * Returns the new sample; tests compare it with scheduler.step and the e2e test compares the GPU with the CPU loop.
 */
export function applyStepCpu(k: StepCoefficients, inp: KernelInputs): Float32Array {
  const f = Math.fround;
  const n = inp.x.length;
  const prev = new Float32Array(n);
  const cf = {
    ax: f(k.ax), am: f(k.am), ex: f(k.ex), em: f(k.em), c0: f(k.c0), cx: f(k.cx), ce: f(k.ce), cz: f(k.cz),
    clip: k.clip === Infinity ? 3.4028234663852886e38 : f(k.clip), g: f(inp.guidance ?? 1),
  };
  for (let j = 0; j < n; j++) {
    const x = inp.x[j];
    const m = inp.guidance !== undefined ? f(inp.out[j] + f(cf.g * f(inp.out[n + j] - inp.out[j]))) : inp.out[j];
    const x0u = f(f(cf.ax * x) + f(cf.am * m));
    const eps = f(f(cf.ex * x) + f(cf.em * m));
    const x0 = Math.min(cf.clip, Math.max(-cf.clip, x0u));
    let p = f(f(cf.c0 * x0) + f(cf.cx * x));
    p = f(p + f(cf.ce * eps));
    if (inp.noise) p = f(p + f(cf.cz * inp.noise[j]));
    prev[j] = p;
  }
  return prev;
}
