import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import { KernelBuffer, exactly, freeParam, kernelParam, kernelBuffers } from "./buffer.js";

/**
 * The characters of W words: row w of `ids` (W×maxChars, row-major) holds the
 * char ids of word w in its first `lengths[w]` entries; the rest is ignored.
 * A word of length 0 (a pad position) gets a zero feature vector.
 */
export interface CharIds {
  ids: Int32Array;
  lengths: Int32Array;
  maxChars: number;
}

/**
 * Where {@link CharCnn.forward} writes the features when tagging: word w's at
 * `dst[w·stride + col …]`; with `rows`, word w is word rows[w] of the `chars` given.
 */
export interface CharCnnInto {
  dst: Float32Array;
  stride: number;
  col: number;
  rows?: Int32Array;
}

/** Options of {@link CharCnn}; defaults are Ma & Hovy's. */
export interface CharCnnOptions {
  /** Character embedding size (default 30). */
  dim?: number;
  /** Convolution filters = output features per word (default 30). */
  filters?: number;
  /** Convolution window in characters, odd (default 3). */
  window?: number;
}

// A layer's reusable buffers: im2col rows, conv output, pooled features and their gradients.
const CHAR_BUFFERS = ["x", "y", "out", "dy", "dx"] as const;
/** Character rows per im2col chunk when tagging (at batch 256 the whole batch's were ~16 MB). */
const INFER_CHUNK_CHARS = 4096;

/**
 * Character-level word features (Ma & Hovy 2016): trainable character
 * embeddings → 1-D convolution over each word's characters (window w, zero
 * padding of ⌊w/2⌋ on each side, so every character is a window centre) →
 * max over the word's characters. No non-linearity, as in the paper.
 *
 *   X[p] = [e(c_{p−⌊w/2⌋}) | … | e(c_{p+⌊w/2⌋})]   (zeros outside the word)
 *   Y = X·W + b;   out[word, f] = max_{p ∈ word} Y[p, f]
 *
 * Only real characters become rows of X (no padding to the longest word), so
 * the whole batch is one GEMM and a word's features do not depend on the
 * batch it is in. Parameters: `${name}.emb` (vocab×dim), `${name}.conv.w`
 * (window·dim × filters, rows ordered offset-major), `${name}.conv.b`.
 */
export class CharCnn {
  readonly emb: Param;
  readonly w: Param;
  readonly b: Param;
  readonly dim: number;
  readonly filters: number;
  readonly window: number;
  private readonly buf: Record<(typeof CHAR_BUFFERS)[number], KernelBuffer>;
  /** Char id feeding (row, offset) of X, or −1 for zero padding. */
  private source = new Int32Array(0);
  /** Row of Y that won the max for (word, filter), or −1 for an empty word. */
  private argmax = new Int32Array(0);
  private rows = 0;
  private words = 0;
  /** The words {@link forward} reads when given `into.rows`, gathered. */
  private wordLengths = new Int32Array(0);
  private wordIds = new Int32Array(0);
  private ready = false;

