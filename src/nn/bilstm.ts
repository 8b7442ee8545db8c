import type { Kernels, LstmSequence } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import { KernelBuffer, KernelInt32Buffer, exactly, kernelBuffers } from "./buffer.js";
import { Lstm } from "./lstm.js";

// A layer's reusable buffers: each direction's packed input, the padded output, the input gradient.
const BILSTM_BUFFERS = ["xF", "xB", "out", "dx"] as const;

/**
 * Bidirectional LSTM over a padded time-major batch. Output row t·B+b is
 * [h→_t | h←_t] (2H wide): the forward direction in columns 0..H−1 and the
 * backward direction in H..2H−1.
 *
 * The backward direction must start at each sentence's last real token, not
 * at the padding. Both directions run on packed sequences (sentences sorted
 * longest first, only the real tokens of each step; the backward direction
 * reads each sentence reversed within its own length), so padding costs no
 * compute at all, and both go to the kernels in one call, which may run them
 * on two threads. Outputs at padded positions are zero.
 */
export class BiLstm {
  /** Left-to-right direction. */
  readonly fwd: Lstm;
  /** Right-to-left direction (runs on the reversed sentences). */
  readonly bwd: Lstm;
  // Packed row r of each direction reads padded row srcF[r] / srcB[r] (and writes its output there).
  private srcF = new Int32Array(0);
  private srcB = new Int32Array(0);
  private order = new Int32Array(0);
  // After forwardInfer: padded row → packed row of the forward / backward direction, and their h.
  private packedAt = new Int32Array(0);
  private packedAtB = new Int32Array(0);
  private fwdH: Float32Array = new Float32Array(0);
  private bwdH: Float32Array = new Float32Array(0);
  private readonly sizes: KernelInt32Buffer;
  private readonly buf: Record<(typeof BILSTM_BUFFERS)[number], KernelBuffer>;
  private T = 0;
  private B = 0;
  private n = 0;
  /** Step sizes of the last {@link plan}; whether {@link packedRows} planned the next {@link forwardInferPacked}. */
  private planSizes: Int32Array = new Int32Array(0);
  private planned = false;

  constructor(private readonly k: Kernels, readonly inDim: number, readonly hidden: number, rng: Rng, name: string) {
    this.fwd = new Lstm(k, inDim, hidden, rng, `${name}.fwd`);
    this.bwd = new Lstm(k, inDim, hidden, rng, `${name}.bwd`);
    this.sizes = new KernelInt32Buffer(k);
    this.buf = kernelBuffers(k, BILSTM_BUFFERS);
  }

  /** Trainable parameters: the forward direction's, then the backward's. */
  params(): Param[] {
    return [...this.fwd.params(), ...this.bwd.params()];
  }

  /**
   * `x` is T·B×in, `lengths[b]` the real length of sentence b (0..T). Returns
   * T·B×2H, valid until the next forward. `keep` false runs the
   * inference-only kernel (same output, nothing kept: no backward afterwards).
   */
  forward(x: Float32Array, T: number, B: number, lengths: Int32Array, keep = true): Float32Array {
    const H = this.hidden;
    const { n, sf, sb } = this.run(x, T, B, lengths, keep);
    const { srcF, srcB } = this;
    const out = this.buf.out.get(T * B * 2 * H);
    out.fill(0);
    for (let q = 0; q < n; q++) {
      out.set(sf.subarray(q * H, (q + 1) * H), srcF[q]! * 2 * H);
      out.set(sb.subarray(q * H, (q + 1) * H), srcB[q]! * 2 * H + H);
    }
    return out;
  }

  /**
   * Inference-only forward (as `forward` with `keep` false) that leaves the
   * output packed, in the two directions' own buffers: read the rows wanted
   * with {@link outputRows}. Tagging never builds the padded T·B×2H matrix,
   * which at batch 256 was the largest buffer of the whole forward pass.
   */
  forwardInfer(x: Float32Array, T: number, B: number, lengths: Int32Array): void {
    this.run(x, T, B, lengths, false);
    this.indexPacked();
  }

