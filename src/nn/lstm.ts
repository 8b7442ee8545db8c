import type { Kernels, LstmInferSequence, LstmSequence, LstmSequenceGrad, QuantizedLstm } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import type { Param } from "./param.js";
import { KernelBuffer, KernelInt32Buffer, exactly, freeParam, kernelParam, kernelBuffers } from "./buffer.js";

// Kept for backward: gate activations (N×4H), c with a zero block for step −1 in front, h, h_{t−1};
// then the backward's gradients.
const LSTM_BUFFERS = ["gates", "c", "h", "hPrev", "dGates", "dh", "dc", "dx"] as const;

/**
 * A single-layer unidirectional LSTM with PyTorch's maths and gate order
 * (i, f, g, o). Starts from h₀ = c₀ = 0.
 *
 *   gates_t = x_t·W_ih + h_{t−1}·W_hh + b
 *   i, f, g, o = σ(·), σ(·), tanh(·), σ(·)
 *   c_t = f⊙c_{t−1} + i⊙g;   h_t = o⊙tanh(c_t)
 *
 * PyTorch has two biases b_ih + b_hh; only their sum matters, so there is one
 * bias initialised as the sum of two U(−1/√H, 1/√H) draws (same distribution).
 *
 * Two layouts: {@link forward} takes a full time-major batch (row t·B+b is
 * step t of sentence b); {@link forwardPacked} a packed sequence (rows of the
 * sentences still running at each step, longest first, see
 * `LstmSequence`), which never computes padding. The whole time loop runs in
 * one kernel call ({@link Kernels.lstmForward}).
 */
export class Lstm {
  /** Input weights, in×4H. */
  readonly wIh: Param;
  /** Recurrent weights, H×4H. */
  readonly wHh: Param;
  /** Bias, 4H. */
  readonly b: Param;

