import { describe, expect, it } from 'vitest';
import { chwToRgba, meanAbsDiff, pixelStd } from './image';

describe('image conversion', () => {
  it('maps [-1,1] CHW to RGBA like diffusers (x/2+0.5, clamp, *255, round)', () => {
    // 2x1 image: pixel0 = (-1, 0, 1), pixel1 = (2, -2, 0.5)
    const chw = new Float32Array([-1, 2, 0, -2, 1, 0.5]);
    const img = chwToRgba(chw, [1, 3, 1, 2]);
    expect(img.width).toBe(2);
    expect(img.height).toBe(1);
    expect([...img.data]).toEqual([0, 128, 255, 255, 255, 0, 191, 255]);
  });
  it('reads the requested batch item', () => {
    const chw = new Float32Array(12).fill(-1);
    chw.fill(1, 6);
    expect(chwToRgba(chw, [2, 3, 1, 2], 1).data[0]).toBe(255);
  });
  it('rejects wrong shapes and NaNs with specific errors', () => {
    expect(() => chwToRgba(new Float32Array(8), [1, 4, 1, 2])).toThrow(/expected \[batch, 3, height, width\]/);
    const bad = new Float32Array(6);
    bad[2] = NaN;
    expect(() => chwToRgba(bad, [1, 3, 1, 2])).toThrow(/1 NaN\/Inf values/);
  });
  it('measures differences and blankness', () => {
    const a = chwToRgba(new Float32Array([0, 0.5, 0, 0, 0, 0]), [1, 3, 1, 2]);
    const b = chwToRgba(new Float32Array([0, 0.5, 0, 0, 0, 0]), [1, 3, 1, 2]);
    expect(meanAbsDiff(a, b)).toBe(0);
    expect(pixelStd(chwToRgba(new Float32Array(6), [1, 3, 1, 2]))).toBe(0);
    expect(pixelStd(a)).toBeGreaterThan(0);
  });
});
