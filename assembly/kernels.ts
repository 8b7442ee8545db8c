// WebAssembly SIMD kernels for lstm-ner. Semantics: src/engine/kernels.ts;
// specification: src/engine/reference.ts. Memory is imported (env.memory) and
// owned by the TypeScript allocator above heapBase(); nothing here allocates.

import { gemmBlocked, BEST_MICRO, NARROW_MICRO, GEMM_SCRATCH_BYTES } from "./gemm";

export { gemmBlocked, gemmNaive, gemmSimple, gemmDriver, packBAll, packedBFloats } from "./gemm";
export { MICRO_COUNT, microMR, microNR, microUnroll } from "./micro";
export { lstmCellForward, lstmCellBackward } from "./cell";
export { lstmSeqForward, lstmSeqBackward, lstmSeqInfer, lstmWorkspaceBytes, lstmInferWorkspaceBytes } from "./lstmseq";
export { addBias, sumRows } from "./rows";
export { lstmSeqInferQ, lstmInferQWorkspaceBytes } from "./lstmseq";
export { packQ, qPackedBytes, qgemm, quantizeRows, qmaxFor } from "./qgemm";

/** First byte after the module's static data: the TS allocator starts here. */
export function heapBase(): usize { return __heap_base; }

/** Per-thread scratch bytes `gemm` needs. */
export function gemmScratchBytes(): usize { return GEMM_SCRATCH_BYTES; }

/** C = op(A)·op(B) + beta·C with the best micro-kernel. */
export function gemm(transA: bool, transB: bool, m: i32, n: i32, k: i32, a: usize, b: usize, c: usize, beta: i32, scratch: usize): void {
  gemmBlocked(n < 16 ? NARROW_MICRO : BEST_MICRO, transA, transB, m, n, k, a, b, c, beta, scratch);
}

/**
 * Row-wise log-softmax + masked mean NLL (f64 arithmetic per row, like the
 * reference). Writes the number of used rows to countOut (i32); returns the summed NLL.
 */
export function logSoftmaxNll(rows: i32, cols: i32, logits: usize, labels: usize, logp: usize, dlogits: usize, countOut: usize): f64 {
  let count = 0;
  for (let r = 0; r < rows; r++) if (load<i32>(labels + (<usize>r << 2)) >= 0) count++;
  let loss: f64 = 0;
  const inv: f64 = count > 0 ? 1.0 / <f64>count : 0;
  for (let r = 0; r < rows; r++) {
    const o = <usize>r * cols << 2;
    const z = logits + o, lp = logp + o;
    let mx: f64 = -Infinity;
    for (let j = 0; j < cols; j++) mx = Math.max(mx, <f64>load<f32>(z + (<usize>j << 2)));
    let sum: f64 = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(<f64>load<f32>(z + (<usize>j << 2)) - mx);
    const lse = mx + Math.log(sum);
    for (let j = 0; j < cols; j++) store<f32>(lp + (<usize>j << 2), <f32>(<f64>load<f32>(z + (<usize>j << 2)) - lse));
    const y = load<i32>(labels + (<usize>r << 2));
    if (y >= 0) loss -= <f64>load<f32>(lp + (<usize>y << 2));
    if (dlogits != 0) {
      const d = dlogits + o;
      if (y < 0) {
        memory.fill(d, 0, <usize>cols << 2);
      } else {
        for (let j = 0; j < cols; j++) {
          const pj = Math.exp(<f64>load<f32>(lp + (<usize>j << 2)));
          store<f32>(d + (<usize>j << 2), <f32>((pj - (j == y ? 1.0 : 0.0)) * inv));
        }
      }
    }
  }
  store<i32>(countOut, count);
  return loss;
}

/** Adam step with bias corrections folded into lrT and epsT (see Kernels.adam). */
export function adam(n: i32, param: usize, grad: usize, m: usize, v: usize, lrT: f64, beta1: f64, beta2: f64, epsT: f64): void {
  // Coefficients rounded once from f64, so that (1 − β) is the nearest f32 to the true value.
  const b1s = <f32>beta1, b2s = <f32>beta2, c1s = <f32>(1 - beta1), c2s = <f32>(1 - beta2), lrs = <f32>lrT, eps = <f32>epsT;
  const b1 = f32x4.splat(b1s), b2 = f32x4.splat(b2s);
  const c1 = f32x4.splat(c1s), c2 = f32x4.splat(c2s);
  const lr = f32x4.splat(lrs), ep = f32x4.splat(eps);
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(grad + o);
    const mv = f32x4.add(f32x4.mul(b1, v128.load(m + o)), f32x4.mul(c1, g));
    const vv = f32x4.add(f32x4.mul(b2, v128.load(v + o)), f32x4.mul(f32x4.mul(c2, g), g));
    v128.store(m + o, mv); v128.store(v + o, vv);
    v128.store(param + o, f32x4.sub(v128.load(param + o), f32x4.div(f32x4.mul(lr, mv), f32x4.add(f32x4.sqrt(vv), ep))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(grad + o);
    const mv = b1s * load<f32>(m + o) + c1s * g;
    const vv = b2s * load<f32>(v + o) + c2s * g * g;
    store<f32>(m + o, mv); store<f32>(v + o, vv);
    store<f32>(param + o, load<f32>(param + o) - lrs * mv / (Mathf.sqrt(vv) + eps));
  }
}