  constructor(private readonly k: Kernels, readonly vocabSize: number, rng: Rng, name = "char", options: CharCnnOptions = {}) {
    this.dim = options.dim ?? 30;
    this.filters = options.filters ?? 30;
    this.window = options.window ?? 3;
    for (const [v, what] of [[vocabSize, "vocabSize"], [this.dim, "dim"], [this.filters, "filters"], [this.window, "window"]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new LstmNerError(`char CNN: ${what} must be a positive integer, got ${v}`);
    }
    if (this.window % 2 !== 1) throw new LstmNerError(`char CNN: window must be odd, got ${this.window}`);
    const { dim, filters, window } = this;
    this.emb = kernelParam(k, `${name}.emb`, [vocabSize, dim]);
    this.w = kernelParam(k, `${name}.conv.w`, [window * dim, filters]);
    this.b = kernelParam(k, `${name}.conv.b`, [filters]);
    const e = Math.sqrt(3 / dim); // Ma & Hovy's U(−√(3/dim), √(3/dim))
    rng.fillUniform(this.emb.value, -e, e);
    const a = 1 / Math.sqrt(window * dim); // PyTorch's Conv1d default
    rng.fillUniform(this.w.value, -a, a);
    rng.fillUniform(this.b.value, -a, a);
    this.buf = kernelBuffers(k, CHAR_BUFFERS);
  }

  /** Trainable parameters: char embeddings, convolution weight and bias. */
  params(): Param[] {
    return [this.emb, this.w, this.b];
  }

  /**
   * Features of the first `words` words of `chars`: words×filters, a view
   * valid until the next forward. `keep` false (tagging) keeps nothing for
   * {@link backward} and works through the words in chunks; with `into` as
   * well, word w's features go to `into.dst[w·stride + col …]` (a column range
   * of a wider matrix, e.g. the tagger's concatenated input) and nothing is
   * returned, so no words×filters buffer is built.
   * @throws LstmNerError for a length outside 0..maxChars or a char id outside the vocabulary.
   */
  forward(chars: CharIds, words: number, keep?: boolean): Float32Array;
  forward(chars: CharIds, words: number, keep: false, into: CharCnnInto): null;
  forward(chars: CharIds, words: number, keep = true, into: CharCnnInto | null = null): Float32Array | null {
    if (keep && into !== null) throw new Error("CharCnn.forward: `into` is for tagging (keep false) only");
    const { k, dim: D, filters: F, window: Wn, vocabSize } = this;
    const M = chars.maxChars;
    if (!Number.isInteger(M) || M < 0) throw new LstmNerError(`chars.maxChars must be a non-negative integer, got ${M}`);
    const wordOf = into?.rows ?? null;
    const { lengths, ids } = wordOf === null
      ? { lengths: exactly(chars.lengths, words, "chars.lengths"), ids: exactly(chars.ids, words * M, "chars.ids") }
      : this.gatherWords(chars, wordOf, words);
    let N = 0;
    for (let w = 0; w < words; w++) {
      const len = lengths[w]!;
      const sw = wordOf === null ? w : wordOf[w]!; // the word's index in `chars`, for the messages
      if (!Number.isInteger(len) || len < 0 || len > M) throw new LstmNerError(`chars.lengths[${sw}] = ${len} is outside 0..${M}`);
      for (let p = 0; p < len; p++) {
        const c = ids[w * M + p]!;
        if (c < 0 || c >= vocabSize) throw new LstmNerError(`chars.ids[${sw * M + p}] = ${c} (word ${sw}, char ${p}) is outside the char vocabulary (0..${vocabSize - 1})`);
      }
      N += len;
    }
    const wD = Wn * D;
    const half = (Wn - 1) >> 1;
    // Which char filled each im2col slot and which row won each max: only backward reads them.
    if (keep && this.source.length < N * Wn) this.source = new Int32Array(Math.max(N * Wn, Math.ceil(this.source.length * 1.5)));
    if (keep && this.argmax.length < words * F) this.argmax = new Int32Array(Math.max(words * F, Math.ceil(this.argmax.length * 1.5)));
    const src = this.source;
    // Training keeps every im2col row for backward; tagging runs the words in chunks of about
    // INFER_CHUNK_CHARS characters (each row's result is the same), so its buffers stay small.
    const cap = keep ? N : Math.min(N, Math.max(INFER_CHUNK_CHARS, M));
    const x = this.buf.x.get(cap * wD);
    const y = this.buf.y.get(cap * F);
    const out = into === null ? this.buf.out.get(words * F) : exactly(into.dst, words * into.stride, "char CNN destination");
    const stride = into === null ? F : into.stride;
    const col = into === null ? 0 : into.col;
    const emb = this.emb.value;
    const arg = this.argmax;
    let r = 0; // global char row
    for (let w0 = 0; w0 < words;) {
      // Words [w0, w1) with rows [r0, r0 + rows): as many whole words as fit in cap.
      let w1 = w0;
      let rows = 0;
      while (w1 < words && rows + lengths[w1]! <= cap) rows += lengths[w1++]!;
      const r0 = r;
      // im2col: row = one character position, its window's embeddings side by side.
      for (let w = w0; w < w1; w++) {
        const len = lengths[w]!;
        for (let p = 0; p < len; p++, r++) {
          for (let o = 0; o < Wn; o++) {
            const q = p + o - half;
            const dst = (r - r0) * wD + o * D;
            if (q < 0 || q >= len) {
              if (keep) src[r * Wn + o] = -1;
              x.fill(0, dst, dst + D);
            } else {
              const c = ids[w * M + q]!;
              if (keep) src[r * Wn + o] = c;
              x.set(emb.subarray(c * D, (c + 1) * D), dst);
            }
          }
        }
      }
      if (rows > 0) {
        k.gemm(false, false, rows, F, wD, x, this.w.value, y, 0);
        k.addBias(rows, F, y, this.b.value);
      }
      // Max-pool over each word's rows.
      let lr = 0; // row within the chunk
      for (let w = w0; w < w1; w++) {
        const len = lengths[w]!;
        const o = w * stride + col;
        if (len === 0) {
          out.fill(0, o, o + F);
          if (keep) arg.fill(-1, w * F, w * F + F);
          continue;
        }
        for (let f = 0; f < F; f++) {
          let best = lr;
          for (let p = 1; p < len; p++) if (y[(lr + p) * F + f]! > y[best * F + f]!) best = lr + p;
          out[o + f] = y[best * F + f]!;
          if (keep) arg[w * F + f] = r0 + best;
        }
        lr += len;
      }
      w0 = w1;
    }
    this.rows = N;
    this.words = words;
    this.ready = keep;
    return into === null ? out : null;
  }

  /**
   * Given dL/d(features) (words×filters), accumulate the gradients of the
   * convolution and of the embeddings of the characters seen. (The input is
   * ids, so there is no input gradient.)
   */
  backward(dOut: Float32Array): void {
    if (!this.ready) throw new Error("CharCnn.backward called before forward");
    const { k, dim: D, filters: F, window: Wn, rows: N, words } = this;
    const d = exactly(dOut, words * F, "char CNN output gradient");
    if (N === 0) return;
    const wD = Wn * D;
    // The max routes each output's gradient to the row that won it.
    const dy = this.buf.dy.get(N * F);
    dy.fill(0);
    const arg = this.argmax;
    for (let i = 0; i < words * F; i++) {
      const row = arg[i]!;
      if (row >= 0) dy[row * F + (i % F)]! += d[i]!;
    }
    const x = this.buf.x.get(N * wD);
    // dW += Xᵀ·dY;  db += Σ_rows dY;  dX = dY·Wᵀ
    k.gemm(true, false, wD, F, N, x, dy, this.w.grad, 1);
    k.sumRows(N, F, dy, this.b.grad, 1);
    const dx = this.buf.dx.get(N * wD);
    k.gemm(false, true, N, wD, F, dy, this.w.value, dx, 0);
    // Scatter dX back to the embeddings of the characters that filled X.
    const g = this.emb.grad;
    const src = this.source;
    for (let r = 0; r < N; r++) {
      for (let o = 0; o < Wn; o++) {
        const c = src[r * Wn + o]!;
        if (c < 0) continue;
        const s = r * wD + o * D;
        const t = c * D;
        for (let j = 0; j < D; j++) g[t + j]! += dx[s + j]!;
      }
    }
  }

  /** Words rows[0..words) of `chars`, copied in that order (JS arrays reused across calls). */
  private gatherWords(chars: CharIds, rows: Int32Array, words: number): { lengths: Int32Array; ids: Int32Array } {
    const M = chars.maxChars;
    const total = chars.lengths.length;
    if (rows.length < words) throw new LstmNerError(`char CNN rows: expected ${words} values, got ${rows.length}`);
    exactly(chars.ids, total * M, "chars.ids");
    if (this.wordLengths.length < words) this.wordLengths = new Int32Array(Math.max(words, Math.ceil(this.wordLengths.length * 1.5)));
    if (this.wordIds.length < words * M) this.wordIds = new Int32Array(Math.max(words * M, Math.ceil(this.wordIds.length * 1.5)));
    const lengths = this.wordLengths, ids = this.wordIds;
    for (let w = 0; w < words; w++) {
      const s = rows[w]!;
      if (!(s >= 0 && s < total)) throw new LstmNerError(`char CNN rows[${w}] = ${s} is outside the ${total} words`);
      lengths[w] = chars.lengths[s]!;
      ids.set(chars.ids.subarray(s * M, (s + 1) * M), w * M);
    }
    return { lengths: lengths.subarray(0, words), ids: ids.subarray(0, words * M) };
  }

  /** Free kernel memory (parameters included); the layer is unusable afterwards. */
  dispose(): void {
    for (const b of Object.values(this.buf)) b.release();
    for (const p of this.params()) freeParam(this.k, p);
  }
}
