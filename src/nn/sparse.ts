import type { Param } from "./param.js";
import { LstmNerError } from "../util/errors.js";

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

/** An optimiser's view of its parameters: dense ones with their state `D`, row-sparse ones with per-row slots. */
export interface OptimizerParams<D> {
  dense: ({ p: Param } & D)[];
  sparse: { p: SparseRowsParam; s: RowSlots }[];
}

/**
 * Split `params` for an optimiser: each dense one gets `denseState(p)`, each
 * row-sparse one a {@link RowSlots} with `buffers` state buffers per row.
 * @throws LstmNerError (naming `who`) when two parameters share a name, as checkpoints key state by name.
 */
export function optimizerParams<D>(params: readonly Param[], who: string, buffers: number, denseState: (p: Param) => D): OptimizerParams<D> {
  const out: OptimizerParams<D> = { dense: [], sparse: [] };
  const names = new Set<string>();
  for (const p of params) {
    if (names.has(p.name)) throw new LstmNerError(`${who}: two parameters are named "${p.name}"`);
    names.add(p.name);
    if (isSparseRows(p)) out.sparse.push({ p, s: new RowSlots(p.value.length / p.rowDim, p.rowDim, buffers) });
    else out.dense.push({ p, ...denseState(p) });
  }
  return out;
}

/** Zero every gradient (for row-sparse parameters only the touched rows, then forget them). */
export function zeroOptimizerGrads(o: OptimizerParams<unknown>): void {
  for (const { p } of o.dense) p.grad.fill(0);
  for (const { p } of o.sparse) {
    const rows = p.touched.rows();
    for (let i = 0; i < rows.length; i++) p.grad.fill(0, rows[i]! * p.rowDim, (rows[i]! + 1) * p.rowDim);
    p.touched.clear();
  }
}

/**
 * What every optimiser's checkpoint state holds: the step count and, per row-sparse parameter, the rows it keeps state
 * for.
 */
export interface RowsState {
  t: number;
  rows: Record<string, Int32Array>;
}
