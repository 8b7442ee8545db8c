import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import { KernelBuffer, KernelInt32Buffer, exactly, freeParam, kernelParam, kernelBuffers } from "./buffer.js";

// Reusable buffers: cluster logits, log-probabilities and their gradient; the rows regrouped by
// cluster and their gradient; word-in-cluster logits, log-probabilities, gradient; dL/dx.
const BUFFERS = ["z", "logpZ", "dz", "xs", "dxs", "u", "logpU", "du", "dx"] as const;

/**
 * A class-factored ("two-level") softmax with its mean NLL (Goodman 2001;
 * Mikolov et al. 2011): the V words fall into C clusters of S = ⌈V/C⌉
 * consecutive ids (the last cluster may be smaller), and
 *
 *   p(w | x) = p(c(w) | x) · p(w | c(w), x)
 *   p(c | x)    = softmax(x·W_c + b_c)[c]                       (C classes)
 *   p(w | c, x) = softmax(x·U_cᵀ + a_c)[w − c·S]                (the S_c words of cluster c only)
 *   L = −(1/m) Σ_i [log p(c(y_i) | x_i) + log p(y_i | c(y_i), x_i)]
 *
 * So a row scores C + S_c ≈ 2√V classes instead of V. With word ids ordered
 * by frequency (as the char LM's are), each cluster holds words of similar
 * frequency. The model is exact, not an estimate: its gradient is the true
 * gradient of L.
 *
 * Parameters: `${name}.cls.w` (in×C), `${name}.cls.b` (C), `${name}.word.w`
 * (V×in: word w's row, so a cluster's words are one contiguous block U_c),
 * `${name}.word.b` (V); all initialised U(−1/√in, 1/√in) like `Linear`.
 */
export class ClassSoftmax {
  readonly clusters: number;
  /** Words per cluster (the last one may have fewer). */
  readonly clusterSize: number;
  readonly clsW: Param;
  readonly clsB: Param;
  readonly wordW: Param;
  readonly wordB: Param;
  private readonly buf: Record<(typeof BUFFERS)[number], KernelBuffer>;
  private readonly labels: KernelInt32Buffer;
  /**
   * Rows of the last forward in cluster order (a counting sort), and where each cluster's run starts (C+1
   * entries).
   */
  private order = new Int32Array(0);
  private start = new Int32Array(0);
  /** Where cluster c's block of word-level values starts in u / du. */
  private uOff = new Int32Array(0);
  private x: Float32Array | null = null;
  private rows = 0;
  private hasGrad = false;

  /**
   * @param clusters C; default ⌈√V⌉ (about the fewest classes scored per row).
   */
  constructor(private readonly k: Kernels, readonly inDim: number, readonly classes: number, rng: Rng, name: string,
    clusters = Math.ceil(Math.sqrt(classes))) {
    if (!(Number.isInteger(clusters) && clusters >= 1 && clusters <= classes)) throw new LstmNerError(`${name}: clusters must be a whole number in 1..${classes}, got ${clusters}`);
    this.clusterSize = Math.ceil(classes / clusters);
    // Clusters of S ids each: ⌈V/S⌉ of them (never an empty one).
    this.clusters = Math.ceil(classes / this.clusterSize);
    const C = this.clusters;
    this.clsW = kernelParam(k, `${name}.cls.w`, [inDim, C]);
    this.clsB = kernelParam(k, `${name}.cls.b`, [C]);
    this.wordW = kernelParam(k, `${name}.word.w`, [classes, inDim]);
    this.wordB = kernelParam(k, `${name}.word.b`, [classes]);
    const a = 1 / Math.sqrt(inDim);
    for (const p of [this.clsW, this.clsB, this.wordW, this.wordB]) rng.fillUniform(p.value, -a, a);
    this.buf = kernelBuffers(k, BUFFERS);
    this.labels = new KernelInt32Buffer(k);
    this.start = new Int32Array(C + 1);
    this.uOff = new Int32Array(C + 1);
  }

  /** Trainable parameters: cluster weight and bias, then word weight and bias. */
  params(): Param[] {
    return [this.clsW, this.clsB, this.wordW, this.wordB];
  }

  /** Words in cluster c. */
  private sizeOf(c: number): number {
    return Math.min(this.clusterSize, this.classes - c * this.clusterSize);
  }

