import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import { KernelBuffer, exactly, freeParam, kernelParam } from "./buffer.js";

/**
 * Casing classes of Reimers & Gurevych (2017), in id order. `padding` (id 0)
 * is for pad positions and never receives a gradient.
 */
export const CASING_CLASSES: readonly string[] = [
  "padding", "numeric", "mainly_numeric", "all_lower", "all_upper", "initial_upper", "contains_digit", "other",
];

/** Id of the `padding` casing class. */
export const CASING_PAD = 0;

const isDigit = (c: string): boolean => c >= "0" && c <= "9";
const isLower = (c: string): boolean => c !== c.toUpperCase() && c === c.toLowerCase();
const isUpper = (c: string): boolean => c !== c.toLowerCase() && c === c.toUpperCase();

/**
 * The casing class id of a token, decided in this order (Reimers & Gurevych's):
 * all digits → numeric; more than half digits → mainly_numeric; all cased
 * letters lower (and at least one) → all_lower; all upper → all_upper; first
 * character upper → initial_upper; any digit → contains_digit; else other.
 * Letters are Unicode-aware (É counts as upper); digits are ASCII 0-9.
 */
export function casingId(token: string): number {
  if (token.length === 0) return 7;
  let digits = 0;
  let lower = 0;
  let upper = 0;
  let chars = 0;
  for (const c of token) {
    chars++;
    if (isDigit(c)) digits++;
    else if (isLower(c)) lower++;
    else if (isUpper(c)) upper++;
  }
  if (digits === chars) return 1;
  if (digits / chars > 0.5) return 2;
  if (lower > 0 && upper === 0) return 3;
  if (upper > 0 && lower === 0) return 4;
  const first = token.codePointAt(0)!;
  if (isUpper(String.fromCodePoint(first))) return 5;
  if (digits > 0) return 6;
  return 7;
}

/**
 * A small trainable lookup table (e.g. casing classes): row `ids[i]` becomes
 * row i of the output. Dense parameter `${name}.weight` (size×dim), since the
 * table is tiny; row `paddingIdx` stays zero and gets no gradient.
 * Initialised U(−√(3/dim), √(3/dim)).
 */
export class CasingEmbedding {
  readonly weight: Param;
  private readonly out: KernelBuffer;
  private ids = new Int32Array(0);
  private n = 0;

  constructor(private readonly k: Kernels, readonly size: number, readonly dim: number, rng: Rng, name = "casing",
    readonly paddingIdx: number | null = CASING_PAD) {
    if (!Number.isInteger(size) || size < 1 || !Number.isInteger(dim) || dim < 1) {
      throw new LstmNerError(`${name}: size and dim must be positive integers, got ${size}×${dim}`);
    }
    this.weight = kernelParam(k, `${name}.weight`, [size, dim]);
    const a = Math.sqrt(3 / dim);
    rng.fillUniform(this.weight.value, -a, a);
    if (paddingIdx !== null) this.weight.value.fill(0, paddingIdx * dim, (paddingIdx + 1) * dim);
    this.out = new KernelBuffer(k);
  }

  /** Trainable parameters: the table. */
  params(): Param[] {
    return [this.weight];
  }

  /**
   * Rows of the first `n` ids: n×dim, a view valid until the next forward.
   * @throws LstmNerError naming an id outside the table.
   */
  forward(ids: Int32Array, n = ids.length): Float32Array {
    if (this.ids.length < n) this.ids = new Int32Array(n);
    const out = this.out.get(n * this.dim);
    this.gather(ids, n, out, this.dim, 0, this.ids);
    this.n = n;
    return out;
  }

  /**
   * Inference-only {@link forward}: row i goes to `dst[i·stride + col …]`
   * (a column range of a wider matrix), with no buffer of its own; with `rows`,
   * row i is that of ids[rows[i]]. Nothing is kept for {@link backward}.
   */
  forwardInto(ids: Int32Array, n: number, dst: Float32Array, stride: number, col: number, rows: Int32Array | null = null): void {
    exactly(dst, n * stride, `${this.weight.name} destination`);
    this.n = 0;
    this.gather(ids, n, dst, stride, col, null, rows);
  }

  /** Rows of the first `n` ids (with `rows`: of ids[rows[0..n)]) into `out` at row stride `stride`, column `col`; records the ids in `seen` when given. */
  private gather(ids: Int32Array, n: number, out: Float32Array, stride: number, col: number, seen: Int32Array | null, rows: Int32Array | null = null): void {
    const { dim, size } = this;
    const src = rows === null ? exactly(ids, n, `${this.weight.name} ids`) : ids;
    if (rows !== null && rows.length < n) throw new LstmNerError(`${this.weight.name} rows: expected ${n} values, got ${rows.length}`);
    const w = this.weight.value;
    for (let i = 0; i < n; i++) {
      const at = rows === null ? i : rows[i]!;
      const id = src[at]!;
      if (!(id >= 0 && id < size)) throw new LstmNerError(`${this.weight.name}: ids[${at}] = ${id} is outside 0..${size - 1}`);
      if (seen !== null) seen[i] = id;
      out.set(w.subarray(id * dim, (id + 1) * dim), i * stride + col);
    }
  }

  /** Accumulate dL/d(table) from dL/d(output) (n×dim). */
  backward(dOut: Float32Array): void {
    const { dim } = this;
    const d = exactly(dOut, this.n * dim, `${this.weight.name} output gradient`);
    const g = this.weight.grad;
    for (let i = 0; i < this.n; i++) {
      const id = this.ids[i]!;
      if (id === this.paddingIdx) continue;
      const o = id * dim;
      const s = i * dim;
      for (let j = 0; j < dim; j++) g[o + j]! += d[s + j]!;
    }
  }

  /** Free kernel memory (parameters included). */
  dispose(): void {
    this.out.release();
    freeParam(this.k, this.weight);
  }
}
