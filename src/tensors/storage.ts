/**
 * How an embedding table is stored in a safetensors file: the row-major
 * matrix as float32, float16 or int8 with one float32 scale per row, its
 * vocabulary, and the key → row table of a pruned vocabulary (words whose
 * own rows were dropped, each pointing at its nearest kept row). Loading
 * converts once to float32, so the kernels only ever see float32.
 *
 * Used by model files (`embedding.*`, `vocab.*`) and by pruned vector files
 * alike; no Node imports, so the browser bundle uses it as it is.
 */
import { quantizeRowsInt8 } from "./int8-rows.js";
import { LstmNerError } from "../util/errors.js";
import { KeyTable } from "./key-table.js";
import type { Tensor } from "./safetensors.js";

/** Storage types of an embedding matrix. */
export const STORAGE_DTYPES = ["f32", "f16", "i8"] as const;
export type StorageDType = (typeof STORAGE_DTYPES)[number];

/**
 * Words that have no row of their own, each read as row `rows[i]` (a pruned vocabulary's dropped words). Read
 * from a file, this is a {@link KeyTable}, which looks words up without making their strings.
 */
export interface Aliases {
  readonly keys: string[];
  readonly rows: Int32Array;
}

/** Number of aliases, without making a file's keys into strings. */
export function aliasCount(a: Aliases | undefined): number {
  return a === undefined ? 0 : a instanceof KeyTable ? a.size : a.keys.length;
}

/** Largest finite float16 value. */
const F16_MAX = 65504;

