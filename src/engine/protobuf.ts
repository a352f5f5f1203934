/**
 * A minimal protobuf wire-format reader over a byte range, for the few ONNX messages the engine reads itself
 * (external-data locations in sources/externalData.ts, weight initializers and the nodes that use them in
 * lora/onnxWeights.ts). Nothing is decoded that is not asked for: a field's payload is handed back as a byte range
 * into the original buffer (no copy), so a multi-GB graph with inline weights is walked without copying.
 *
 * Wire format (protobuf encoding guide): a tag varint `field_number << 3 | wire_type`, then the payload: 0 varint,
 * 1 fixed 64-bit, 2 length-delimited (varint length, then bytes), 5 fixed 32-bit. Groups (3, 4) are not used by
 * onnx.proto and are refused.
 */

/** The bytes are not a well-formed protobuf (truncated, a length past the end, an unknown wire type). */
export class ProtoError extends Error {}

/** One field: its number, wire type, payload range and (wire type 0) the varint value. */
export interface ProtoField {
  no: number;
  wire: number;
  /** Payload range in the buffer: the bytes of a length-delimited field; the encoded value for the others. */
  start: number;
  stop: number;
  /** The value of a varint field (wire type 0); exact up to 2^53, which covers every count and enum ONNX uses. */
  value: number;
}

/** Reads fields one after the other from `b[pos, end)`. */
export class ProtoReader {
  constructor(
    private readonly b: Uint8Array,
    public pos: number,
    private readonly end: number,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** The next varint (up to 10 bytes); values above 2^53 lose precision (ONNX never needs them). */
  varint(): number {
    let out = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError('truncated varint');
      const byte = this.b[this.pos++];
      out += (byte & 0x7f) * mul;
      if (byte < 0x80) return out;
      mul *= 128;
    }
    throw new ProtoError('varint longer than 10 bytes');
  }

  /** The next field: its number, wire type, payload range and, for varints, the value. */
  field(): ProtoField {
    const tag = this.varint();
    const no = Math.floor(tag / 8);
    const wire = tag % 8;
    const start = this.pos;
    let value = 0;
    switch (wire) {
      case 0:
        value = this.varint();
        break;
      case 1:
        this.pos += 8;
        break;
      case 2: {
        const len = this.varint();
        if (this.pos + len > this.end) throw new ProtoError(`field ${no} runs past the end of its message`);
        this.pos += len;
        return { no, wire, start: this.pos - len, stop: this.pos, value: len };
      }
      case 5:
        this.pos += 4;
        break;
      default:
        throw new ProtoError(`unsupported wire type ${wire} (field ${no})`);
    }
    if (this.pos > this.end) throw new ProtoError(`field ${no} runs past the end of its message`);
    return { no, wire, start, stop: this.pos, value };
  }
}

/** Calls `fn` with every field of the message in `b[start, stop)`, in order. */
export function eachField(b: Uint8Array, start: number, stop: number, fn: (f: ProtoField) => void): void {
  const r = new ProtoReader(b, start, stop);
  while (!r.done) fn(r.field());
}

/**
 * The values of a repeated integer field given either packed (one length-delimited field of varints, the proto3
 * default) or unpacked (one varint field per value): `out` collects them across calls.
 */
export function pushVarints(b: Uint8Array, f: ProtoField, out: number[]): void {
  if (f.wire === 0) {
    out.push(f.value);
  } else if (f.wire === 2) {
    const r = new ProtoReader(b, f.start, f.stop);
    while (!r.done) out.push(r.varint());
  } else {
    throw new ProtoError(`field ${f.no} should hold integers but has wire type ${f.wire}`);
  }
}

const utf8 = new TextDecoder();

/** A length-delimited field's bytes as UTF-8 text. */
export function fieldText(b: Uint8Array, f: ProtoField): string {
  return utf8.decode(b.subarray(f.start, f.stop));
}

// ---- writing: the few wire-format pieces the engine's warm-up graph and the tests' hand-made ONNX graphs need
// (protobuf encoding: https://protobuf.dev/programming-guides/encoding/). Byte arrays as number[].

/** A non-negative integer as a base-128 varint (up to 2^53). */
export function protoVarint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** Field `no` as a varint (wire type 0). */
export function protoInt(no: number, value: number): number[] {
  return [...protoVarint(no * 8), ...protoVarint(value)];
}

/** Field `no` as length-delimited bytes (wire type 2); appended in a loop, so megabyte bodies do not overflow the stack. */
export function protoLen(no: number, body: ArrayLike<number>): number[] {
  const out = [...protoVarint(no * 8 + 2), ...protoVarint(body.length)];
  for (let i = 0; i < body.length; i++) out.push(body[i]);
  return out;
}

/** Field `no` as a UTF-8 string (wire type 2). */
export function protoText(no: number, s: string): number[] {
  return protoLen(no, new TextEncoder().encode(s));
}
