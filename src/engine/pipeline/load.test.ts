/**
 * Loading order and memory (issue 12, memory): loadPipeline reads one component (graph + the sidecars it names),
 * creates its session, and keeps no reference to those bytes before it reads the next component; a WebGPU session
 * failure moves the pipeline to WASM, creating the failing component from the bytes still in hand and reading only
 * the earlier components again. ORT is mocked (a recording createSession), the source serves the shipped
 * fewstep-turbo JSON files and synthetic graphs; whether bytes are still held is checked with WeakRefs after full GCs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { protoLen, protoText, protoVarint } from '../protobuf';
import { EngineError } from '../errors';
import type { IoSpec } from '../io';
import type { ModelSource, ReadOptions } from '../source';
import { loadPipeline } from './load';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Full GCs in fresh macrotasks (a WeakRef's target stays alive until the job that last touched it has ended). */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 0));
    gc();
  }
}

const MODEL = resolve(__dirname, '../../../models/fewstep-turbo');
const json = (p: string): Record<string, unknown> => JSON.parse(readFileSync(join(MODEL, p), 'utf8')) as Record<string, unknown>;
const te = json('text_encoder/config.json');
const un = json('unet/config.json');
const HIDDEN = te.hidden_size as number;
const CH = un.in_channels as number;
const SIZE = un.sample_size as number;

const GRAPHS = ['text_encoder/model.onnx', 'unet/model.onnx', 'vae_decoder/model.onnx'];
const SIDECAR = 'unet/model.onnx_data';
const GRAPH_BYTES = 1 << 20;
const SIDECAR_BYTES = 4 << 20;

/**
 * A minimal ONNX ModelProto of about `size` bytes: ir_version, a padding doc_string, and (with `location`) a graph
 * whose one initializer keeps its data in that external file.
 */
function onnxBytes(size: number, location?: string): ArrayBuffer {
  const varint = protoVarint;
  const field = protoLen;
  const str = protoText;
  const head = [0x08, 0x08]; // ir_version = 8
  const graph = location ? field(7, field(5, [...str(1, 'w'), ...field(13, [...str(1, 'location'), ...str(2, location)])])) : [];
  const padLen = Math.max(0, size - head.length - graph.length - 8);
  const out = new Uint8Array(head.length + graph.length + 1 + varint(padLen).length + padLen);
  out.set([...head, ...graph, ...varint(6 * 8 + 2), ...varint(padLen)]);
  return out.buffer;
}

interface FakeState {
  log: string[];
  /** WeakRefs to every large buffer the source handed out, by path (the last read of that path). */
  refs: Map<string, WeakRef<ArrayBuffer>>;
  /** For each graph read: the buffers handed out before that were still reachable at that moment. */
  aliveAtRead: Array<{ reading: string; alive: string[] }>;
  failOn: { file: string; provider: string } | null;
  webgpu: boolean;
}
const state: FakeState = { log: [], refs: new Map(), aliveAtRead: [], failOn: null, webgpu: false };

function spec(name: string, type: string, shape: Array<number | string>): IoSpec {
  return { name, type, shape };
}

/** What ModelIo and the shape checks read of a SessionHandle: file, provider, inputs, outputs, findInput, release. */
function fakeSession(file: string, provider: string): unknown {
  const io: Record<string, [IoSpec[], IoSpec[]]> = {
    'text_encoder/model.onnx': [[spec('input_ids', 'int32', [1, 77])], [spec('last_hidden_state', 'float32', [1, 77, HIDDEN])]],
    'unet/model.onnx': [
      [spec('sample', 'float32', [1, CH, SIZE, SIZE]), spec('timestep', 'float32', [1]), spec('encoder_hidden_states', 'float32', [1, 77, HIDDEN])],
      [spec('out_sample', 'float32', [1, CH, SIZE, SIZE])],
    ],
    'vae_decoder/model.onnx': [[spec('latent_sample', 'float32', [1, CH, SIZE, SIZE])], [spec('sample', 'float32', [1, 3, SIZE * 8, SIZE * 8])]],
  };
  const [ins, outs] = io[file];
  const inputs = new Map(ins.map((s) => [s.name, s]));
  return {
    file,
    provider,
    gpuOutputs: false,
    inputs,
    outputs: new Map(outs.map((s) => [s.name, s])),
    input: (n: string) => inputs.get(n),
    findInput: (...names: string[]) => names.map((n) => inputs.get(n)).find(Boolean),
    release: async () => {
      state.log.push(`release:${file}:${provider}`);
    },
  };
}

vi.mock('../ort', () => ({
  probeWebGpu: async () => ({
    available: state.webgpu,
    reason: state.webgpu ? 'WebGPU adapter found' : 'no WebGPU in this test',
    adapterInfo: state.webgpu ? 'test adapter' : '',
    software: false,
    shaderF16: true,
    maxBufferSize: 1 << 30,
    maxStorageBufferBindingSize: 1 << 30,
  }),
  // Records the call and keeps nothing of the bytes (as onnxruntime-web after create returns).
  createSession: async (bytes: ArrayBuffer, file: string, provider: string, external?: Array<{ path: string; data: Uint8Array }>) => {
    state.log.push(`create:${file}:${provider}`);
    expect(bytes.byteLength).toBeGreaterThan(0);
    if (file === 'unet/model.onnx') expect(external?.map((e) => [e.path, e.data.byteLength])).toEqual([['model.onnx_data', SIDECAR_BYTES]]);
    if (state.failOn?.file === file && state.failOn.provider === provider) {
      throw new EngineError('SESSION_CREATE_FAILED', `Could not create a ${provider} session for ${file}: test failure`, file);
    }
    return fakeSession(file, provider);
  },
}));


