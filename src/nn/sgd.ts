import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import { RowSlots, optimizerParams, zeroOptimizerGrads, type RowsState, type SparseRowsParam } from "./sparse.js";

/** A learning-rate schedule: the rate for a 0-based epoch, given the initial rate. */
export type LrSchedule = (epoch: number, lr0: number) => number;

/** Ma & Hovy's decay: lr_t = lr0 / (1 + decay·t) for epoch t (0-based, so epoch 0 uses lr0). */
export function inverseTimeDecay(decay: number): LrSchedule {
  if (!(decay >= 0)) throw new LstmNerError(`learning-rate decay must be ≥ 0, got ${decay}`);
  return (epoch, lr0) => lr0 / (1 + decay * epoch);
}

/** Hyper-parameters of {@link Sgd}. */
export interface SgdOptions {
  /** Initial learning rate (default 0.015, Ma & Hovy's). */
  lr?: number;
  /** Momentum μ (default 0.9; 0 for plain SGD). */
  momentum?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
  /** L2 penalty added to the gradient, wd·p (default 0). */
  weightDecay?: number;
  /** Learning rate per epoch, applied by {@link Sgd.setEpoch} (default constant). */
  schedule?: LrSchedule;
}

/** Optimiser state for checkpoints; row-sparse parameters keep velocities only for `rows`. */
export interface SgdState extends RowsState {
  lr: number;
  velocity: Record<string, Float32Array>;
}

/**
 * Stochastic gradient descent with momentum, PyTorch's formulation:
 *   g ← grad + wd·p;   v ← μ·v + g;   p ← p − lr·(nesterov ? g + μ·v : v)
 * (v starts at 0, so the first step is p − lr·g, or p − lr·(1+μ)·g with Nesterov).
 *
 * Row-sparse parameters (trainable embeddings) get the lazy update: only the
 * rows touched since the last `zeroGrad` move, and only their velocities
 * decay; velocities are stored only for rows ever touched.
 */
export class Sgd {
  /** Current learning rate; set directly or by {@link setEpoch}. */
  lr: number;
  readonly lr0: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private readonly schedule: LrSchedule;
  private t = 0;
  private readonly dense: { p: Param; v: Float32Array }[];
  private readonly sparse: { p: SparseRowsParam; s: RowSlots }[];

  constructor(params: readonly Param[], options: SgdOptions = {}) {
    this.lr0 = options.lr ?? 0.015;
    this.lr = this.lr0;
    this.momentum = options.momentum ?? 0.9;
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = options.weightDecay ?? 0;
    this.schedule = options.schedule ?? ((_, lr0) => lr0);
    if (!(this.lr0 > 0)) throw new LstmNerError(`SGD: lr must be > 0, got ${this.lr0}`);
    if (!(this.momentum >= 0 && this.momentum < 1)) throw new LstmNerError(`SGD: momentum must be in [0, 1), got ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new LstmNerError(`SGD: weightDecay must be ≥ 0, got ${this.weightDecay}`);
    if (this.nesterov && this.momentum === 0) throw new LstmNerError("SGD: Nesterov needs a momentum > 0");
    ({ dense: this.dense, sparse: this.sparse } = optimizerParams(params, "SGD", 1, (p) => ({ v: new Float32Array(this.momentum > 0 ? p.value.length : 0) })));
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.t;
  }

  /** Set the learning rate for a 0-based epoch from the schedule; returns it. */
  setEpoch(epoch: number): number {
    this.lr = this.schedule(epoch, this.lr0);
    return this.lr;
  }

  /** Apply one update from the accumulated gradients. */
  step(): void {
    this.t++;
    for (const { p, v } of this.dense) this.update(p.value, p.grad, v, 0, 0, p.value.length);
    for (const { p, s } of this.sparse) {
      const d = p.rowDim;
      const rows = p.touched.rows();
      for (let i = 0; i < rows.length; i++) {
        const so = this.momentum > 0 ? s.slot(rows[i]!) * d : 0;
        this.update(p.value, p.grad, s.buffers[0]!, rows[i]! * d, so, d);
      }
    }
  }

  /** Zero every gradient (for row-sparse parameters only the touched rows, then forget them). */
  zeroGrad(): void {
    zeroOptimizerGrads({ dense: this.dense, sparse: this.sparse });
  }

  /** A copy of the optimiser state, for checkpoints. */
  exportState(): SgdState {
    const st: SgdState = { t: this.t, lr: this.lr, velocity: {}, rows: {} };
    for (const { p, v } of this.dense) st.velocity[p.name] = v.slice();
    for (const { p, s } of this.sparse) {
      st.velocity[p.name] = s.buffers[0]!.slice(0, s.slots * s.dim);
      st.rows[p.name] = s.slotRows.slice(0, s.slots);
    }
    return st;
  }

  /**
   * Restore a state from {@link exportState} for the same parameters.
   * @throws LstmNerError naming the parameter whose state is missing or has the wrong size; nothing changes then.
   */
  importState(state: SgdState): void {
    if (!Number.isInteger(state.t) || state.t < 0) throw new LstmNerError(`SGD state: bad step count ${state.t}`);
    if (!(state.lr > 0)) throw new LstmNerError(`SGD state: bad learning rate ${state.lr}`);
    const check = (name: string, n: number): void => {
      const v = state.velocity[name];
      if (v === undefined) throw new LstmNerError(`SGD state: no velocity for parameter "${name}"`);
      if (v.length !== n) throw new LstmNerError(`SGD state: velocity of "${name}" has ${v.length} values, expected ${n}`);
    };
    for (const { p, v } of this.dense) check(p.name, v.length);
    for (const { p, s } of this.sparse) {
      const rows = state.rows[p.name];
      if (rows === undefined) throw new LstmNerError(`SGD state: no rows for parameter "${p.name}"`);
      check(p.name, rows.length * s.dim);
      for (let i = 0; i < rows.length; i++) {
        if (rows[i]! < 0 || rows[i]! >= s.slotOf.length) throw new LstmNerError(`SGD state: rows[${i}] = ${rows[i]} of "${p.name}" is outside 0..${s.slotOf.length - 1}`);
      }
    }
    this.t = state.t;
    this.lr = state.lr;
    for (const { p, v } of this.dense) v.set(state.velocity[p.name]!);
    for (const entry of this.sparse) {
      const s = new RowSlots(entry.s.slotOf.length, entry.s.dim, 1);
      const rows = state.rows[entry.p.name]!;
      const v = state.velocity[entry.p.name]!;
      for (let i = 0; i < rows.length; i++) {
        const so = s.slot(rows[i]!) * s.dim; // may grow the buffers: take the slot first
        s.buffers[0]!.set(v.subarray(i * s.dim, (i + 1) * s.dim), so);
      }
      entry.s = s;
    }
  }

  /** The update of n values starting at `po` of the parameter and `vo` of the velocity. */
  private update(p: Float32Array, grad: Float32Array, v: Float32Array, po: number, vo: number, n: number): void {
    const { lr, momentum: mu, nesterov, weightDecay: wd } = this;
    for (let i = 0; i < n; i++) {
      const g = grad[po + i]! + wd * p[po + i]!;
      if (mu === 0) {
        p[po + i]! -= lr * g;
        continue;
      }
      const vel = mu * v[vo + i]! + g;
      v[vo + i] = vel;
      p[po + i]! -= lr * (nesterov ? g + mu * vel : vel);
    }
  }
}
