/**
 * The scheduler step as one WGSL compute kernel (coefficients from stepPlan.ts; CPU reference: applyStepCpu).
 * One dispatch per step: CFG combine, x0 / eps, clamp, update, and the next UNet input (scaled, tiled over the
 * batch) or, after the last step, the VAE input (latents / scaling_factor).
 */
import type { StepCoefficients } from './stepPlan';

export const STEP_WGSL = /* wgsl */ `
struct Params {
  ax: f32, am: f32, ex: f32, em: f32,
  clip: f32, c0: f32, cx: f32, ce: f32,
  cz: f32, g: f32, nextScale: f32, pad0: f32,
  n: u32, cfg: u32, useNoise: u32, nextBatch: u32,
};
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> unetOut: array<f32>;
@group(0) @binding(2) var<storage, read> noise: array<f32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> next: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  if (j >= p.n) { return; }
  let xv = x[j];
  var m = unetOut[j];
  if (p.cfg == 1u) { m = m + p.g * (unetOut[p.n + j] - m); }
  let x0u = p.ax * xv + p.am * m;
  let eps = p.ex * xv + p.em * m;
  let x0 = clamp(x0u, -p.clip, p.clip);
  var prev = p.c0 * x0 + p.cx * xv + p.ce * eps;
  if (p.useNoise == 1u) { prev = prev + p.cz * noise[j]; }
  x[j] = prev;
  for (var k = 0u; k < p.nextBatch; k = k + 1u) { next[k * p.n + j] = prev * p.nextScale; }
}
`;

export const PARAMS_BYTES = 64;
const F32_MAX = 3.4028234663852886e38;

/** Pack one step's uniforms (layout of `Params` above). */
export function packParams(
  k: StepCoefficients,
  o: { n: number; guidance: number | null; useNoise: boolean; nextScale: number; nextBatch: number },
): ArrayBuffer {
  const buf = new ArrayBuffer(PARAMS_BYTES);
  const f = new Float32Array(buf, 0, 12);
  const u = new Uint32Array(buf, 48, 4);
  f.set([k.ax, k.am, k.ex, k.em, Number.isFinite(k.clip) ? k.clip : F32_MAX, k.c0, k.cx, k.ce, k.cz, o.guidance ?? 1, o.nextScale, 0]);
  u.set([o.n, o.guidance === null ? 0 : 1, o.useNoise ? 1 : 0, o.nextBatch]);
  return buf;
}
