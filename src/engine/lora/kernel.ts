/**
 * The inner product of the LoRA merge, out[j] = sum_k l[k] * mt[j * r + k] for one row of the weight, as a tiny
 * WebAssembly SIMD function (f64x2, four independent accumulators), with a plain-JS fallback.
 *
 * Why: merging an SD 1.5-sized LoRA is about 45 G multiply-adds (each adapted weight [out, in] times rank 64). V8
 * keeps the order of floating-point additions in JS, so a dot product is one dependent chain of adds; the SIMD
 * kernel runs 8 products per loop iteration in 4 independent chains. Both compute in float64. Measured numbers are
 * in bench/README.md (node bench/lora.mjs).
 *
 * The module is written out byte by byte below (WebAssembly core spec 1.0 binary format, SIMD proposal opcodes
 * v128.load 0xfd 0x00, v128.const 0xfd 0x0c, f64x2.extract_lane 0xfd 0x21, f64x2.add 0xfd 0xf0 0x01, f64x2.mul
 * 0xfd 0xf2 0x01), so nothing is fetched and the page's CSP ('wasm-unsafe-eval', already needed by onnxruntime-web)
 * covers it. Its text form:
 *
 *   (module (import "m" "m" (memory 1))
 *     (func (export "dots") (param $l i32) (param $mt i32) (param $out i32) (param $cols i32) (param $r i32)
 *       (local $j i32) (local $p i32) (local $q i32) (local $qend i32) (local $a0 v128) ... (local $a3 v128)
 *       q = mt
 *       for j = 0 .. cols-1:
 *         a0..a3 = 0; p = l; qend = q + r * 8
 *         while q < qend: a_i += f64x2(p[2i..2i+1]) * f64x2(q[2i..2i+1]) for i = 0..3; p += 64; q += 64
 *         out[j] = lane0 + lane1 of ((a0 + a1) + (a2 + a3))))
 *
 * Layout: l is one row of r float64 (r a multiple of 8, padded with zeros), mt is cols rows of r float64, out is
 * cols float64; all byte offsets into the imported memory, multiples of 8.
 */

/** Unsigned LEB128 (the binary format's sizes). */
const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};

// prettier-ignore
const BODY = [
  // locals: 4 x i32 (j=5, p=6, q=7, qend=8), 4 x v128 (a0..a3 = 9..12)
  0x02, 0x04, 0x7f, 0x04, 0x7b,
  0x20, 0x01, 0x21, 0x07, // q = mt
  0x02, 0x40, 0x03, 0x40, // block, loop (rows)
  0x20, 0x05, 0x20, 0x03, 0x4f, 0x0d, 0x01, // if j >= cols: break
  0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x22, 0x09, 0x22, 0x0a, 0x22, 0x0b, 0x21, 0x0c, // a0 = a1 = a2 = a3 = 0
  0x20, 0x00, 0x21, 0x06, // p = l
  0x20, 0x07, 0x20, 0x04, 0x41, 0x03, 0x74, 0x6a, 0x21, 0x08, // qend = q + (r << 3)
  0x02, 0x40, 0x03, 0x40, // block, loop (k)
  0x20, 0x07, 0x20, 0x08, 0x4f, 0x0d, 0x01, // if q >= qend: break
  // a_i = a_i + p[16 i] * q[16 i]  (v128.load align 8, offset 16 i)
  ...[0, 1, 2, 3].flatMap((i) => [0x20, 9 + i, 0x20, 0x06, 0xfd, 0x00, 0x03, 16 * i, 0x20, 0x07, 0xfd, 0x00, 0x03, 16 * i, 0xfd, 0xf2, 0x01, 0xfd, 0xf0, 0x01, 0x21, 9 + i]),
  0x20, 0x06, 0x41, 0xc0, 0x00, 0x6a, 0x21, 0x06, // p += 64
  0x20, 0x07, 0x41, 0xc0, 0x00, 0x6a, 0x21, 0x07, // q += 64
  0x0c, 0x00, 0x0b, 0x0b, // br loop; end loop; end block
  0x20, 0x02, 0x20, 0x05, 0x41, 0x03, 0x74, 0x6a, // address out + (j << 3)
  0x20, 0x09, 0x20, 0x0a, 0xfd, 0xf0, 0x01, 0x20, 0x0b, 0x20, 0x0c, 0xfd, 0xf0, 0x01, 0xfd, 0xf0, 0x01, // (a0+a1)+(a2+a3)
  0x22, 0x09, 0xfd, 0x21, 0x00, 0x20, 0x09, 0xfd, 0x21, 0x01, 0xa0, // lane 0 + lane 1
  0x39, 0x03, 0x00, // f64.store
  0x20, 0x05, 0x41, 0x01, 0x6a, 0x21, 0x05, // j += 1
  0x0c, 0x00, 0x0b, 0x0b, // br rows; end loop; end block
  0x0b, // end function
];
const CODE = [0x01, ...leb(BODY.length), ...BODY];

