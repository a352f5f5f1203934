import { describe, expect, it } from 'vitest';
import { checkDims, fixedBatch, timestepDims, toFloat32, toTypedArray } from './io';
import { float16BitsToFloat32, float32ToFloat16Bits } from './float16';

const toHalf = (v: number): number => float32ToFloat16Bits(Float32Array.of(v))[0];
const fromHalf = (bits: number): number => float16BitsToFloat32(Uint16Array.of(bits))[0];

describe('dtype adaptation', () => {
  it('converts ids to int64 and int32', () => {
    const a = toTypedArray([49406, 320, 49407], 'int64', 'input_ids');
    expect(a).toBeInstanceOf(BigInt64Array);
    expect([...(a as BigInt64Array)]).toEqual([49406n, 320n, 49407n]);
    const b = toTypedArray([1, 2.6], 'int32', 'input_ids');
    expect([...(b as Int32Array)]).toEqual([1, 2]); // truncated like numpy's astype(np.int32)
  });

  it('truncates int64 timesteps toward zero as diffusers does (np.array([t], dtype=np.int64)), never rounds', () => {
    // numpy: np.array([499.5], dtype=np.int64) -> [499]; [999.9] -> [999]; [-0.5] -> [0]. Math.round would give 500.
    expect([...(toTypedArray([499.5], 'int64', 'timestep') as BigInt64Array)]).toEqual([499n]);
    expect([...(toTypedArray([999.9, 0.4, 1.5, -0.5], 'int64', 'timestep') as BigInt64Array)]).toEqual([999n, 0n, 1n, 0n]);
    expect([...(toTypedArray([499.5], 'int32', 'timestep') as Int32Array)]).toEqual([499]);
    expect(() => toTypedArray([NaN], 'int64', 'timestep')).toThrow(/Input "timestep" is an integer tensor but received NaN/);
  });

  it('converts timesteps to float32, int64 and float16', () => {
    expect([...(toTypedArray([999.5], 'float32', 't') as Float32Array)]).toEqual([999.5]);
    expect([...(toTypedArray([999.4], 'int64', 't') as BigInt64Array)]).toEqual([999n]);
    const h = toTypedArray([999], 'float16', 't') as Uint16Array;
    expect(h).toBeInstanceOf(Uint16Array);
    expect(h[0]).toBe(0x63ce);
    expect(fromHalf(h[0])).toBe(999);
  });

  it('rejects unsupported input types with the input name', () => {
    expect(() => toTypedArray([1], 'string', 'prompt')).toThrow(/Input "prompt" has type string/);
  });

  it('reads float16 and int outputs as float32', () => {
    const bits = float32ToFloat16Bits(new Float32Array([0.5, -2, 65504]));
    expect([...toFloat32({ type: 'float16', dims: [3], data: bits }, 'o')]).toEqual([0.5, -2, 65504]);
    expect([...toFloat32({ type: 'int64', dims: [2], data: new BigInt64Array([3n, -1n]) }, 'o')]).toEqual([3, -1]);
  });

  it('derives timestep dims from the declared rank', () => {
    expect(timestepDims({ name: 't', type: 'float32', shape: [] }, 2)).toEqual([]);
    expect(timestepDims({ name: 't', type: 'int64', shape: ['batch'] }, 2)).toEqual([2]);
    expect(timestepDims({ name: 't', type: 'int64', shape: [1] }, 2)).toEqual([1]);
    expect(timestepDims({ name: 't', type: 'int64', shape: [-1] }, 2)).toEqual([2]);
  });

  it('detects fixed batch axes', () => {
    expect(fixedBatch({ name: 's', type: 'float32', shape: ['batch', 4, 8, 8] })).toBeNull();
    expect(fixedBatch({ name: 's', type: 'float32', shape: [2, 4, 64, 64] })).toBe(2);
    expect(fixedBatch(undefined)).toBeNull();
  });

  it('checks dims against declared shapes', () => {
    const spec = { name: 'sample', type: 'float32', shape: ['batch', 4, 8, 8] as Array<number | string> };
    expect(() => checkDims(spec, [2, 4, 8, 8], 'unet/model.onnx')).not.toThrow();
    expect(() => checkDims(spec, [1, 4, 16, 16], 'unet/model.onnx')).toThrow(/expects shape \[batch, 4, 8, 8\] but the pipeline would feed \[1, 4, 16, 16\]/);
    expect(() => checkDims(spec, [1, 4, 8], 'unet/model.onnx')).toThrow(/unet\/model\.onnx/);
  });
});

describe('float16', () => {
  it('round-trips representable values exactly and rounds to nearest even', () => {
    const vals = [0, -0, 1, -1, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8, 1000.5, 3.140625];
    for (const v of vals) expect(fromHalf(toHalf(v))).toBe(v);
    expect(fromHalf(toHalf(1 + 2 ** -11))).toBe(1); // tie -> even
    expect(fromHalf(toHalf(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9); // tie -> even (up)
    expect(fromHalf(toHalf(70000))).toBe(Infinity);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
    expect(fromHalf(toHalf(1e-9))).toBe(0);
  });
  it('round-trips every float16 bit pattern (both signs, subnormals, infinities; NaN stays NaN)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const values = float16BitsToFloat32(all);
    const back = float32ToFloat16Bits(values);
    for (let i = 0; i < 65536; i++) {
      if ((i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0) expect(Number.isNaN(values[i])).toBe(true);
      else expect(back[i], `bits 0x${i.toString(16)}`).toBe(i);
    }
    expect([values[0x3c00], values[0x8001], values[0x7bff], values[0xfc00]]).toEqual([1, -(2 ** -24), 65504, -Infinity]);
  });

  it('converts arrays within half precision', () => {
    const x = new Float32Array([0.1, -3.3, 100.7, 1e-3]);
    const y = float16BitsToFloat32(float32ToFloat16Bits(x));
    x.forEach((v, i) => expect(Math.abs(y[i] - v) / Math.abs(v)).toBeLessThan(1e-3));
  });
});
