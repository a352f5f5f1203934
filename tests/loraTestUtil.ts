/**
 * Test helpers for the LoRA merge: a protobuf writer for small ONNX graphs (ModelProto > GraphProto > NodeProto /
 * TensorProto, the fields torch.onnx.export writes), a seeded generator of float arrays, and float16 / float32 ulp
 * distances. Independent of src/engine/lora (nothing here reads the engine's index or merge).
 */
import { float16BitsToFloat32, float32ToFloat16Bits } from '../src/engine/float16';
import { protoInt, protoLen, protoText, protoVarint } from '../src/engine/protobuf';

const varint = protoVarint;
/** Appends `src` to `out` (no spread: bodies of megabytes would overflow the call stack). */
const append = (out: number[], src: ArrayLike<number>): number[] => {
  for (let i = 0; i < src.length; i++) out.push(src[i]);
  return out;
};
const len = protoLen;
const str = protoText;
const int = protoInt;

export const FLOAT = 1;
export const FLOAT16 = 10;

export interface TensorSpec {
  name: string;
  dataType: number;
  dims: number[];
  /** Inline raw_data (little-endian elements). */
  raw?: Uint8Array;
  /** Packed float_data (float32 only). */
  floatData?: Float32Array;
  /** External data in a sidecar. */
  external?: { location: string; offset: number; length: number };
}

/** TensorProto: dims (packed), data_type, name, raw_data / float_data / external_data + data_location. */
export function tensorProto(t: TensorSpec): number[] {
  const out = [...len(1, t.dims.flatMap(varint)), ...int(2, t.dataType), ...str(8, t.name)];
  if (t.raw) append(out, len(9, t.raw));
  if (t.floatData) append(out, len(4, new Uint8Array(t.floatData.buffer, t.floatData.byteOffset, t.floatData.byteLength)));
  if (t.external) {
    const e = (k: string, v: string) => len(13, [...str(1, k), ...str(2, v)]);
    out.push(...e('location', t.external.location), ...e('offset', String(t.external.offset)), ...e('length', String(t.external.length)), ...int(14, 1));
  }
  return out;
}

export interface NodeSpec {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  /** Integer attributes (transB, to, group). */
  ints?: Record<string, number>;
  /** Integer-list attributes (perm). */
  intLists?: Record<string, number[]>;
}

export function nodeProto(n: NodeSpec): number[] {
  const out: number[] = [];
  for (const i of n.inputs) out.push(...str(1, i));
  for (const o of n.outputs) out.push(...str(2, o));
  out.push(...str(3, n.name), ...str(4, n.op));
  for (const [k, v] of Object.entries(n.ints ?? {})) out.push(...len(5, [...str(1, k), ...int(3, v), ...int(20, 2)]));
  for (const [k, v] of Object.entries(n.intLists ?? {})) out.push(...len(5, [...str(1, k), ...v.flatMap((x) => int(8, x)), ...int(20, 7)]));
  return out;
}

/** ModelProto with ir_version 8, a producer, and one graph of these nodes and initializers. */
export function modelProto(nodes: NodeSpec[], inits: TensorSpec[]): Uint8Array {
  const graph: number[] = [];
  for (const n of nodes) append(graph, len(1, nodeProto(n)));
  append(graph, str(2, 'g'));
  for (const t of inits) append(graph, len(5, tensorProto(t)));
  return new Uint8Array(append([...int(1, 8), ...str(2, 'pytorch')], len(7, graph)));
}

/** Deterministic floats in [-amp, amp). */
export function randomFloats(n: number, seed: number, amp = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 2 * amp;
  }
  return out;
}

export const bytesOf = (a: Float32Array | Uint16Array): Uint8Array => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
export const f32Of = (b: Uint8Array): Float32Array => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
export const f16BitsOf = (b: Uint8Array): Uint16Array => new Uint16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
export const toF16 = (a: Float32Array): Uint16Array => float32ToFloat16Bits(a);
export const fromF16 = (a: Uint16Array): Float32Array => float16BitsToFloat32(a);

/** Distance in representable float32 values between a and b (0: equal). */
export function ulps32(a: number, b: number): number {
  const f = new Float32Array([a, b]);
  const i = new Int32Array(f.buffer);
  const ord = (x: number): number => (x < 0 ? 0x80000000 - x : x) | 0;
  return Math.abs(ord(i[0]) - ord(i[1]));
}

/** Distance in representable float16 values between two bit patterns. */
export function ulps16(a: number, b: number): number {
  const ord = (x: number): number => (x & 0x8000 ? -(x & 0x7fff) : x);
  return Math.abs(ord(a) - ord(b));
}

/** Row-major product (float64) of B [out, r] and A [r, inner] times `s`: the reference LoRA delta [out, inner]. */
export function referenceDelta(b: Float32Array, a: Float32Array, out: number, r: number, inner: number, s: number): Float64Array {
  const d = new Float64Array(out * inner);
  for (let o = 0; o < out; o++) {
    for (let j = 0; j < inner; j++) {
      let sum = 0;
      for (let k = 0; k < r; k++) sum += b[o * r + k] * a[k * inner + j];
      d[o * inner + j] = s * sum;
    }
  }
  return d;
}
