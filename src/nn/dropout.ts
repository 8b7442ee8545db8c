import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import { KernelBuffer, exactly } from "./buffer.js";

/**
 * Inverted dropout: in training each value is kept with probability 1 − p and
 * scaled by 1/(1 − p), else zeroed, so nothing changes at inference, where
 * the layer is the identity (it returns its input, no copy).
 * The mask is drawn from the layer's own seeded {@link Rng}, so runs repeat.
 */
export class Dropout {
  /**
   * Reuse the last mask instead of drawing a new one (for finite-difference
   * tests, which must see the same function at every evaluation).
   */
  frozen = false;
  private mask = new Float32Array(0);
  private readonly out: KernelBuffer;
  private readonly dx: KernelBuffer;
  private n = 0;
  private active = false;
  private masked = 0;

  constructor(k: Kernels, readonly p: number, private readonly rng: Rng) {
    if (!(p >= 0 && p < 1)) throw new LstmNerError(`dropout probability must be in [0, 1), got ${p}`);
    this.out = new KernelBuffer(k);
    this.dx = new KernelBuffer(k);
  }

  /**
   * y = x ⊙ mask / (1 − p) over the first `n` values when `training`, else x
   * itself. The result is a view valid until the next forward.
   */
  forward(x: Float32Array, n: number, training: boolean): Float32Array {
    const xv = exactly(x, n, "dropout input");
    this.n = n;
    this.active = training && this.p > 0;
    if (!this.active) return xv;
    if (this.frozen) {
      if (this.masked !== n) throw new Error(`Dropout: frozen mask has ${this.masked} values, input has ${n}`);
    } else {
      if (this.mask.length < n) this.mask = new Float32Array(Math.max(n, Math.ceil(this.mask.length * 1.5)));
      const keep = 1 - this.p;
      const scale = 1 / keep;
      const m = this.mask;
      for (let i = 0; i < n; i++) m[i] = this.rng.next() < keep ? scale : 0;
      this.masked = n;
    }
    const y = this.out.get(n);
    const m = this.mask;
    for (let i = 0; i < n; i++) y[i] = xv[i]! * m[i]!;
    return y;
  }

  /** dL/dx = dL/dy ⊙ mask / (1 − p) (dL/dy itself at inference), valid until the next backward. */
  backward(dy: Float32Array): Float32Array {
    const d = exactly(dy, this.n, "dropout output gradient");
    if (!this.active) return d;
    const dx = this.dx.get(this.n);
    const m = this.mask;
    for (let i = 0; i < this.n; i++) dx[i] = d[i]! * m[i]!;
    return dx;
  }

  /** Free kernel memory. */
  dispose(): void {
    this.out.release();
    this.dx.release();
  }
}
