import type { Kernels } from "./kernels.js";
import { lstmBackwardWith, lstmForwardWith, lstmInferWith } from "./lstmseq.js";
import { lstmInferQuantizedWith, quantizeLstmPlain } from "./quantized.js";

/**
 * Plain TypeScript kernels: the specification every faster implementation is
 * tested against. Written for clarity, not speed.
 */

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function gemm(transA: boolean, transB: boolean, m: number, n: number, k: number,
  a: Float32Array, b: Float32Array, c: Float32Array, beta: 0 | 1): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        // op(A)[i,p] · op(B)[p,j]
        const av = transA ? a[p * m + i]! : a[i * k + p]!;
        const bv = transB ? b[j * k + p]! : b[p * n + j]!;
        s += av * bv;
      }
      c[i * n + j] = beta === 0 ? s : c[i * n + j]! + s;
    }
  }
}

function addBias(rows: number, cols: number, x: Float32Array, bias: Float32Array): void {
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols; j++) x[r * cols + j]! += bias[j]!;
}

function sumRows(rows: number, cols: number, x: Float32Array, out: Float32Array, beta: 0 | 1): void {
  for (let j = 0; j < cols; j++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += x[r * cols + j]!;
    out[j] = beta === 0 ? s : out[j]! + s;
  }
}

function lstmCellForward(batch: number, hidden: number, gates: Float32Array, cPrev: Float32Array,
  c: Float32Array, h: Float32Array, hStride: number): void {
  const H = hidden;
  for (let r = 0; r < batch; r++) {
    const g0 = r * 4 * H;
    for (let j = 0; j < H; j++) {
      const i = sigmoid(gates[g0 + j]!);
      const f = sigmoid(gates[g0 + H + j]!);
      const g = Math.tanh(gates[g0 + 2 * H + j]!);
      const o = sigmoid(gates[g0 + 3 * H + j]!);
      gates[g0 + j] = i;
      gates[g0 + H + j] = f;
      gates[g0 + 2 * H + j] = g;
      gates[g0 + 3 * H + j] = o;
      // c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)
      const ct = f * cPrev[r * H + j]! + i * g;
      c[r * H + j] = ct;
      h[r * hStride + j] = o * Math.tanh(ct);
    }
  }
}

function lstmCellBackward(batch: number, hidden: number, gates: Float32Array, cPrev: Float32Array,
  c: Float32Array, dh: Float32Array, dhStride: number, dc: Float32Array, dGates: Float32Array): void {
  const H = hidden;
  for (let r = 0; r < batch; r++) {
    const g0 = r * 4 * H;
    for (let j = 0; j < H; j++) {
      const i = gates[g0 + j]!;
      const f = gates[g0 + H + j]!;
      const g = gates[g0 + 2 * H + j]!;
      const o = gates[g0 + 3 * H + j]!;
      const tc = Math.tanh(c[r * H + j]!);
      const dhv = dh[r * dhStride + j]!;
      // dc_t = dh ⊙ o ⊙ (1 − tanh²c) + dc_{t+1 → t}
      const dct = dhv * o * (1 - tc * tc) + dc[r * H + j]!;
      dGates[g0 + j] = dct * g * i * (1 - i); // through σ(i)
      dGates[g0 + H + j] = dct * cPrev[r * H + j]! * f * (1 - f); // through σ(f)
      dGates[g0 + 2 * H + j] = dct * i * (1 - g * g); // through tanh(g)
      dGates[g0 + 3 * H + j] = dhv * tc * o * (1 - o); // through σ(o)
      dc[r * H + j] = dct * f; // to c_{t-1}
    }
  }
}

function logSoftmaxNll(rows: number, cols: number, logits: Float32Array, labels: Int32Array,
  logp: Float32Array, dlogits: Float32Array | null): { loss: number; count: number } {
  let count = 0;
  for (let r = 0; r < rows; r++) if (labels[r]! >= 0) count++;
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, logits[o + j]!);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(logits[o + j]! - max);
    const lse = max + Math.log(sum); // log Σ exp
    for (let j = 0; j < cols; j++) logp[o + j] = logits[o + j]! - lse;
    const y = labels[r]!;
    if (y >= 0) loss -= logp[o + y]!;
    if (dlogits) {
      for (let j = 0; j < cols; j++) {
        // ∂(mean NLL)/∂z = (softmax − onehot) / count
        dlogits[o + j] = y < 0 ? 0 : (Math.exp(logp[o + j]!) - (j === y ? 1 : 0)) / count;
      }
    }
  }
  return { loss, count };
}

function adam(n: number, param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array,
  lrT: number, beta1: number, beta2: number, epsT: number): void {
  for (let i = 0; i < n; i++) {
    const g = grad[i]!;
    m[i] = beta1 * m[i]! + (1 - beta1) * g;
    v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
    param[i]! -= (lrT * m[i]!) / (Math.sqrt(v[i]!) + epsT);
  }
}

/** The reference implementation of {@link Kernels}. */
export const referenceKernels: Kernels = {
  name: "reference",
  alloc: (n) => new Float32Array(n),
  allocInt32: (n) => new Int32Array(n),
  free: () => undefined,
  gemm,
  addBias,
  sumRows,
  lstmCellForward,
  lstmCellBackward,
  logSoftmaxNll,
  adam,
  lstmForward: (seqs) => { for (const s of seqs) lstmForwardWith(referenceKernels, s); },
  lstmBackward: (seqs) => { for (const s of seqs) lstmBackwardWith(referenceKernels, s); },
  lstmInfer: (seqs) => { for (const s of seqs) lstmInferWith(referenceKernels, s); },
  quantizeLstm: (inDim, hidden, wIh, wHh, b) => quantizeLstmPlain("reference", inDim, hidden, wIh, wHh, b),
  freeQuantizedLstm: () => undefined,
  lstmInferQuantized: (seqs) => { for (const s of seqs) lstmInferQuantizedWith(referenceKernels, s); },
};
