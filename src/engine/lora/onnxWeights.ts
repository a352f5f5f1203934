/**
 * Which ONNX initializer holds the weight of which U-Net module, and where its bytes are: the index a LoRA merge
 * maps keys through (lora/merge.ts).
 *
 * How torch.onnx.export writes a diffusers UNet2DConditionModel (the layout of Optimum's and diffusers' SD exports,
 * and of our family's: training/fewstep/export.py; onnx-web api/onnx_web/convert/diffusion/lora.py maps LoRAs the
 * same way):
 * - Conv weights and Gemm weights keep their parameter names (`down_blocks.0.resnets.0.conv1.weight`; Gemm
 *   `time_emb_proj.weight` with transB = 1, i.e. stored [out, in] as torch keeps it);
 * - a Linear applied to a 3-D input becomes MatMul (+ Add for the bias) whose weight is an anonymous
 *   `onnx::MatMul_N` initializer holding the transpose, [in, out]; the module shows only in the node's name,
 *   `/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/MatMul` -> `down_blocks.0...attn1.to_q`;
 * - equal initializers may be deduplicated behind Identity nodes, and fp16-stored weights reach their consumer
 *   through a Cast to float32 (our training/fewstep/export.py store_weights_fp16 writes `X_fp16` + Cast -> `X`;
 *   onnxruntime's fp16 converters with keep_io_types do the same);
 * - weights may sit in an external-data sidecar (`model.onnx_data`, `weights.pb`): the TensorProto has
 *   data_location = EXTERNAL and `location` / `offset` / `length` entries (onnx.proto TensorProto 13, 14).
 *
 * So for every MatMul, Gemm and Conv node, its weight input (input 1) is followed back through Identity, Cast
 * (to float) and 2-D Transpose nodes to an initializer. The module path comes from a parameter name on that
 * chain (`<path>.weight`, the consumer's own name first) and from the node's name (`/a/b.0/c/MatMul` -> `a.b.0.c`).
 * `transposed` says whether the stored matrix is [in, out] (MatMul B, Gemm with transB = 0, flipped again by a
 * Transpose), the layout a LoRA delta [out, in] must be transposed into. Only the structure is read; the weights
 * are byte ranges into the graph (`raw_data`, or packed `float_data`) or into a sidecar, written in place later.
 */
import { EngineError } from '../errors';
import { eachField, fieldText, ProtoError, pushVarints, type ProtoField } from '../protobuf';

/** ONNX TensorProto.DataType values the index reports (onnx.proto). */
const FLOAT = 1;
const FLOAT16 = 10;
const DTYPE_NAMES: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 10: 'float16', 11: 'float64', 16: 'bfloat16' };

export type WeightDtype = 'float32' | 'float16';

/** Where a weight's bytes are. */
export interface WeightBytes {
  /** null: in the graph buffer; else the external-data `location` string (the sidecar's `path` in `external`). */
  sidecar: string | null;
  /** Byte offset in that buffer and byte length (prod(dims) * element size). */
  offset: number;
  length: number;
  /** 'raw': TensorProto.raw_data or an external file (little-endian elements); 'float_data': packed float32 values. */
  encoding: 'raw' | 'float_data';
}

/** One initializer as the index found it. */
export interface InitializerInfo {
  name: string;
  /** ONNX data type number (1 float32, 10 float16, ...). */
  dataType: number;
  dims: number[];
  /** Null when the tensor's values cannot be edited in place (int32_data for float16, unpacked float_data). */
  bytes: WeightBytes | null;
  /** Why `bytes` is null. */
  why?: string;
}

