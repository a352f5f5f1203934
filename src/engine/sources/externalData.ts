/**
 * External-data sidecars of ONNX graphs: which files a graph keeps its weights in, read from the graph itself.
 *
 * ONNX stores a tensor outside the protobuf when it is large (the 2 GB protobuf limit): the TensorProto then has
 * `data_location = EXTERNAL` and `external_data` entries, one of which is `location`, a path relative to the graph's
 * folder (onnx/onnx `onnx.proto`, TensorProto fields 13 and 14). Exporters pick different names:
 * - Optimum and `torch.onnx.export(..., external_data=True)`: `model.onnx_data` (Optimum `convert.py`,
 *   `location=output.name + "_data"`);
 * - diffusers' conversion script `scripts/convert_stable_diffusion_checkpoint_to_onnx.py` (the layout of
 *   runwayml/stable-diffusion-v1-5 @ onnx): `weights.pb`, one file for all tensors;
 * - others name one file per tensor.
 * So the names are read from the graph, never guessed, and onnxruntime-web gets each file under the exact
 * `location` string the graph uses (its `externalData: [{ path, data }]` option matches by that string).
 *
 * Only the structure that can hold tensors is walked (ModelProto.graph, GraphProto.initializer /
 * sparse_initializer / node attributes, nested graphs); everything else, weights included, is skipped by length,
 * so a multi-GB graph with inline weights is scanned without copying (the wire-format reader is ../protobuf.ts,
 * shared with lora/onnxWeights.ts).
 */
import { EngineError } from '../errors';
import { isSafeRelPath } from '../catalog/schema';
import { eachField, ProtoError } from '../protobuf';
import type { ModelSource, ReadOptions } from '../source';
import { OnDemandBytes, type SyncRangeReader } from './onDemand';

/** Sidecar file names known from public exporters (for folder checks and listings; loading reads the graph). */
export const KNOWN_SIDECAR_NAMES = ['model.onnx_data', 'weights.pb'] as const;

/** True for a layout path that is a known sidecar name (`unet/model.onnx_data`, `unet/weights.pb`). */
export function isSidecarPath(path: string): boolean {
  const name = path.split('/').pop() ?? '';
  return name.endsWith('.onnx_data') || name === 'weights.pb';
}

const utf8 = new TextDecoder();

/** Walks the messages that may hold tensors and collects every external-data `location`. */
function scan(b: Uint8Array): string[] {
  const found = new Set<string>();
  const each = (start: number, stop: number, fn: (no: number, s: number, e: number) => void) =>
    eachField(b, start, stop, (f) => {
      if (f.wire === 2) fn(f.no, f.start, f.stop);
    });
  const tensor = (s: number, e: number) =>
    each(s, e, (no, a, z) => {
      if (no !== 13) return; // external_data: StringStringEntryProto {1: key, 2: value}
      let key = '';
      let value = '';
      each(a, z, (k, x, y) => {
        if (k === 1) key = utf8.decode(b.subarray(x, y));
        else if (k === 2) value = utf8.decode(b.subarray(x, y));
      });
      if (key === 'location') found.add(value);
    });
  const sparse = (s: number, e: number) => each(s, e, (no, a, z) => (no === 1 || no === 2) && tensor(a, z));
  const attribute = (s: number, e: number) =>
    each(s, e, (no, a, z) => {
      if (no === 5 || no === 10) tensor(a, z); // t, tensors
      else if (no === 6 || no === 11) graph(a, z); // g, graphs
      else if (no === 22 || no === 23) sparse(a, z); // sparse_tensor, sparse_tensors
    });
  const node = (s: number, e: number) => each(s, e, (no, a, z) => no === 5 && attribute(a, z));
  const graph = (s: number, e: number): void =>
    each(s, e, (no, a, z) => {
      if (no === 1) node(a, z);
      else if (no === 5) tensor(a, z); // initializer
      else if (no === 15) sparse(a, z); // sparse_initializer
    });
  each(0, b.length, (no, a, z) => no === 7 && graph(a, z)); // ModelProto.graph
  return [...found];
}

