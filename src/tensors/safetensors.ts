import { LstmNerError } from "../util/errors.js";
import { crc32c, crcHex } from "../util/crc32c.js";

/**
 * The safetensors container (https://huggingface.co/docs/safetensors): an
 * 8-byte little-endian header length, a JSON header naming each tensor's
 * dtype, shape and byte range, then the raw little-endian data. Python's
 * `safetensors.numpy.load_file` reads what this writes.
 *
 * Integrity: files written here carry CRC-32C checksums in two metadata
 * fields, `crc32c_tensors` (JSON: tensor name → 8 hex digits of its bytes)
 * and `crc32c_header` (the 8-byte length and the JSON header, with this
 * field's own value read as "00000000"). Reading verifies them when present
 * (files written before they existed have none), so a flipped bit anywhere
 * that matters is refused, naming the tensor.
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

/** Metadata fields holding the checksums (see the module comment). */
const CRC_HEADER = "crc32c_header";
const CRC_TENSORS = "crc32c_tensors";
/** How the header checksum's own value appears in the header JSON. */
const CRC_HEADER_KEY = new TextEncoder().encode(`"${CRC_HEADER}":"`);

/**
 * Serialise tensors and string metadata. Returns the chunks to write in order
 * (header, then each tensor's bytes), so a large file is never copied whole.
 * `checksum: false` leaves out the CRC-32C fields (only to make files as
 * older versions wrote them).
 */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string>, options: { checksum?: boolean } = {}): Uint8Array[] {
  const checksum = options.checksum ?? true;
  const meta: Record<string, string> = { ...metadata };
  delete meta[CRC_HEADER];
  delete meta[CRC_TENSORS];
  const header: Record<string, unknown> = { __metadata__: meta };
  const chunks: Uint8Array[] = [];
  const crcs: Record<string, string> = {};
  let offset = 0;
  // Wider types first: with the data 8-byte aligned, every tensor then starts at a multiple of its
  // element size, so loading views the file's bytes instead of copying each tensor that follows an
  // odd-length one (a model's 130 MB word table came after its vocabulary's UTF-8 bytes and was copied).
  const ordered = Object.entries(tensors).sort(([, a], [, b]) => BYTES[b.dtype] - BYTES[a.dtype]);
  for (const [name, t] of ordered) {
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== expected) throw new Error(`tensor ${name}: shape [${t.shape}] needs ${expected} values, has ${t.data.length}`);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    if (checksum) crcs[name] = crcHex(crc32c(bytes));
    chunks.push(bytes);
    offset += bytes.length;
  }
  if (checksum) {
    meta[CRC_TENSORS] = JSON.stringify(crcs);
    meta[CRC_HEADER] = "00000000";
  }
  const enc = new TextEncoder();
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned.
  json += " ".repeat((8 - ((8 + enc.encode(json).length) % 8)) % 8);
  const jsonBytes = enc.encode(json);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(jsonBytes.length), true);
  if (checksum) {
    const at = headerCrcAt(jsonBytes);
    jsonBytes.set(enc.encode(crcHex(crc32c(jsonBytes, crc32c(prefix)))), at);
  }
  return [prefix, jsonBytes, ...chunks];
}

const VIEWS: Record<DType, (b: ArrayBufferLike, o: number, n: number) => Tensor["data"]> = {
  F32: (b, o, n) => new Float32Array(b, o, n), F16: (b, o, n) => new Uint16Array(b, o, n),
  I32: (b, o, n) => new Int32Array(b, o, n), I8: (b, o, n) => new Int8Array(b, o, n), U16: (b, o, n) => new Uint16Array(b, o, n),
  U8: (b, o, n) => new Uint8Array(b, o, n),
};

/** Offset of the header checksum's 8 hex digits in the header JSON, or −1. */
function headerCrcAt(json: Uint8Array): number {
  const key = CRC_HEADER_KEY;
  outer: for (let i = 0; i + key.length + 8 < json.length; i++) {
    for (let k = 0; k < key.length; k++) if (json[i + k] !== key[k]) continue outer;
    return i + key.length;
  }
  return -1;
}

/** Parsed safetensors file: tensors (views or aligned copies) and metadata. */
export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
  /** The file carried checksums and they matched (false: an older file without them). */
  checked: boolean;
}

/** The JSON header's length in bytes, from the first 8 bytes of a file (little-endian). */
export function headerLength(head: Uint8Array): number {
  return Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true));
}

