import { describe, expect, it } from 'vitest';
import { buildFor, configureOrt, loadedOrtBuilds } from '../ort';
import { eachField, fieldText } from '../protobuf';
import { warmUpModel, warmUpOrt } from './warmup';

describe('ORT warm-up (cold open)', () => {
  it('writes a ModelProto with ir_version 8, opset 13 and one Identity node', () => {
    const b = warmUpModel();
    const top = new Map<number, { start: number; stop: number; value: number }>();
    eachField(b, 0, b.length, (f) => top.set(f.no, f));
    expect(top.get(1)?.value).toBe(8);
    const graph = top.get(7)!;
    const ops: string[] = [];
    eachField(b, graph.start, graph.stop, (f) => {
      if (f.no === 1) eachField(b, f.start, f.stop, (n) => n.no === 4 && ops.push(fieldText(b, n)));
    });
    expect(ops).toEqual(['Identity']);
  });

  it('creates, runs and releases the session on WASM', async () => {
    configureOrt({ numThreads: 1 });
    const ms = await warmUpOrt('wasm');
    expect(ms).toBeGreaterThan(0);
  });

  it('uses the WASM-only onnxruntime build where there is no hardware WebGPU adapter (Node has none)', async () => {
    await warmUpOrt('wasm');
    // Only onnxruntime-web/wasm (ort-wasm-simd-threaded.wasm, 14 MB) was imported, not the 27 MB WebGPU build.
    expect(loadedOrtBuilds()).toEqual(['wasm']);
    expect(await buildFor('wasm')).toBe('wasm');
    expect(await buildFor('webgpu')).toBe('webgpu');
  });
});
