/**
 * mergeLoras (src/engine/lora/merge.ts) on hand-built ONNX graphs laid out as torch.onnx.export writes a diffusers
 * U-Net: a MatMul on an anonymous transposed `onnx::MatMul_N` [in, out], Gemm weights with transB = 1 ([out, in])
 * and transB = 0, 3x3 and 1x1 Conv weights; float32 and float16 (inline, `X_fp16` + Cast, direct), packed
 * float_data, an external-data sidecar. Every changed weight is compared element by element with
 * W + scale * alpha / r * B @ A computed here in float64 (tests/loraTestUtil.ts referenceDelta): within one float32
 * ulp of fround(W + delta), or one float16 ulp of fp16(W + delta); every other byte stays as it was. Bad inputs throw
 * their specific errors and leave graph and sidecar byte-identical.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { EngineError } from '../src/engine/errors';
import { mergeLoras, type LoraAdapter } from '../src/engine/lora';
import { createRowKernel, setRowKernel } from '../src/engine/lora/kernel';
import { encodeSafetensors } from '../src/engine/lora/safetensors';
import {
  FLOAT,
  FLOAT16,
  bytesOf,
  f16BitsOf,
  f32Of,
  fromF16,
  modelProto,
  randomFloats,
  referenceDelta,
  toF16,
  ulps16,
  ulps32,
  type NodeSpec,
  type TensorSpec,
} from './loraTestUtil';

type Storage = 'raw' | 'float_data' | 'external' | 'cast16' | 'f16';

interface WeightSpec {
  /** Module path. */
  module: string;
  op: 'MatMul' | 'Gemm' | 'Conv';
  /** torch layout: Linear [out, in]; Conv [out, in, kh, kw]. */
  torch: number[];
  storage?: Storage;
  /** Gemm only: stored [out, in] (transB = 1, default) or [in, out] (transB = 0). */
  transB?: 0 | 1;
  seed: number;
}

const Q = 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q';
const OUT0 = 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0';
const TEMB = 'down_blocks.0.resnets.0.time_emb_proj';
const CONV1 = 'down_blocks.0.resnets.0.conv1';
const SHORT = 'down_blocks.1.resnets.0.conv_shortcut';

interface Built {
  graph: Uint8Array;
  external: Array<{ path: string; data: Uint8Array }> | undefined;
  /** Each weight's stored values (float32, stored layout) and dims. */
  stored: Map<string, { values: Float32Array; dims: number[]; transposed: boolean; half: boolean; bytes: Uint8Array }>;
}