/** The JSON header (the bytes after the length) as an object: tensor name → entry, and `__metadata__`. */
export function parseHeader(json: Uint8Array, bad: (why: string) => Error): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json));
  } catch {
    throw bad("header is not JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw bad("header is not a JSON object");
  return header as Record<string, unknown>;
}

/**
 * Parse a safetensors file held in memory; `file` names it in errors, `what` says what it is ("model file",
 * "checkpoint").
 */
export function decodeSafetensors(buf: Uint8Array, file: string, what = "model file"): SafetensorsFile {
  const bad = (why: string): LstmNerError => new LstmNerError(`not a valid ${what} (${why})`, { file });
  if (buf.length < 8) throw bad("file is shorter than its 8-byte header length");
  const headerLen = headerLength(buf);
  if (headerLen <= 1 || 8 + headerLen > buf.length) {
    // A gzipped copy is the likely mistake (models are often shipped as .gz); say so rather than quote a huge length.
    if (buf[0] === 0x1f && buf[1] === 0x8b) throw bad("it is gzip-compressed: gunzip it first");
    throw bad(`header length ${headerLen} does not fit in a ${buf.length}-byte file`);
  }
  const header = parseHeader(buf.subarray(8, 8 + headerLen), bad);
  const meta = header.__metadata__;
  const stored = typeof meta === "object" && meta !== null ? meta as Record<string, unknown> : {};
  const checked = stored[CRC_HEADER] !== undefined || stored[CRC_TENSORS] !== undefined;
  let tensorCrcs: Record<string, unknown> = {};
  if (checked) {
    const damaged = (why: string): LstmNerError => new LstmNerError(`damaged ${what}: ${why}`, { file });
    const json = buf.subarray(8, 8 + headerLen);
    const at = headerCrcAt(json);
    const want = stored[CRC_HEADER];
    if (typeof want !== "string" || !/^[0-9a-f]{8}$/.test(want) || at < 0) throw damaged(`metadata field ${CRC_HEADER} is missing or not 8 hex digits`);
    const zeroed = json.slice();
    zeroed.fill(0x30, at, at + 8); // "0" × 8, as when the checksum was computed
    const got = crcHex(crc32c(zeroed, crc32c(buf.subarray(0, 8))));
    if (got !== want) throw damaged(`the header fails its CRC-32C check (stored ${want}, computed ${got})`);
    try {
      tensorCrcs = JSON.parse(String(stored[CRC_TENSORS])) as Record<string, unknown>;
    } catch {
      throw damaged(`metadata field ${CRC_TENSORS} is not JSON`);
    }
    if (typeof tensorCrcs !== "object" || tensorCrcs === null || Array.isArray(tensorCrcs)) throw damaged(`metadata field ${CRC_TENSORS} is not a JSON object`);
    for (const name of Object.keys(tensorCrcs)) if (!Object.hasOwn(header, name) || name === "__metadata__") throw damaged(`tensor ${name} has a checksum but is missing`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null) throw bad("__metadata__ is not an object");
      for (const [k, v] of Object.entries(value)) if (typeof v !== "string") throw bad(`__metadata__.${k} is not a string`);
      metadata = { ...value as Record<string, string> };
      delete metadata[CRC_HEADER];
      delete metadata[CRC_TENSORS];
      continue;
    }
    if (typeof value !== "object" || value === null) throw bad(`tensor ${name}: entry is not an object`);
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = v.dtype;
    // A flipped bit in "__metadata__" turns it into an entry that is no tensor at all.
    if (dtype === undefined && v.data_offsets === undefined) throw bad(`header entry ${JSON.stringify(name)} is neither a tensor nor __metadata__ (a damaged header?)`);
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
    if (checked) {
      const want = tensorCrcs[name];
      if (typeof want !== "string") throw new LstmNerError(`damaged ${what}: tensor ${name} has no checksum`, { file });
      const got = crcHex(crc32c(buf.subarray(dataStart + begin, dataStart + end)));
      if (got !== want) throw new LstmNerError(`damaged ${what}: tensor ${name} fails its CRC-32C check (stored ${want}, computed ${got})`, { file });
    }
    const abs = buf.byteOffset + dataStart + begin;
    // Typed views need aligned offsets; copy when the source is not aligned.
    // (A copy through the constructor: a Node Buffer's slice() would be a view into its shared pool.)
    const src = abs % size === 0 ? buf.buffer : new Uint8Array(buf.subarray(dataStart + begin, dataStart + end)).buffer;
    const off = abs % size === 0 ? abs : 0;
    tensors.set(name, { dtype: dtype as DType, shape, data: VIEWS[dtype as DType](src, off, count) });
  }
  return { tensors, metadata, checked };
}
