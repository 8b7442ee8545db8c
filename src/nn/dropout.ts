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
      if (this.masked !== n) throw new Error(`Dropout: frozen mask has ${this.masked} values, input needs ${n}`);
    } else {
      const count = n;
      if (this.mask.length < count) this.mask = new Float32Array(Math.max(count, Math.ceil(this.mask.length * 1.5)));
      const scale = 1 / (1 - this.p);
      // The mask comes from an inlined xorshift128 seeded from the layer's Rng
      // each call (a method call per value was a visible share of an epoch);
      // one 32-bit draw decides two values, 16 bits each, so the keep
      // probability is rounded to a multiple of 1/65536.
      const keep16 = Math.round((1 - this.p) * 65536);
      const m = this.mask;
      let s0 = this.rng.nextUint32() | 1; // xorshift128 needs a non-zero state
      let s1 = this.rng.nextUint32();
      let s2 = this.rng.nextUint32();
      let s3 = this.rng.nextUint32();
      for (let i = 0; i < count; i += 2) {
        const t = s0 ^ (s0 << 11);
        s0 = s1;
        s1 = s2;
        s2 = s3;
        s3 = (s3 ^ (s3 >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
        m[i] = (s3 & 0xffff) < keep16 ? scale : 0;
        if (i + 1 < count) m[i + 1] = s3 >>> 16 < keep16 ? scale : 0;
      }
      this.masked = count;
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
