import type { Kernels } from "../engine/kernels.js";
import type { BiLstm } from "./bilstm.js";
import type { Linear } from "./linear.js";
import { KernelBuffer } from "./buffer.js";

/** BiLSTM output rows the output layer takes at a time when tagging. */
const CHUNK_ROWS = 256;

/**
 * Emission scores for tagging, computed on the real tokens only: the
 * BiLSTM runs inference-only ({@link BiLstm.forwardInfer}), and the output
 * layer reads its packed rows in chunks of {@link CHUNK_ROWS}, so neither the
 * padded T·B×2H BiLSTM output nor a copy of it for the real tokens is ever
 * built (at batch 256 that matrix alone was ~55 MB of WASM memory, kept for
 * good). Padded positions get the output bias, which is what the output layer gives the zero
 * rows the padded path had there, so the scores are the same as
 * `out.forward(rnn.forward(…))`.
 */
export class PackedScores {
  private rows = new Int32Array(CHUNK_ROWS);
  private dst = new Int32Array(CHUNK_ROWS);
  private readonly chunk: KernelBuffer;
  private readonly scores: KernelBuffer;

  constructor(k: Kernels) {
    this.chunk = new KernelBuffer(k);
    this.scores = new KernelBuffer(k);
  }

  /** Scores of `x` (T·B×in, the BiLSTM input): T·B×outputs, a view valid until the next call. */
  run(rnn: BiLstm, out: Linear, x: Float32Array, T: number, B: number, lengths: Int32Array): Float32Array {
    rnn.forwardInfer(x, T, B, lengths);
    return this.readout(rnn, out, T, B, lengths);
  }

  /**
   * {@link run} for a BiLSTM that has already run inference-only
   * ({@link BiLstm.forwardInfer} or {@link BiLstm.forwardInferPacked}) on this batch.
   */
  readout(rnn: BiLstm, out: Linear, T: number, B: number, lengths: Int32Array): Float32Array {
    const C = out.outDim;
    const scores = this.scores.get(T * B * C);
    const bias = out.b.value;
    for (let r = 0; r < T * B; r++) scores.set(bias, r * C);
    const chunk = this.chunk.get(CHUNK_ROWS * out.inDim);
    const { rows, dst } = this;
    let count = 0;
    const flush = (): void => {
      const y = out.forward(rnn.outputRows(rows, count, chunk), count);
      for (let i = 0; i < count; i++) scores.set(y.subarray(i * C, (i + 1) * C), dst[i]! * C);
      count = 0;
    };
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        if (t >= lengths[b]!) continue;
        rows[count] = t * B + b;
        dst[count++] = t * B + b;
        if (count === CHUNK_ROWS) flush();
      }
    }
    if (count > 0) flush();
    return scores;
  }

  /** Free the kernel buffers. */
  dispose(): void {
    this.chunk.release();
    this.scores.release();
  }
}