// prettier-ignore
const MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x09, 0x01, 0x60, 0x05, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00, // type section: (i32 x 5) -> ()
  0x02, 0x08, 0x01, 0x01, 0x6d, 0x01, 0x6d, 0x02, 0x00, 0x01, // import section: "m" "m" memory, min 1 page
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x07, 0x08, 0x01, 0x04, 0x64, 0x6f, 0x74, 0x73, 0x00, 0x00, // export section: "dots" = function 0
  0x0a, ...leb(CODE.length), ...CODE, // code section
]);

/** Rank padding: the kernel takes 8 products per step. */
export const RANK_ALIGN = 8;

/** A merge's scratch space and row kernel: float64 arrays for L [rows, rp], MT [cols, rp], out [cols]. */
export interface RowKernel {
  /** 'wasm-simd' or 'js' (no WebAssembly SIMD here, or forced by {@link setRowKernel}). */
  readonly kind: 'wasm-simd' | 'js';
  /** Fresh zeroed arrays for one weight (valid until the next call). */
  alloc(lLength: number, mtLength: number, outLength: number): { l: Float64Array; mt: Float64Array; out: Float64Array };
  /** out[j] = sum_k l[row * rp + k] * mt[j * rp + k] for j < cols. */
  row(row: number, cols: number, rp: number): void;
}

let forced: 'auto' | 'js' = 'auto';

/** For tests and the bench: 'js' makes {@link createRowKernel} use the plain-JS kernel. */
export function setRowKernel(kind: 'auto' | 'js'): void {
  forced = kind;
}

let simdOk: boolean | null = null;
function simdAvailable(): boolean {
  if (simdOk === null) {
    try {
      simdOk = typeof WebAssembly !== 'undefined' && WebAssembly.validate(MODULE);
    } catch {
      simdOk = false;
    }
  }
  return simdOk;
}

/** A kernel with its own memory, for one merge (dropped with it). */
export function createRowKernel(): RowKernel {
  if (forced === 'auto' && simdAvailable()) {
    try {
      return wasmKernel();
    } catch {
      // fall through to JS (e.g. synchronous compilation refused)
    }
  }
  return jsKernel();
}

function wasmKernel(): RowKernel {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(MODULE), { m: { m: memory } });
  const dots = instance.exports.dots as (l: number, mt: number, out: number, cols: number, r: number) => void;
  let mtAt = 0;
  let outAt = 0;
  return {
    kind: 'wasm-simd',
    alloc(lLength, mtLength, outLength) {
      const bytes = 8 * (lLength + mtLength + outLength);
      const pages = Math.ceil(bytes / 65536);
      const have = memory.buffer.byteLength / 65536;
      if (pages > have) memory.grow(pages - have);
      new Uint8Array(memory.buffer, 0, bytes).fill(0);
      mtAt = 8 * lLength;
      outAt = mtAt + 8 * mtLength;
      return {
        l: new Float64Array(memory.buffer, 0, lLength),
        mt: new Float64Array(memory.buffer, mtAt, mtLength),
        out: new Float64Array(memory.buffer, outAt, outLength),
      };
    },
    row(row, cols, rp) {
      dots(8 * row * rp, mtAt, outAt, cols, rp);
    },
  };
}

function jsKernel(): RowKernel {
  let l = new Float64Array(0);
  let mt = new Float64Array(0);
  let out = new Float64Array(0);
  return {
    kind: 'js',
    alloc(lLength, mtLength, outLength) {
      l = new Float64Array(lLength);
      mt = new Float64Array(mtLength);
      out = new Float64Array(outLength);
      return { l, mt, out };
    },
    row(row, cols, rp) {
      const lo = row * rp;
      for (let j = 0; j < cols; j++) {
        // Four partial sums: independent chains of adds run 1.6-2x faster than one in V8.
        const mo = j * rp;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let k = 0; k < rp; k += 4) {
          s0 += l[lo + k] * mt[mo + k];
          s1 += l[lo + k + 1] * mt[mo + k + 1];
          s2 += l[lo + k + 2] * mt[mo + k + 2];
          s3 += l[lo + k + 3] * mt[mo + k + 3];
        }
        out[j] = s0 + s1 + (s2 + s3);
      }
    },
  };
}
