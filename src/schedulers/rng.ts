/**
 * Seeded Gaussian generators.
 *
 * - `createGaussianRng(seed)`: this module's own generator. xoshiro128** seeded through splitmix32, uniforms with
 *   32 random bits, Box-Muller in float64. Integer-only state updates (Math.imul, >>>) and float64 libm calls make
 *   it deterministic across runs; across JS engines the only platform dependence is Math.log/cos/sin, which may
 *   differ in the last ulp of a float64 before the result is rounded to float32.
 * - `torchRandn(seed, n)`: reproduces torch's CPU `torch.manual_seed(seed); torch.randn(n)` (float32). mt19937
 *   as in at::mt19937, uniforms and Box-Muller as in ATen's CPU normal kernel:
 *   n >= 16: all n uniforms drawn first ((r & 0xFFFFFF) / 2^24 from one 32-bit draw), then each block of 16 is
 *   transformed in place, u1 = 1 - data[j], u2 = data[j + 8], data[j] = r cos, data[j + 8] = r sin; when
 *   n % 16 != 0, 16 fresh uniforms overwrite the last 16 slots and that block is transformed again.
 *   n < 16: a scalar double path, one 53-bit uniform per two 32-bit draws, u1 then u2,
 *   r = sqrt(-2 log1p(-u2)), theta = 2 pi u1, returns r cos and caches r sin for the next element.
 *   Checked against PyTorch 1.13 (see __fixtures__/torch_randn.json); torch's AVX2 build evaluates log/sin/cos
 *   with float32 polynomials, so individual values may differ from ours by a few float32 ulp.
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
// Own generator: xoshiro128** (Blackman & Vigna) + Box-Muller.

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A seeded standard-normal stream. Any integer seed (negative and > 2^32 seeds are folded to 64 bits, then mixed).
 * Box-Muller pairs: both outputs are used, so randn(a) then randn(b) equals randn(a + b) only when a is even.
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

/** Box-Muller over one block of 16 float32 uniforms, in place (ATen normal_fill_16). */
function normalFill16(data: Float32Array, offset: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = Math.fround(1 - data[offset + j]);
    const u2 = data[offset + j + 8];
    const radius = Math.fround(Math.sqrt(Math.fround(-2 * Math.fround(Math.log(u1)))));
    const theta = 2 * Math.PI * u2;
    data[offset + j] = radius * Math.cos(theta);
    data[offset + j + 8] = radius * Math.sin(theta);
  }
}

/**
 * `torch.manual_seed(seed); torch.randn(n)` on CPU, float32. For a multi-dimensional shape pass the product of
 * its dimensions (torch fills contiguous tensors in row-major order). Seeds are taken modulo 2^32 as torch's
 * mt19937 does with manual_seed's 64-bit value; negative seeds wrap the same way.
 */
export function torchRandn(seed: number, n: number): Float32Array {
  checkCount(n);
  const mt = new MT19937(seed);
  const out = new Float32Array(n);
  if (n >= 16) {
    for (let i = 0; i < n; i++) out[i] = uniformFloat(mt);
    for (let i = 0; i + 16 <= n; i += 16) normalFill16(out, i);
    if (n % 16 !== 0) {
      const start = n - 16;
      for (let i = 0; i < 16; i++) out[start + i] = uniformFloat(mt);
      normalFill16(out, start);
    }
    return out;
  }
  let cached: number | null = null;
  for (let i = 0; i < n; i++) {
    if (cached !== null) {
      out[i] = cached;
      cached = null;
      continue;
    }
    const u1 = uniformDouble(mt);
    const u2 = uniformDouble(mt);
    const r = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = 2 * Math.PI * u1;
    cached = r * Math.sin(theta);
    out[i] = r * Math.cos(theta);
  }
  return out;
}