/** A graph with one node per weight spec (plus an untouched bias), weights stored as each spec says. */
function build(specs: WeightSpec[]): Built {
  const nodes: NodeSpec[] = [];
  const inits: TensorSpec[] = [{ name: 'conv_in.bias', dataType: FLOAT, dims: [4], raw: bytesOf(new Float32Array([1, 2, 3, 4])) }];
  const stored: Built['stored'] = new Map();
  const sidecar: number[] = Array(40).fill(9); // something before the first external tensor
  let n = 0;
  for (const s of specs) {
    const storage = s.storage ?? 'raw';
    const linear = s.op !== 'Conv';
    const transposed = s.op === 'MatMul' || (s.op === 'Gemm' && s.transB === 0);
    const dims = linear && transposed ? [s.torch[1], s.torch[0]] : s.torch;
    const count = dims.reduce((a, d) => a * d, 1);
    let values = randomFloats(count, s.seed, 0.5);
    const half = storage === 'cast16' || storage === 'f16';
    if (half) values = fromF16(toF16(values));
    const raw = half ? bytesOf(toF16(values)) : bytesOf(values);
    const param = s.op === 'MatMul' ? `onnx::MatMul_${100 + n++}` : `${s.module}.weight`;
    const nodeName = `/${s.module.replace(/\.(?=[a-z_]+(\.\d+)?$)/, '/').split('.').join('.')}/${s.op}`;
    // node name: "/down_blocks.0/attentions.0/.../to_q/MatMul" (each module level a path component)
    const parts = s.module.split('.');
    const comps: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (/^\d+$/.test(parts[i]) && comps.length) comps[comps.length - 1] += `.${parts[i]}`;
      else comps.push(parts[i]);
    }
    const name = `/${comps.join('/')}/${s.op}`;
    void nodeName;
    let input = param;
    const dataType = half ? FLOAT16 : FLOAT;
    if (storage === 'cast16') {
      inits.push({ name: `${param}_fp16`, dataType: FLOAT16, dims, raw });
      nodes.push({ op: 'Cast', name: `${param}_cast`, inputs: [`${param}_fp16`], outputs: [param], ints: { to: FLOAT } });
    } else if (storage === 'external') {
      inits.push({ name: param, dataType, dims, external: { location: 'model.onnx_data', offset: sidecar.length, length: raw.length } });
      sidecar.push(...raw);
    } else if (storage === 'float_data') {
      inits.push({ name: param, dataType: FLOAT, dims, floatData: values });
    } else {
      inits.push({ name: param, dataType, dims, raw });
    }
    if (s.op === 'MatMul') input = param;
    nodes.push({
      op: s.op,
      name,
      inputs: [`x${n}`, input, ...(s.op === 'Gemm' ? ['conv_in.bias'] : [])],
      outputs: [`y${n++}`],
      ...(s.op === 'Gemm' ? { ints: { transB: s.transB ?? 1 } } : {}),
    });
    stored.set(s.module, { values, dims, transposed: linear && transposed, half, bytes: raw });
  }
  const hasExternal = specs.some((s) => s.storage === 'external');
  return { graph: modelProto(nodes, inits), external: hasExternal ? [{ path: 'model.onnx_data', data: new Uint8Array([...sidecar, 7, 7, 7]) }] : undefined, stored };
}

interface LoraPart {
  module: string;
  r: number;
  /** A's shape (file): [r, in] / [r, in, kh, kw]; B: [out, r] or [out, r, 1, 1]. */
  aShape: number[];
  bShape: number[];
  seed: number;
  alpha?: number;
}

/** A LoRA file in `layout` with random A and B (float32 in the file unless dtype says), and its values. */
function makeLora(layout: 'peft' | 'kohya' | 'diffusers-old', parts: LoraPart[], opts: { metadataAlpha?: number; dtype?: 'F32' | 'F16'; extra?: string[] } = {}) {
  const tensors: Record<string, { shape: number[]; values: Float32Array; dtype?: 'F32' | 'F16' }> = {};
  const values = new Map<string, { a: Float32Array; b: Float32Array }>();
  for (const p of parts) {
    let a = randomFloats(p.aShape.reduce((x, y) => x * y, 1), p.seed, 0.3);
    let b = randomFloats(p.bShape.reduce((x, y) => x * y, 1), p.seed + 1, 0.3);
    if (opts.dtype === 'F16') {
      a = fromF16(toF16(a));
      b = fromF16(toF16(b));
    }
    values.set(p.module, { a, b });
    let down: string;
    let up: string;
    let alphaKey: string | null = null;
    if (layout === 'peft') {
      down = `unet.${p.module}.lora_A.weight`;
      up = `unet.${p.module}.lora_B.weight`;
    } else if (layout === 'kohya') {
      const stem = `lora_unet_${p.module.replace(/\./g, '_')}`;
      down = `${stem}.lora_down.weight`;
      up = `${stem}.lora_up.weight`;
      alphaKey = `${stem}.alpha`;
    } else {
      const m = /^(.*)\.(to_q|to_k|to_v|to_out\.0)$/.exec(p.module)!;
      const proc = `unet.${m[1]}.processor.${m[2] === 'to_out.0' ? 'to_out' : m[2]}_lora`;
      down = `${proc}.down.weight`;
      up = `${proc}.up.weight`;
    }
    tensors[down] = { shape: p.aShape, values: a, dtype: opts.dtype };
    tensors[up] = { shape: p.bShape, values: b, dtype: opts.dtype };
    if (alphaKey && p.alpha !== undefined) tensors[alphaKey] = { shape: [], values: new Float32Array([p.alpha]) };
  }
  for (const k of opts.extra ?? []) tensors[k] = { shape: [1], values: new Float32Array([1]) };
  const metadata = opts.metadataAlpha !== undefined ? { lora_adapter_metadata: JSON.stringify({ r: parts[0]?.r, lora_alpha: opts.metadataAlpha }) } : undefined;
  return { bytes: encodeSafetensors(tensors, metadata), values };
}

