import type { Kernels } from "../engine/kernels.js";
import { LstmNerError } from "../util/errors.js";
import { KernelBuffer, exactly } from "./buffer.js";

/**
 * What every lookup table does: row `ids[i]` of a size×dim table becomes row
 * i of the output, into its own buffer (training: the ids are kept for the
 * backward) or straight into a column range of a wider matrix (tagging). The
 * word embedding and the casing embedding say how a row is read.
 */
export abstract class RowLookup {
  private readonly out: KernelBuffer;
  /** The ids of the last {@link forward}, for the backward. */
  protected ids = new Int32Array(0);
  /** Rows of the last {@link forward} (0 after {@link forwardInto}: no backward then). */
  protected n = 0;

  constructor(k: Kernels, readonly size: number, readonly dim: number, private readonly what: string) {
    this.out = new KernelBuffer(k);
  }

  /** Copy row `id` of the table to out[at … at + dim). */
  protected abstract copyRow(id: number, out: Float32Array, at: number): void;

  /** The error for an id outside the table at position `at` of the ids. */
  protected abstract outside(at: number, id: number): string;

  /**
   * Rows for the first `n` ids (default all): n×dim, a view of this layer's
   * kernel buffer valid until the next forward.
   * @throws LstmNerError naming the position of an id outside the table.
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
   * (a column range of a wider matrix, e.g. the tagger's concatenated input),
   * so no n×dim buffer of its own is built; with `rows`, row i is that of
   * ids[rows[i]]. Nothing is kept for the backward.
   */
  forwardInto(ids: Int32Array, n: number, dst: Float32Array, stride: number, col: number, rows: Int32Array | null = null): void {
    exactly(dst, n * stride, `${this.what} destination`);
    this.n = 0;
    this.gather(ids, n, dst, stride, col, null, rows);
  }

  /**
   * Rows of the first `n` ids (with `rows`: of ids[rows[0..n)]) into `out` at row stride `stride`, column `col`;
   * records the ids in `seen` when given.
   */
  private gather(ids: Int32Array, n: number, out: Float32Array, stride: number, col: number, seen: Int32Array | null,
    rows: Int32Array | null = null): void {
    if (rows === null && n > ids.length) throw new LstmNerError(`${this.what} ids: expected ${n} values, got ${ids.length}`);
    if (rows !== null && rows.length < n) throw new LstmNerError(`${this.what} rows: expected ${n} values, got ${rows.length}`);
    const { size } = this;
    for (let i = 0; i < n; i++) {
      const at = rows === null ? i : rows[i]!;
      const id = ids[at]!;
      if (!(id >= 0 && id < size)) throw new LstmNerError(this.outside(at, id));
      if (seen !== null) seen[i] = id;
      this.copyRow(id, out, i * stride + col);
    }
  }

  /** Free the output buffer. */
  protected release(): void {
    this.out.release();
  }
}
