import { describe, expect, it } from 'vitest';
import { cfgCombine, guidanceScaleEmbedding } from './index';
import { expectClose, loadFixture } from './testUtil';

const ref = loadFixture<{ torch_float32: null | { guidance_embedding: { guidance_scale: number; dim: number; values: number[] }[] } }>('reference.json');

describe('cfgCombine', () => {
  const u = Float32Array.from([0, 1, -2, 0.5]);
  const c = Float32Array.from([1, 1, 2, -0.5]);
  it('uncond + g (cond - uncond)', () => {
    expect(Array.from(cfgCombine(u, c, 7.5))).toEqual([7.5, 1, 28, -7]);
    expect(Array.from(cfgCombine(u, c, 1))).toEqual(Array.from(c));
    expect(Array.from(cfgCombine(u, c, 0))).toEqual(Array.from(u));
  });
  it('returns a new array', () => {
    expect(cfgCombine(u, c, 2)).not.toBe(u);
  });
});

describe('guidanceScaleEmbedding (LCM timestep_cond)', () => {
  it('guidance 1 gives [0 ... 0 | 1 ... 1]', () => {
    const e = guidanceScaleEmbedding(1, 256);
    expect(e.length).toBe(256);
    expect(Array.from(e.subarray(0, 128)).every((v) => v === 0)).toBe(true);
    expect(Array.from(e.subarray(128)).every((v) => v === 1)).toBe(true);
  });
  it('matches a float64 evaluation of the formula', () => {
    for (const [g, dim] of [[8.5, 256], [2, 10], [4, 64]]) {
      const w = (g - 1) * 1000;
      const half = dim / 2;
      const expected: number[] = [];
      for (let i = 0; i < half; i++) expected.push(Math.sin(w * Math.exp((-i * Math.log(10000)) / (half - 1))));
      for (let i = 0; i < half; i++) expected.push(Math.cos(w * Math.exp((-i * Math.log(10000)) / (half - 1))));
      // float32 argument rounding: |w f| up to 7500 has an ulp of ~5e-4
      expectClose(guidanceScaleEmbedding(g, dim), expected, 0, 2e-3, `g=${g} dim=${dim}`);
    }
  });
  it.runIf(ref.torch_float32 !== null)('matches torch float32 (the LCM pipeline computation), odd dims padded', () => {
    for (const r of ref.torch_float32!.guidance_embedding) {
      // torch's float32 exp may differ from a correctly rounded one by an ulp; w = 1000 (g - 1) scales that.
      const atol = 2e-6 + Math.abs((r.guidance_scale - 1) * 1000) * 1.2e-7;
      expectClose(guidanceScaleEmbedding(r.guidance_scale, r.dim), r.values, 0, atol, `g=${r.guidance_scale} dim=${r.dim}`);
    }
  });
});