/** Where `needle` starts in `hay` (the stored bytes of a weight in the graph or sidecar). */
function find(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Check every targeted weight of `before` against W + sum(scale * alpha / r * B @ A) in `after` (graph or sidecar),
 * and that every byte outside those weights is unchanged.
 */
function checkMerged(before: Built, after: { graph: Uint8Array; external?: Array<{ data: Uint8Array }> }, terms: Array<{ module: string; a: Float32Array; b: Float32Array; r: number; factor: number }>): void {
  const changed = new Map<string, Float64Array>();
  for (const t of terms) {
    const w = before.stored.get(t.module)!;
    const out = t.b.length / t.r;
    const inner = t.a.length / t.r;
    const d = referenceDelta(t.b, t.a, out, t.r, inner, t.factor);
    const acc = changed.get(t.module) ?? new Float64Array(w.values.length);
    for (let o = 0; o < out; o++) for (let j = 0; j < inner; j++) acc[w.transposed ? j * out + o : o * inner + j] += d[o * inner + j];
    changed.set(t.module, acc);
  }
  const ranges: Array<[Uint8Array, number, number]> = [];
  for (const [module, delta] of changed) {
    const w = before.stored.get(module)!;
    const inGraph = find(before.graph, w.bytes);
    const buf = inGraph >= 0 ? after.graph : after.external![0].data;
    const at = inGraph >= 0 ? inGraph : find(before.external![0].data, w.bytes);
    expect(at, `${module} bytes found`).toBeGreaterThanOrEqual(0);
    ranges.push([buf, at, at + w.bytes.length]);
    const now = buf.subarray(at, at + w.bytes.length);
    let worst = 0;
    if (w.half) {
      const got = f16BitsOf(now);
      const want = toF16(new Float32Array(w.values.map((v, i) => v + delta[i])));
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, ulps16(got[i], want[i]));
    } else {
      const got = f32Of(now);
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, ulps32(got[i], Math.fround(w.values[i] + delta[i])));
    }
    expect(worst, `${module}: max ulps from W + scale * alpha / r * B @ A`).toBeLessThanOrEqual(1);
    // the delta is not negligible: the weight really changed
    expect(delta.some((d) => Math.abs(d) > 1e-3)).toBe(true);
  }
  const outside = (buf: Uint8Array, orig: Uint8Array): void => {
    for (let i = 0; i < buf.length; i++) {
      if (buf[i] === orig[i]) continue;
      if (!ranges.some(([b, s, e]) => b === buf && i >= s && i < e)) throw new Error(`byte ${i} changed outside the merged weights`);
    }
  };
  outside(after.graph, before.graph);
  if (after.external) outside(after.external[0].data, before.external![0].data);
}

/** Copies of a built graph's buffers (mergeLoras writes in place). */
function copy(b: Built): { graph: Uint8Array; external?: Array<{ path: string; data: Uint8Array }> } {
  return { graph: b.graph.slice(), ...(b.external ? { external: b.external.map((e) => ({ path: e.path, data: e.data.slice() })) } : {}) };
}

