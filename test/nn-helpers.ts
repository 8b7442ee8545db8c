/** Shared helpers for the nn tests: random data and finite-difference gradient checks. */
import assert from "node:assert/strict";
import type { Rng } from "../src/util/random.js";
import type { Param } from "../src/nn/param.js";
import type { Batch } from "../src/nn/batch.js";
import type { Tagger } from "../src/nn/tagger-common.js";
import type { Kernels } from "../src/engine/kernels.js";
import { getKernels } from "../src/engine/index.js";

/** n values ~ U(−scale, scale). */
export function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  return rng.fillUniform(new Float32Array(n), -scale, scale);
}

/** Σ r⊙y in double precision: a scalar loss whose gradient w.r.t. y is r. */
export function dot(r: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < r.length; i++) s += r[i]! * y[i]!;
  return s;
}

/**
 * Central finite differences of `loss` w.r.t. every entry of `x` (perturbed in
 * place and restored). The step actually taken is measured after rounding to
 * float32, so the quotient uses the true Δx.
 */
export function numericGrad(loss: () => number, x: Float32Array, eps = 1e-2): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const orig = x[i]!;
    x[i] = orig + eps;
    const xp = x[i]!;
    const lp = loss();
    x[i] = orig - eps;
    const xm = x[i]!;
    const lm = loss();
    x[i] = orig;
    g[i] = (lp - lm) / (xp - xm);
  }
  return g;
}

/** Result of comparing an analytic gradient with a numeric one. */
export interface GradComparison {
  /** ‖a − n‖ / ‖a + n‖ over the whole vector. */
  rel: number;
  /** Worst |a − n| / |n| over the largest numeric entries. */
  worstLarge: number;
  /** ‖n‖. */
  norm: number;
  ok: boolean;
}

/** Compare gradients: whole-vector relative error < relTol, and entry-wise on the `top` largest entries. */
export function compareGrad(analytic: ArrayLike<number>, numeric: ArrayLike<number>,
  relTol = 1e-2, entryTol = 3e-2, top = 8): GradComparison {
  assert.equal(analytic.length, numeric.length, "gradient lengths differ");
  let diff = 0;
  let sum = 0;
  let norm = 0;
  for (let i = 0; i < numeric.length; i++) {
    const a = analytic[i]!;
    const n = numeric[i]!;
    diff += (a - n) ** 2;
    sum += (a + n) ** 2;
    norm += n * n;
  }
  const rel = sum === 0 ? 0 : Math.sqrt(diff) / Math.sqrt(sum);
  const order = Array.from({ length: numeric.length }, (_, i) => i).sort((i, j) => Math.abs(numeric[j]!) - Math.abs(numeric[i]!));
  let worstLarge = 0;
  for (const i of order.slice(0, top)) {
    const n = numeric[i]!;
    if (Math.abs(n) < 1e-6) continue;
    worstLarge = Math.max(worstLarge, Math.abs(analytic[i]! - n) / Math.abs(n));
  }
  norm = Math.sqrt(norm);
  return { rel, worstLarge, norm, ok: rel < relTol && worstLarge < entryTol };
}

/** Assert that an analytic gradient matches finite differences and is not trivially zero. */
export function assertGradClose(analytic: ArrayLike<number>, numeric: ArrayLike<number>, what: string): void {
  const c = compareGrad(analytic, numeric);
  assert.ok(c.norm > 1e-4, `${what}: numeric gradient is ~0 (‖g‖ = ${c.norm}), the check would be vacuous`);
  assert.ok(c.ok, `${what}: rel error ${c.rel.toExponential(2)}, worst large entry ${c.worstLarge.toExponential(2)}`);
}

/** Zero the gradients of `params`. */
export function zeroGrads(params: readonly Param[]): void {
  for (const p of params) p.grad.fill(0);
}

/** Copy of each param's gradient. */
export function gradCopies(params: readonly Param[]): Float32Array[] {
  return params.map((p) => p.grad.slice());
}

/**
 * One training step on the same batch through two taggers that should agree
 * (reference vs WASM kernels): equal token counts, losses within 1e-4, every
 * parameter gradient within 1e-4 relative, and the same predictions.
 */
export function assertSameStep(ref: Tagger, fast: Tagger, batch: Batch): void {
  zeroGrads(ref.params());
  zeroGrads(fast.params());
  const a = ref.lossAndGrad(batch);
  const b = fast.lossAndGrad(batch);
  assert.equal(b.count, a.count);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-4 * (1 + a.loss), `loss ${a.loss} vs ${b.loss}`);
  const fp = fast.params();
  ref.params().forEach((p, i) => {
    let diff = 0;
    let norm = 0;
    for (let j = 0; j < p.grad.length; j++) {
      diff += (p.grad[j]! - fp[i]!.grad[j]!) ** 2;
      norm += p.grad[j]! ** 2;
    }
    assert.ok(Math.sqrt(diff) <= 1e-4 * Math.sqrt(norm) + 1e-7, `${p.name}: ‖Δgrad‖ ${Math.sqrt(diff)} vs ‖grad‖ ${Math.sqrt(norm)}`);
  });
  assert.deepEqual(fast.predict(batch), ref.predict(batch));
}

/** The WASM kernels, or why they cannot load (for `t.skip`). */
export async function wasmKernels(): Promise<Kernels | string> {
  try {
    return await getKernels("wasm");
  } catch (e) {
    return `getKernels("wasm") failed, is the wasm built? (${(e as Error).message})`;
  }
}
