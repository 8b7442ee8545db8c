import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import type { Param } from "./param.js";
import { KernelBuffer, exactly, freeParam, kernelParam } from "./buffer.js";

/**
 * A single-layer unidirectional LSTM with PyTorch's maths and gate order
 * (i, f, g, o), over a time-major batch: row t·B+b of the input is step t of
 * sentence b. Starts from h₀ = c₀ = 0.
 *
 *   gates_t = x_t·W_ih + h_{t−1}·W_hh + b
 *   i, f, g, o = σ(·), σ(·), tanh(·), σ(·)
 *   c_t = f⊙c_{t−1} + i⊙g;   h_t = o⊙tanh(c_t)
 *
 * PyTorch has two biases b_ih + b_hh; only their sum matters, so there is one
 * bias initialised as the sum of two U(−1/√H, 1/√H) draws (same distribution).
 * Padding at the end of a sentence cannot affect its real steps (the
 * recurrence only looks back), so no lengths are needed here.
 */
export class Lstm {
  /** Input weights, in×4H. */
  readonly wIh: Param;
  /** Recurrent weights, H×4H. */
  readonly wHh: Param;
  /** Bias, 4H. */
  readonly b: Param;

  // Kept for backward: gate activations (T·B×4H), c and h with a zero block
  // for step −1 in front ((T+1)·B×H), so step t's "previous" is block t.
  private readonly gates: KernelBuffer;
  private readonly c: KernelBuffer;
  private readonly h: KernelBuffer;
  private readonly dGates: KernelBuffer;
  private readonly dh: KernelBuffer;
  private readonly dc: KernelBuffer;
  private readonly dx: KernelBuffer;
  private x: Float32Array | null = null;
  private T = 0;
  private B = 0;

  constructor(private readonly k: Kernels, readonly inDim: number, readonly hidden: number, rng: Rng, name: string) {
    const G = 4 * hidden;
    this.wIh = kernelParam(k, `${name}.w_ih`, [inDim, G]);
    this.wHh = kernelParam(k, `${name}.w_hh`, [hidden, G]);
    this.b = kernelParam(k, `${name}.b`, [G]);
    const a = 1 / Math.sqrt(hidden);
    rng.fillUniform(this.wIh.value, -a, a);
    rng.fillUniform(this.wHh.value, -a, a);
    rng.fillUniform(this.b.value, -a, a); // b_ih
    for (let j = 0; j < G; j++) this.b.value[j]! += rng.uniform(-a, a); // + b_hh
    this.gates = new KernelBuffer(k);
    this.c = new KernelBuffer(k);
    this.h = new KernelBuffer(k);
    this.dGates = new KernelBuffer(k);
    this.dh = new KernelBuffer(k);
    this.dc = new KernelBuffer(k);
    this.dx = new KernelBuffer(k);
  }

  /** Trainable parameters: W_ih, W_hh, b. */
  params(): Param[] {
    return [this.wIh, this.wHh, this.b];
  }

  /**
   * Run T steps over a batch of B. `x` is T·B×in (a kernel buffer), kept by
   * reference for the backward pass: leave it untouched until then. Returns
   * h for every step, T·B×H, a view valid until the next forward.
   */
  forward(x: Float32Array, T: number, B: number): Float32Array {
    const { k, inDim } = this;
    const H = this.hidden;
    const G = 4 * H;
    const n = T * B;
    const xv = exactly(x, n * inDim, "LSTM input");
    this.x = xv;
    this.T = T;
    this.B = B;
    const gates = this.gates.get(n * G);
    const c = this.c.get((n + B) * H);
    const h = this.h.get((n + B) * H);
    // The reused buffers may hold an old batch's values: h₀ = c₀ = 0.
    c.fill(0, 0, B * H);
    h.fill(0, 0, B * H);
    // Input projection of all steps at once: X·W_ih + b.
    k.gemm(false, false, n, G, inDim, xv, this.wIh.value, gates, 0);
    k.addBias(n, G, gates, this.b.value);
    const bh = B * H;
    for (let t = 0; t < T; t++) {
      const g = gates.subarray(t * B * G, (t + 1) * B * G);
      const hPrev = h.subarray(t * bh, (t + 1) * bh);
      // gates_t += h_{t−1}·W_hh (zero at t = 0).
      if (t > 0) k.gemm(false, false, B, G, H, hPrev, this.wHh.value, g, 1);
      k.lstmCellForward(B, H, g, c.subarray(t * bh, (t + 1) * bh),
        c.subarray((t + 1) * bh, (t + 2) * bh), h.subarray((t + 1) * bh, (t + 2) * bh), H);
    }
    return h.subarray(bh, (n + B) * H);
  }

  /**
   * Backpropagation through time. `dOut` is dL/dh for every step (T·B×H).
   * Accumulates the parameter gradients and returns dL/dx (T·B×in, valid
   * until the next backward), or null when `inputGrad` is false (saves a GEMM
   * when the input is a frozen embedding).
   */
  backward(dOut: Float32Array): Float32Array;
  backward(dOut: Float32Array, inputGrad: false): null;
  backward(dOut: Float32Array, inputGrad: boolean): Float32Array | null;
  backward(dOut: Float32Array, inputGrad = true): Float32Array | null {
    const { k, inDim, T, B } = this;
    if (this.x === null) throw new Error("Lstm.backward called before forward");
    const H = this.hidden;
    const G = 4 * H;
    const n = T * B;
    const bh = B * H;
    const gates = this.gates.get(n * G);
    const c = this.c.get((n + B) * H);
    const h = this.h.get((n + B) * H);
    // dh_t starts as the gradient from above and gains dh from step t+1.
    const dh = this.dh.get(n * H);
    dh.set(exactly(dOut, n * H, "LSTM output gradient"));
    const dc = this.dc.get(bh);
    dc.fill(0);
    const dGates = this.dGates.get(n * G);
    for (let t = T - 1; t >= 0; t--) {
      const g = gates.subarray(t * B * G, (t + 1) * B * G);
      const dg = dGates.subarray(t * B * G, (t + 1) * B * G);
      // dGates_t from dh_t and dc_t; dc becomes dL/dc_{t−1}.
      k.lstmCellBackward(B, H, g, c.subarray(t * bh, (t + 1) * bh), c.subarray((t + 1) * bh, (t + 2) * bh),
        dh.subarray(t * bh, (t + 1) * bh), H, dc, dg);
      // dh_{t−1} += dGates_t·W_hhᵀ
      if (t > 0) k.gemm(false, true, B, H, G, dg, this.wHh.value, dh.subarray((t - 1) * bh, t * bh), 1);
    }
    // All steps stacked: dW_hh += H_prevᵀ·dGates, dW_ih += Xᵀ·dGates, db += Σ dGates.
    k.gemm(true, false, H, G, n, h.subarray(0, n * H), dGates, this.wHh.grad, 1);
    k.gemm(true, false, inDim, G, n, this.x, dGates, this.wIh.grad, 1);
    k.sumRows(n, G, dGates, this.b.grad, 1);
    if (!inputGrad) return null;
    // dx = dGates·W_ihᵀ
    const dx = this.dx.get(n * inDim);
    k.gemm(false, true, n, inDim, G, dGates, this.wIh.value, dx, 0);
    return dx;
  }

  /** Free kernel memory (parameters included); the layer is unusable afterwards. */
  dispose(): void {
    for (const b of [this.gates, this.c, this.h, this.dGates, this.dh, this.dc, this.dx]) b.release();
    for (const p of this.params()) freeParam(this.k, p);
  }
}