const ALL: WeightSpec[] = [
  { module: Q, op: 'MatMul', torch: [5, 6], seed: 1 },
  { module: OUT0, op: 'MatMul', torch: [6, 5], seed: 2 },
  { module: TEMB, op: 'Gemm', torch: [5, 4], seed: 3 },
  { module: 'time_embedding.linear_1', op: 'Gemm', torch: [4, 7], transB: 0, seed: 4 },
  { module: CONV1, op: 'Conv', torch: [5, 3, 3, 3], seed: 5 },
  { module: SHORT, op: 'Conv', torch: [5, 3, 1, 1], seed: 6 },
];

/** LoRA parts for ALL with rank r (the 1x1 conv gets a 2-D down, as a Linear-style LoRA on a 1x1 conv). */
const partsFor = (specs: WeightSpec[], r: number, seed = 10): LoraPart[] =>
  specs.map((s, i) => ({
    module: s.module,
    r,
    aShape: s.op === 'Conv' ? (s.module === SHORT ? [r, s.torch[1]] : [r, ...s.torch.slice(1)]) : [r, s.torch[1]],
    bShape: s.op === 'Conv' ? [s.torch[0], r, 1, 1] : [s.torch[0], r],
    seed: seed + 10 * i,
  }));

afterAll(() => setRowKernel('auto'));

describe('the row kernel', () => {
  it('is WebAssembly SIMD in Node 20 (the JS fallback runs when forced)', () => {
    setRowKernel('auto');
    expect(createRowKernel().kind).toBe('wasm-simd');
    setRowKernel('js');
    expect(createRowKernel().kind).toBe('js');
    setRowKernel('auto');
  });
});

