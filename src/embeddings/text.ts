import { LstmNerError } from "../util/errors.js";
import { VectorBuilder, decodeWord } from "./builder.js";
import { numberEnd, parseNumber } from "./float.js";
import type { Vectors } from "./types.js";

const NL = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;

/** `count dim` as the first line of a word2vec file, or undefined. */
export function parseHeaderLine(buf: Uint8Array, start: number, end: number): { count: number; dim: number } | undefined {
  const m = /^\s*(\d+)[ \t]+(\d+)\s*$/.exec(new TextDecoder().decode(buf.subarray(start, end)));
  if (m === null) return undefined;
  return { count: Number(m[1]), dim: Number(m[2]) };
}

/** Trust a header's row count for preallocation only up to 512 MB; growth covers the rest. */
export function preallocRows(count: number, dim: number): number {
  return Math.max(1, Math.min(count, Math.floor((1 << 27) / dim)));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * Streaming parser for GloVe text (`word v1 .. vd`) and word2vec text (the
 * same rows under a `count dim` header). Feed it chunks in order with
 * {@link push}, then call {@link finish}. Only a partial last line is held
 * between chunks, never the whole text.
 */
export class TextVectorParser {
  /** Lines consumed so far (1-based number of the last complete line). */
  lineNo = 0;
  private readonly file: string;
  private readonly allowHeader: boolean;
  private header: { count: number; dim: number } | undefined;
  private builder: VectorBuilder | undefined;
  private dim = -1;
  private rowsInFile = 0;
  /** Line of the first row, which sets the width when there is no header. */
  private firstRowLine = 0;
  private carry: Uint8Array | undefined;

  /** `allowHeader`: treat a first line of two integers as a word2vec header. */
  constructor(file: string, allowHeader: boolean) {
    this.file = file;
    this.allowHeader = allowHeader;
  }

  push(chunk: Uint8Array): void {
    let start = 0;
    const len = chunk.length;
    if (this.carry !== undefined) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) {
        this.carry = concat(this.carry, chunk);
        return;
      }
      const joined = concat(this.carry, chunk.subarray(0, nl));
      this.carry = undefined;
      this.line(joined, 0, joined.length);
      start = nl + 1;
    }
    while (start < len) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) {
        this.carry = chunk.slice(start);
        if (this.carry.buffer === chunk.buffer) this.carry = new Uint8Array(this.carry); // Buffer#slice is a view
        return;
      }
      this.line(chunk, start, nl);
      start = nl + 1;
    }
  }

  /** Parse the last line (if unterminated) and check the totals. */
  finish(): Vectors {
    if (this.carry !== undefined) {
      const last = this.carry;
      this.carry = undefined;
      this.line(last, 0, last.length);
    }
    const h = this.header;
    if (h !== undefined && this.rowsInFile !== h.count) {
      throw new LstmNerError(`word2vec header says ${h.count} rows of ${h.dim} values, but the file has ${this.rowsInFile} rows`, { file: this.file, line: 1 });
    }
    if (this.builder === undefined || this.builder.rows === 0) {
      throw new LstmNerError("empty file: no word vectors found", { file: this.file });
    }
    return this.builder.finish();
  }

  private line(buf: Uint8Array, s: number, e: number): void {
    this.lineNo++;
    while (e > s && (buf[e - 1] === CR || buf[e - 1] === SPACE || buf[e - 1] === TAB)) e--;
    if (e === s) return;
    if (this.lineNo === 1 && this.allowHeader) {
      const h = parseHeaderLine(buf, s, e);
      if (h !== undefined) {
        if (h.dim === 0) throw new LstmNerError("word2vec header gives dimension 0", { file: this.file, line: 1 });
        this.header = h;
        this.dim = h.dim;
        this.builder = new VectorBuilder(h.dim, preallocRows(h.count, h.dim));
        return;
      }
    }
    let w = s;
    while (w < e && buf[w] !== SPACE && buf[w] !== TAB) w++;
    if (this.builder === undefined) this.startFromFirstRow(buf, w, e);
    const b = this.builder!;
    const dim = this.dim;
    const off = b.rowOffset();
    const data = b.data;
    let k = 0;
    let i = w;
    for (;;) {
      while (i < e && (buf[i] === SPACE || buf[i] === TAB)) i++;
      if (i >= e) break;
      const v = parseNumber(buf, i, e);
      const j = numberEnd;
      if (j === i || (j < e && buf[j] !== SPACE && buf[j] !== TAB)) this.badNumber(buf, i, e, "is not a number");
      // Stored as float32: 1e40 is a finite double but would become Infinity (and NaN gradients later).
      const f = Math.fround(v);
      if (f - f !== 0) this.badNumber(buf, i, e, v - v !== 0 ? "is not a finite number" : "is too large for float32 (it would become Infinity)");
      if (k < dim) data[off + k] = f;
      k++;
      i = j;
    }
    if (k !== dim) {
      // Say where the width came from: when line 1 is the short one, "line 2: expected 9" alone misleads.
      const from = this.header !== undefined ? "as the word2vec header says" : `as on line ${this.firstRowLine}`;
      throw new LstmNerError(`expected ${dim} values (${from}), found ${k}`, { file: this.file, line: this.lineNo });
    }
    this.rowsInFile++;
    const word = decodeWord(buf, s, w);
    if (word === undefined) throw new LstmNerError("the word is not valid UTF-8", { file: this.file, line: this.lineNo });
    b.commit(word);
  }

  /** GloVe has no header: the first row fixes the dimension. */
  private startFromFirstRow(buf: Uint8Array, i: number, e: number): void {
    let k = 0;
    for (;;) {
      while (i < e && (buf[i] === SPACE || buf[i] === TAB)) i++;
      if (i >= e) break;
      k++;
      while (i < e && buf[i] !== SPACE && buf[i] !== TAB) i++;
    }
    if (k === 0) throw new LstmNerError("expected a word followed by its vector values, found no values", { file: this.file, line: this.lineNo });
    this.dim = k;
    this.firstRowLine = this.lineNo;
    this.builder = new VectorBuilder(k, 65536);
  }

  private badNumber(buf: Uint8Array, i: number, e: number, why: string): never {
    let j = i;
    while (j < e && buf[j] !== SPACE && buf[j] !== TAB) j++;
    const token = new TextDecoder().decode(buf.subarray(i, j));
    throw new LstmNerError(`value ${JSON.stringify(token)} ${why}`, { file: this.file, line: this.lineNo });
  }
}
