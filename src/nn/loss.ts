import type { Kernels } from "../engine/kernels.js";
import { LstmNerError } from "../util/errors.js";
import { KernelBuffer, KernelInt32Buffer, exactly } from "./buffer.js";

/**
 * Mean negative log-likelihood of log-softmax over the rows whose label is not
 * −1 (pads): L = −(1/N) Σ_{r: y_r ≥ 0} log softmax(z_r)[y_r], the loss of the
 * classroom model (`NLLLoss(ignore_index=-1)` after `log_softmax`).
 */
export class SoftmaxNll {
  private readonly labels: KernelInt32Buffer;
  private readonly logp: KernelBuffer;
  private readonly dlogits: KernelBuffer;
  private rows = 0;
  private cols = 0;
  private hasGrad = false;

  constructor(private readonly k: Kernels) {
    this.labels = new KernelInt32Buffer(k);
    this.logp = new KernelBuffer(k);
    this.dlogits = new KernelBuffer(k);
  }

  /**
   * Loss of `logits` (rows×cols) against `labels` (rows; a class id or −1).
   * Returns the mean loss (0 when no row counts) and the number of rows used.
   * With `withGrad` (default) the gradient is computed too, for {@link backward}.
   * @throws LstmNerError naming the first label outside −1..cols−1.
   */
  forward(logits: Float32Array, labels: Int32Array, rows: number, cols: number, withGrad = true): { loss: number; count: number } {
    const lab = this.labels.get(rows);
    const src = exactly(labels, rows, "loss labels");
    for (let r = 0; r < rows; r++) {
      const y = src[r]!;
      if (y < -1 || y >= cols) throw new LstmNerError(`labels[${r}] = ${y} is outside −1..${cols - 1}`);
      lab[r] = y;
    }
    this.rows = rows;
    this.cols = cols;
    this.hasGrad = withGrad;
    const logp = this.logp.get(rows * cols);
    const dl = withGrad ? this.dlogits.get(rows * cols) : null;
    const { loss, count } = this.k.logSoftmaxNll(rows, cols, exactly(logits, rows * cols, "loss logits"), lab, logp, dl);
    return { loss: count > 0 ? loss / count : 0, count };
  }

  /** dL/dlogits of the mean loss (rows×cols, zero on ignored rows), valid until the next forward. */
  backward(): Float32Array {
    if (!this.hasGrad) throw new Error("SoftmaxNll.backward needs a forward with withGrad = true");
    return this.dlogits.get(this.rows * this.cols);
  }

  /** Free kernel memory. */
  dispose(): void {
    this.labels.release();
    this.logp.release();
    this.dlogits.release();
  }
}