describe.each(['auto', 'js'] as const)('mergeLoras: the arithmetic, per layout and storage (kernel %s)', (kernel) => {
  it('uses the kernel', () => {
    setRowKernel(kernel);
    expect(createRowKernel().kind).toBe(kernel === 'js' ? 'js' : 'wasm-simd');
  });

  it('float32: MatMul [in, out], Gemm transB 1 and 0, Conv 3x3 and 1x1 (PEFT keys, alpha from the header, scale 0.7)', () => {
    const built = build(ALL);
    const parts = partsFor(ALL, 3);
    const { bytes, values } = makeLora('peft', parts, { metadataAlpha: 2 });
    const after = copy(built);
    const res = mergeLoras(after.graph, after.external, [{ name: 'style', bytes, scale: 0.7 }]);
    expect(res.adapters).toEqual([{ name: 'style', scale: 0.7, format: 'peft', rank: 3, alpha: 2, matched: 12, unmatched: 0, textEncoderKeys: 0 }]);
    expect(res.weightsChanged).toBe(6);
    checkMerged(built, after, parts.map((p) => ({ module: p.module, ...values.get(p.module)!, r: 3, factor: (0.7 * 2) / 3 })));
  });

  it('float16: inline fp16 and X_fp16 + Cast weights, within one float16 ulp; F16 LoRA weights', () => {
    const specs: WeightSpec[] = [
      { module: Q, op: 'MatMul', torch: [5, 6], storage: 'cast16', seed: 1 },
      { module: TEMB, op: 'Gemm', torch: [5, 4], storage: 'f16', seed: 3 },
      { module: CONV1, op: 'Conv', torch: [5, 3, 3, 3], storage: 'cast16', seed: 5 },
    ];
    const built = build(specs);
    const parts = partsFor(specs, 2);
    const { bytes, values } = makeLora('peft', parts, { dtype: 'F16' });
    const after = copy(built);
    const res = mergeLoras(after.graph, after.external, [{ name: 'a', bytes, scale: 1.5 }]);
    expect(res.adapters[0]).toMatchObject({ rank: 2, alpha: 2, matched: 6 });
    checkMerged(built, after, parts.map((p) => ({ module: p.module, ...values.get(p.module)!, r: 2, factor: 1.5 })));
  });

  it('weights in an external-data sidecar are changed there; packed float_data in the graph', () => {
    const specs: WeightSpec[] = [
      { module: Q, op: 'MatMul', torch: [5, 6], storage: 'external', seed: 1 },
      { module: CONV1, op: 'Conv', torch: [5, 3, 3, 3], storage: 'external', seed: 5 },
      { module: TEMB, op: 'Gemm', torch: [5, 4], storage: 'float_data', seed: 3 },
    ];
    const built = build(specs);
    const parts = partsFor(specs, 4);
    const { bytes, values } = makeLora('peft', parts);
    const after = copy(built);
    mergeLoras(after.graph, after.external, [{ name: 'a', bytes, scale: -0.5 }]);
    checkMerged(built, after, parts.map((p) => ({ module: p.module, ...values.get(p.module)!, r: 4, factor: -0.5 })));
    expect(after.graph.subarray(0, 40)).toEqual(built.graph.subarray(0, 40));
  });

  it('kohya keys (alpha tensors, LoCon 3x3 down / 1x1 up) resolved against the graph; older diffusers processor keys', () => {
    const built = build(ALL);
    const kParts = partsFor(ALL, 4).map((p, i) => ({ ...p, alpha: [1, 2, 0, 8, 3, 4][i] }));
    const kohya = makeLora('kohya', kParts);
    const oParts = partsFor([ALL[0], ALL[1]], 2, 99);
    const old = makeLora('diffusers-old', oParts);
    const after = copy(built);
    const res = mergeLoras(after.graph, after.external, [
      { name: 'ink', bytes: kohya.bytes, scale: 0.8 },
      { name: 'old', bytes: old.bytes, scale: 1 },
    ]);
    // rank and alpha of the first module in file order (keys sorted: ...attn1_to_out_0 before ...attn1_to_q)
    expect(res.adapters.map((a) => [a.format, a.rank, a.alpha, a.matched])).toEqual([
      ['kohya', 4, 2, 18],
      ['diffusers-old', 2, 2, 4],
    ]);
    // kohya alpha 0 means alpha = rank
    const alphas = kParts.map((p) => (p.alpha === 0 ? 4 : p.alpha!));
    checkMerged(built, after, [
      ...kParts.map((p, i) => ({ module: p.module, ...kohya.values.get(p.module)!, r: 4, factor: (0.8 * alphas[i]) / 4 })),
      ...oParts.map((p) => ({ module: p.module, ...old.values.get(p.module)!, r: 2, factor: 1 })),
    ]);
  });

  it('several adapters on the same weights add up, each with its own scale', () => {
    const specs = [ALL[0], ALL[4]];
    const built = build(specs);
    const p1 = partsFor(specs, 2, 1);
    const p2 = partsFor(specs, 3, 50);
    const l1 = makeLora('peft', p1);
    const l2 = makeLora('kohya', p2);
    const after = copy(built);
    const res = mergeLoras(after.graph, after.external, [
      { name: 'lcm', bytes: l1.bytes, scale: 1 },
      { name: 'ink', bytes: l2.bytes, scale: 0.8 },
    ]);
    expect(res.weightsChanged).toBe(2);
    checkMerged(built, after, [
      ...p1.map((p) => ({ module: p.module, ...l1.values.get(p.module)!, r: 2, factor: 1 })),
      ...p2.map((p) => ({ module: p.module, ...l2.values.get(p.module)!, r: 3, factor: 0.8 })),
    ]);
  });

  it('scale 0 checks everything and changes no byte; unmatched and text-encoder keys are counted', () => {
    const built = build(ALL);
    const { bytes } = makeLora('peft', [...partsFor(ALL, 2), { module: 'up_blocks.3.attentions.9.proj_out', r: 2, aShape: [2, 4], bShape: [4, 2], seed: 5 }], {
      extra: ['lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight', 'text_encoder.x.lora_A.weight', 'unrelated'],
    });
    const after = copy(built);
    const res = mergeLoras(after.graph, after.external, [{ name: 'z', bytes, scale: 0 }]);
    expect(res.weightsChanged).toBe(0);
    expect(after.graph).toEqual(built.graph);
    expect(res.adapters[0]).toMatchObject({ matched: 12, unmatched: 3, textEncoderKeys: 2, firstUnmatched: 'unrelated' });
  });
});