  /**
   * Mean NLL of `targets` (rows word ids in 0..V−1) given x (rows×in, a kernel
   * buffer, kept by reference for backward: leave it untouched until then).
   * With `withGrad` the gradient is computed too, for {@link backward}.
   * @throws LstmNerError naming the first target outside 0..V−1.
   */
  forward(x: Float32Array, targets: Int32Array, rows: number, withGrad = true): number {
    const { k, inDim: H, classes: V, clusters: C, clusterSize: S } = this;
    const xv = exactly(x, rows * H, "class softmax input");
    this.x = xv;
    this.rows = rows;
    this.hasGrad = withGrad;
    if (rows === 0) return 0;
    // Cluster of each row's target, and the rows grouped by cluster (counting sort, stable).
    const lab = this.labels.get(2 * rows);
    const clsLab = lab.subarray(0, rows);
    const wordLab = lab.subarray(rows, 2 * rows);
    const start = this.start.fill(0);
    for (let i = 0; i < rows; i++) {
      const y = targets[i]!;
      if (!(Number.isInteger(y) && y >= 0 && y < V)) throw new LstmNerError(`class softmax: target ${i} = ${y} is outside 0..${V - 1}`);
      const c = Math.floor(y / S);
      clsLab[i] = c;
      start[c + 1]! += 1;
    }
    for (let c = 0; c < C; c++) start[c + 1]! += start[c]!;
    if (this.order.length < rows) this.order = new Int32Array(rows);
    const fill = start.slice(0, C);
    for (let i = 0; i < rows; i++) this.order[fill[clsLab[i]!]!++] = i;
    // Level 1, z = x·W_c + b_c and its NLL; dz = (softmax(z) − onehot(c(y)))/m.
    const z = this.buf.z.get(rows * C);
    k.gemm(false, false, rows, C, H, xv, this.clsW.value, z, 0);
    k.addBias(rows, C, z, this.clsB.value);
    let loss = k.logSoftmaxNll(rows, C, z, clsLab, this.buf.logpZ.get(rows * C), withGrad ? this.buf.dz.get(rows * C) : null).loss;
    // Level 2, per cluster c with rows R_c: X_c = x[R_c], u = X_c·U_cᵀ + a_c, NLL against y − c·S.
    const xs = this.buf.xs.get(rows * H);
    const order = this.order;
    for (let r = 0; r < rows; r++) {
      const i = order[r]!;
      xs.set(xv.subarray(i * H, (i + 1) * H), r * H);
      wordLab[r] = targets[i]! - clsLab[i]! * S;
    }
    const uOff = this.uOff;
    for (let c = 0; c < C; c++) uOff[c + 1] = uOff[c]! + (start[c + 1]! - start[c]!) * this.sizeOf(c);
    const u = this.buf.u.get(uOff[C]!);
    const logpU = this.buf.logpU.get(uOff[C]!);
    const du = withGrad ? this.buf.du.get(uOff[C]!) : null;
    for (let c = 0; c < C; c++) {
      const n = start[c + 1]! - start[c]!;
      if (n === 0) continue;
      const Sc = this.sizeOf(c);
      const r0 = start[c]!, o = uOff[c]!, o1 = uOff[c + 1]!;
      const uc = u.subarray(o, o1);
      k.gemm(false, true, n, Sc, H, xs.subarray(r0 * H, (r0 + n) * H), this.wordW.value.subarray(c * S * H, (c * S + Sc) * H), uc, 0);
      k.addBias(n, Sc, uc, this.wordB.value.subarray(c * S, c * S + Sc));
      const duc = du === null ? null : du.subarray(o, o1);
      loss += k.logSoftmaxNll(n, Sc, uc, wordLab.subarray(r0, r0 + n), logpU.subarray(o, o1), duc).loss;
      // The kernel divides by the cluster's n rows; the mean is over all m.
      if (duc !== null) for (let j = 0; j < duc.length; j++) duc[j]! *= n / rows;
    }
    return loss / rows;
  }

  /**
   * Accumulates the parameter gradients of `scale`·(the last forward's mean NLL)
   * and returns its dL/dx (rows×in, valid until the next backward), with dz and du scaled first:
   *   dW_c += xᵀ·dz;  db_c += Σ dz;  dx = dz·W_cᵀ
   *   per cluster: dU_c += du_cᵀ·X_c;  da_c += Σ du_c;  dx[R_c] += du_c·U_c
   */
  backward(scale = 1): Float32Array {
    const { k, inDim: H, clusters: C, clusterSize: S, rows, x } = this;
    if (!this.hasGrad || x === null) throw new Error("ClassSoftmax.backward needs a forward with withGrad = true");
    const dx = this.buf.dx.get(rows * H);
    if (rows === 0) return dx;
    const dz = this.buf.dz.get(rows * C);
    const { start, uOff, order } = this;
    const du = this.buf.du.get(uOff[C]!);
    if (scale !== 1) for (const d of [dz, du]) for (let j = 0; j < d.length; j++) d[j]! *= scale; // own buffers, read once
    k.gemm(true, false, H, C, rows, x, dz, this.clsW.grad, 1);
    k.sumRows(rows, C, dz, this.clsB.grad, 1);
    k.gemm(false, true, rows, H, C, dz, this.clsW.value, dx, 0);
    const xs = this.buf.xs.get(rows * H);
    const dxs = this.buf.dxs.get(rows * H);
    for (let c = 0; c < C; c++) {
      const n = start[c + 1]! - start[c]!;
      if (n === 0) continue;
      const Sc = this.sizeOf(c);
      const r0 = start[c]!;
      const duc = du.subarray(uOff[c]!, uOff[c + 1]!);
      k.gemm(true, false, Sc, H, n, duc, xs.subarray(r0 * H, (r0 + n) * H), this.wordW.grad.subarray(c * S * H, (c * S + Sc) * H), 1);
      k.sumRows(n, Sc, duc, this.wordB.grad.subarray(c * S, c * S + Sc), 1);
      k.gemm(false, false, n, H, Sc, duc, this.wordW.value.subarray(c * S * H, (c * S + Sc) * H), dxs.subarray(r0 * H, (r0 + n) * H), 0);
    }
    for (let r = 0; r < rows; r++) {
      const d = order[r]! * H;
      for (let j = 0; j < H; j++) dx[d + j]! += dxs[r * H + j]!;
    }
    return dx;
  }

  /** Free kernel memory (parameters included); the layer is unusable afterwards. */
  dispose(): void {
    for (const p of this.params()) freeParam(this.k, p);
    for (const b of Object.values(this.buf)) b.release();
    this.labels.release();
  }
}
