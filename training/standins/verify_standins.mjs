// Checks generated stand-ins in Node with the app's own runtime libraries (onnxruntime-web on WASM and
// @huggingface/tokenizers) and the app's tokenizer reader (src/engine/tokenizer.ts):
//   node training/standins/verify_standins.mjs fixtures/generated/standins
// For every graph in every standin.json: the session's input/output names equal the manifest's, a run with
// inputs of the manifest's dtypes gives finite outputs, and each output changes when any one input changes
// (prompt ids, latents, timestep, conditioning). For every tokenizer.json / vocab.json+merges.txt stand-in: the
// golden cases marked standinCheckable in tests/fixtures/clip-tokenizer-golden.json give their published ids; a
// vocab.json + merges.txt folder is read and converted by the app's own code (src/engine/tokenizer.ts
// readTokenizerFiles -> clipTokenizerJson, loaded through Vite's module runner), so the ids checked are the app's. For
// every LoRA stand-in (kind "lora"): the file is valid safetensors in the manifest's key layout and real-header.json
// is the published header (checkLora below; the key -> weight mapping itself is tests/sd15Lora.int.test.ts's).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { Tokenizer } from '@huggingface/tokenizers';
import { runnerImport } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const root = path.resolve(process.argv[2] ?? path.join(repo, 'fixtures', 'generated', 'standins'));
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const CONCRETE = { // symbolic dim -> value used for the check (small latents: 8x8 -> 64x64 pixels)
  batch_size: 1, batch: 1, unet_sample_batch: 1, unet_hidden_batch: 1, unet_text_embeds_batch: 1,
  unet_time_ids_batch: 1, unet_time_batch: 1, steps: 1,
  sequence_length: 77, sequence: 77, unet_hidden_sequence: 77,
  num_channels: 4, channels: 4, num_channels_latent: 4, unet_sample_channels: 4,
  height: 8, width: 8, height_latent: 8, width_latent: 8, unet_sample_height: 8, unet_sample_width: 8,
  unet_text_embeds_size: 1280, unet_time_ids_size: 6,
};
let failures = 0;
const fail = (msg) => { failures++; console.log(`FAIL ${msg}`); };

function f16bits(x) { // float32 -> IEEE half bits (round to nearest)
  const f = new Float32Array([x]); const u = new Uint32Array(f.buffer)[0];
  const sign = (u >>> 16) & 0x8000; let e = ((u >>> 23) & 0xff) - 127 + 15; let m = u & 0x7fffff;
  if (e <= 0) return sign; if (e >= 31) return sign | 0x7c00;
  m = m + 0x1000; if (m & 0x800000) { m = 0; e += 1; } return sign | (e << 10) | (m >>> 13);
}
function half(bits) {
  const s = bits & 0x8000 ? -1 : 1, e = (bits >> 10) & 0x1f, m = bits & 0x3ff;
  return e === 0 ? s * m * 2 ** -24 : e === 31 ? NaN : s * (1 + m / 1024) * 2 ** (e - 15);
}

function makeTensor(info, dimsFor, variant) {
  const dims = info.dims.map((d) => (typeof d === 'number' ? d : CONCRETE[d] ?? 1));
  if (info.name === 'sample' && info.dims.length === 4 && dimsFor === 'vae_encoder') { dims[1] = 3; dims[2] = dims[3] = 64; }
  if (info.name === 'clip_input' || info.name === 'images') { dims[2] = dims[3] = 8; }
  const n = dims.reduce((a, b) => a * b, 1);
  const val = (i) => {
    if (info.name === 'input_ids') return variant ? (i < 5 ? [49406, 3306, 1002, 49407][i] ?? 0 : 0) : (i === 0 ? 49406 : i === 1 ? 49407 : 49407);
    if (info.name === 'timestep') return variant ? 999 : 499;
    return Math.sin(i * 0.37 + (variant ? 1.3 : 0.1)) * (info.name === 'time_ids' ? 512 : 1);
  };
  switch (info.dtype) {
    case 'int64': return new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(Math.trunc(val(i)))), dims);
    case 'int32': return new ort.Tensor('int32', Int32Array.from({ length: n }, (_, i) => val(i)), dims);
    case 'float16': return new ort.Tensor('float16', Uint16Array.from({ length: n }, (_, i) => f16bits(val(i))), dims);
    default: return new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => val(i)), dims);
  }
}

const values = (t) => (t.type === 'float16' ? Array.from(t.data, (b) => (typeof b === 'number' && !(t.data instanceof Uint16Array) ? b : half(b))) : Array.from(t.data, Number));