/** Check a user-given storage type; the error names the option. */
export function parseStorageDType(value: string, option = "--dtype"): StorageDType {
  const v = value.toLowerCase();
  if (!(STORAGE_DTYPES as readonly string[]).includes(v)) {
    throw new LstmNerError(`${option} must be one of ${STORAGE_DTYPES.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return v as StorageDType;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits of `x`, rounded to nearest even. */
export function toHalf(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf, NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000; // subnormal: shift the implicit bit in
    const shift = 14 - e;
    let h = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // may carry into the exponent, which is right
  return sign | h;
}

let HALF_TABLE: Float32Array | null = null;

/** float32 value of half-precision bits (a 64K-entry table, built on first use). */
function halfTable(): Float32Array {
  if (HALF_TABLE) return HALF_TABLE;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 0x1f ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return (HALF_TABLE = t);
}

/** float32 value of half-precision bits. */
export function fromHalf(h: number): number {
  return halfTable()[h & 0xffff]!;
}

/**
 * The tensors storing a rows × cols float32 matrix as `<prefix>.weight`
 * (F32, F16 or I8) and, for I8, `<prefix>.scale` (F32, one per row:
 * value = int8 · scale, with scale = max |row| / 127).
 *
 * @throws LstmNerError when a value is not finite or does not fit the type (F16 holds at most ±65504).
 */
export function encodeMatrix(prefix: string, data: Float32Array, rows: number, cols: number, dtype: StorageDType): Record<string, Tensor> {
  const shape = [rows, cols];
  if (dtype === "f32") return { [`${prefix}.weight`]: { dtype: "F32", shape, data } };
  let max = 0;
  let finite = true;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]!);
    if (a > max) max = a;
    else if (!(a <= max)) finite = false; // NaN
  }
  if (!finite || !Number.isFinite(max)) throw new LstmNerError(`${prefix}: the matrix holds a value that is not finite, which ${dtype} cannot store`);
  if (dtype === "f16") {
    if (max > F16_MAX) throw new LstmNerError(`${prefix}: values up to ${max} do not fit in f16 (largest ${F16_MAX}); use f32 or i8`);
    const h = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) h[i] = toHalf(data[i]!);
    return { [`${prefix}.weight`]: { dtype: "F16", shape, data: h } };
  }
  const { q, scale } = quantizeRowsInt8(data, rows, cols);
  return {
    [`${prefix}.weight`]: { dtype: "I8", shape, data: q },
    [`${prefix}.scale`]: { dtype: "F32", shape: [rows], data: scale },
  };
}

/** Storage type of a stored matrix (for reports). */
export function storedDType(tensors: ReadonlyMap<string, Tensor>, prefix: string): StorageDType | undefined {
  const t = tensors.get(`${prefix}.weight`);
  return t ? ({ F32: "f32", F16: "f16", I8: "i8" } as Partial<Record<string, StorageDType>>)[t.dtype] : undefined;
}

/**
 * Read back a matrix written by {@link encodeMatrix} as float32 (a view for
 * F32, a converted copy otherwise). `bad` builds the error for a problem.
 */
export function decodeMatrix(tensors: ReadonlyMap<string, Tensor>, prefix: string, bad: (why: string) => LstmNerError): { data: Float32Array; shape: number[] } {
  const t = tensors.get(`${prefix}.weight`);
  if (!t) throw bad(`tensor ${prefix}.weight is missing`);
  if (t.shape.length !== 2) throw bad(`${prefix}.weight has shape [${t.shape}], expected 2 dimensions`);
  const [rows, cols] = t.shape as [number, number];
  if (t.dtype === "F32") return { data: t.data as Float32Array, shape: t.shape };
  const out = new Float32Array(rows * cols);
  if (t.dtype === "F16") {
    const table = halfTable();
    const h = t.data as Uint16Array;
    for (let i = 0; i < h.length; i++) out[i] = table[h[i]!]!;
    return { data: out, shape: t.shape };
  }
  if (t.dtype === "I8") {
    const s = tensors.get(`${prefix}.scale`);
    if (!s || s.dtype !== "F32" || s.shape.length !== 1 || s.shape[0] !== rows) {
      throw bad(`an I8 ${prefix}.weight needs ${prefix}.scale, F32 of shape [${rows}]`);
    }
    const q = t.data as Int8Array;
    const scale = s.data as Float32Array;
    for (let r = 0; r < rows; r++) {
      const sc = scale[r]!;
      for (let k = r * cols, end = k + cols; k < end; k++) out[k] = q[k]! * sc;
    }
    return { data: out, shape: t.shape };
  }
  throw bad(`${prefix}.weight is ${t.dtype}; F32, F16 or I8 expected`);
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * The tensors of a word list (`<prefix>.words`) and, when given, its aliases (`<prefix>.keys`, `<prefix>.key_rows`).
 */
export function encodeWords(prefix: string, words: readonly string[], aliases?: Aliases): Record<string, Tensor> {
  const w = utf8(words.join("\n"));
  const out: Record<string, Tensor> = { [`${prefix}.words`]: { dtype: "U8", shape: [w.length], data: w } };
  if (aliases && aliasCount(aliases) > 0) {
    const k = aliases instanceof KeyTable ? aliases.keyBytes : utf8(aliases.keys.join("\n"));
    out[`${prefix}.keys`] = { dtype: "U8", shape: [k.length], data: k };
    // Rows fit in 16 bits for any pruned table below 65536 rows: half the bytes.
    const small = aliases.rows.every((r) => r < 65536);
    out[`${prefix}.key_rows`] = small
      ? { dtype: "U16", shape: [aliases.rows.length], data: Uint16Array.from(aliases.rows) }
      : { dtype: "I32", shape: [aliases.rows.length], data: aliases.rows };
  }
  return out;
}

function splitLines(t: Tensor | undefined): string[] | undefined {
  if (!t || t.dtype !== "U8") return undefined;
  const text = new TextDecoder().decode(t.data as Uint8Array);
  return text.length === 0 ? [] : text.split("\n");
}

/**
 * Read a word list and its aliases written by {@link encodeWords}; every
 * alias row must be below `rows` (the matrix's rows).
 */
export function decodeWords(tensors: ReadonlyMap<string, Tensor>, prefix: string, rows: number, bad: (why: string) => LstmNerError): { words: string[]; aliases?: Aliases } {
  const words = splitLines(tensors.get(`${prefix}.words`));
  if (!words) throw bad(`tensor ${prefix}.words is missing`);
  const keysT = tensors.get(`${prefix}.keys`);
  const rowsT = tensors.get(`${prefix}.key_rows`);
  if (!keysT && !rowsT) return { words };
  if (!keysT || keysT.dtype !== "U8" || !rowsT || (rowsT.dtype !== "I32" && rowsT.dtype !== "U16")) {
    throw bad(`${prefix}.keys (U8) and ${prefix}.key_rows (I32 or U16) must come together`);
  }
  const r = rowsT.dtype === "I32" ? rowsT.data as Int32Array : Int32Array.from(rowsT.data as Uint16Array);
  for (let i = 0; i < r.length; i++) {
    if (r[i]! < 0 || r[i]! >= rows) throw bad(`${prefix}.key_rows[${i}] = ${r[i]} is not a row of the ${rows}-row matrix`);
  }
  const keys = new KeyTable(keysT.data as Uint8Array, r);
  if (r.length !== keys.size) throw bad(`${prefix}.key_rows has ${r.length} entries for ${keys.size} keys`);
  return { words, aliases: keys };
}

/** A parameter tensor stored as F32, or as F16 when `dtype` is "f16" (other types are for the embedding only). */
export function encodeParam(shape: number[], data: Float32Array, dtype: "f32" | "f16", name: string): Tensor {
  if (dtype === "f32") return { dtype: "F32", shape, data };
  return { dtype: "F16", shape, data: encodeMatrix(name, data, 1, data.length, "f16")[`${name}.weight`]!.data };
}

/** A parameter tensor as float32 (F16 converted), or undefined for another dtype. */
export function decodeParam(t: Tensor): Float32Array | undefined {
  if (t.dtype === "F32") return t.data as Float32Array;
  if (t.dtype !== "F16") return undefined;
  const table = halfTable();
  const h = t.data as Uint16Array;
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) out[i] = table[h[i]!]!;
  return out;
}