/**
 * The external-data `location`s an ONNX model refers to, in order of first use; [] for a self-contained graph.
 *
 * @param model the bytes of a `.onnx` file
 * @param file its layout path, for the error message
 * @throws EngineError MODEL_FILE_CORRUPT when the bytes are not a readable ONNX protobuf
 */
export function externalDataLocations(model: Uint8Array, file = 'model.onnx'): string[] {
  try {
    return scan(model);
  } catch (e) {
    if (!(e instanceof ProtoError)) throw e;
    throw new EngineError(
      'MODEL_FILE_CORRUPT',
      `${file} is not a readable ONNX file (${e.message}); it may be truncated or not a model at all. Download or copy it again.`,
      file,
    );
  }
}

/** One sidecar of a graph: the name the graph uses, and its path in the pipeline's layout. */
export interface SidecarRef {
  /** The `location` string in the graph (what onnxruntime-web's `externalData[].path` must be). */
  location: string;
  /** Layout path, relative to the pipeline folder: `unet/weights.pb`. */
  path: string;
}

/**
 * The sidecars of the graph at `onnxPath` (e.g. `unet/model.onnx`), resolved against its folder.
 *
 * @throws EngineError MODEL_FILE_CORRUPT for unreadable bytes; MODEL_LAYOUT_INVALID for a location that is absolute
 *   or leaves the graph's folder (`../x`), which no export writes and which must not reach outside the model
 */
export function sidecarsOf(onnxPath: string, model: Uint8Array): SidecarRef[] {
  const dir = onnxPath.includes('/') ? onnxPath.slice(0, onnxPath.lastIndexOf('/') + 1) : '';
  return externalDataLocations(model, onnxPath).map((location) => {
    const rel = location.replace(/^\.\//, '');
    if (!isSafeRelPath(rel)) {
      throw new EngineError(
        'MODEL_LAYOUT_INVALID',
        `${onnxPath} keeps weights in "${location}", a path outside its folder; only files next to the graph are supported (re-export with the external data beside model.onnx).`,
        onnxPath,
      );
    }
    return { location, path: `${dir}${rel}` };
  });
}

/**
 * Read the sidecars the graph at `onnxPath` names, from `source`, as onnxruntime-web's `externalData` option.
 * Each buffer is handed over as a view (no copy); a sidecar `opts.open` gives a synchronous reader for is not read at
 * all but handed over as an {@link OnDemandBytes} (onnxruntime reads its tensors one by one while the session is
 * made). Undefined when the graph is self-contained.
 *
 * @throws EngineError MODEL_FILE_MISSING naming the sidecar and the graph when a sidecar is not in `source`
 */
export async function readSidecars(
  source: ModelSource,
  onnxPath: string,
  model: Uint8Array,
  opts: Omit<ReadOptions, 'optional'> & {
    read?: (path: string) => Promise<ArrayBuffer | null>;
    /**
     * A synchronous reader for a sidecar (ModelSource.syncReader, or the loader's wrapper of it), or null: a sidecar
     * with one is handed over as an {@link OnDemandBytes} and not read here.
     */
    open?: (path: string) => SyncRangeReader | null;
  } = {},
): Promise<Array<{ path: string; data: Uint8Array }> | undefined> {
  const refs = sidecarsOf(onnxPath, model);
  if (refs.length === 0) return undefined;
  const out: Array<{ path: string; data: Uint8Array }> = [];
  for (const r of refs) {
    const reader = opts.open?.(r.path);
    if (reader) {
      out.push({ path: r.location, data: new OnDemandBytes(reader, r.path) });
      continue;
    }
    const buf = opts.read ? await opts.read(r.path) : await source.read(r.path, { signal: opts.signal, onProgress: opts.onProgress, optional: true });
    if (!buf) {
      throw new EngineError(
        'MODEL_FILE_MISSING',
        `${onnxPath} keeps its weights in ${r.path}, which ${source.label} does not have. Add ${r.path} next to the graph ` +
          '(it is part of the export: download or copy it with the rest).',
        r.path,
      );
    }
    out.push({ path: r.location, data: new Uint8Array(buf) });
  }
  return out;
}
