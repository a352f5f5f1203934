// Replays training/parity/*.json through the exported ONNX models with onnxruntime-web (wasm) and a minimal
// JS port of the schedulers, to check the fixtures themselves (the app's own test replays them through src/engine).
// usage: node training/parity_check.mjs [models-dir] [parity-dir]
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-web';

ort.env.wasm.numThreads = 1;
const here = path.dirname(new URL(import.meta.url).pathname);
const modelsDir = path.resolve(process.argv[2] ?? path.join(here, '..', 'models'));
const parityDir = path.resolve(process.argv[3] ?? path.join(here, 'parity'));

const T = 1000;
const betas = Array.from({ length: T }, (_, i) => { const b = Math.sqrt(0.00085) + (Math.sqrt(0.012) - Math.sqrt(0.00085)) * i / (T - 1); return Math.fround(Math.fround(b) * Math.fround(b)); });
const abar = []; { let p = 1; for (const b of betas) { p *= 1 - b; abar.push(p); } }
const sigmaAll = abar.map((a) => Math.sqrt((1 - a) / a));
const interp = (t) => { const i = Math.floor(t); const f = t - i; return i >= T - 1 ? sigmaAll[T - 1] : sigmaAll[i] * (1 - f) + sigmaAll[i + 1] * f; };