/** The shipped fewstep-turbo JSON files; synthetic graphs (the UNet's names model.onnx_data) and that sidecar. */
class RecordingSource implements ModelSource {
  readonly label = 'test source';
  async read(path: string, opts: ReadOptions = {}): Promise<ArrayBuffer | null> {
    state.log.push(`read:${path}`);
    const k = GRAPHS.indexOf(path);
    if (k >= 0) {
      // Reading a graph: no buffer handed out before (other components' graphs and sidecars) may still be reachable.
      await collect();
      state.aliveAtRead.push({ reading: path, alive: [...state.refs].filter(([, r]) => r.deref() !== undefined).map(([p]) => p) });
    }
    let buf: ArrayBuffer | null;
    if (k >= 0) buf = onnxBytes(GRAPH_BYTES, path === 'unet/model.onnx' ? 'model.onnx_data' : undefined);
    else if (path === SIDECAR) buf = new ArrayBuffer(SIDECAR_BYTES);
    else if (existsSync(join(MODEL, path))) {
      const b = readFileSync(join(MODEL, path));
      buf = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    } else if (opts.optional) return null;
    else throw new EngineError('MODEL_FILE_MISSING', `test source has no ${path}`, path);
    if (k >= 0 || path === SIDECAR) state.refs.set(path, new WeakRef(buf));
    opts.onProgress?.(buf.byteLength, buf.byteLength);
    return buf;
  }
}

const bigEvents = (): string[] => state.log.filter((e) => /onnx|release/.test(e));

beforeEach(() => {
  Object.assign(state, { log: [], refs: new Map(), aliveAtRead: [], failOn: null, webgpu: false });
});

describe('loadPipeline: one component at a time', () => {
  it("creates component k's session before it reads component k+1, and holds no bytes of earlier components", async () => {
    const parts = await loadPipeline(new RecordingSource(), { name: 'order', provider: 'wasm' });
    expect(bigEvents()).toEqual([
      'read:text_encoder/model.onnx',
      'create:text_encoder/model.onnx:wasm',
      'read:unet/model.onnx',
      'read:unet/model.onnx_data',
      'create:unet/model.onnx:wasm',
      'read:vae_decoder/model.onnx',
      'create:vae_decoder/model.onnx:wasm',
    ]);
    expect(state.aliveAtRead).toEqual(GRAPHS.map((reading) => ({ reading, alive: [] })));
    // After the load, the loaded pipeline (sessions, io, tokenizer, info) holds none of the files either.
    await collect();
    expect([...state.refs].filter(([, r]) => r.deref() !== undefined).map(([p]) => p)).toEqual([]);
    expect(parts.info.bytes).toBeGreaterThanOrEqual(3 * GRAPH_BYTES + SIDECAR_BYTES);
    expect(parts.info.provider).toBe('wasm');
  });

  it('a WebGPU failure at the UNet: its WASM session comes from the bytes in hand, only the text encoder is read again', async () => {
    state.webgpu = true;
    state.failOn = { file: 'unet/model.onnx', provider: 'webgpu' };
    const progress: number[] = [];
    const parts = await loadPipeline(new RecordingSource(), { name: 'fallback', provider: 'auto', onProgress: (p) => progress.push(p.filesDone) });
    expect(bigEvents()).toEqual([
      'read:text_encoder/model.onnx',
      'create:text_encoder/model.onnx:webgpu',
      'read:unet/model.onnx',
      'read:unet/model.onnx_data',
      'create:unet/model.onnx:webgpu',
      'release:text_encoder/model.onnx:webgpu',
      'create:unet/model.onnx:wasm',
      'read:text_encoder/model.onnx',
      'create:text_encoder/model.onnx:wasm',
      'read:vae_decoder/model.onnx',
      'create:vae_decoder/model.onnx:wasm',
    ]);
    // Every graph read (the text encoder's second one included) happens with no earlier bytes held.
    expect(state.aliveAtRead).toEqual(['text_encoder/model.onnx', 'unet/model.onnx', 'text_encoder/model.onnx', 'vae_decoder/model.onnx'].map((reading) => ({ reading, alive: [] })));
    expect(parts.info.provider).toBe('wasm');
    expect(parts.info.providerReason).toMatch(/^WASM fallback: WebGPU session failed \(Could not create a webgpu session for unet\/model\.onnx: test failure\); read text_encoder\/model\.onnx again for WASM \(1\.0 MB with sidecars\)$/);
    // ModelInfo.bytes counts each file once; the re-read is not model size.
    expect(parts.info.bytes).toBeLessThan(4 * GRAPH_BYTES + SIDECAR_BYTES);
    expect(parts.sessions.textEncoder.provider).toBe('wasm');
    expect(progress.at(-1)).toBeGreaterThan(0);
  });

  it('a WebGPU failure at the first graph reads nothing again', async () => {
    state.webgpu = true;
    state.failOn = { file: 'text_encoder/model.onnx', provider: 'webgpu' };
    const parts = await loadPipeline(new RecordingSource(), { name: 'fallback0', provider: 'auto' });
    expect(bigEvents().filter((e) => e === 'read:text_encoder/model.onnx')).toHaveLength(1);
    expect(parts.info.providerReason).not.toMatch(/again/);
  });

  it('a failure that is not a WebGPU session failure releases the sessions made so far and is rethrown', async () => {
    state.failOn = { file: 'vae_decoder/model.onnx', provider: 'wasm' };
    await expect(loadPipeline(new RecordingSource(), { name: 'fail', provider: 'wasm' })).rejects.toMatchObject({ code: 'SESSION_CREATE_FAILED' });
    expect(state.log.filter((e) => e.startsWith('release:')).sort()).toEqual(['release:text_encoder/model.onnx:wasm', 'release:unet/model.onnx:wasm']);
  });
});
