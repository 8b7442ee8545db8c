import { LstmNerError } from "../util/errors.js";
import { VectorBuilder, decodeWord } from "./builder.js";
import { parseHeaderLine, preallocRows } from "./text.js";
import type { Vectors } from "./types.js";

const NL = 10;
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Streaming parser for the word2vec binary format: a `count dim` text line,
 * then per row the word, a space, `dim` little-endian float32 values and
 * (usually) a newline. Only a partial row is carried between chunks.
 */
export class BinaryVectorParser {
  private readonly file: string;
  private header: { count: number; dim: number } | undefined;
  private builder: VectorBuilder | undefined;
  private rowsInFile = 0;
  private pending: Uint8Array = new Uint8Array(0);

  constructor(file: string) {
    this.file = file;
  }

  push(chunk: Uint8Array): void {
    let buf: Uint8Array;
    if (this.pending.length === 0) buf = chunk;
    else {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending, 0);
      buf.set(chunk, this.pending.length);
    }
    const used = this.consume(buf);
    this.pending = used === buf.length ? new Uint8Array(0) : new Uint8Array(buf.subarray(used));
  }

  finish(): Vectors {
    const h = this.header;
    if (h === undefined) {
      if (this.pending.length === 0) throw new LstmNerError("empty file: no word vectors found", { file: this.file });
      throw new LstmNerError("word2vec binary file has no `count dim` header line", { file: this.file, line: 1 });
    }
    if (this.rowsInFile < h.count) {
      throw new LstmNerError(`truncated word2vec binary file: header says ${h.count} rows, found ${this.rowsInFile} complete rows`, { file: this.file });
    }
    if (this.builder === undefined || this.builder.rows === 0) throw new LstmNerError("empty file: no word vectors found", { file: this.file });
    return this.builder.finish();
  }

  /** Parse as much of `buf` as forms whole records; returns the bytes used. */
  private consume(buf: Uint8Array): number {
    let pos = 0;
    if (this.header === undefined) {
      const nl = buf.indexOf(NL);
      if (nl < 0) {
        if (buf.length > 4096) throw new LstmNerError("word2vec binary file has no `count dim` header line", { file: this.file, line: 1 });
        return 0;
      }
      const h = parseHeaderLine(buf, 0, nl);
      if (h === undefined || h.dim === 0) throw new LstmNerError("word2vec binary file must start with a `count dim` header line", { file: this.file, line: 1 });
      this.header = h;
      this.builder = new VectorBuilder(h.dim, preallocRows(h.count, h.dim));
      pos = nl + 1;
    }
    const { count, dim } = this.header;
    const b = this.builder!;
    const rowBytes = dim * 4;
    const len = buf.length;
    while (pos < len) {
      // Separators between records: the newline word2vec writes, or stray whitespace.
      while (pos < len && (buf[pos] === NL || buf[pos] === 13 || buf[pos] === 32)) pos++;
      if (pos >= len) break;
      if (this.rowsInFile === count) {
        throw new LstmNerError(`word2vec header says ${count} rows, but the file has more data after them`, { file: this.file, line: 1 });
      }
      const sp = buf.indexOf(32, pos);
      if (sp < 0 || sp + 1 + rowBytes > len) {
        if (sp < 0 && len - pos > 4096) throw new LstmNerError(`row ${this.rowsInFile + 1}: no space after the word within 4096 bytes`, { file: this.file });
        break;
      }
      const off = b.rowOffset();
      readFloats(buf, sp + 1, b.data, off, dim);
      this.rowsInFile++;
      const word = decodeWord(buf, pos, sp);
      if (word === undefined) throw new LstmNerError(`row ${this.rowsInFile}: the word is not valid UTF-8`, { file: this.file });
      const bad = firstNonFinite(b.data, off, dim);
      if (bad >= 0) {
        throw new LstmNerError(`row ${this.rowsInFile} (word ${JSON.stringify(word)}): value ${bad + 1} is ${b.data[off + bad]}, not a finite number`, { file: this.file });
      }
      b.commit(word);
      pos = sp + 1 + rowBytes;
    }
    return pos;
  }
}

/** Index of the first NaN or ±Infinity in `data[off..off+n)`, or -1. */
export function firstNonFinite(data: Float32Array, off: number, n: number): number {
  for (let k = 0; k < n; k++) {
    const v = data[off + k]!;
    if (v - v !== 0) return k;
  }
  return -1;
}

function readFloats(src: Uint8Array, at: number, dst: Float32Array, off: number, n: number): void {
  if (HOST_LITTLE_ENDIAN) {
    new Uint8Array(dst.buffer, dst.byteOffset + off * 4, n * 4).set(src.subarray(at, at + n * 4));
    return;
  }
  const view = new DataView(src.buffer, src.byteOffset);
  for (let k = 0; k < n; k++) dst[off + k] = view.getFloat32(at + 4 * k, true);
}
