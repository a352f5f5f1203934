/**
 * LoRA end to end on the random-weight fixture (fixtures/generated/tiny, exported by training/make_fixture.py with
 * diffusers' module names, as torch.onnx.export writes a real SD U-Net):
 * - Python writes two LoRAs with training/fewstep/lora.py `write_file` (PEFT keys on the attention projections and
 *   feed-forward, kohya keys on the resnet convs and time_emb_proj; fp16 in the file, as shipped) and, as the
 *   reference, merges them itself with numpy into a copy of the U-Net (its own module -> initializer mapping from
 *   node names, W + scale * alpha / r * B @ A in float64, transposed for MatMul weights);
 * - the engine's merge (Pipeline.load with `loras`) gives the same weights (within one float32 ulp) and the same
 *   final latents as the Python-merged U-Net, and the same again when the weights live in `model.onnx_data`;
 * - the U-Net's output changes with the LoRAs, and scale 0 gives the base latents bit for bit;
 * - a LoRA for another base is refused (LORA_MISMATCH) and leaves the U-Net's bytes as they were.
 * Needs /usr/bin/python3 (or $PYTHON) with numpy, onnx and torch, as CI has (python3-torch).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../src/engine/errors';
import { indexWeights, mergeLoras, type LoraAdapter } from '../src/engine/lora';
import { encodeSafetensors } from '../src/engine/lora/safetensors';
import { configureOrt } from '../src/engine/ort';
import { Pipeline, type GenerateParams } from '../src/engine/pipeline';
import { CancelToken } from '../src/engine/queue';
import { f32Of, randomFloats, ulps32 } from './loraTestUtil';
import { fixtureDir, FsSource, ROOT } from './modelDirs';

const PY = process.env.PYTHON || '/usr/bin/python3';
const FIXTURE = fixtureDir('tiny');

/** Writes peft.safetensors and kohya.safetensors into argv[2] and the reference-merged U-Net to argv[3]. */
const REFERENCE = `
import json, sys
import numpy as np, onnx, torch
from onnx import numpy_helper
sys.path.insert(0, ${JSON.stringify(join(ROOT, 'training'))})
from fewstep.lora import read_file, write_file

src, out, ref = sys.argv[1], sys.argv[2], sys.argv[3]
m = onnx.load(src)
g = m.graph
inits = {t.name: t for t in g.initializer}
prod = {o: n for n in g.node for o in n.output}
mods = {}
for n in g.node:
    if n.op_type not in ("MatMul", "Gemm", "Conv") or len(n.input) < 2:
        continue
    w = n.input[1]
    while w not in inits and w in prod and prod[w].op_type in ("Identity", "Cast"):
        w = prod[w].input[0]
    if w not in inits:
        continue
    path = ".".join(n.name.strip("/").split("/")[:-1])
    trans_b = next((a.i for a in n.attribute if a.name == "transB"), 0)
    mods[path] = (w, n.op_type == "MatMul" or (n.op_type == "Gemm" and trans_b == 0))

rng = np.random.default_rng(0)
attn = ("to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2")
res = ("conv1", "conv2", "conv_shortcut", "time_emb_proj", "downsamplers.0.conv", "upsamplers.0.conv")
states = {"peft": {}, "kohya": {}}
for path, (w, transposed) in sorted(mods.items()):
    kind = "peft" if any(path.endswith("." + t) for t in attn) else "kohya" if any(path.endswith("." + t) for t in res) else None
    if kind is None:
        continue
    W = numpy_helper.to_array(inits[w])
    r, alpha = (4, 2.0) if kind == "peft" else (3, 6.0)
    if W.ndim == 4:
        a = rng.standard_normal((r,) + W.shape[1:]) * 0.2
        b = rng.standard_normal((W.shape[0], r, 1, 1)) * 0.2
    else:
        out_f, in_f = (W.shape[1], W.shape[0]) if transposed else W.shape
        a = rng.standard_normal((r, in_f)) * 0.2
        b = rng.standard_normal((out_f, r)) * 0.2
    states[kind][path] = (torch.from_numpy(a.astype(np.float32)), torch.from_numpy(b.astype(np.float32)), r, alpha)
write_file(out + "/peft.safetensors", states["peft"], "peft")
write_file(out + "/kohya.safetensors", states["kohya"], "kohya")

under = {p.replace(".", "_"): p for p in mods}
deltas = {}
for fname, scale in (("peft", 0.8), ("kohya", 0.5)):
    for key, (a, b, r, alpha) in read_file(out + "/" + fname + ".safetensors").items():
        path = under.get(key, key)
        w, transposed = mods[path]
        a64, b64 = a.numpy().astype(np.float64), b.numpy().astype(np.float64)
        d = scale * alpha / r * (b64.reshape(b64.shape[0], r) @ a64.reshape(r, -1))
        W = numpy_helper.to_array(inits[w])
        d = d.reshape(W.shape[::-1]).T if transposed else d.reshape(W.shape)
        deltas[w] = deltas.get(w, 0) + d
for w, d in deltas.items():
    W = numpy_helper.to_array(inits[w]).astype(np.float64)
    inits[w].CopyFrom(numpy_helper.from_array((W + d).astype(np.float32), w))
onnx.save(m, ref)
print(json.dumps({"peft": len(states["peft"]), "kohya": len(states["kohya"]), "weights": len(deltas)}))
`;