  /**
   * For a caller that builds the input packed itself (tagging): lays the batch
   * out as {@link forwardInfer} does and returns, for each packed row q of the
   * forward direction, the padded row t·B+b it stands for (a view valid until
   * the next forward). Then call {@link forwardInferPacked} with row q of the
   * input holding padded row rows[q]'s: neither the padded T·B×in input nor
   * the forward direction's copy of it is built.
   */
  packedRows(T: number, B: number, lengths: Int32Array): Int32Array {
    const n = this.plan(T, B, lengths);
    this.planned = true;
    return this.srcF.subarray(0, n);
  }

  /**
   * {@link forwardInfer} on the input packed in the order {@link packedRows} gave (n×in); read the output with {@link
   * outputRows}.
   */
  forwardInferPacked(xF: Float32Array): void {
    if (!this.planned) throw new Error("BiLstm.forwardInferPacked called without packedRows");
    this.planned = false;
    const { n, inDim, srcB } = this;
    const xv = exactly(xF, n * inDim, "BiLSTM packed input");
    this.indexPacked();
    // The backward direction's row r is padded row srcB[r], which is packed forward row packedAt[srcB[r]].
    const xB = this.buf.xB.get(n * inDim);
    const at = this.packedAt;
    for (let r = 0; r < n; r++) {
      const s = at[srcB[r]!]! * inDim;
      xB.set(xv.subarray(s, s + inDim), r * inDim);
    }
    this.runPacked(xv, xB, false);
  }

  /** Padded row → packed row of each direction, for {@link outputRows}. */
  private indexPacked(): void {
    const { n, T, B } = this;
    if (this.packedAt.length < T * B) this.packedAt = new Int32Array(T * B);
    // Padded row → packed row, for each direction (row r of the backward direction is padded row srcB[r]).
    const at = this.packedAt;
    for (let q = 0; q < n; q++) at[this.srcF[q]!] = q;
    if (this.packedAtB.length < T * B) this.packedAtB = new Int32Array(T * B);
    for (let q = 0; q < n; q++) this.packedAtB[this.srcB[q]!] = q;
  }

  /**
   * Output rows [h→ | h←] of the last {@link forwardInfer} at the padded rows
   * `rows[0..count)` (each a real token, t·B+b with t < lengths[b]), written
   * to `dst` (count×2H); returns `dst`.
   */
  outputRows(rows: Int32Array, count: number, dst: Float32Array): Float32Array {
    const H = this.hidden;
    const hF = this.fwdH, hB = this.bwdH;
    for (let i = 0; i < count; i++) {
      const p = rows[i]!;
      if (!(p >= 0 && p < this.T * this.B)) throw new LstmNerError(`BiLSTM output row ${p} is outside 0..${this.T * this.B - 1}`);
      const f = this.packedAt[p]! * H, b = this.packedAtB[p]! * H;
      dst.set(hF.subarray(f, f + H), i * 2 * H);
      dst.set(hB.subarray(b, b + H), i * 2 * H + H);
    }
    return dst;
  }

  /** Packs `x` per direction and runs both (kept for backward unless `keep` is false); h of each direction, packed. */
  private run(x: Float32Array, T: number, B: number, lengths: Int32Array, keep: boolean): { n: number; sf: Float32Array; sb: Float32Array } {
    const { inDim } = this;
    const xv = exactly(x, T * B * inDim, "BiLSTM input");
    const n = this.plan(T, B, lengths);
    const xF = gatherRows(this.buf.xF.get(n * inDim), xv, this.srcF, n, inDim);
    const xB = gatherRows(this.buf.xB.get(n * inDim), xv, this.srcB, n, inDim);
    return this.runPacked(xF, xB, keep);
  }

