import type { Param } from "./param.js";

/** The set of rows of a matrix touched since the last `clear`, in first-touch order. */
export class TouchedRows {
  private list = new Int32Array(64);
  private count = 0;
  private readonly seen: Uint8Array;

  /** `size`: number of rows of the matrix. */
  constructor(size: number) {
    this.seen = new Uint8Array(size);
  }

  /** Record that `row` has a gradient. */
  mark(row: number): void {
    if (this.seen[row] === 1) return;
    this.seen[row] = 1;
    if (this.count === this.list.length) {
      const grown = new Int32Array(this.list.length * 2);
      grown.set(this.list);
      this.list = grown;
    }
    this.list[this.count++] = row;
  }

  /** The touched rows (a view, valid until the next `mark`/`clear`). */
  rows(): Int32Array {
    return this.list.subarray(0, this.count);
  }

  /** Forget all rows. */
  clear(): void {
    for (let i = 0; i < this.count; i++) this.seen[this.list[i]!] = 0;
    this.count = 0;
  }
}

/**
 * A row-sparse parameter: a matrix whose gradient is non-zero only on the rows
 * listed in `touched` (an embedding table). Optimisers update only those rows
 * and zero only those gradient rows.
 */
export interface SparseRowsParam extends Param {
  /** Values per row. */
  readonly rowDim: number;
  /** Rows whose gradient may be non-zero. */
  readonly touched: TouchedRows;
}

/** Whether `p` is a {@link SparseRowsParam}. */
export function isSparseRows(p: Param): p is SparseRowsParam {
  return (p as Partial<SparseRowsParam>).touched instanceof TouchedRows;
}
