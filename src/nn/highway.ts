import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import type { Param } from "./param.js";
import { KernelBuffer, exactly } from "./buffer.js";
import { Linear } from "./linear.js";

/**
 * One highway layer (Srivastava et al. 2015), as LM-LSTM-CRF uses it between
 * the shared character states and each task:
 *
 *   [a | z] = x·[W_h | W_t] + [b_h | b_t]      (one GEMM, 2·dim wide)
 *   h = relu(a);   g = σ(z)
 *   y = g⊙h + (1 − g)⊙x
 *
 * Parameters `${name}.w` (dim × 2·dim: transform then gate columns) and
 * `${name}.b`, initialised like `Linear`.
 */
export class Highway {
  private readonly lin: Linear;
  private readonly out: KernelBuffer;
  private readonly dPre: KernelBuffer;
  private readonly dx: KernelBuffer;
  private x: Float32Array | null = null;
  private pre: Float32Array | null = null;
  /** g = σ(z) of the last forward, in float64 as computed (backward reads it instead of computing σ twice more). */
  private gate = new Float64Array(0);
  private rows = 0;

  constructor(private readonly k: Kernels, readonly dim: number, rng: Rng, name: string) {
    this.lin = new Linear(k, dim, 2 * dim, rng, name);
    this.out = new KernelBuffer(k);
    this.dPre = new KernelBuffer(k);
    this.dx = new KernelBuffer(k);
  }

  /** Trainable parameters: weight then bias. */
  params(): Param[] {
    return this.lin.params();
  }

  /** y for `rows` rows of x (rows×dim, kept by reference for backward); a view valid until the next forward. */
  forward(x: Float32Array, rows: number): Float32Array {
    const D = this.dim;
    const xv = exactly(x, rows * D, "highway input");
    const pre = this.lin.forward(xv, rows); // kept: the Linear's own buffer, untouched until its next forward
    const y = this.out.get(rows * D);
    if (this.gate.length < rows * D) this.gate = new Float64Array(rows * D);
    const gate = this.gate;
    for (let r = 0; r < rows; r++) {
      const p = r * 2 * D;
      const o = r * D;
      for (let j = 0; j < D; j++) {
        const h = Math.max(0, pre[p + j]!);
        const g = 1 / (1 + Math.exp(-pre[p + D + j]!));
        gate[o + j] = g;
        y[o + j] = g * h + (1 - g) * xv[o + j]!;
      }
    }
    this.x = xv;
    this.pre = pre;
    this.rows = rows;
    return y;
  }

  /**
   * dL/dy (rows×dim) → accumulates the parameter gradients and returns dL/dx
   * (a view valid until the next backward):
   *   da = dy⊙g⊙[a > 0];   dz = dy⊙(h − x)⊙g(1 − g)
   *   dx = dy⊙(1 − g) + [da | dz]·[W_h | W_t]ᵀ
   */
  backward(dy: Float32Array): Float32Array {
    const { x, pre, rows, gate } = this;
    if (x === null || pre === null) throw new Error("Highway.backward called before forward");
    const D = this.dim;
    const dyv = exactly(dy, rows * D, "highway output gradient");
    const dPre = this.dPre.get(rows * 2 * D);
    for (let r = 0; r < rows; r++) {
      const p = r * 2 * D;
      const o = r * D;
      for (let j = 0; j < D; j++) {
        const a = pre[p + j]!;
        const g = gate[o + j]!;
        const d = dyv[o + j]!;
        dPre[p + j] = a > 0 ? d * g : 0;
        dPre[p + D + j] = d * (Math.max(0, a) - x[o + j]!) * g * (1 - g);
      }
    }
    const dxLin = this.lin.backward(dPre);
    const dx = this.dx.get(rows * D);
    for (let i = 0; i < rows * D; i++) dx[i] = dyv[i]! * (1 - gate[i]!) + dxLin[i]!;
    return dx;
  }

  /** Free kernel memory (parameters included). */
  dispose(): void {
    this.lin.dispose();
    this.out.release();
    this.dPre.release();
    this.dx.release();
  }
}
