/**
 * Session options by graph size (issue 12, memory): graphs of LARGE_GRAPH_BYTES or more (graph + sidecars) get the
 * memory-saving options of largeGraphOptions; smaller ones keep onnxruntime's defaults. The session-options hook sees
 * the options first and stops the call here, so onnxruntime itself is not started.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSession, LARGE_GRAPH_BYTES, setSessionOptionsHook, type Provider, type SessionOptionsHook } from './ort';

type Options = Parameters<SessionOptionsHook>[2];

async function optionsFor(graphBytes: number, provider: Provider, sidecarBytes = 0): Promise<Options> {
  let seen: Options | null = null;
  setSessionOptionsHook((_file, _provider, options) => {
    seen = options;
    throw new Error('stop here');
  });
  const external = sidecarBytes ? [{ path: 'model.onnx_data', data: new Uint8Array(sidecarBytes) }] : undefined;
  await expect(createSession(new ArrayBuffer(graphBytes), 'unet/model.onnx', provider, external)).rejects.toThrow('stop here');
  return seen!;
}

afterEach(() => setSessionOptionsHook(null));

describe('createSession options', () => {
  it('a small graph keeps the defaults', async () => {
    const o = await optionsFor(1024, 'wasm');
    expect(o.extra).toBeUndefined();
    expect(o.enableCpuMemArena).toBeUndefined();
    expect(o.graphOptimizationLevel).toBe('all');
  });

  it('a large graph (counting its sidecar) gets the memory-saving options on both providers', async () => {
    for (const provider of ['wasm', 'webgpu'] as const) {
      const o = await optionsFor(4096, provider, LARGE_GRAPH_BYTES);
      expect(o.enableCpuMemArena).toBe(false);
      expect(o.enableMemPattern).toBe(false);
      expect(o.extra).toEqual({ session: { disable_prepacking: '1', use_device_allocator_for_initializers: '1' } });
      // Folding fp16 weights to fp32 at load stays on (turning it off made every WASM run cast them again).
      expect(o.graphOptimizationLevel).toBe('all');
      expect(o.externalData?.[0]).toMatchObject({ path: 'model.onnx_data' });
    }
  });
});
