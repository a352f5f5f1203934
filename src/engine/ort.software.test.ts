import { describe, expect, it } from 'vitest';
import { isSoftwareAdapter } from './ort';

describe('isSoftwareAdapter', () => {
  it('recognises fallback adapters by flag or by SwiftShader/llvmpipe in the adapter info', () => {
    expect(isSoftwareAdapter({ info: { isFallbackAdapter: true, vendor: 'x' } })).toBe(true);
    expect(isSoftwareAdapter({ isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'google', architecture: 'swiftshader', description: '' } })).toBe(true);
    expect(isSoftwareAdapter({ info: { vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' } })).toBe(true);
  });
  it('leaves real GPUs alone', () => {
    expect(isSoftwareAdapter({ info: { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200', isFallbackAdapter: false } })).toBe(false);
    expect(isSoftwareAdapter({})).toBe(false);
  });
});