describe('mergeLoras: a LoRA that matches only part of the U-Net', () => {
  it('is refused when more than 10% of its U-Net modules (at least 2) have no weight, naming the counts; the bytes stay', () => {
    const built = build(ALL);
    const extra = ['up_blocks.3.attentions.9.proj_out', 'up_blocks.3.attentions.9.proj_in'].map((module, i) => ({ module, r: 2, aShape: [2, 4], bShape: [4, 2], seed: 30 + i }));
    const { bytes } = makeLora('peft', [...partsFor(ALL, 2), ...extra]);
    const after = copy(built);
    expect(() => mergeLoras(after.graph, after.external, [{ name: 'half', bytes, scale: 1 }])).toThrow(
      /LoRA "half": 2 of its 8 U-Net modules have no weight in unet\/model.onnx \(e.g. "up_blocks.3.attentions.9.proj_(in|out)"\); merging only the rest would apply it half-way/,
    );
    expect(after.graph).toEqual(built.graph);
  });
});

describe('mergeLoras: bad input leaves the bytes unchanged', () => {
  const built = build([...ALL, { module: 'mid_block.attentions.0.transformer_blocks.0.attn1.to_k', op: 'MatMul', torch: [5, 6], storage: 'external', seed: 8 }]);
  const good = makeLora('peft', partsFor(ALL, 2)).bytes;

  function expectRefused(adapters: LoraAdapter[], code: string, ...parts: Array<string | RegExp>): void {
    const after = copy(built);
    let err: unknown;
    try {
      mergeLoras(after.graph, after.external, adapters);
    } catch (e) {
      err = e;
    }
    expect(err, 'mergeLoras should throw').toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe(code);
    for (const p of parts) expect((err as EngineError).message).toMatch(p);
    expect(after.graph).toEqual(built.graph);
    expect(after.external![0].data).toEqual(built.external![0].data);
  }

  it('a shape mismatch names the first key and both shapes (made for another base model)', () => {
    const bad = makeLora('peft', [{ module: TEMB, r: 2, aShape: [2, 8], bShape: [5, 2], seed: 1 }]).bytes;
    expectRefused(
      [{ name: 'good', bytes: good, scale: 1 }, { name: 'sdxl', bytes: bad, scale: 1 }],
      'LORA_MISMATCH',
      `LoRA "sdxl": unet.${TEMB}.lora_A.weight is [2, 8] and unet.${TEMB}.lora_B.weight is [5, 2]`,
      `${TEMB} in unet/model.onnx is [5, 4]`,
      'another base model',
    );
    const conv = makeLora('kohya', [{ module: CONV1, r: 2, aShape: [2, 3, 1, 1], bShape: [5, 2, 1, 1], seed: 1 }]).bytes;
    expectRefused([{ name: 'c', bytes: conv, scale: 1 }], 'LORA_MISMATCH', 'is [2, 3, 1, 1]', 'is [5, 3, 3, 3]');
    const mm = makeLora('peft', [{ module: Q, r: 2, aShape: [2, 5], bShape: [6, 2], seed: 1 }]).bytes; // transposed by mistake
    expectRefused([{ name: 'q', bytes: mm, scale: 1 }], 'LORA_MISMATCH', /is \[6, 5\] \(\[in, out\], MatMul\), i\.e\. \[out, in\] = \[5, 6\]/);
  });

  it('no key matching the U-Net is refused, with the count; text-encoder-only LoRAs say so', () => {
    const other = makeLora('kohya', [{ module: 'input_blocks.4.1.proj_in', r: 2, aShape: [2, 4], bShape: [4, 2], seed: 1 }]).bytes;
    expectRefused([{ name: 'xl', bytes: other, scale: 1 }], 'LORA_MISMATCH', 'LoRA "xl": none of its 2 keys match this U-Net (unet/model.onnx), e.g. "lora_unet_input_blocks_4_1_proj_in.lora_down.weight"');
    const te = encodeSafetensors({ 'lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight': { shape: [1], values: new Float32Array(1) } });
    expectRefused([{ name: 'te', bytes: te, scale: 1 }], 'LORA_MISMATCH', 'has only text-encoder keys (1)');
  });

  it('a scale outside LORA_SCALE_RANGE, -2..2 (or not finite) is refused before anything is read', () => {
    expectRefused([{ name: 'good', bytes: good, scale: 2.5 }], 'BAD_REQUEST', 'LoRA "good": strength 2.5 is outside -2..2');
    expectRefused([{ name: 'good', bytes: good, scale: NaN }], 'BAD_REQUEST', 'strength NaN');
  });

  it('a malformed file after a good one: nothing is written', () => {
    expectRefused([{ name: 'good', bytes: good, scale: 1 }, { name: 'cut', bytes: good.subarray(0, good.length - 3), scale: 1 }], 'LORA_INVALID', 'cut is not a valid safetensors file');
  });

  it('a module with only its down half, and weights in an unsupported dtype, are refused', () => {
    const half = encodeSafetensors({ [`unet.${Q}.lora_A.weight`]: { shape: [2, 6], values: new Float32Array(12) } });
    expectRefused([{ name: 'h', bytes: half, scale: 1 }], 'LORA_INVALID', `unet.${Q}.lora_A.weight has no matching up`);
    const f = good.slice();
    const text = new TextDecoder().decode(f.subarray(8, 8 + new DataView(f.buffer).getUint32(0, true)));
    const i = text.indexOf('"F32"');
    f.set(new TextEncoder().encode('"I32"'), 8 + i); // same size, another dtype
    expectRefused([{ name: 'int', bytes: f, scale: 1 }], 'LORA_INVALID', /is I32; LoRA weights must be F32, F16, BF16/);
  });

  it('a weight the exporter shares between modules (Identity dedup) is refused', () => {
    const nodes: NodeSpec[] = [
      { op: 'MatMul', name: '/mid_block/attentions.0/transformer_blocks.0/attn2/to_k/MatMul', inputs: ['e', 'onnx::MatMul_5'], outputs: ['k'] },
      { op: 'Identity', name: 'Identity_0', inputs: ['onnx::MatMul_5'], outputs: ['onnx::MatMul_6'] },
      { op: 'MatMul', name: '/mid_block/attentions.0/transformer_blocks.0/attn2/to_v/MatMul', inputs: ['e', 'onnx::MatMul_6'], outputs: ['v'] },
    ];
    const graph = modelProto(nodes, [{ name: 'onnx::MatMul_5', dataType: FLOAT, dims: [4, 4], raw: bytesOf(randomFloats(16, 3)) }]);
    const before = graph.slice();
    const l = makeLora('peft', [{ module: 'mid_block.attentions.0.transformer_blocks.0.attn2.to_k', r: 2, aShape: [2, 4], bShape: [4, 2], seed: 1 }]).bytes;
    expect(() => mergeLoras(graph, undefined, [{ name: 'k', bytes: l, scale: 1 }])).toThrow(/shares its weight onnx::MatMul_5 with mid_block.attentions.0.transformer_blocks.0.attn2.to_v/);
    expect(graph).toEqual(before);
  });

  it('a sidecar the graph names but the caller did not read is MODEL_FILE_MISSING', () => {
    const l = makeLora('peft', [{ module: 'mid_block.attentions.0.transformer_blocks.0.attn1.to_k', r: 2, aShape: [2, 6], bShape: [5, 2], seed: 1 }]).bytes;
    const g = built.graph.slice();
    expect(() => mergeLoras(g, undefined, [{ name: 'k', bytes: l, scale: 1 }])).toThrow(/keeps onnx::MatMul_\d+ in "model.onnx_data", which was not read with it/);
    expect(g).toEqual(built.graph);
  });
});
