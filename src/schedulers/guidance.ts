/**
 * Pipeline helpers that sit next to the schedulers: classifier-free guidance and LCM's guidance embedding.
 */
import { SchedulerError } from './errors';

/**
 * Classifier-free guidance (Ho & Salimans 2022): eps = uncond + g * (cond - uncond), as diffusers' SD pipelines
 * combine the two halves of the [uncond, cond] batch. Returns a new array.
 */
export function cfgCombine(uncond: Float32Array, cond: Float32Array, guidanceScale: number): Float32Array {
  if (uncond.length !== cond.length) {
    throw new SchedulerError('SCHEDULER_SHAPE_MISMATCH', `cfgCombine: uncond has ${uncond.length} elements but cond has ${cond.length}; they must match.`);
  }
  if (!Number.isFinite(guidanceScale)) {
    throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `cfgCombine: guidanceScale must be a finite number, got ${guidanceScale}.`);
  }
  const out = new Float32Array(uncond.length);
  for (let i = 0; i < out.length; i++) out[i] = uncond[i] + guidanceScale * (cond[i] - uncond[i]);
  return out;
}

/**
 * LCM's guidance-scale embedding (the UNet's `timestep_cond`, size time_cond_proj_dim, 256 for LCM-Dreamshaper-v7):
 * w = (guidanceScale - 1) * 1000, half = dim / 2, f_i = exp(-i * ln(10000) / (half - 1)),
 * emb = [sin(w f_0..f_{half-1}) | cos(w f_0..f_{half-1})]. Every operation is rounded to float32 as the
 * diffusers pipeline computes it in float32 (get_guidance_scale_embedding). `dim` >= 4; an odd dim gets a
 * trailing 0, as upstream pads it.
 */
export function guidanceScaleEmbedding(guidanceScale: number, dim: number): Float32Array {
  if (!Number.isInteger(dim) || dim < 4) {
    throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `guidanceScaleEmbedding: dim must be an integer >= 4, got ${dim}.`);
  }
  if (!Number.isFinite(guidanceScale)) {
    throw new SchedulerError('SCHEDULER_INVALID_CONFIG', `guidanceScaleEmbedding: guidanceScale must be a finite number, got ${guidanceScale}.`);
  }
  const f32 = Math.fround;
  const w = f32(f32(guidanceScale - 1) * 1000);
  const half = Math.floor(dim / 2);
  const scale = f32(f32(Math.log(10000)) / (half - 1));
  const out = new Float32Array(dim);
  for (let i = 0; i < half; i++) {
    const freq = f32(Math.exp(f32(i * -scale)));
    const arg = f32(w * freq);
    out[i] = Math.sin(arg);
    out[half + i] = Math.cos(arg);
  }
  return out;
}
