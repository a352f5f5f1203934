/**
 * float16 <-> float32 for ORT tensors. ORT takes float16 inputs as Uint16Array bits everywhere, and returns float16
 * outputs as Float16Array where the platform has one (then io.ts needs no conversion), else as Uint16Array bits.
 * The rounding is the platform's Float16Array (Chrome 135+, Firefox 129+, Safari 18.2+) or, elsewhere (Node 20,
 * older browsers), @petamoriken/float16's polyfill: IEEE 754 round-to-nearest-even either way, the same bits as the
 * float32 -> float16 cast of ORT and PyTorch for our float32 inputs.
 */
import { Float16Array as Float16ArrayPolyfill } from '@petamoriken/float16';

interface Float16View {
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  readonly length: number;
  forEach(fn: (value: number, index: number) => void): void;
}
interface Float16Ctor {
  new (values: Float32Array): Float16View;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): Float16View;
}

const Float16: Float16Ctor = (globalThis as { Float16Array?: Float16Ctor }).Float16Array ?? Float16ArrayPolyfill;

/** Rounds each value to float16 and returns the bits. */
export function float32ToFloat16Bits(src: Float32Array): Uint16Array {
  const half = new Float16(src);
  return new Uint16Array(half.buffer, half.byteOffset, half.length);
}

/** float16 bits -> float32 values (exact: every float16 is a float32). */
export function float16BitsToFloat32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  // forEach, not Float32Array.from: the polyfill is a Proxy and forEach is its one bulk read that bypasses it.
  // 786k values on Node 20: forEach 15-20 ms, Float32Array.from 139-206 ms, the former hand-written loop 46-56 ms.
  new Float16(src.buffer, src.byteOffset, src.length).forEach((v, i) => {
    out[i] = v;
  });
  return out;
}

/**
 * The same two conversions written into caller-owned arrays, for bulk work on model weights (lora/merge.ts merges
 * LoRA deltas into float16 initializers of hundreds of MB). Where the platform has a native Float16Array, its
 * conversion does the work (TypedArray.prototype.set converts element by element). Elsewhere (Node 20) the
 * polyfill costs about 0.3-0.4 s per million values (measured on the 2-core dev machine), so these use a
 * 65,536-entry float16 -> float32 table and a bitwise float32 -> float16 rounding (IEEE 754 round-to-nearest-even,
 * overflow to +-Inf, NaN kept NaN: the same bits as the functions above; tests/loraFloat16.test.ts checks every float16 and a
 * million float32 values against them).
 */
const NativeFloat16 = (globalThis as { Float16Array?: Float16Ctor }).Float16Array;

let halfTable: Float32Array | null = null;
/** float32 value of each of the 65,536 float16 bit patterns (256 KB, built on first use). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24;
    else if (exp === 31) t[h] = mant ? NaN : sign * Infinity;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  halfTable = t;
  return t;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** One float32 -> float16 bits, round to nearest even. */
function floatToHalfBits(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: +-0
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // a carry into the exponent rounds up correctly (to Inf)
  return sign | half;
}

/** float16 bits -> float32 values, into `dst` (at least `src.length` long). */
export function float16BitsToFloat32Into(src: Uint16Array, dst: Float32Array): void {
  if (NativeFloat16) {
    dst.set(new NativeFloat16(src.buffer, src.byteOffset, src.length) as unknown as ArrayLike<number>);
    return;
  }
  const t = halfToFloatTable();
  for (let i = 0; i < src.length; i++) dst[i] = t[src[i]];
}

/** float32 values -> float16 bits (round to nearest even), into `dst` (at least `src.length` long). */
export function float32ToFloat16BitsInto(src: Float32Array, dst: Uint16Array): void {
  if (NativeFloat16) {
    (new NativeFloat16(dst.buffer, dst.byteOffset, src.length) as unknown as { set(a: ArrayLike<number>): void }).set(src);
    return;
  }
  for (let i = 0; i < src.length; i++) dst[i] = floatToHalfBits(src[i]);
}
