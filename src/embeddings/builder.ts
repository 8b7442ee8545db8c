import type { Vectors } from "./types.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decode a word from bytes, strictly: undefined when they are not valid
 * UTF-8 (the caller names the file and line). ASCII (nearly every GloVe
 * word) skips the TextDecoder call.
 */
export function decodeWord(buf: Uint8Array, start: number, end: number): string | undefined {
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (buf[i]! >= 0x80) { ascii = false; break; }
  }
  if (!ascii || end - start > 64) {
    try {
      return utf8.decode(buf.subarray(start, end));
    } catch {
      return undefined;
    }
  }
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

/**
 * Accumulates rows into a geometrically grown Float32Array. Callers write a
 * row in place at {@link rowOffset} and then {@link commit} it; a duplicate
 * word is dropped at commit (the first occurrence wins).
 */
export class VectorBuilder {
  readonly dim: number;
  data: Float32Array;
  readonly words: string[] = [];
  private readonly seen = new Set<string>();

  constructor(dim: number, expectedRows = 1024) {
    this.dim = dim;
    this.data = new Float32Array(Math.max(1, expectedRows) * dim);
  }

  /** Number of rows kept so far. */
  get rows(): number {
    return this.words.length;
  }

  /** Offset in {@link data} where the next row must be written; grows the buffer if needed. */
  rowOffset(): number {
    const off = this.words.length * this.dim;
    if (off + this.dim > this.data.length) {
      const grown = new Float32Array(Math.max(this.data.length * 2, off + this.dim));
      grown.set(this.data);
      this.data = grown;
    }
    return off;
  }

  /** Keep the row just written for `word`, unless the word was seen before. Returns whether it was kept. */
  commit(word: string): boolean {
    if (this.seen.has(word)) return false;
    this.seen.add(word);
    this.words.push(word);
    return true;
  }

  /** The finished table, trimmed to its rows. */
  finish(): Vectors {
    const n = this.words.length * this.dim;
    const data = this.data.length === n ? this.data : this.data.slice(0, n);
    return { words: this.words, dim: this.dim, data };
  }
}