function guidanceEmbedding(w, dim = 256) {
  const half = dim / 2; const out = new Float32Array(dim); const ww = Math.fround(w * 1000);
  for (let i = 0; i < half; i++) { const f = Math.fround(Math.exp(-i * Math.log(10000) / (half - 1))); const a = Math.fround(ww * f); out[i] = Math.sin(a); out[half + i] = Math.cos(a); }
  return out;
}
const sessions = {};
async function sess(dir, comp) {
  const k = dir + comp;
  if (!sessions[k]) sessions[k] = await ort.InferenceSession.create(fs.readFileSync(path.join(dir, comp, 'model.onnx')), { executionProviders: ['wasm'] });
  return sessions[k];
}
let worst = 0; let failed = 0;
for (const file of fs.readdirSync(parityDir).filter((f) => f.endsWith('.json')).sort()) {
  const P = JSON.parse(fs.readFileSync(path.join(parityDir, file), 'utf8'));
  // LoRA fixtures need the merge into the U-Net's initializers: the app engine replays them (tests/parity.test.ts,
  // e2e/lora.spec.ts); this minimal loop has no merge.
  if (P.loras?.length) { console.log(`${file}: skipped here (LoRA merge; checked by tests/parity.test.ts)`); continue; }
  const dir = path.join(modelsDir, P.pipeline);
  const te = await sess(dir, 'text_encoder'); const unet = await sess(dir, 'unet');
  const enc = async (ids) => (await te.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, 77]) })).last_hidden_state;
  const cond = await enc(P.input_ids);
  const emptyIds = [P.input_ids[0], ...Array(76).fill(P.input_ids[P.input_ids.length - 1])];
  const uncond = await enc(emptyIds);
  const lcm = P.scheduler === 'LCMScheduler'; const g = P.guidance_scale; const cfg = g > 1 && !lcm;
  const ts = P.timesteps; const n = ts.length; const pred = P.prediction_type;
  let x = Float32Array.from(P.initial_latents, (v) => v * P.init_noise_sigma);
  const cm = P.scheduler === 'CMStochasticIterativeScheduler'; const cmc = P.scheduler_config;
  const sig = P.scheduler === 'EulerDiscreteScheduler' ? [...ts.map(interp), 0] : cm ? P.sigmas : null;
  for (let i = 0; i < n; i++) {
    const t = ts[i];
    const s = sig ? sig[i] : 0;
    const xin = cm ? x.map((v) => v / Math.sqrt(s * s + cmc.sigma_data ** 2)) : sig ? x.map((v) => v / Math.sqrt(s * s + 1)) : x;
    let out;
    if (cfg) {
      const D = cond.dims[2]; const hs = new Float32Array(2 * 77 * D); hs.set(uncond.data, 0); hs.set(cond.data, 77 * D);
      const xx = new Float32Array(512); xx.set(xin, 0); xx.set(xin, 256);
      const r = (await unet.run({ sample: new ort.Tensor('float32', xx, [2, 4, 8, 8]), timestep: new ort.Tensor('float32', Float32Array.from([t, t]), [2]), encoder_hidden_states: new ort.Tensor('float32', hs, [2, 77, D]) })).out_sample.data;
      out = new Float32Array(256).map((_, j) => r[j] + g * (r[256 + j] - r[j]));
    } else {
      const feeds = { sample: new ort.Tensor('float32', Float32Array.from(xin), [1, 4, 8, 8]), timestep: new ort.Tensor('float32', Float32Array.from([t]), [1]), encoder_hidden_states: cond };
      if (lcm) feeds.timestep_cond = new ort.Tensor('float32', guidanceEmbedding(g - 1), [1, 256]);
      out = (await unet.run(feeds)).out_sample.data;
    }
    if (cm) { // CM Alg. 1 / diffusers CMStochasticIterativeScheduler.step (EDM boundary condition)
      const sd = cmc.sigma_data; const sm = cmc.sigma_min; const cs = sd * sd / ((s - sm) ** 2 + sd * sd); const co = (s - sm) * sd / Math.sqrt(s * s + sd * sd);
      const den = x.map((v, j) => co * out[j] + cs * v);
      if (i === n - 1) x = den; else { const nz = P.step_noises[i]; const h = Math.min(Math.max(sig[i + 1], sm), cmc.sigma_max); x = den.map((v, j) => v + nz[j] * Math.sqrt(h * h - sm * sm)); }
      continue;
    }
    const a = abar[t] ?? 0; const sa = Math.sqrt(a); const sb = Math.sqrt(1 - a);
    const x0 = new Float32Array(256); const eps = new Float32Array(256);
    for (let j = 0; j < 256; j++) {
      if (pred === 'epsilon') { eps[j] = out[j]; x0[j] = (x[j] - sb * out[j]) / sa; } else if (pred === 'sample') { x0[j] = out[j]; eps[j] = (x[j] - sa * out[j]) / sb; } else { x0[j] = sa * x[j] - sb * out[j]; eps[j] = sa * out[j] + sb * x[j]; }
    }
    if (P.scheduler === 'DDIMScheduler') {
      const pt = t - Math.floor(T / n); const ap = pt >= 0 ? abar[pt] : 1.0;
      x = x0.map((v, j) => Math.sqrt(ap) * v + Math.sqrt(1 - ap) * eps[j]);
    } else if (P.scheduler === 'LCMScheduler') {
      const sc = t * 10; const cs = 0.25 / (sc * sc + 0.25); const co = sc / Math.sqrt(sc * sc + 0.25);
      const den = x0.map((v, j) => co * v + cs * x[j]);
      if (i === n - 1) x = den; else { const an = abar[ts[i + 1]]; const nz = P.step_noises[i]; x = den.map((v, j) => Math.sqrt(an) * v + Math.sqrt(1 - an) * nz[j]); }
    } else if (P.scheduler === 'EulerDiscreteScheduler') {
      const xe = x.map((v, j) => v - s * out[j]);
      x = x.map((v, j) => v + ((v - xe[j]) / s) * (sig[i + 1] - s));
    } else throw new Error('no JS port for ' + P.scheduler);
  }
  let d = 0; for (let j = 0; j < 256; j++) d = Math.max(d, Math.abs(x[j] - P.final_latents[j]));
  worst = Math.max(worst, d); if (!(d < 1e-3)) failed++;
  console.log(`${d < 1e-3 ? 'ok  ' : 'FAIL'} ${file}: ${P.scheduler} ${n} steps g=${g} max|diff|=${d.toExponential(2)}`);
}
console.log(`worst ${worst.toExponential(2)}`);
process.exit(failed ? 1 : 0);
