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

/**
 * Per-row optimiser state (Adam's moments, SGD's velocity) for the rows of a
 * row-sparse parameter that have ever been updated: each row gets a slot the
 * first time it is seen, and `buffers[i]` holds `dim` values per slot.
 */
export class RowSlots {
  /** slotOf[row] = the row's slot, or −1. */
  readonly slotOf: Int32Array;
  /** slotRows[slot] = its row. */
  slotRows = new Int32Array(0);
  /** One array per kind of state, `dim` values per slot. */
  buffers: Float32Array[];
  slots = 0;

  constructor(size: number, readonly dim: number, kinds: number) {
    this.slotOf = new Int32Array(size).fill(-1);
    this.buffers = Array.from({ length: kinds }, () => new Float32Array(0));
  }

  /** The slot of `row`, made on first use (may replace the buffers: read them after calling). */
  slot(row: number): number {
    let s = this.slotOf[row]!;
    if (s >= 0) return s;
    s = this.slots++;
    if (s >= this.slotRows.length) {
      const cap = Math.max(64, this.slotRows.length * 2);
      const rows = new Int32Array(cap);
      rows.set(this.slotRows);
      this.slotRows = rows;
      this.buffers = this.buffers.map((b) => {
        const grown = new Float32Array(cap * this.dim);
        grown.set(b);
        return grown;
      });
    }
    this.slotOf[row] = s;
    this.slotRows[s] = row;
    return s;
  }
}
