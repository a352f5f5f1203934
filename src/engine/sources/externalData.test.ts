// External-data sidecars read from the graph: hand-built protobufs (always), the stand-in exports of
// training/make_standins.py when generated (fixtures/generated/standins: SD 1.5 `unet/weights.pb` as the diffusers
// conversion script writes it, SD 2.1 base `vae_decoder/model.onnx_data`), and one onnxruntime-web session made
// from a `weights.pb` graph with what readSidecars returns.
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { EngineError } from '../errors';
import { configureOrt, createSession } from '../ort';
import type { ModelSource, ReadOptions } from '../source';
import { protoInt, protoLen, protoText } from '../protobuf';
import { externalDataLocations, isSidecarPath, readSidecars, sidecarsOf } from './externalData';

// --- a tiny protobuf writer, enough for ModelProto > GraphProto > TensorProto / NodeProto > AttributeProto
const len = protoLen;
const str = protoText;
const int = protoInt;
const entry = (k: string, v: string) => len(13, [...str(1, k), ...str(2, v)]);
/** TensorProto with raw bytes inline (field 9) or in a sidecar (external_data 13, data_location 14 = EXTERNAL). */
const tensor = (name: string, where: string | null): number[] =>
  where === null
    ? [...str(8, name), ...int(2, 1), ...len(9, Array(64).fill(7))]
    : [...str(8, name), ...int(2, 1), ...entry('location', where), ...entry('offset', '0'), ...entry('length', '64'), ...int(14, 1)];
const model = (graph: number[]): Uint8Array => new Uint8Array([...int(1, 8), ...str(2, 'pytorch'), ...len(7, graph)]);

describe('externalDataLocations', () => {
  it('finds sidecars of initializers, of Constant node tensors and of nested graphs, once each', () => {
    const constNode = len(1, [...str(4, 'Constant'), ...len(5, [...str(1, 'value'), ...len(5, tensor('c', 'weights.pb'))])]);
    const ifNode = len(1, [...str(4, 'If'), ...len(5, [...str(1, 'then_branch'), ...len(6, len(5, tensor('inner', 'then.bin')))])]);
    const g = [...constNode, ...ifNode, ...len(5, tensor('w1', 'weights.pb')), ...len(5, tensor('w2', null)), ...len(5, tensor('w3', 'extra/w3.bin'))];
    expect(externalDataLocations(model(g))).toEqual(['weights.pb', 'then.bin', 'extra/w3.bin']);
  });

  it('[] for a self-contained graph', () => {
    expect(externalDataLocations(model(len(5, tensor('w', null))))).toEqual([]);
  });

  it('a truncated or non-ONNX file is MODEL_FILE_CORRUPT naming the file', () => {
    const m = model(len(5, tensor('w', 'weights.pb')));
    const cut = () => externalDataLocations(m.subarray(0, m.length - 10), 'unet/model.onnx');
    expect(cut).toThrow(EngineError);
    expect(cut).toThrow(/^unet\/model.onnx is not a readable ONNX file \(field 7 runs past the end of its message\)/);
    const html = new TextEncoder().encode('<!DOCTYPE html><html></html>');
    expect(() => externalDataLocations(html, 'unet/model.onnx')).toThrow(/unet\/model.onnx is not a readable ONNX file/);
  });
});

describe('sidecarsOf', () => {
  it('resolves locations against the graph folder, keeping the name the graph uses', () => {
    const m = model([...len(5, tensor('a', 'weights.pb')), ...len(5, tensor('b', './model.onnx_data'))]);
    expect(sidecarsOf('unet/model.onnx', m)).toEqual([
      { location: 'weights.pb', path: 'unet/weights.pb' },
      { location: './model.onnx_data', path: 'unet/model.onnx_data' },
    ]);
  });

  it('refuses a location outside the graph folder', () => {
    for (const bad of ['../secret.bin', '/etc/passwd']) {
      const m = model(len(5, tensor('a', bad)));
      expect(() => sidecarsOf('unet/model.onnx', m)).toThrow(/unet\/model.onnx keeps weights in ".*", a path outside its folder/);
    }
  });

  it('knows the sidecar names of public exporters', () => {
    expect(['unet/model.onnx_data', 'unet/weights.pb', 'vae_decoder/model.onnx_data'].every(isSidecarPath)).toBe(true);
    expect(['unet/model.onnx', 'weights.pb.json', 'unet/config.json'].some(isSidecarPath)).toBe(false);
  });
});

