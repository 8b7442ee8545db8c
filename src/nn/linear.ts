import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import type { Param } from "./param.js";
import { KernelBuffer, exactly, freeParam, kernelParam } from "./buffer.js";

/**
 * Fully connected layer y = x·W + b, with W stored in×out (row-major) so the
 * forward pass is a plain GEMM. Initialised like PyTorch's `nn.Linear`:
 * W, b ~ U(−1/√in, 1/√in).
 */
export class Linear {
  /** Weight, in×out. */
  readonly w: Param;
  /** Bias, out. */
  readonly b: Param;
  private readonly y: KernelBuffer;
  private readonly dx: KernelBuffer;
  private x: Float32Array | null = null;
  private rows = 0;

  constructor(private readonly k: Kernels, readonly inDim: number, readonly outDim: number, rng: Rng, name: string) {
    this.w = kernelParam(k, `${name}.w`, [inDim, outDim]);
    this.b = kernelParam(k, `${name}.b`, [outDim]);
    const a = 1 / Math.sqrt(inDim);
    rng.fillUniform(this.w.value, -a, a);
    rng.fillUniform(this.b.value, -a, a);
    this.y = new KernelBuffer(k);
    this.dx = new KernelBuffer(k);
  }

  /** Trainable parameters: weight then bias. */
  params(): Param[] {
    return [this.w, this.b];
  }

  /**
   * y = x·W + b for `rows` rows of x (rows×in, a kernel buffer). Keeps a
   * reference to x for the backward pass: leave it untouched until then.
   * Returns a view of this layer's output buffer (rows×out), valid until the next forward.
   */
  forward(x: Float32Array, rows: number): Float32Array {
    const { k, inDim, outDim } = this;
    this.x = exactly(x, rows * inDim, "Linear input");
    this.rows = rows;
    const y = this.y.get(rows * outDim);
    k.gemm(false, false, rows, outDim, inDim, this.x, this.w.value, y, 0);
    k.addBias(rows, outDim, y, this.b.value);
    return y;
  }

  /**
   * Given dL/dy (rows×out), accumulate dL/dW += xᵀ·dy and dL/db += Σ_rows dy,
   * and return dL/dx = dy·Wᵀ (rows×in, valid until the next backward).
   */
  backward(dy: Float32Array): Float32Array {
    const { k, inDim, outDim, rows } = this;
    if (this.x === null) throw new Error("Linear.backward called before forward");
    const dyv = exactly(dy, rows * outDim, "Linear output gradient");
    k.gemm(true, false, inDim, outDim, rows, this.x, dyv, this.w.grad, 1);
    k.sumRows(rows, outDim, dyv, this.b.grad, 1);
    const dx = this.dx.get(rows * inDim);
    k.gemm(false, true, rows, inDim, outDim, dyv, this.w.value, dx, 0);
    return dx;
  }

  /** Free kernel memory (parameters included); the layer is unusable afterwards. */
  dispose(): void {
    this.y.release();
    this.dx.release();
    freeParam(this.k, this.w);
    freeParam(this.k, this.b);
  }
}
