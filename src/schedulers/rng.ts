/**
 * Seeded Gaussian generators.
 *
 * - `createGaussianRng(seed)`: this module's own generator. xoshiro128** seeded through splitmix32, uniforms with
 *   32 random bits, Box-Muller in float64. Integer-only state updates (Math.imul, >>>) and float64 libm calls make
 *   it deterministic across runs; across JS engines the only platform dependence is Math.log/cos/sin, which may
 *   differ in the last ulp of a float64 before the result is rounded to float32.
 * - `torchRandn(seed, n)` / `createTorchGenerator(seed)`: reproduce torch's CPU
 *   `torch.manual_seed(seed); torch.randn(n)` (float32): mt19937 as in at::mt19937, uniforms and Box-Muller as in
 *   ATen's CPU normal kernel:
 *   n >= 16: all n uniforms drawn first ((r & 0xFFFFFF) / 2^24 from one 32-bit draw), then each block of 16 is
 *   transformed in place, u1 = 1 - data[j], u2 = data[j + 8], data[j] = r cos, data[j + 8] = r sin; when
 *   n % 16 != 0, 16 fresh uniforms overwrite the last 16 slots and that block is transformed again.
 *   n < 16: a scalar double path, one 53-bit uniform per two 32-bit draws, u1 then u2,
 *   r = sqrt(-2 log1p(-u2)), theta = 2 pi u1, returns r cos and caches r sin for the next element.
 *   The n >= 16 transform reproduces torch's AVX2 kernel (float32 cephes polynomials with FMA) bit for bit by
 *   default, or its generic scalar kernel with `{ kernel: 'scalar' }` (see TorchNormalKernel). Checked against
 *   PyTorch 1.13 on an AVX2 CPU (__fixtures__/torch_randn.json).
 */

export interface GaussianSource {
  /** n independent standard normal samples. Successive calls continue the stream. */
  randn(n: number): Float32Array;
}

function checkCount(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`randn: n must be a non-negative integer, got ${n}`);
}