/** The weight of one module (a MatMul, Gemm or Conv node). */
export interface ModuleWeight {
  /** Dotted module path (`down_blocks.0.resnets.0.conv1`). */
  module: string;
  op: 'MatMul' | 'Gemm' | 'Conv';
  /** The consuming node's name. */
  node: string;
  initializer: InitializerInfo;
  /** 'float32' | 'float16' for the weights a merge can write; otherwise the ONNX type name (merge refuses it). */
  dtype: string;
  /** The stored dims (MatMul: [in, out]; Gemm transB=1: [out, in]; Conv: [out, in/groups, kh, kw]). */
  dims: number[];
  /** True when the stored 2-D matrix is [in, out], the transpose of torch's Linear weight. */
  transposed: boolean;
  /** Conv `group` attribute (1 for all other ops). */
  group: number;
  /** Other modules whose weight is the same initializer (deduplicated by the exporter), when any. */
  sharedWith: string[];
}

export interface WeightIndex {
  /** Module path -> its weight. */
  modules: Map<string, ModuleWeight>;
  /** kohya's underscored module path (`.` -> `_`) -> dotted path; ambiguous ones are left out. */
  underscored: Map<string, string>;
}

interface NodeInfo {
  name: string;
  op: string;
  inputs: string[];
  outputs: string[];
  ints: Map<string, number>;
  intLists: Map<string, number[]>;
}

function readNode(b: Uint8Array, s: number, e: number): NodeInfo {
  const n: NodeInfo = { name: '', op: '', inputs: [], outputs: [], ints: new Map(), intLists: new Map() };
  eachField(b, s, e, (f) => {
    if (f.wire !== 2) return;
    if (f.no === 1) n.inputs.push(fieldText(b, f));
    else if (f.no === 2) n.outputs.push(fieldText(b, f));
    else if (f.no === 3) n.name = fieldText(b, f);
    else if (f.no === 4) n.op = fieldText(b, f);
    else if (f.no === 5) {
      // AttributeProto: 1 name, 3 i (int64), 8 ints (repeated int64)
      let name = '';
      let i: number | undefined;
      const ints: number[] = [];
      eachField(b, f.start, f.stop, (a) => {
        if (a.no === 1 && a.wire === 2) name = fieldText(b, a);
        else if (a.no === 3 && a.wire === 0) i = a.value;
        else if (a.no === 8) pushVarints(b, a, ints);
      });
      if (i !== undefined) n.ints.set(name, i);
      if (ints.length) n.intLists.set(name, ints);
    }
  });
  return n;
}

function readInitializer(b: Uint8Array, s: number, e: number): InitializerInfo {
  let name = '';
  let dataType = 0;
  const dims: number[] = [];
  let raw: ProtoField | null = null;
  let floatData: ProtoField | null = null;
  let unpackedFloats = false;
  let otherData = false;
  let external = false;
  const ext: Record<string, string> = {};
  eachField(b, s, e, (f) => {
    switch (f.no) {
      case 1:
        pushVarints(b, f, dims);
        break;
      case 2:
        if (f.wire === 0) dataType = f.value;
        break;
      case 4:
        if (f.wire === 2) floatData = f;
        else unpackedFloats = true;
        break;
      case 5:
      case 7:
      case 10:
      case 11:
        otherData = true;
        break;
      case 8:
        if (f.wire === 2) name = fieldText(b, f);
        break;
      case 9:
        if (f.wire === 2) raw = f;
        break;
      case 13: {
        let k = '';
        let v = '';
        eachField(b, f.start, f.stop, (x) => {
          if (x.no === 1 && x.wire === 2) k = fieldText(b, x);
          else if (x.no === 2 && x.wire === 2) v = fieldText(b, x);
        });
        ext[k] = v;
        break;
      }
      case 14:
        if (f.wire === 0) external = f.value === 1;
        break;
      default:
        break;
    }
  });
  const info: InitializerInfo = { name, dataType, dims, bytes: null };
  const r = raw as ProtoField | null;
  const fd = floatData as ProtoField | null;
  if (external) {
    const offset = Number(ext.offset ?? '0');
    const length = ext.length !== undefined ? Number(ext.length) : NaN;
    info.bytes = { sidecar: ext.location ?? '', offset, length, encoding: 'raw' };
  } else if (r) {
    info.bytes = { sidecar: null, offset: r.start, length: r.stop - r.start, encoding: 'raw' };
  } else if (fd && dataType === FLOAT) {
    info.bytes = { sidecar: null, offset: fd.start, length: fd.stop - fd.start, encoding: 'float_data' };
  } else {
    info.why = unpackedFloats ? 'its values are stored as unpacked float_data' : otherData ? 'its values are stored in a typed field (int32_data), not raw_data' : 'it has no data';
  }
  return info;
}

