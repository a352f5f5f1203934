/**
 * safetensors files (huggingface/safetensors: README "Format" and safetensors/src/tensor.rs), read without copying:
 *
 *   8 bytes   N, little-endian u64: the header's length
 *   N bytes   UTF-8 JSON object: "<name>": {"dtype": "F16", "shape": [out, r], "data_offsets": [begin, end]}, ...,
 *             plus an optional "__metadata__": {string: string}; may be padded with spaces
 *   rest      the data buffer; offsets are relative to its start (byte 8 + N of the file)
 *
 * Our own parser, not a package: no maintained npm package parses whole files (`@huggingface/hub` reads the headers
 * of files on the Hub only; the `safetensors` 0.0.1 package is stale; see /work/shared/reference/
 * lora-consistency-sdxl.md), and the format is three fields. It enforces the reference reader's checks
 * (tensor.rs `SafeTensors::read_metadata` / `Metadata::validate`), each with its own message:
 * fewer than 8 bytes; N > 100,000,000; 8 + N past the end of the file; a header that is not a UTF-8 JSON object
 * starting with "{"; an unknown dtype; a shape that is not a list of whole numbers; data_offsets that, in offset
 * order, do not start at 0 and follow each other without gap or overlap (or end < begin); a byte length other
 * than prod(shape) * dtype size; and a data buffer longer than the last tensor (trailing bytes).
 * Only F32, F16 and BF16 tensors can be read as values ({@link tensorToFloat32}); the other dtypes are accepted by
 * the parser (the file is valid) and refused when a LoRA key needs them.
 */
import { EngineError } from '../errors';
import { float16BitsToFloat32Into, float32ToFloat16BitsInto } from '../float16';

/** The reference reader's header limit (tensor.rs MAX_HEADER_SIZE). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Bytes per element of every dtype the format defines (safetensors tensor.rs `Dtype`). Sub-byte F4/F6 are left out. */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  F8_E8M0: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
};

/** The dtypes whose values the LoRA merge reads (converted to float32 for the arithmetic). */
export const READABLE_DTYPES = ['F32', 'F16', 'BF16'] as const;

/** One tensor of a safetensors file: where its bytes are in the file. */
export interface SafetensorsTensor {
  name: string;
  /** The file's dtype string: 'F32', 'F16', 'BF16', 'I64', ... */
  dtype: string;
  /** Dimensions, row-major; [] for a scalar (one element). */
  shape: number[];
  /** Byte range in the whole file (8 + N + data_offsets). */
  begin: number;
  end: number;
}

/** A parsed file: its tensors by name, its `__metadata__`, and the bytes they point into. */
export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
  bytes: Uint8Array;
  /** The name used in messages (the adapter's name or file name). */
  file: string;
}

const fail = (file: string, what: string): never => {
  throw new EngineError('LORA_INVALID', `${file} is not a valid safetensors file: ${what}. Download or export the LoRA again.`, file);
};

