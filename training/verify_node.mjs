// Checks an exported pipeline folder from Node: the tokenizer loads in @huggingface/transformers and matches
// the Python tokenizer (expected ids in <folder>/../<name>.tokens.json if given), and the three ONNX models run
// end to end on onnxruntime-web (wasm) with the documented I/O.
// usage: node training/verify_node.mjs <pipeline-folder> [expected-tokens.json]
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-web';
import { AutoTokenizer, env } from '@huggingface/transformers';

const folder = path.resolve(process.argv[2]);
const expectedFile = process.argv[3];
ort.env.wasm.numThreads = 1;
env.allowLocalModels = true;
env.allowRemoteModels = false;
env.localModelPath = path.dirname(folder) + '/';

const fail = (msg) => { console.error('FAIL', msg); process.exit(1); };
const tok = await AutoTokenizer.from_pretrained(path.basename(folder) + '/tokenizer');
const prompts = ['a small red circle in the center on a white background', 'a blue square and a green triangle on a gray background', ''];
const enc = tok(prompts, { padding: 'max_length', max_length: 77, truncation: true });
const ids = Array.from(enc.input_ids.data, Number);
if (expectedFile) {
  const expected = JSON.parse(fs.readFileSync(expectedFile, 'utf8'));
  const flat = expected.flat();
  for (let i = 0; i < flat.length; i++) if (flat[i] !== ids[i]) fail(`token mismatch at ${i}: ${ids[i]} vs ${flat[i]}`);
  console.log('tokenizer matches python');
}
console.log('tokens[0][:16] =', ids.slice(0, 16).join(' '));

const load = (c) => ort.InferenceSession.create(fs.readFileSync(path.join(folder, c, 'model.onnx')), { executionProviders: ['wasm'] });
const te = await load('text_encoder');
const unet = await load('unet');
const vae = await load('vae_decoder');
for (const [n, s] of [['text_encoder', te], ['unet', unet], ['vae_decoder', vae]]) console.log(n, 'in:', s.inputNames.join(','), 'out:', s.outputNames.join(','));
const B = 2;
const teOut = await te.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.slice(0, B * 77).map(BigInt)), [B, 77]) });
const hs = teOut.last_hidden_state;
if (!teOut.pooler_output) fail('no pooler_output');
const D = hs.dims[2];
const ucfg = JSON.parse(fs.readFileSync(path.join(folder, 'unet', 'config.json'), 'utf8'));
if (ucfg.cross_attention_dim !== D) fail('cross_attention_dim mismatch');
const feeds = {
  sample: new ort.Tensor('float32', Float32Array.from({ length: B * 256 }, (_, i) => Math.sin(i)), [B, 4, 8, 8]),
  timestep: new ort.Tensor('float32', Float32Array.from([999, 999]), [B]),
  encoder_hidden_states: hs,
};
if (unet.inputNames.includes('timestep_cond')) feeds.timestep_cond = new ort.Tensor('float32', new Float32Array(B * 256), [B, 256]);
const u = await unet.run(feeds);
const eps = u.out_sample;
if (eps.dims.join() !== [B, 4, 8, 8].join()) fail('unet out dims ' + eps.dims);
const img = (await vae.run({ latent_sample: eps })).sample;
if (img.dims.join() !== [B, 3, 64, 64].join()) fail('vae out dims ' + img.dims);
let mn = Infinity, mx = -Infinity, nan = 0;
for (const v of img.data) { if (Number.isNaN(v)) nan++; mn = Math.min(mn, v); mx = Math.max(mx, v); }
if (nan || mn < -1 || mx > 1) fail(`image range ${mn}..${mx} nan=${nan}`);
console.log(`OK ${folder}: D=${D} image range ${mn.toFixed(3)}..${mx.toFixed(3)}`);