/** `/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/MatMul` -> `down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q`. */
export function modulePathOfNode(nodeName: string): string | null {
  const parts = nodeName.replace(/^\//, '').split('/');
  if (parts.length < 2) return null;
  const path = parts.slice(0, -1).join('.');
  return path === '' ? null : path;
}

/** `down_blocks.0.resnets.0.conv1.weight` -> `down_blocks.0.resnets.0.conv1`; null for anonymous and value names. */
function modulePathOfParam(name: string): string | null {
  if (!name.endsWith('.weight') || name.startsWith('onnx::') || name.startsWith('/')) return null;
  const path = name.slice(0, -'.weight'.length);
  return path === '' ? null : path;
}

const elementBytes = (dataType: number): number => (dataType === FLOAT ? 4 : dataType === FLOAT16 ? 2 : 0);

/**
 * Index the weights of the MatMul, Gemm and Conv nodes of an ONNX graph by module path.
 *
 * @param graph the `.onnx` bytes (ModelProto)
 * @param file  its layout path, for messages (`unet/model.onnx`)
 * @returns module path -> weight (initializer, dtype, stored dims, transposed, byte range), and the underscored
 *   (kohya) spelling of every path
 * @throws EngineError MODEL_FILE_CORRUPT when the bytes are not a readable ONNX protobuf
 */
export function indexWeights(graph: Uint8Array, file = 'unet/model.onnx'): WeightIndex {
  const inits = new Map<string, InitializerInfo>();
  const producers = new Map<string, NodeInfo>();
  const consumers: NodeInfo[] = [];
  try {
    eachField(graph, 0, graph.length, (m) => {
      if (m.no !== 7 || m.wire !== 2) return; // ModelProto.graph
      eachField(graph, m.start, m.stop, (g) => {
        if (g.wire !== 2) return;
        if (g.no === 5) {
          const t = readInitializer(graph, g.start, g.stop);
          inits.set(t.name, t);
        } else if (g.no === 1) {
          const n = readNode(graph, g.start, g.stop);
          for (const o of n.outputs) producers.set(o, n);
          if (n.op === 'MatMul' || n.op === 'Gemm' || n.op === 'Conv') consumers.push(n);
        }
      });
    });
  } catch (e) {
    if (!(e instanceof ProtoError)) throw e;
    throw new EngineError('MODEL_FILE_CORRUPT', `${file} is not a readable ONNX file (${e.message}); it may be truncated. Download or copy it again.`, file);
  }

  const modules = new Map<string, ModuleWeight>();
  const byInit = new Map<string, ModuleWeight[]>();
  for (const n of consumers) {
    if (n.inputs.length < 2) continue;
    // Follow input 1 back to an initializer through Identity, Cast (to float / float16) and 2-D Transpose.
    let name = n.inputs[1];
    let flips = 0;
    const chain = [name];
    let init = inits.get(name);
    for (let hop = 0; !init && hop < 8; hop++) {
      const p = producers.get(name);
      if (!p || p.inputs.length === 0) break;
      if (p.op === 'Transpose') {
        const perm = p.intLists.get('perm');
        if (perm && !(perm.length === 2 && perm[0] === 1 && perm[1] === 0)) break;
        flips++;
      } else if (p.op === 'Cast') {
        const to = p.ints.get('to');
        if (to !== FLOAT && to !== FLOAT16) break;
      } else if (p.op !== 'Identity') {
        break;
      }
      name = p.inputs[0];
      chain.push(name);
      init = inits.get(name);
    }
    if (!init) continue;
    const op = n.op as ModuleWeight['op'];
    let transposed = op === 'MatMul' || (op === 'Gemm' && (n.ints.get('transB') ?? 0) === 0);
    if (flips % 2 === 1) transposed = !transposed;
    const dtype = init.dataType === FLOAT ? 'float32' : init.dataType === FLOAT16 ? 'float16' : (DTYPE_NAMES[init.dataType] ?? `ONNX type ${init.dataType}`);
    const paths: string[] = [];
    for (const c of chain) {
      const p = modulePathOfParam(c);
      if (p) {
        paths.push(p);
        break;
      }
    }
    const fromNode = modulePathOfNode(n.name);
    if (fromNode && !paths.includes(fromNode)) paths.push(fromNode);
    if (paths.length === 0) continue;
    const w: ModuleWeight = {
      module: paths[0],
      op,
      node: n.name,
      initializer: init,
      dtype,
      dims: init.dims,
      transposed,
      group: op === 'Conv' ? (n.ints.get('group') ?? 1) : 1,
      sharedWith: [],
    };
    for (const p of paths) if (!modules.has(p)) modules.set(p, p === w.module ? w : { ...w, module: p });
    const list = byInit.get(init.name) ?? [];
    list.push(w);
    byInit.set(init.name, list);
  }
  // Deduplicated storage: every module on a shared initializer learns the others (a merge into one would change all).
  for (const list of byInit.values()) {
    if (list.length < 2) continue;
    const names = list.map((w) => w.module);
    for (const m of modules.values()) {
      const i = list.findIndex((w) => w.node === m.node);
      if (i >= 0) m.sharedWith = names.filter((_, j) => j !== i);
    }
  }
  const underscored = new Map<string, string>();
  const ambiguous = new Set<string>();
  for (const path of modules.keys()) {
    const u = path.replace(/\./g, '_');
    if (underscored.has(u) && underscored.get(u) !== path) ambiguous.add(u);
    underscored.set(u, path);
  }
  for (const u of ambiguous) underscored.delete(u);
  return { modules, underscored };
}

/**
 * The bytes a weight occupies, as a view into the graph or its sidecar, checked against its dims.
 *
 * @param external the graph's sidecars as readSidecars returns them (`path` = the graph's `location` string)
 * @throws EngineError MODEL_FILE_MISSING when the sidecar is not in `external`; MODEL_FILE_CORRUPT when the byte
 *   range is not prod(dims) * element size or runs past its buffer; LORA_MISMATCH when the values cannot be edited
 *   in place (see InitializerInfo.why)
 */
export function weightView(
  w: ModuleWeight,
  graph: Uint8Array,
  external: ReadonlyArray<{ path: string; data: Uint8Array }> | undefined,
  file: string,
): Uint8Array {
  const init = w.initializer;
  const at = init.bytes;
  if (!at) {
    throw new EngineError(
      'LORA_MISMATCH',
      `${file}: the weight of ${w.module} (${init.name}) cannot be changed in place: ${init.why ?? 'its storage is not supported'}. Re-export the U-Net with raw_data weights.`,
      file,
    );
  }
  let buf = graph;
  let where = file;
  if (at.sidecar !== null) {
    const side = external?.find((x) => x.path === at.sidecar || x.path === at.sidecar!.replace(/^\.\//, ''));
    if (!side) {
      throw new EngineError('MODEL_FILE_MISSING', `${file} keeps ${init.name} in "${at.sidecar}", which was not read with it. Add the sidecar next to the graph.`, file);
    }
    buf = side.data;
    where = at.sidecar;
  }
  const size = elementBytes(init.dataType);
  const want = init.dims.reduce((a, d) => a * d, 1) * size;
  const length = Number.isFinite(at.length) ? at.length : want;
  if (size === 0 || length !== want || !(at.offset >= 0) || at.offset + length > buf.byteLength) {
    throw new EngineError(
      'MODEL_FILE_CORRUPT',
      `${file}: initializer ${init.name} [${init.dims.join(', ')}] should have ${want} bytes but has ${length} at offset ${at.offset} of ${where} (${buf.byteLength} bytes). Download or copy the model again.`,
      file,
    );
  }
  return buf.subarray(at.offset, at.offset + length);
}
