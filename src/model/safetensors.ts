import { LstmNerError } from "../util/errors.js";

/**
 * The safetensors container (https://huggingface.co/docs/safetensors): an
 * 8-byte little-endian header length, a JSON header naming each tensor's
 * dtype, shape and byte range, then the raw little-endian data. Python's
 * `safetensors.numpy.load_file` reads what this writes.
 */

/** Tensor dtypes this project stores (F16 and I8 only for compact embedding matrices, see storage.ts). */
export type DType = "F32" | "F16" | "I32" | "I8" | "U16" | "U8";

/** One tensor to store or as read. */
export interface Tensor {
  dtype: DType;
  shape: number[];
  /** F16 tensors hold their raw IEEE half-precision bits. */
  data: Float32Array | Uint16Array | Int32Array | Int8Array | Uint8Array;  // Uint16Array: F16 bits or U16
}

const BYTES: Record<DType, number> = { F32: 4, F16: 2, I32: 4, I8: 1, U16: 2, U8: 1 };

/**
 * Serialise tensors and string metadata. Returns the chunks to write in order
 * (header, then each tensor's bytes), so a large file is never copied whole.
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string>): Uint8Array[] {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== expected) throw new Error(`tensor ${name}: shape [${t.shape}] needs ${expected} values, has ${t.data.length}`);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned.
  json += " ".repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const jsonBytes = new TextEncoder().encode(json);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  return [prefix, jsonBytes, ...chunks];
}

const VIEWS: Record<DType, (b: ArrayBufferLike, o: number, n: number) => Tensor["data"]> = {
  F32: (b, o, n) => new Float32Array(b, o, n), F16: (b, o, n) => new Uint16Array(b, o, n),
  I32: (b, o, n) => new Int32Array(b, o, n), I8: (b, o, n) => new Int8Array(b, o, n), U16: (b, o, n) => new Uint16Array(b, o, n),
  U8: (b, o, n) => new Uint8Array(b, o, n),
};

/** Parsed safetensors file: tensors (views or aligned copies) and metadata. */
export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** Parse a safetensors file held in memory; `file` names it in errors. */
export function decodeSafetensors(buf: Uint8Array, file: string): SafetensorsFile {
  const bad = (why: string): LstmNerError => new LstmNerError(`not a valid model file (${why})`, { file });
  if (buf.length < 8) throw bad("file is shorter than its 8-byte header length");
  const headerLen = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
  if (headerLen <= 1 || 8 + headerLen > buf.length) throw bad(`header length ${headerLen} does not fit in a ${buf.length}-byte file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(8, 8 + headerLen)));
  } catch {
    throw bad("header is not JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw bad("header is not a JSON object");
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null) throw bad("__metadata__ is not an object");
      metadata = value as Record<string, string>;
      continue;
    }
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = v.dtype;
    if (typeof dtype !== "string" || !Object.hasOwn(BYTES, dtype)) throw bad(`tensor ${name}: unsupported dtype ${String(dtype)}`);
    if (!Array.isArray(v.shape) || !v.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`tensor ${name}: bad shape`);
    const offs = v.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o))) throw bad(`tensor ${name}: bad data_offsets`);
    const [begin, end] = offs as [number, number];
    const size = BYTES[dtype as DType];
    const shape = v.shape as number[];
    const count = shape.reduce((a, b) => a * b, 1);
    if (begin < 0 || end < begin || end > dataLen) throw bad(`tensor ${name}: data [${begin}, ${end}) lies outside the ${dataLen} data bytes (truncated file?)`);
    if (end - begin !== count * size) throw bad(`tensor ${name}: ${end - begin} bytes for shape [${shape}] of ${String(dtype)}`);
    const abs = buf.byteOffset + dataStart + begin;
    // Typed views need aligned offsets; copy when the source is not aligned.
    // (A copy through the constructor: a Node Buffer's slice() would be a view into its shared pool.)
    const src = abs % size === 0 ? buf.buffer : new Uint8Array(buf.subarray(dataStart + begin, dataStart + end)).buffer;
    const off = abs % size === 0 ? abs : 0;
    tensors.set(name, { dtype: dtype as DType, shape, data: VIEWS[dtype as DType](src, off, count) });
  }
  return { tensors, metadata };
}