  private readonly sizes: KernelInt32Buffer;
  private readonly buf: Record<(typeof LSTM_BUFFERS)[number], KernelBuffer>;
  private seq: LstmSequence | null = null;
  private q: QuantizedLstm | null = null;

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
    this.sizes = new KernelInt32Buffer(k);
    this.buf = kernelBuffers(k, LSTM_BUFFERS);
  }

  /** Trainable parameters: W_ih, W_hh, b. */
  params(): Param[] {
    return [this.wIh, this.wHh, this.b];
  }

  /**
   * Run T steps over a full batch of B. `x` is T·B×in (a kernel buffer), kept
   * by reference for the backward pass: leave it untouched until then. Padding
   * at the end of a sentence cannot affect its real steps (the recurrence only
   * looks back), so no lengths are needed. Returns h for every step, T·B×H, a
   * view valid until the next forward.
   */
  forward(x: Float32Array, T: number, B: number, keep = true): Float32Array {
    const sizes = this.sizes.get(T);
    sizes.fill(B);
    const xv = exactly(x, T * B * this.inDim, "LSTM input");
    if (keep) return this.run(xv, sizes);
    const s = this.inferSequence(xv, sizes);
    this.infer([s]);
    return s.h;
  }

  /**
   * Int16 weights for inference from now on (a snapshot of the current
   * weights: call it when they are final, e.g. after loading a model). A
   * training forward drops them again.
   */
  quantize(): void {
    this.dropQuantized();
    this.q = this.k.quantizeLstm(this.inDim, this.hidden, this.wIh.value, this.wHh.value, this.b.value);
  }

  /** True after {@link quantize}, until a training forward. */
  get quantized(): boolean {
    return this.q !== null;
  }

  /**
   * Runs inference-only sequences of this layer's ({@link inferSequence}) on the quantized weights when there are
   * some.
   */
  infer(seqs: readonly LstmInferSequence[], others: readonly Lstm[] = []): void {
    const layers = [this, ...others];
    if (layers.every((l) => l.q !== null)) {
      this.k.lstmInferQuantized(seqs.map((s, i) => ({ batchSizes: s.batchSizes, x: s.x, weights: layers[i]!.q!, h: s.h })));
    } else {
      this.k.lstmInfer(seqs);
    }
  }

  /**
   * Run over a packed sequence: `batchSizes[t]` rows at step t (non-increasing,
   * each ≥ 1), `x` is N×in with N = Σ batchSizes (a kernel buffer, kept for
   * backward). Returns h, N×H, valid until the next forward.
   */
  forwardPacked(x: Float32Array, batchSizes: Int32Array): Float32Array {
    let n = 0;
    for (const b of batchSizes) n += b;
    return this.run(exactly(x, n * this.inDim, "LSTM input"), batchSizes);
  }

  /**
   * The kernel arguments of a forward pass over `x` (N×in, packed), with this
   * layer's buffers sized for it; {@link Kernels.lstmForward} fills them. For
   * a caller that runs several directions in one kernel call (BiLstm).
   */
  sequence(x: Float32Array, batchSizes: Int32Array): LstmSequence {
    this.dropQuantized(); // training: the weights are about to change
    const sizes = this.sizes.get(batchSizes.length);
    sizes.set(batchSizes); // a no-op when batchSizes is already this view
    let n = 0;
    for (const b of sizes) n += b;
    const H = this.hidden;
    const b0 = sizes.length > 0 ? sizes[0]! : 0;
    this.seq = {
      inDim: this.inDim, hidden: H, batchSizes: sizes, x,
      wIh: this.wIh.value, wHh: this.wHh.value, b: this.b.value,
      gates: this.buf.gates.get(n * 4 * H), c: this.buf.c.get((b0 + n) * H), h: this.buf.h.get(n * H), hPrev: this.buf.hPrev.get(n * H),
    };
    return this.seq;
  }

  /**
   * The kernel arguments of an inference-only forward over `x` (N×in,
   * packed): only h is written ({@link Kernels.lstmInfer}), nothing is kept
   * for backward, so a later {@link sequenceGrad} is an error.
   */
  inferSequence(x: Float32Array, batchSizes: Int32Array): LstmInferSequence {
    const sizes = this.sizes.get(batchSizes.length);
    sizes.set(batchSizes);
    let n = 0;
    for (const b of sizes) n += b;
    this.seq = null;
    return {
      inDim: this.inDim, hidden: this.hidden, batchSizes: sizes, x,
      wIh: this.wIh.value, wHh: this.wHh.value, b: this.b.value, h: this.buf.h.get(n * this.hidden),
    };
  }

  /**
   * The kernel arguments of the backward pass for the last {@link sequence}:
   * `dOut` (N×H) is copied into the running gradient `dh`, or, when null, the
   * caller fills `dh` itself before the kernel call; `inputGrad` false skips dx.
   */
  sequenceGrad(dOut: Float32Array | null, inputGrad: boolean): LstmSequenceGrad {
    const s = this.seq;
    if (s === null) throw new Error("Lstm.backward called before forward");
    const H = this.hidden;
    const n = s.h.length / H;
    const dh = this.buf.dh.get(n * H);
    if (dOut !== null) dh.set(exactly(dOut, n * H, "LSTM output gradient"));
    const b0 = s.batchSizes.length > 0 ? s.batchSizes[0]! : 0;
    return {
      ...s, dh, dc: this.buf.dc.get(b0 * H), dGates: this.buf.dGates.get(n * 4 * H),
      dx: inputGrad ? this.buf.dx.get(n * this.inDim) : null,
      gWih: this.wIh.grad, gWhh: this.wHh.grad, gB: this.b.grad,
    };
  }

  /**
   * Backpropagation through time. `dOut` is dL/dh for every row of the last
   * forward (T·B×H, or N×H when packed). Accumulates the parameter gradients
   * and returns dL/dx (valid until the next backward), or null when
   * `inputGrad` is false (saves a GEMM when the input is a frozen embedding).
   */
  backward(dOut: Float32Array): Float32Array;
  backward(dOut: Float32Array, inputGrad: false): null;
  backward(dOut: Float32Array, inputGrad: boolean): Float32Array | null;
  backward(dOut: Float32Array, inputGrad = true): Float32Array | null {
    const g = this.sequenceGrad(dOut, inputGrad);
    this.k.lstmBackward([g]);
    return g.dx;
  }

  /** Free kernel memory (parameters included); the layer is unusable afterwards. */
  dispose(): void {
    this.dropQuantized();
    for (const b of [...Object.values(this.buf), this.sizes]) b.release();
    for (const p of this.params()) freeParam(this.k, p);
  }

  private dropQuantized(): void {
    if (this.q !== null) this.k.freeQuantizedLstm(this.q);
    this.q = null;
  }

  private run(x: Float32Array, sizes: Int32Array): Float32Array {
    const s = this.sequence(x, sizes);
    this.k.lstmForward([s]);
    return s.h;
  }
}