/** A folder on disk as a ModelSource. */
class DirSource implements ModelSource {
  constructor(
    private readonly dir: string,
    readonly label = `folder ${dir}`,
  ) {}
  async read(path: string, opts: ReadOptions = {}): Promise<ArrayBuffer | null> {
    const p = `${this.dir}/${path}`;
    if (!existsSync(p)) {
      if (opts.optional) return null;
      throw new EngineError('MODEL_FILE_MISSING', `no ${path}`, path);
    }
    const b = readFileSync(p);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }
}

const standins = new URL('../../../fixtures/generated/standins/', import.meta.url).pathname;
const sd15 = `${standins}sd-1-5-onnx`;
const sd21 = `${standins}sd-2-1-base`;

describe.skipIf(!existsSync(`${sd15}/unet/weights.pb`) || !existsSync(`${sd21}/vae_decoder/model.onnx_data`))('stand-in exports', () => {
  beforeAll(() => configureOrt({ numThreads: 1 }));
  const bytes = (p: string) => new Uint8Array(readFileSync(p));

  it('reads the sidecar names the exports use', () => {
    expect(sidecarsOf('unet/model.onnx', bytes(`${sd15}/unet/model.onnx`))).toEqual([{ location: 'weights.pb', path: 'unet/weights.pb' }]);
    expect(sidecarsOf('vae_decoder/model.onnx', bytes(`${sd21}/vae_decoder/model.onnx`))).toEqual([
      { location: 'model.onnx_data', path: 'vae_decoder/model.onnx_data' },
    ]);
    expect(sidecarsOf('unet/model.onnx', bytes(`${sd21}/unet/model.onnx`))).toEqual([]); // SD 2.1's UNet: one file
  });

  it('a weights.pb graph gets a session with the sidecar readSidecars returns', async () => {
    const graph = bytes(`${sd15}/unet/model.onnx`);
    const ext = await readSidecars(new DirSource(sd15), 'unet/model.onnx', graph);
    expect(ext?.map((e) => [e.path, e.data.byteLength])).toEqual([['weights.pb', readFileSync(`${sd15}/unet/weights.pb`).length]]);
    const s = await createSession(graph.slice().buffer, 'unet/model.onnx', 'wasm', ext);
    try {
      expect([...s.inputs.keys()].sort()).toEqual(['encoder_hidden_states', 'sample', 'timestep']);
      expect(s.inputs.get('timestep')?.type).toBe('int64');
    } finally {
      await s.release();
    }
  });

  it('a missing sidecar is MODEL_FILE_MISSING naming it, the graph and the source', async () => {
    const graph = bytes(`${sd15}/unet/model.onnx`);
    const without: ModelSource = { label: 'folder my-sd15', read: async () => null };
    await expect(readSidecars(without, 'unet/model.onnx', graph)).rejects.toMatchObject({ code: 'MODEL_FILE_MISSING', file: 'unet/weights.pb' });
    await expect(readSidecars(without, 'unet/model.onnx', graph)).rejects.toThrow(
      /^unet\/model.onnx keeps its weights in unet\/weights.pb, which folder my-sd15 does not have\. Add unet\/weights.pb next to the graph/,
    );
    expect(await readSidecars(without, 'unet/model.onnx', bytes(`${sd21}/unet/model.onnx`))).toBeUndefined();
  });
});