const isWhole = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Parse a safetensors file's header and check it against its data (see the module comment for every check).
 *
 * @param bytes the whole file
 * @param file  its name, for messages
 * @returns the tensors (byte ranges into `bytes`, no copy) and the `__metadata__` strings
 * @throws EngineError LORA_INVALID naming `file` and the rule it breaks
 */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  if (bytes.byteLength < 8) fail(file, `it has ${bytes.byteLength} bytes, fewer than the 8 of the header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (n > MAX_HEADER_BYTES) fail(file, `its header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit`);
  if (8 + n > bytes.byteLength) fail(file, `its header length ${n} runs past the end of the file (${bytes.byteLength} bytes); the file is truncated or not safetensors`);
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
    if (!text.startsWith('{')) fail(file, 'its header does not start with "{"');
    header = JSON.parse(text);
  } catch (e) {
    if (e instanceof EngineError) throw e;
    fail(file, `its header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(file, 'its header is not a JSON object');
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensor>();
  const dataStart = 8 + n;
  const ranges: Array<{ name: string; b: number; e: number }> = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(file, '__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(file, `__metadata__["${k}"] is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (t === null || typeof t !== 'object') fail(file, `tensor "${name}" is not an object`);
    const { dtype, shape, data_offsets: offsets } = t!;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) fail(file, `tensor "${name}" has an unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isWhole)) fail(file, `tensor "${name}" has a shape that is not a list of whole numbers: ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isWhole)) {
      fail(file, `tensor "${name}" has data_offsets that are not two whole numbers: ${JSON.stringify(offsets)}`);
    }
    const [b, e] = offsets as number[];
    if (e < b) fail(file, `tensor "${name}" ends (${e}) before it begins (${b})`);
    const elements = (shape as number[]).reduce((a, d) => a * d, 1);
    const want = elements * DTYPE_BYTES[dtype as string];
    if (e - b !== want) fail(file, `tensor "${name}" has ${e - b} bytes but ${dtype as string} [${(shape as number[]).join(', ')}] needs ${want}`);
    ranges.push({ name, b, e });
    tensors.set(name, { name, dtype: dtype as string, shape: shape as number[], begin: dataStart + b, end: dataStart + e });
  }
  // tensor.rs Metadata::validate: sorted by offset, each starts where the previous one ended, from 0.
  ranges.sort((x, y) => x.b - y.b || x.e - y.e);
  let at = 0;
  for (const r of ranges) {
    if (r.b !== at) {
      fail(
        file,
        r.b < at
          ? `tensor "${r.name}" (bytes ${r.b}-${r.e}) overlaps the tensor before it (which ends at ${at})`
          : `tensor "${r.name}" starts at byte ${r.b}, leaving a gap after byte ${at} (data_offsets must be contiguous)`,
      );
    }
    at = r.e;
  }
  const dataBytes = bytes.byteLength - dataStart;
  if (at > dataBytes) fail(file, `its tensors need ${at} bytes of data but the file has ${dataBytes} after the header (truncated)`);
  if (at < dataBytes) fail(file, `it has ${dataBytes - at} trailing bytes after the last tensor`);
  return { tensors, metadata, bytes, file };
}

/**
 * A tensor's values as float32 (F32 copied, F16 and BF16 converted exactly; a new, aligned array).
 *
 * @throws EngineError LORA_INVALID for any other dtype, naming the tensor and the file
 */
export function tensorToFloat32(f: SafetensorsFile, t: SafetensorsTensor): Float32Array {
  // A copy first: the tensor's offset in the file need not be a multiple of 4 (typed arrays need alignment).
  const raw = f.bytes.slice(t.begin, t.end);
  switch (t.dtype) {
    case 'F32':
      return new Float32Array(raw.buffer, 0, raw.byteLength / 4);
    case 'F16': {
      const out = new Float32Array(raw.byteLength / 2);
      float16BitsToFloat32Into(new Uint16Array(raw.buffer, 0, out.length), out);
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32 (safetensors / PyTorch bfloat16): shift it into place.
      const src = new Uint16Array(raw.buffer, 0, raw.byteLength / 2);
      const bits = new Uint32Array(src.length);
      for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
      return new Float32Array(bits.buffer);
    }
    default:
      throw new EngineError(
        'LORA_INVALID',
        `${f.file}: tensor "${t.name}" is ${t.dtype}; LoRA weights must be ${READABLE_DTYPES.join(', ')}. Convert the file (e.g. with safetensors in Python) and try again.`,
        f.file,
      );
  }
}

/**
 * Write tensors as a safetensors file (for tests and the LoRA bench): keys sorted, contiguous data_offsets from 0,
 * the header padded with spaces to a multiple of 8 (as safetensors' `serialize` and training/fewstep/lora.py
 * `save_safetensors` do). Values are given as float32 and stored in `dtype`.
 *
 * @param tensors name -> { shape, values (float32, row-major, prod(shape) long), dtype 'F32' | 'F16' }
 * @param metadata the `__metadata__` strings
 */
export function encodeSafetensors(
  tensors: Record<string, { shape: number[]; values: Float32Array; dtype?: 'F32' | 'F16' }>,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  const blobs: Uint8Array[] = [];
  let off = 0;
  for (const name of names) {
    const { shape, values, dtype = 'F32' } = tensors[name];
    let blob: Uint8Array;
    if (dtype === 'F16') {
      const h = new Uint16Array(values.length);
      float32ToFloat16BitsInto(values, h);
      blob = new Uint8Array(h.buffer);
    } else {
      blob = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    }
    header[name] = { dtype, shape, data_offsets: [off, off + blob.byteLength] };
    blobs.push(blob);
    off += blob.byteLength;
  }
  if (metadata) header.__metadata__ = metadata;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (new TextEncoder().encode(json).byteLength % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.byteLength + off);
  new DataView(out.buffer).setUint32(0, head.byteLength, true);
  out.set(head, 8);
  let at = 8 + head.byteLength;
  for (const b of blobs) {
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}