function checkSeed(seed: number): number {
  if (!Number.isFinite(seed) || !Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  return seed;
}

// ---------------------------------------------------------------------------------------------------------------
// Own generator: xoshiro128** (Blackman & Vigna) + Box-Muller. The state is seeded by a golden-ratio counter
// passed through murmur3's 32-bit finaliser (a splitmix-style seeder).

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A seeded standard-normal stream. Any safe integer seed (taken modulo 2^64, then mixed). Both Box-Muller outputs
 * are used and the spare one is kept between calls, so randn(a) then randn(b) equals randn(a + b).
 */
export function createGaussianRng(seed: number): GaussianSource {
  checkSeed(seed);
  const lo = Number(BigInt.asUintN(32, BigInt(seed)));
  const hi = Number(BigInt.asUintN(32, BigInt(seed) >> 32n));
  const mix = { s: (lo ^ Math.imul(hi, 0x27d4eb2d)) | 0 };
  const s = new Uint32Array(4);
  for (let i = 0; i < 4; i++) s[i] = splitmix32(mix);
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;

  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };
  let cached: number | null = null;
  return {
    randn(n: number): Float32Array {
      checkCount(n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        if (cached !== null) {
          out[i] = cached;
          cached = null;
          continue;
        }
        // u1 in (0, 1] so log is finite; u2 in [0, 1).
        const u1 = (next() + 1) / 4294967296;
        const u2 = next() / 4294967296;
        const r = Math.sqrt(-2 * Math.log(u1));
        const theta = 2 * Math.PI * u2;
        out[i] = r * Math.cos(theta);
        cached = r * Math.sin(theta);
      }
      return out;
    },
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

// ---------------------------------------------------------------------------------------------------------------
// torch-compatible generator.

/** Standard MT19937 (Matsumoto & Nishimura), seeded the way at::mt19937 seeds it (low 32 bits of the seed). */
export class MT19937 {
  private readonly mt = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    checkSeed(seed);
    this.mt[0] = Number(BigInt.asUintN(32, BigInt(seed)));
    for (let i = 1; i < 624; i++) {
      const prev = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** Next 32-bit output as an unsigned integer. */
  nextU32(): number {
    if (this.index >= 624) this.twist();
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < 624; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7fffffff);
      let v = mt[(i + 397) % 624] ^ (y >>> 1);
      if (y & 1) v ^= 0x9908b0df;
      mt[i] = v >>> 0;
    }
    this.index = 0;
  }
}

const TWO_POW_24 = 16777216;
const TWO_POW_53 = 9007199254740992;

/** torch float uniform: 24 low bits of one draw, scaled by 2^-24 (exact in float32). */
function uniformFloat(mt: MT19937): number {
  return (mt.nextU32() & 0xffffff) / TWO_POW_24;
}

/** torch double uniform: random64() = (first draw << 32) | second draw, low 53 bits, scaled by 2^-53. */
function uniformDouble(mt: MT19937): number {
  const hi = mt.nextU32();
  const lo = mt.nextU32();
  // Low 53 bits = low 21 bits of hi, then all 32 bits of lo.
  return ((hi & 0x1fffff) * 4294967296 + lo) / TWO_POW_53;
}

/**
 * Which of torch's CPU normal kernels to reproduce for n >= 16:
 * - "avx2" (default): torch on x86-64 CPUs with AVX2 (CPU capability "AVX2", the common desktop/laptop case).
 *   Float32 cephes-style log / sincos polynomials, compiled with FMA contraction; reproduced bit for bit.
 * - "scalar": torch builds or CPUs that run the generic kernel (ARM / Apple silicon, CPU capability "DEFAULT"
 *   or "AVX512"): float32 log and sqrt, double-precision cos/sin. Matches to within a float32 ulp.
 * Sizes < 16 always take torch's scalar double-precision path, identical on every platform.
 */
export type TorchNormalKernel = 'avx2' | 'scalar';

const f32 = Math.fround;
/** Fused multiply-add on float32 operands: the product is exact in float64, one rounding to float32 after the add. */
const fma32 = (a: number, b: number, c: number): number => f32(a * b + c);

const bitsView = new DataView(new ArrayBuffer(4));
function floatBits(x: number): number {
  bitsView.setFloat32(0, x);
  return bitsView.getUint32(0);
}
function bitsFloat(u: number): number {
  bitsView.setUint32(0, u >>> 0);
  return bitsView.getFloat32(0);
}

// Cephes single-precision coefficients (S. L. Moshier, Cephes Math Library, logf.c / sinf.c / cosf.c).
const LOG_P = [
  7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
  2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
].map(f32);
const LOG_Q1 = f32(-2.1219444e-4);
const LOG_Q2 = f32(0.693359375);
const SQRT_HALF = f32(0.707106781186547524);
const MIN_NORMAL = bitsFloat(0x00800000);
const FOUR_OVER_PI = f32(1.27323954473516);
const DP1 = f32(-0.78515625);
const DP2 = f32(-2.4187564849853515625e-4);
const DP3 = f32(-3.77489497744594108e-8);
const SIN_P = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1].map(f32);
const COS_P = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2].map(f32);
const TWO_PI_F32 = f32(2 * Math.PI);

/** Natural log of a positive float32, as torch's AVX2 kernel evaluates it (frexp + degree-8 polynomial). */
function logAvx2(v: number): number {
  const x0 = Math.max(v, MIN_NORMAL);
  const b = floatBits(x0);
  let e = f32((b >>> 23) - 126); // exponent + 1, for a mantissa in [0.5, 1)
  const m = bitsFloat((b & ~0x7f800000) | 0x3f000000);
  let x: number;
  if (m < SQRT_HALF) {
    e = f32(e - 1);
    x = f32(f32(m - 1) + m);
  } else {
    x = f32(m - 1);
  }
  const z = f32(x * x);
  let y = LOG_P[0];
  for (let i = 1; i < LOG_P.length; i++) y = fma32(y, x, LOG_P[i]);
  y = f32(y * x);
  y = fma32(y, z, f32(e * LOG_Q1));
  y = f32(y - z * 0.5); // z * 0.5 is exact
  x = f32(x + y);
  return fma32(e, LOG_Q2, x);
}

