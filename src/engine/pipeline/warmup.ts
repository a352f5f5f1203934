/**
 * Start-up warm-up of onnxruntime-web (issue 15, cold open): the first `InferenceSession.create` of a page pays for
 * fetching and compiling ORT's WebAssembly runtime (14 MB for the WASM-only build, 27 MB for the WebGPU one: ort.ts
 * picks the build the model will need), starting its threads, and the
 * lazy compilation of every function it runs the first time: registering the CPU kernels alone calls about 3,400
 * WebAssembly functions (measured in a Chromium trace of a cold open: `wasm.CompileLazy` x 3427, 3.6 s of CPU on this
 * 2-core machine, plus 5.6 s of background top-tier compilation). None of that needs the model, so the engine worker
 * does it while the page is still discovering which model to load: it makes and runs a one-node session
 * (Identity on a float32 [1] tensor) and releases it. The model's own sessions, queued behind it on `ortQueue`,
 * then start on a warm runtime.
 */
import { createSession, type Provider } from '../ort';
import { protoInt as num, protoLen as bytes, protoText as text } from '../protobuf';

/** ValueInfoProto `name`: float32 (elem_type 1) tensor of shape [1]. */
function floatVector(name: string): number[] {
  const dim = bytes(1, num(1, 1)); // TensorShapeProto.dim { dim_value: 1 }
  const tensorType = [...num(1, 1), ...bytes(2, dim)]; // TypeProto.Tensor { elem_type: FLOAT, shape }
  return [...text(1, name), ...bytes(2, bytes(1, tensorType))]; // ValueInfoProto { name, type { tensor_type } }
}

/**
 * The warm-up graph as ONNX bytes: ModelProto { ir_version 8, opset_import { "" 13 }, graph "warmup" { node
 * Identity(x) -> y, input x, output y } } (field numbers from onnx.proto). 70-odd bytes.
 */
export function warmUpModel(): Uint8Array {
  const node = [...text(1, 'x'), ...text(2, 'y'), ...text(3, 'identity'), ...text(4, 'Identity')];
  const graph = [...bytes(1, node), ...text(2, 'warmup'), ...bytes(11, floatVector('x')), ...bytes(12, floatVector('y'))];
  const opset = [...text(1, ''), ...num(2, 13)];
  return new Uint8Array([...num(1, 8), ...bytes(8, opset), ...bytes(7, graph)]);
}

/**
 * Create, run once and release the warm-up session on `provider` (default WASM: it initialises the runtime every
 * provider shares, and WebGPU's own start-up needs an adapter the load picks later). A WASM session here loads the
 * build Auto's choice needs (ort.ts `buildFor`: the WASM-only build unless a hardware WebGPU adapter is present).
 * @returns wall time in ms
 * @throws EngineError from createSession (SESSION_CREATE_FAILED) when the runtime cannot start; the model's load
 *   would fail the same way and reports it to the user, so callers may ignore it
 */
export async function warmUpOrt(provider: Provider = 'wasm'): Promise<number> {
  const t0 = performance.now();
  const session = await createSession(warmUpModel().buffer as ArrayBuffer, 'warm-up (Identity)', provider);
  try {
    await session.run({ x: [new Float32Array([1]), [1]] }, ['y']);
  } finally {
    await session.release();
  }
  return performance.now() - t0;
}
