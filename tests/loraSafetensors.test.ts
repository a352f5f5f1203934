/**
 * The safetensors parser (src/engine/lora/safetensors.ts) against the reference reader's rules: each malformed case
 * gives LORA_INVALID with a message naming the file and the rule; valid files (ours, and one written by
 * training/fewstep/lora.py's writer in Python) read back exactly, F32 / F16 / BF16.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../src/engine/errors';
import { encodeSafetensors, parseSafetensors, tensorToFloat32 } from '../src/engine/lora/safetensors';
import { ROOT } from './modelDirs';

/** A file from a header object (as JSON, optionally raw text) and a data buffer of `dataBytes` bytes. */
function file(header: unknown, dataBytes: number, opts: { raw?: string; n?: number } = {}): Uint8Array {
  const text = new TextEncoder().encode(opts.raw ?? JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + dataBytes);
  const dv = new DataView(out.buffer);
  const n = opts.n ?? text.length;
  dv.setUint32(0, n % 2 ** 32, true);
  dv.setUint32(4, Math.floor(n / 2 ** 32), true);
  out.set(text, 8);
  return out;
}

function expectInvalid(bytes: Uint8Array, ...parts: Array<string | RegExp>): void {
  let err: unknown;
  try {
    parseSafetensors(bytes, 'style.safetensors');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(EngineError);
  expect((err as EngineError).code).toBe('LORA_INVALID');
  expect((err as EngineError).message).toContain('style.safetensors');
  for (const p of parts) expect((err as EngineError).message).toMatch(p);
}

const t = (dtype: string, shape: number[], b: number, e: number) => ({ dtype, shape, data_offsets: [b, e] });

describe('parseSafetensors: malformed files', () => {
  it('fewer than 8 bytes', () => expectInvalid(new Uint8Array(5), 'fewer than the 8'));
  it('header length over 100,000,000', () => expectInvalid(file({}, 0, { n: 100_000_001 }), 'over the 100000000-byte limit'));
  it('header length past the end of the file', () => expectInvalid(file({}, 0, { n: 5000 }), 'header length 5000 runs past the end of the file'));
  it('bad JSON', () => expectInvalid(file(null, 0, { raw: '{"a": {"dtype": "F32",' }), 'not UTF-8 JSON'));
  it('bad UTF-8', () => {
    const b = file(null, 0, { raw: '{"x":1}' });
    b[10] = 0xff;
    expectInvalid(b, 'not UTF-8 JSON');
  });
  it('a header that is not an object', () => expectInvalid(file([1, 2], 0), 'does not start with "{"'));
  it('an unknown dtype', () => expectInvalid(file({ w: t('F99', [2], 0, 8) }, 8), 'unknown dtype "F99"'));
  it('a shape that is not whole numbers', () => expectInvalid(file({ w: t('F32', [2.5], 0, 8) }, 8), 'shape that is not a list of whole numbers'));
  it('byte length != prod(shape) * dtype size', () => expectInvalid(file({ w: t('F16', [2, 3], 0, 8) }, 8), 'has 8 bytes but F16 [2, 3] needs 12'));
  it('end before begin', () => expectInvalid(file({ w: t('F32', [0], 8, 4) }, 8), 'ends (4) before it begins (8)'));
  it('overlapping offsets', () => expectInvalid(file({ a: t('F32', [2], 0, 8), b: t('F32', [2], 4, 12) }, 12), 'tensor "b" (bytes 4-12) overlaps'));
  it('a gap between tensors', () => expectInvalid(file({ a: t('F32', [1], 0, 4), b: t('F32', [1], 8, 12) }, 12), 'leaving a gap after byte 4'));
  it('data that does not start at 0', () => expectInvalid(file({ a: t('F32', [1], 4, 8) }, 8), 'starts at byte 4'));
  it('trailing bytes after the last tensor', () => expectInvalid(file({ a: t('F32', [1], 0, 4) }, 6), '2 trailing bytes'));
  it('data shorter than the tensors (truncated)', () => expectInvalid(file({ a: t('F32', [4], 0, 16) }, 10), 'need 16 bytes of data but the file has 10'));
  it('__metadata__ with a non-string value', () => expectInvalid(file({ __metadata__: { r: 8 } }, 0), '__metadata__["r"] is not a string'));
});

describe('parseSafetensors: valid files', () => {
  it('reads F32, F16 and BF16 values exactly, scalars, metadata and a space-padded header', () => {
    const values = new Float32Array([1.5, -2.25, 0.1, 65504, -0, 3e-5]);
    const bytes = encodeSafetensors(
      { a: { shape: [2, 3], values }, b: { shape: [2, 3], values, dtype: 'F16' }, alpha: { shape: [], values: new Float32Array([4]) } },
      { lora_adapter_metadata: '{"r": 8}' },
    );
    expect(new DataView(bytes.buffer).getUint32(0, true) % 8).toBe(0); // padded header
    const f = parseSafetensors(bytes, 'x');
    expect(f.metadata).toEqual({ lora_adapter_metadata: '{"r": 8}' });
    expect([...tensorToFloat32(f, f.tensors.get('a')!)]).toEqual([...values]);
    const half = [...tensorToFloat32(f, f.tensors.get('b')!)];
    expect(half[0]).toBe(1.5);
    expect(half[3]).toBe(65504);
    expect(Math.abs(half[2] - 0.1)).toBeLessThan(1e-4);
    expect([...tensorToFloat32(f, f.tensors.get('alpha')!)]).toEqual([4]);
    expect(f.tensors.get('alpha')!.shape).toEqual([]);
    // BF16: the top 16 bits of the float32 (1.5 = 0x3FC00000 -> 0x3FC0; -2.25 = 0xC0100000 -> 0xC010)
    const bf = file({ w: t('BF16', [2], 0, 4) }, 4);
    bf.set([0xc0, 0x3f, 0x10, 0xc0], bf.length - 4);
    const g = parseSafetensors(bf, 'bf');
    expect([...tensorToFloat32(g, g.tensors.get('w')!)]).toEqual([1.5, -2.25]);
  });

  it('accepts other dtypes as a file but refuses to read them as LoRA weights', () => {
    const f = parseSafetensors(file({ step: t('I64', [1], 0, 8) }, 8), 'odd.safetensors');
    expect(() => tensorToFloat32(f, f.tensors.get('step')!)).toThrow(/tensor "step" is I64; LoRA weights must be F32, F16, BF16/);
  });

  it('reads a file written by training/fewstep/lora.py (Python)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fewstep-st-'));
    try {
      const out = join(dir, 'py.safetensors');
      execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          `import sys, numpy as np; sys.path.insert(0, ${JSON.stringify(join(ROOT, 'training'))})
from fewstep.lora import save_safetensors
save_safetensors(${JSON.stringify(out)}, {"b": np.arange(6, dtype=np.float32).reshape(2, 3) / 4, "a": np.array([1.5, -2], dtype=np.float16)}, {"k": "v"})`,
        ],
        { stdio: 'pipe' },
      );
      const f = parseSafetensors(new Uint8Array(readFileSync(out)), 'py.safetensors');
      expect(f.metadata).toEqual({ k: 'v' });
      expect(f.tensors.get('b')!.shape).toEqual([2, 3]);
      expect([...tensorToFloat32(f, f.tensors.get('b')!)]).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
      expect([...tensorToFloat32(f, f.tensors.get('a')!)]).toEqual([1.5, -2]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
