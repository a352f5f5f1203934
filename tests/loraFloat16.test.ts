/**
 * The bulk float16 conversions of src/engine/float16.ts (used by the LoRA merge) give exactly the bits of the
 * existing helpers (the platform's or @petamoriken/float16's Float16Array): every float16 pattern one way, and
 * a million float32 values (random magnitudes across the whole float16 range, subnormals, ties, overflow) the other.
 */
import { describe, expect, it } from 'vitest';
import { float16BitsToFloat32, float16BitsToFloat32Into, float32ToFloat16Bits, float32ToFloat16BitsInto } from '../src/engine/float16';

describe('float16 bulk conversions', () => {
  it('float16 -> float32: all 65,536 bit patterns as the Float16Array helper (NaN stays NaN)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const want = float16BitsToFloat32(all);
    const got = new Float32Array(65536);
    float16BitsToFloat32Into(all, got);
    for (let i = 0; i < 65536; i++) {
      if (Number.isNaN(want[i])) expect(Number.isNaN(got[i])).toBe(true);
      else if (got[i] !== want[i] || Object.is(got[i], -0) !== Object.is(want[i], -0)) throw new Error(`bits ${i}: ${got[i]} != ${want[i]}`);
    }
  });

  it('float32 -> float16: a million values round like the Float16Array helper (ties to even, subnormals, overflow)', () => {
    const n = 1 << 20;
    const src = new Float32Array(n);
    let s = 12345;
    const rnd = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < n; i++) src[i] = (rnd() < 0.5 ? -1 : 1) * 2 ** (rnd() * 50 - 30) * (1 + rnd());
    // exact ties between neighbouring float16 values, the subnormal boundary, the overflow boundary, specials
    const halves = float16BitsToFloat32(new Uint16Array(4096).map((_, i) => i * 16));
    for (let i = 0; i + 1 < halves.length; i++) src[i] = (halves[i] + halves[i + 1]) / 2;
    src.set([0, -0, 65504, 65519.99, 65520, -65520, 2 ** -24, 2 ** -25, 2 ** -25 * 1.0001, 2 ** -26, Infinity, -Infinity, NaN], 5000);
    const want = float32ToFloat16Bits(src);
    const got = new Uint16Array(n);
    float32ToFloat16BitsInto(src, got);
    let bad = -1;
    for (let i = 0; i < n && bad < 0; i++) if (got[i] !== want[i] && !(Number.isNaN(src[i]) && (got[i] & 0x7c00) === 0x7c00 && got[i] & 0x3ff)) bad = i;
    expect(bad === -1 ? 'all equal' : `value ${src[bad]}: ${got[bad]} != ${want[bad]}`).toBe('all equal');
  });
});
