import type { Kernels } from "../engine/kernels.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import { RowSlots, optimizerParams, zeroOptimizerGrads, type RowsState, type SparseRowsParam } from "./sparse.js";

/** Hyper-parameters of {@link Adam} (PyTorch's defaults). */
export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/**
 * Optimiser state for checkpoints: the step count and, per parameter name,
 * the moment estimates. For row-sparse parameters `m`/`v` hold only the rows
 * listed in `rows` (rows.length × rowDim, in that order).
 */
export interface AdamState extends RowsState {
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

/**
 * Adam (Kingma & Ba) with PyTorch's semantics: bias-corrected moments,
 *   m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
 *   p −= lr · (m / (1−β1ᵗ)) / (sqrt(v / (1−β2ᵗ)) + eps)
 * computed by the `adam` kernel with the corrections folded into
 * lrT = lr·sqrt(1−β2ᵗ)/(1−β1ᵗ) and epsT = eps·sqrt(1−β2ᵗ) (the same update).
 *
 * Row-sparse parameters (a trainable embedding table, see {@link SparseRowsParam})
 * get the "lazy Adam" update: only the rows touched since the last
 * `zeroGrad` have their moments and values updated (with the global step t
 * for the bias correction); other rows stay as they are, where dense Adam
 * would keep moving them on old momentum. That is what PyTorch's SparseAdam
 * and TF's LazyAdam do; dense Adam over a 34M-value table every step would
 * cost far more than the rest of the model. Their moments are kept only for
 * rows ever touched, and the update is a plain loop (few rows per batch).
 */
export class Adam {
  /** Learning rate; may be changed between steps (schedules). */
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  private t = 0;
  private readonly dense: { p: Param; m: Float32Array; v: Float32Array }[];
  private readonly sparse: { p: SparseRowsParam; s: RowSlots }[];

  constructor(private readonly k: Kernels, params: readonly Param[], options: AdamOptions = {}) {
    this.lr = options.lr ?? 1e-3;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    ({ dense: this.dense, sparse: this.sparse } = optimizerParams(params, "Adam", 2, (p) => ({ m: k.alloc(p.value.length), v: k.alloc(p.value.length) })));
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.t;
  }

  /** Apply one update from the accumulated gradients. */
  step(): void {
    this.t++;
    const { beta1, beta2 } = this;
    const c2 = Math.sqrt(1 - Math.pow(beta2, this.t));
    const lrT = (this.lr * c2) / (1 - Math.pow(beta1, this.t));
    const epsT = this.eps * c2;
    for (const { p, m, v } of this.dense) this.k.adam(p.value.length, p.value, p.grad, m, v, lrT, beta1, beta2, epsT);
    for (const { p, s } of this.sparse) {
      const d = p.rowDim;
      const rows = p.touched.rows();
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        const o = row * d;
        const so = s.slot(row) * d;
        const m = s.buffers[0]!;
        const v = s.buffers[1]!;
        for (let j = 0; j < d; j++) {
          const g = p.grad[o + j]!;
          m[so + j] = beta1 * m[so + j]! + (1 - beta1) * g;
          v[so + j] = beta2 * v[so + j]! + (1 - beta2) * g * g;
          p.value[o + j]! -= (lrT * m[so + j]!) / (Math.sqrt(v[so + j]!) + epsT);
        }
      }
    }
  }

  /** Zero every gradient (for row-sparse parameters only the touched rows, then forget them). */
  zeroGrad(): void {
    zeroOptimizerGrads({ dense: this.dense, sparse: this.sparse });
  }

  /** A copy of the optimiser state, for checkpoints. */
  exportState(): AdamState {
    const st: AdamState = { t: this.t, m: {}, v: {}, rows: {} };
    for (const { p, m, v } of this.dense) {
      st.m[p.name] = m.slice();
      st.v[p.name] = v.slice();
    }
    for (const { p, s } of this.sparse) {
      st.m[p.name] = s.buffers[0]!.slice(0, s.slots * s.dim);
      st.v[p.name] = s.buffers[1]!.slice(0, s.slots * s.dim);
      st.rows[p.name] = s.slotRows.slice(0, s.slots);
    }
    return st;
  }

  /**
   * Restore a state from {@link exportState} for the same parameters.
   * @throws LstmNerError naming the parameter whose state is missing or has the wrong size.
   */
  importState(state: AdamState): void {
    if (!Number.isInteger(state.t) || state.t < 0) throw new LstmNerError(`Adam state: bad step count ${state.t}`);
    const get = (rec: Record<string, Float32Array>, name: string, n: number, what: string): Float32Array => {
      const a = rec[name];
      if (a === undefined) throw new LstmNerError(`Adam state: no ${what} for parameter "${name}"`);
      if (a.length !== n) throw new LstmNerError(`Adam state: ${what} of "${name}" has ${a.length} values, expected ${n}`);
      return a;
    };
    // Check everything before changing anything.
    for (const { p } of this.dense) {
      get(state.m, p.name, p.value.length, "m");
      get(state.v, p.name, p.value.length, "v");
    }
    for (const { p, s } of this.sparse) {
      const rows = state.rows[p.name];
      if (rows === undefined) throw new LstmNerError(`Adam state: no rows for parameter "${p.name}"`);
      get(state.m, p.name, rows.length * s.dim, "m");
      get(state.v, p.name, rows.length * s.dim, "v");
      const size = s.slotOf.length;
      for (let i = 0; i < rows.length; i++) {
        if (rows[i]! < 0 || rows[i]! >= size) throw new LstmNerError(`Adam state: rows[${i}] = ${rows[i]} of "${p.name}" is outside 0..${size - 1}`);
      }
    }
    this.t = state.t;
    for (const { p, m, v } of this.dense) {
      m.set(state.m[p.name]!);
      v.set(state.v[p.name]!);
    }
    for (const entry of this.sparse) {
      const { p } = entry;
      const s = new RowSlots(entry.s.slotOf.length, entry.s.dim, 2);
      const rows = state.rows[p.name]!;
      const m = state.m[p.name]!;
      const v = state.v[p.name]!;
      for (let i = 0; i < rows.length; i++) {
        const so = s.slot(rows[i]!) * s.dim;
        s.buffers[0]!.set(m.subarray(i * s.dim, (i + 1) * s.dim), so);
        s.buffers[1]!.set(v.subarray(i * s.dim, (i + 1) * s.dim), so);
      }
      entry.s = s;
    }
  }

  /** Free the kernel memory of the moments. */
  dispose(): void {
    for (const { m, v } of this.dense) {
      this.k.free(m);
      this.k.free(v);
    }
  }
}