let tmp = '';
let refDir = '';
let extDir = '';
let counts = { peft: 0, kohya: 0, weights: 0 };
const lorasAt = (peft: number, kohya: number): LoraAdapter[] => [
  { name: 'peft', bytes: new Uint8Array(readFileSync(join(tmp, 'peft.safetensors'))), scale: peft },
  { name: 'kohya', bytes: new Uint8Array(readFileSync(join(tmp, 'kohya.safetensors'))), scale: kohya },
];

beforeAll(() => {
  configureOrt({ numThreads: 1 });
  if (!FIXTURE) throw new Error('fixtures/generated/tiny is missing: run `make -C training fixtures`');
  tmp = mkdtempSync(join(tmpdir(), 'fewstep-lora-'));
  refDir = join(tmp, 'ref');
  cpSync(FIXTURE, refDir, { recursive: true });
  const r = spawnSync(PY, ['-c', REFERENCE, join(FIXTURE, 'unet/model.onnx'), tmp, join(refDir, 'unet/model.onnx')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the Python reference failed (needs numpy, onnx, torch): ${r.stderr}`);
  counts = JSON.parse(r.stdout.trim().split('\n').pop()!) as typeof counts;
  // The same fixture with every U-Net weight in an external-data sidecar (as exports over 2 GB keep them).
  extDir = join(tmp, 'ext');
  cpSync(FIXTURE, extDir, { recursive: true });
  const e = spawnSync(
    PY,
    ['-c', "import onnx, sys; m = onnx.load(sys.argv[1]); onnx.save_model(m, sys.argv[1], save_as_external_data=True, all_tensors_to_one_file=True, location='model.onnx_data', size_threshold=0)", join(extDir, 'unet/model.onnx')],
    { encoding: 'utf8' },
  );
  if (e.status !== 0) throw new Error(`onnx external-data conversion failed: ${e.stderr}`);
}, 180_000);
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const params = (pipe: Pipeline): GenerateParams => ({
  prompt: 'a red circle on a blue background',
  seed: 3,
  steps: 2,
  guidanceScale: 3,
  scheduler: 'DDIMScheduler',
  initialLatents: randomFloats(pipe.info.latentShape.reduce((a, b) => a * b, 1), 11, 1.5),
});

async function latentsOf(dir: string, loras?: LoraAdapter[]): Promise<{ latents: Float32Array; pipe: Pipeline }> {
  const pipe = await Pipeline.load(new FsSource(dir), { name: 'tiny', provider: 'wasm', ...(loras ? { loras } : {}) });
  try {
    const res = await pipe.generate(params(pipe), new CancelToken());
    return { latents: res.latents, pipe };
  } finally {
    await pipe.release();
  }
}

const maxAbs = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('LoRA on the tiny fixture U-Net', () => {
  it('merges the Python-written PEFT and kohya files into the same weights as the Python reference merge', () => {
    expect(counts.peft).toBeGreaterThan(10);
    expect(counts.kohya).toBeGreaterThan(10);
    const graph = new Uint8Array(readFileSync(join(FIXTURE!, 'unet/model.onnx')));
    const res = mergeLoras(graph, undefined, lorasAt(0.8, 0.5));
    expect(res.weightsChanged).toBe(counts.weights);
    expect(res.adapters.map((a) => [a.name, a.format, a.rank, a.alpha, a.matched, a.unmatched, a.textEncoderKeys])).toEqual([
      ['peft', 'peft', 4, 2, counts.peft * 2, 0, 0],
      ['kohya', 'kohya', 3, 6, counts.kohya * 3, 0, 0],
    ]);
    const ref = new Uint8Array(readFileSync(join(refDir, 'unet/model.onnx')));
    const mine = indexWeights(graph);
    const theirs = indexWeights(ref);
    let compared = 0;
    let worst = 0;
    for (const [path, w] of mine.modules) {
      const t = theirs.modules.get(path)!;
      const at = (b: Uint8Array, x: typeof w) => f32Of(b.subarray(x.initializer.bytes!.offset, x.initializer.bytes!.offset + x.initializer.bytes!.length));
      const a = at(graph, w);
      const b = at(ref, t);
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, ulps32(a[i], b[i]));
      compared++;
    }
    expect(compared).toBeGreaterThan(counts.weights);
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('changes the U-Net output like the Python-merged U-Net; scale 0 gives the base latents bit for bit', async () => {
    const base = await latentsOf(FIXTURE!);
    const merged = await latentsOf(FIXTURE!, lorasAt(0.8, 0.5));
    const reference = await latentsOf(refDir);
    expect(merged.pipe.info.lora?.adapters.map((a) => a.name)).toEqual(['peft', 'kohya']);
    expect(merged.pipe.info.lora?.weightsChanged).toBe(counts.weights);
    expect(base.pipe.info.lora).toBeUndefined();
    expect(maxAbs(merged.latents, base.latents)).toBeGreaterThan(0.05);
    expect(maxAbs(merged.latents, reference.latents)).toBeLessThan(1e-4);
    const zero = await latentsOf(FIXTURE!, lorasAt(0, 0));
    expect(zero.pipe.info.lora?.weightsChanged).toBe(0);
    expect(Buffer.from(zero.latents.buffer).equals(Buffer.from(base.latents.buffer))).toBe(true);
    // weights in model.onnx_data: merged there, same latents as the inline merge
    const ext = await latentsOf(extDir, lorasAt(0.8, 0.5));
    expect(Buffer.from(ext.latents.buffer).equals(Buffer.from(merged.latents.buffer))).toBe(true);
  });

  it('refuses a LoRA made for another base (shape mismatch) and leaves the U-Net bytes as they were', async () => {
    const other = encodeSafetensors({
      'unet.down_blocks.0.resnets.0.conv1.lora_A.weight': { shape: [2, 8, 3, 3], values: randomFloats(144, 1) },
      'unet.down_blocks.0.resnets.0.conv1.lora_B.weight': { shape: [16, 2, 1, 1], values: randomFloats(32, 2) },
    });
    const bad: LoraAdapter[] = [...lorasAt(1, 1), { name: 'other-base', bytes: other, scale: 1 }];
    const file = new Uint8Array(readFileSync(join(FIXTURE!, 'unet/model.onnx')));
    const graph = file.slice();
    expect(() => mergeLoras(graph, undefined, bad)).toThrow(/down_blocks\.0\.resnets\.0\.conv1\.lora_A\.weight is \[2, 8, 3, 3\].*is \[16, 16, 3, 3\]/);
    expect(Buffer.from(graph).equals(Buffer.from(file))).toBe(true);
    const err = await Pipeline.load(new FsSource(FIXTURE!), { name: 'tiny', provider: 'wasm', loras: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('LORA_MISMATCH');
    expect((err as EngineError).message).toContain('another base model');
  });
});
