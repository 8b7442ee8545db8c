import type { Param } from "./param.js";
import { isSparseRows } from "./sparse.js";

function* gradRanges(p: Param): Generator<[number, number]> {
  if (isSparseRows(p)) {
    // Only touched rows can be non-zero; skip scanning the whole table.
    const rows = p.touched.rows();
    for (let i = 0; i < rows.length; i++) yield [rows[i]! * p.rowDim, (rows[i]! + 1) * p.rowDim];
  } else {
    yield [0, p.grad.length];
  }
}

/** The global L2 norm of all the gradients. */
export function gradNorm(params: readonly Param[]): number {
  let s = 0;
  for (const p of params) {
    for (const [a, b] of gradRanges(p)) for (let i = a; i < b; i++) s += p.grad[i]! * p.grad[i]!;
  }
  return Math.sqrt(s);
}

/**
 * Scale all gradients so that their global L2 norm is at most `maxNorm`
 * (PyTorch's `clip_grad_norm_`). Returns the norm before clipping.
 */
export function clipGradNorm(params: readonly Param[], maxNorm: number): number {
  const norm = gradNorm(params);
  if (norm > maxNorm && norm > 0) {
    const scale = maxNorm / (norm + 1e-6);
    for (const p of params) {
      for (const [a, b] of gradRanges(p)) for (let i = a; i < b; i++) p.grad[i]! *= scale;
    }
  }
  return norm;
}
