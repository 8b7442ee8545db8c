import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import { KernelBuffer, exactly } from "./buffer.js";
import { Lstm } from "./lstm.js";

/**
 * Bidirectional LSTM over a padded time-major batch. Output row t·B+b is
 * [h→_t | h←_t] (2H wide): the forward direction in columns 0..H−1 and the
 * backward direction in H..2H−1.
 *
 * The backward direction must start at each sentence's last real token, not
 * at the padding. So each sentence is reversed within its own length (pads
 * stay where they are), run through a second {@link Lstm}, and its outputs
 * are put back in the original order. Outputs at padded positions are finite
 * but meaningless.
 */
export class BiLstm {
  /** Left-to-right direction. */
  readonly fwd: Lstm;
  /** Right-to-left direction (runs on the reversed sentences). */
  readonly bwd: Lstm;
  // rev[r]: row of the original batch that row r of the reversed batch reads.
  // An involution, so it also maps reversed outputs back.
  private rev = new Int32Array(0);
  private readonly xRev: KernelBuffer;
  private readonly out: KernelBuffer;
  private readonly dF: KernelBuffer;
  private readonly dB: KernelBuffer;
  private readonly dx: KernelBuffer;
  private T = 0;
  private B = 0;

  constructor(k: Kernels, readonly inDim: number, readonly hidden: number, rng: Rng, name: string) {
    this.fwd = new Lstm(k, inDim, hidden, rng, `${name}.fwd`);
    this.bwd = new Lstm(k, inDim, hidden, rng, `${name}.bwd`);
    this.xRev = new KernelBuffer(k);
    this.out = new KernelBuffer(k);
    this.dF = new KernelBuffer(k);
    this.dB = new KernelBuffer(k);
    this.dx = new KernelBuffer(k);
  }

  /** Trainable parameters: the forward direction's, then the backward's. */
  params(): Param[] {
    return [...this.fwd.params(), ...this.bwd.params()];
  }

  /**
   * `x` is T·B×in (kernel buffer, kept for backward), `lengths[b]` the real
   * length of sentence b (0..T). Returns T·B×2H, valid until the next forward.
   */
  forward(x: Float32Array, T: number, B: number, lengths: Int32Array): Float32Array {
    const { inDim } = this;
    const H = this.hidden;
    const n = T * B;
    const xv = exactly(x, n * inDim, "BiLSTM input");
    if (lengths.length < B) throw new LstmNerError(`BiLSTM lengths: expected ${B} values, got ${lengths.length}`);
    if (this.rev.length < n) this.rev = new Int32Array(n);
    const rev = this.rev;
    for (let b = 0; b < B; b++) {
      const len = lengths[b]!;
      if (!Number.isInteger(len) || len < 0 || len > T) {
        throw new LstmNerError(`BiLSTM lengths[${b}] = ${len} is outside 0..${T}`);
      }
      for (let t = 0; t < T; t++) rev[t * B + b] = (t < len ? len - 1 - t : t) * B + b;
    }
    this.T = T;
    this.B = B;
    const xRev = this.xRev.get(n * inDim);
    for (let r = 0; r < n; r++) {
      const o = r * inDim;
      const s = rev[r]! * inDim;
      for (let j = 0; j < inDim; j++) xRev[o + j] = xv[s + j]!;
    }
    const hf = this.fwd.forward(xv, T, B);
    const hb = this.bwd.forward(xRev, T, B);
    const out = this.out.get(n * 2 * H);
    for (let r = 0; r < n; r++) {
      const o = r * 2 * H;
      const f = r * H;
      const s = rev[r]! * H;
      for (let j = 0; j < H; j++) {
        out[o + j] = hf[f + j]!;
        out[o + H + j] = hb[s + j]!;
      }
    }
    return out;
  }

  /**
   * `dOut` is dL/d(output), T·B×2H. Accumulates both directions' parameter
   * gradients and returns dL/dx (T·B×in), or null when `inputGrad` is false.
   */
  backward(dOut: Float32Array): Float32Array;
  backward(dOut: Float32Array, inputGrad: false): null;
  backward(dOut: Float32Array, inputGrad: boolean): Float32Array | null;
  backward(dOut: Float32Array, inputGrad = true): Float32Array | null {
    const { inDim, T, B } = this;
    const H = this.hidden;
    const n = T * B;
    const rev = this.rev;
    const d = exactly(dOut, n * 2 * H, "BiLSTM output gradient");
    const dF = this.dF.get(n * H);
    const dB = this.dB.get(n * H);
    for (let r = 0; r < n; r++) {
      const o = r * 2 * H;
      const s = rev[r]! * 2 * H + H; // reversed row r came from original row rev[r]
      for (let j = 0; j < H; j++) {
        dF[r * H + j] = d[o + j]!;
        dB[r * H + j] = d[s + j]!;
      }
    }
    const dxF = this.fwd.backward(dF, inputGrad);
    const dxB = this.bwd.backward(dB, inputGrad);
    if (dxF === null || dxB === null) return null;
    // dx = dx→ + (dx← put back in the original order)
    const dx = this.dx.get(n * inDim);
    for (let r = 0; r < n; r++) {
      const o = r * inDim;
      const s = rev[r]! * inDim;
      for (let j = 0; j < inDim; j++) dx[o + j] = dxF[o + j]! + dxB[s + j]!;
    }
    return dx;
  }

  /** Free kernel memory (parameters included); the layer is unusable afterwards. */
  dispose(): void {
    for (const b of [this.xRev, this.out, this.dF, this.dB, this.dx]) b.release();
    this.fwd.dispose();
    this.bwd.dispose();
  }
}