async function checkGraph(dir, rel, sig) {
  const file = path.join(dir, rel);
  const opts = { executionProviders: ['wasm'] };
  if (sig.externalData) {
    opts.externalData = [{ path: sig.externalData, data: fs.readFileSync(path.join(path.dirname(file), sig.externalData)) }];
  }
  const session = await ort.InferenceSession.create(fs.readFileSync(file), opts);
  const want = (xs) => xs.map((x) => x.name).join(',');
  if (session.inputNames.join(',') !== want(sig.inputs)) fail(`${rel}: inputs ${session.inputNames} != ${want(sig.inputs)}`);
  if (session.outputNames.join(',') !== want(sig.outputs)) fail(`${rel}: outputs ${session.outputNames} != ${want(sig.outputs)}`);
  const kind = rel.includes('vae_encoder') ? 'vae_encoder' : '';
  const base = Object.fromEntries(sig.inputs.map((i) => [i.name, makeTensor(i, kind, false)]));
  const ref = await session.run(base);
  for (const o of sig.outputs) {
    const v = values(ref[o.name]);
    if (o.dtype !== 'bool' && !v.every(Number.isFinite)) fail(`${rel}: ${o.name} not finite`);
    if (ref[o.name].type !== o.dtype) fail(`${rel}: ${o.name} is ${ref[o.name].type}, manifest ${o.dtype}`);
  }
  for (const i of sig.inputs) {
    if (rel.includes('safety_checker')) break;
    const feeds = { ...base, [i.name]: makeTensor(i, kind, true) };
    const res = await session.run(feeds);
    const main = sig.outputs[0].name;
    const a = values(ref[main]), b = values(res[main]);
    if (a.every((x, k) => x === b[k])) fail(`${rel}: ${main} does not depend on ${i.name}`);
  }
  await session.release();
  return `${rel} ok (${sig.inputs.map((i) => `${i.name}:${i.dtype}[${i.dims}]`).join(' ')})`;
}

function checkTokenizer(label, tokenizerJson, config, golden) {
  const tok = new Tokenizer(tokenizerJson, config);
  let n = 0;
  let bad = 0;
  for (const c of [...golden.cases, ...golden.padded]) {
    if (!c.standinCheckable || c.padding) continue;
    const ids = tok.encode(c.text).ids;
    if (JSON.stringify(ids) !== JSON.stringify(c.ids)) {
      fail(`${label}: ${c.id}: ${JSON.stringify(ids)} != ${JSON.stringify(c.ids)}`);
      bad++;
    }
    n++;
  }
  return bad ? `${label}: ${bad} of ${n} golden cases differ` : `${label}: ${n} golden cases ok`;
}

// The app's tokenizer module (TypeScript), through Vite's module runner: readTokenizerFiles reads vocab.json +
// merges.txt + tokenizer_config.json + special_tokens_map.json as the app does and builds the tokenizer.json with
// clipTokenizerJson (transformers' CLIPConverter), special tokens registered as added tokens.
const { module: appTokenizer } = await runnerImport(path.join(repo, 'src', 'engine', 'tokenizer.ts'), { configFile: false, root: repo, logLevel: 'error' });

/** The vocab.json + merges.txt tokenizer of `dir`/tokenizer as the app builds it ({ tokenizerJson, tokenizerConfig }). */
async function appVocabMergesTokenizer(dir) {
  const read = async (rel, optional) => {
    const f = path.join(dir, rel);
    // tokenizer.json is never read here: this checks the vocab.json + merges.txt route even if a folder had both
    if (rel.endsWith('/tokenizer.json') || !fs.existsSync(f)) {
      if (optional) return null;
      throw new Error(`${f} is missing`);
    }
    const b = fs.readFileSync(f);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  };
  return appTokenizer.readTokenizerFiles(read, 'tokenizer');
}

// A tokenizer that registers "!" as an added token splits "!" out of words (see the owlvit golden case): the golden
// cases with a "!" then hold for that one case only.
const goldenFor = (golden, bang) => (bang
  ? { ...golden, cases: golden.cases.filter((c) => !c.text.includes('!') || c.id === 'tfjs-owlvit-bang-added-special')
    .map((c) => (c.id === 'tfjs-owlvit-bang-added-special' ? { ...c, standinCheckable: true } : c)) }
  : golden);