/** [sin, cos] of a float32 in [0, 2 pi), as torch's AVX2 kernel evaluates them (octant reduction + polynomials). */
function sinCosAvx2(v: number): [number, number] {
  let j = Math.trunc(f32(v * FOUR_OVER_PI));
  j = (j + 1) & ~1;
  const y = f32(j);
  let x = fma32(y, DP1, v);
  x = fma32(y, DP2, x);
  x = fma32(y, DP3, x);
  const z = f32(x * x);
  let c = fma32(fma32(COS_P[0], z, COS_P[1]), z, COS_P[2]);
  c = f32(c * z);
  c = f32(c * z - z * 0.5);
  c = f32(c + 1);
  let s = fma32(fma32(SIN_P[0], z, SIN_P[1]), z, SIN_P[2]);
  s = f32(s * z);
  s = fma32(s, x, x);
  const useSinPoly = (j & 2) === 0;
  let sin = useSinPoly ? s : c;
  let cos = useSinPoly ? c : s;
  if (j & 4) sin = -sin;
  if (~(j - 2) & 4) cos = -cos;
  return [sin, cos];
}

/** Box-Muller over one block of 16 float32 uniforms, in place (ATen normal_fill_16 / normal_fill_16_AVX2). */
function normalFill16(data: Float32Array, offset: number, kernel: TorchNormalKernel): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f32(1 - data[offset + j]); // [0, 1) -> (0, 1] for log
    const u2 = data[offset + j + 8];
    if (kernel === 'avx2') {
      const radius = f32(Math.sqrt(f32(-2 * logAvx2(u1))));
      const [sin, cos] = sinCosAvx2(f32(TWO_PI_F32 * u2));
      data[offset + j] = radius * cos;
      data[offset + j + 8] = radius * sin;
    } else {
      const radius = f32(Math.sqrt(f32(-2 * f32(Math.log(u1)))));
      const theta = 2 * Math.PI * u2;
      data[offset + j] = radius * Math.cos(theta);
      data[offset + j + 8] = radius * Math.sin(theta);
    }
  }
}

/**
 * A torch CPU generator after `torch.manual_seed(seed)`: each `randn(n)` returns what the next `torch.randn(n)`
 * on that generator returns (float32), so passing it as a step's `rng` draws per-step noise the way diffusers
 * draws it from a CPU `torch.Generator`. For a multi-dimensional shape pass the product of its dimensions (torch
 * fills contiguous tensors in row-major order). The seed is taken modulo 2^32, as at::mt19937 does.
 */
export function createTorchGenerator(seed: number, opts?: { kernel?: TorchNormalKernel }): GaussianSource {
  const kernel = opts?.kernel ?? 'avx2';
  if (kernel !== 'avx2' && kernel !== 'scalar') throw new RangeError(`kernel must be "avx2" or "scalar", got ${String(kernel)}`);
  const mt = new MT19937(seed);
  // Second Box-Muller value of the scalar path, kept by the generator (next_double_normal_sample).
  let cachedNormal: number | null = null;
  return {
    randn(n: number): Float32Array {
      checkCount(n);
      const out = new Float32Array(n);
      if (n >= 16) {
        for (let i = 0; i < n; i++) out[i] = uniformFloat(mt);
        for (let i = 0; i + 16 <= n; i += 16) normalFill16(out, i, kernel);
        if (n % 16 !== 0) {
          const start = n - 16;
          for (let i = 0; i < 16; i++) out[start + i] = uniformFloat(mt);
          normalFill16(out, start, kernel);
        }
        return out;
      }
      for (let i = 0; i < n; i++) {
        if (cachedNormal !== null) {
          out[i] = cachedNormal;
          cachedNormal = null;
          continue;
        }
        const u1 = uniformDouble(mt);
        const u2 = uniformDouble(mt);
        const r = Math.sqrt(-2 * Math.log1p(-u2));
        const theta = 2 * Math.PI * u1;
        cachedNormal = r * Math.sin(theta);
        out[i] = r * Math.cos(theta);
      }
      return out;
    },
  };
}

/** `torch.manual_seed(seed); torch.randn(n)` on CPU, float32 (a fresh `createTorchGenerator(seed).randn(n)`). */
export function torchRandn(seed: number, n: number, opts?: { kernel?: TorchNormalKernel }): Float32Array {
  return createTorchGenerator(seed, opts).randn(n);
}