  /**
   * Checks the lengths and lays the batch out: step sizes (longest sentence first) and each direction's packed row →
   * padded row.
   */
  private plan(T: number, B: number, lengths: Int32Array): number {
    this.planned = false;
    if (lengths.length < B) throw new LstmNerError(`BiLSTM lengths: expected ${B} values, got ${lengths.length}`);
    let n = 0;
    for (let b = 0; b < B; b++) {
      const len = lengths[b]!;
      if (!Number.isInteger(len) || len < 0 || len > T) {
        throw new LstmNerError(`BiLSTM lengths[${b}] = ${len} is outside 0..${T}`);
      }
      n += len;
    }
    this.T = T;
    this.B = B;
    this.n = n;
    // Longest first (stable), then the rows each step still has.
    if (this.order.length < B) this.order = new Int32Array(B);
    const order = this.order.subarray(0, B);
    for (let b = 0; b < B; b++) order[b] = b;
    order.sort((a, b) => lengths[b]! - lengths[a]! || a - b);
    const steps = B > 0 ? lengths[order[0]!]! : 0;
    const sizes = this.sizes.get(steps);
    let active = B;
    for (let t = 0; t < steps; t++) {
      while (lengths[order[active - 1]!]! <= t) active--;
      sizes[t] = active;
    }
    if (this.srcF.length < n) {
      this.srcF = new Int32Array(n);
      this.srcB = new Int32Array(n);
    }
    const { srcF, srcB } = this;
    let r = 0;
    for (let t = 0; t < steps; t++) {
      for (let i = 0; i < sizes[t]!; i++, r++) {
        const b = order[i]!;
        srcF[r] = t * B + b;
        srcB[r] = (lengths[b]! - 1 - t) * B + b;
      }
    }
    this.planSizes = sizes;
    return n;
  }

  /** Runs both directions on their packed inputs (kept for backward unless `keep` is false). */
  private runPacked(xF: Float32Array, xB: Float32Array, keep: boolean): { n: number; sf: Float32Array; sb: Float32Array } {
    const { n, planSizes: sizes } = this;
    const sf = keep ? this.fwd.sequence(xF, sizes) : this.fwd.inferSequence(xF, sizes);
    const sb = keep ? this.bwd.sequence(xB, sizes) : this.bwd.inferSequence(xB, sizes);
    if (keep) this.k.lstmForward([sf as LstmSequence, sb as LstmSequence]);
    else this.fwd.infer([sf, sb], [this.bwd]);
    this.fwdH = sf.h;
    this.bwdH = sb.h;
    return { n, sf: sf.h, sb: sb.h };
  }

  /**
   * `dOut` is dL/d(output), T·B×2H. Accumulates both directions' parameter
   * gradients and returns dL/dx (T·B×in, zero at padded rows), or null when
   * `inputGrad` is false.
   */
  backward(dOut: Float32Array): Float32Array;
  backward(dOut: Float32Array, inputGrad: false): null;
  backward(dOut: Float32Array, inputGrad: boolean): Float32Array | null;
  backward(dOut: Float32Array, inputGrad = true): Float32Array | null {
    const { inDim, T, B, n, srcF, srcB } = this;
    const H = this.hidden;
    const d = exactly(dOut, T * B * 2 * H, "BiLSTM output gradient");
    // Scatter dOut straight into each direction's running gradient.
    const gf = this.fwd.sequenceGrad(null, inputGrad);
    const gb = this.bwd.sequenceGrad(null, inputGrad);
    for (let q = 0; q < n; q++) {
      const f = srcF[q]! * 2 * H;
      const b = srcB[q]! * 2 * H + H;
      gf.dh.set(d.subarray(f, f + H), q * H);
      gb.dh.set(d.subarray(b, b + H), q * H);
    }
    this.k.lstmBackward([gf, gb]);
    if (gf.dx === null || gb.dx === null) return null;
    const dx = this.buf.dx.get(T * B * inDim);
    dx.fill(0);
    for (let q = 0; q < n; q++) dx.set(gf.dx.subarray(q * inDim, (q + 1) * inDim), srcF[q]! * inDim);
    const dxB = gb.dx;
    for (let q = 0; q < n; q++) {
      const o = srcB[q]! * inDim;
      const s = q * inDim;
      for (let j = 0; j < inDim; j++) dx[o + j]! += dxB[s + j]!;
    }
    return dx;
  }

  /** Int16 weights for inference in both directions (see {@link Lstm.quantize}). */
  quantize(): void {
    this.fwd.quantize();
    this.bwd.quantize();
  }

  /** Free kernel memory (parameters included); the layer is unusable afterwards. */
  dispose(): void {
    for (const b of [...Object.values(this.buf), this.sizes]) b.release();
    this.fwd.dispose();
    this.bwd.dispose();
  }
}

/** dst[r] = src[rows[r]] for n rows of `width` floats. */
function gatherRows(dst: Float32Array, src: Float32Array, rows: Int32Array, n: number, width: number): Float32Array {
  for (let r = 0; r < n; r++) {
    const s = rows[r]! * width;
    dst.set(src.subarray(s, s + width), r * width);
  }
  return dst;
}