// A LoRA stand-in (kind "lora"): its file is valid safetensors in the layout the manifest names (kohya keys of the
// listed modules, down / up / 0-dim alpha, the dtype), its base stand-in's graph exists, and real-header.json is the
// published header (length and sha256 the manifest's realFiles record).
function checkLora(dir, m) {
  const file = path.join(dir, m.standinFiles.find((f) => f.path.endsWith('.safetensors')).path);
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  if (8 + n > b.length) return fail(`${m.id}: header length ${n} beyond the file`);
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8'));
  const meta = header.__metadata__ ?? {};
  delete header.__metadata__;
  const names = Object.keys(header);
  let end = 0;
  for (const k of names) end = Math.max(end, header[k].data_offsets[1]);
  if (8 + n + end !== b.length) fail(`${m.id}: data ends at ${8 + n + end}, file has ${b.length} bytes`);
  if (JSON.stringify(meta) !== JSON.stringify(m.lora.metadata)) fail(`${m.id}: metadata ${JSON.stringify(meta)}`);
  const want = new Set();
  for (const p of m.lora.modules) {
    const key = `lora_unet_${p.replaceAll('.', '_')}`;
    for (const part of ['lora_down.weight', 'lora_up.weight', 'alpha']) want.add(`${key}.${part}`);
  }
  const extra = names.filter((k) => !want.has(k));
  const missing = [...want].filter((k) => !(k in header));
  if (extra.length || missing.length) fail(`${m.id}: keys differ from the manifest's modules (extra ${extra[0]}, missing ${missing[0]})`);
  for (const k of names) {
    if (header[k].dtype !== m.lora.dtype) fail(`${m.id}: ${k} is ${header[k].dtype}`);
    if (k.endsWith('.alpha') && header[k].shape.length !== 0) fail(`${m.id}: ${k} has shape [${header[k].shape}], not 0-dim`);
    if (k.endsWith('.lora_down.weight') && header[k].shape[0] !== m.lora.rank) fail(`${m.id}: ${k} rank ${header[k].shape[0]}`);
  }
  if (!fs.existsSync(path.join(root, m.base.standin, m.base.graph))) fail(`${m.id}: base graph ${m.base.standin}/${m.base.graph} missing`);
  const real = fs.readFileSync(path.join(dir, m.realHeader.path));
  const digest = crypto.createHash('sha256').update(real).digest('hex');
  if (real.length !== m.realFiles[0].headerLength || digest !== m.realFiles[0].headerSha256) fail(`${m.id}: ${m.realHeader.path} is not the published header`);
  return `${m.lora.modules.length} modules x 3 keys (${m.lora.format}, rank ${m.lora.rank}, alpha ${m.lora.alpha}) on ${m.base.standin}; real header ${m.realHeader.tensors} tensors, sha256 ok`;
}

const golden = JSON.parse(fs.readFileSync(path.join(repo, 'tests', 'fixtures', 'clip-tokenizer-golden.json'), 'utf8'));
for (const id of fs.readdirSync(root).sort()) {
  const mf = path.join(root, id, 'standin.json');
  if (!fs.existsSync(mf)) continue;
  const m = JSON.parse(fs.readFileSync(mf, 'utf8'));
  const dir = path.join(root, id);
  for (const f of m.standinFiles) {
    if (fs.statSync(path.join(dir, f.path)).size !== f.size) fail(`${id}/${f.path}: size differs from standin.json`);
  }
  if (m.kind === 'lora') console.log(`${id}: ${checkLora(dir, m)}`);
  for (const [rel, sig] of Object.entries(m.graphs)) {
    try { console.log(`${id}: ${await checkGraph(dir, rel, sig)}`); } catch (e) { fail(`${id}/${rel}: ${e.message}`); }
  }
  for (const sub of ['', 'tokenizer', 'tokenizer_2']) {
    const tj = path.join(dir, sub, 'tokenizer.json');
    if (fs.existsSync(tj)) {
      const cfg = JSON.parse(fs.readFileSync(path.join(dir, sub, 'tokenizer_config.json'), 'utf8'));
      const bang = cfg.pad_token === '!' && cfg.added_tokens_decoder?.['0'];
      console.log(`${id}: ${checkTokenizer(`${sub || '.'}/tokenizer.json`, JSON.parse(fs.readFileSync(tj, 'utf8')), cfg, goldenFor(golden, bang))}`);
    }
  }
  if (fs.existsSync(path.join(dir, 'tokenizer', 'vocab.json'))) {
    try {
      const { tokenizerJson, tokenizerConfig } = await appVocabMergesTokenizer(dir);
      const bang = tokenizerJson.added_tokens.some((t) => t.content === '!');
      console.log(`${id}: ${checkTokenizer('tokenizer/vocab.json+merges.txt', tokenizerJson, tokenizerConfig, goldenFor(golden, bang))}${bang ? ' ("!" registered: the pad token)' : ''}`);
    } catch (e) { fail(`${id}/tokenizer (vocab.json + merges.txt): ${e.message}`); }
  }
}
console.log(failures ? `${failures} failure(s)` : 'all stand-ins OK');
process.exit(failures ? 1 : 0);
