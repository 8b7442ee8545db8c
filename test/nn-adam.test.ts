import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceKernels as k } from "../src/engine/reference.js";
import { Adam } from "../src/nn/adam.js";
import { clipGradNorm, gradNorm } from "../src/nn/clip.js";
import type { Param } from "../src/nn/param.js";
import { TouchedRows, type SparseRowsParam } from "../src/nn/sparse.js";

function param(name: string, values: number[]): Param {
  return { name, shape: [values.length], value: Float32Array.from(values), grad: new Float32Array(values.length) };
}

function sparseParam(name: string, rows: number, dim: number, values: number[]): SparseRowsParam {
  return { name, shape: [rows, dim], value: Float32Array.from(values), grad: new Float32Array(rows * dim), rowDim: dim, touched: new TouchedRows(rows) };
}

const close = (a: number, b: number, tol = 1e-6): boolean => Math.abs(a - b) <= tol * (1 + Math.abs(b));

test("Adam: two steps match the hand-computed bias-corrected update", () => {
  const p = param("p", [1, -2, 0.5]);
  const opt = new Adam(k, [p], { lr: 0.1 });
  p.grad.set([0.5, -0.1, 0]);
  opt.step();
  // Step 1: m̂ = g, v̂ = g², so p −= lr·g/(|g|+eps) = lr·sign(g); a zero gradient moves nothing.
  assert.ok(close(p.value[0]!, 0.9) && close(p.value[1]!, -1.9) && p.value[2] === 0.5, `${p.value}`);
  opt.zeroGrad();
  assert.deepEqual([...p.grad], [0, 0, 0]);
  p.grad.set([0.2, 0.3, -1]);
  opt.step();
  // Step 2, entry 0: m = 0.9·0.05 + 0.1·0.2 = 0.065, v = 0.999·0.00025 + 0.001·0.04 = 0.00028975,
  // m̂ = 0.065/0.19 = 0.3421053, v̂ = 0.00028975/0.001999 = 0.1449475, p = 0.9 − 0.1·0.3421053/0.3807197 = 0.8101425.
  assert.ok(close(p.value[0]!, 0.8101425), `${p.value[0]}`);
  // Entry 1: m = 0.9·(−0.01) + 0.03 = 0.021, v = 0.999·0.00001 + 0.00009 = 0.00009999,
  // m̂ = 0.1105263, v̂ = 0.0500200, p = −1.9 − 0.1·0.1105263/0.2236514 = −1.9494190.
  assert.ok(close(p.value[1]!, -1.9494190), `${p.value[1]}`);
  // Entry 2: m = 0.1·(−1) = −0.1, v = 0.001, m̂ = −0.5263158, v̂ = 0.5002501, p = 0.5 + 0.1·0.5263158/0.7072836 = 0.5744137.
  assert.ok(close(p.value[2]!, 0.5744137), `${p.value[2]}`);
  assert.equal(opt.steps, 2);
});

test("Adam (lazy) on a row-sparse parameter: touched rows move like dense Adam, others never move", () => {
  const dim = 2;
  const init = [1, 2, 3, 4, 5, 6];
  const sp = sparseParam("emb", 3, dim, init);
  const dense = param("dense", init);
  const optS = new Adam(k, [sp], { lr: 0.05 });
  const optD = new Adam(k, [dense], { lr: 0.05 });
  // Step 1: rows 0 and 2 have gradients.
  sp.grad.set([0.3, -0.2, 0, 0, 1, 2]);
  sp.touched.mark(0);
  sp.touched.mark(2);
  dense.grad.set(sp.grad);
  optS.step();
  optD.step();
  assert.deepEqual([...sp.value], [...dense.value]);
  assert.deepEqual([...sp.value.subarray(2, 4)], [3, 4]);
  optS.zeroGrad();
  optD.zeroGrad();
  assert.deepEqual([...sp.grad], [0, 0, 0, 0, 0, 0]);
  assert.equal(sp.touched.rows().length, 0);
  // Step 2: only row 1. Dense Adam keeps moving rows 0 and 2 on momentum; lazy Adam does not.
  sp.grad.set([0, 0, -0.5, 0.5, 0, 0]);
  sp.touched.mark(1);
  dense.grad.set(sp.grad);
  const row0 = sp.value.slice(0, 2);
  const row2 = sp.value.slice(4, 6);
  optS.step();
  optD.step();
  assert.deepEqual([...sp.value.subarray(0, 2)], [...row0]);
  assert.deepEqual([...sp.value.subarray(4, 6)], [...row2]);
  assert.notDeepEqual([...dense.value.subarray(0, 2)], [...row0]);
  // Row 1 is at its first update but step 2 of the global count: same as dense Adam's row 1 (whose moments were zero).
  assert.deepEqual([...sp.value.subarray(2, 4)], [...dense.value.subarray(2, 4)]);
});

test("Adam state export/import: a restored optimiser continues exactly like the original", () => {
  const a = param("a", [0.1, 0.2, 0.3]);
  const e = sparseParam("e", 4, 2, [1, 1, 2, 2, 3, 3, 4, 4]);
  const opt = new Adam(k, [a, e], { lr: 0.01 });
  const feed = (p: Param, s: SparseRowsParam, step: number): void => {
    for (let i = 0; i < p.grad.length; i++) p.grad[i] = Math.sin(step + i);
    const row = step % 4;
    s.grad[row * 2] = Math.cos(step);
    s.grad[row * 2 + 1] = -Math.cos(step);
    s.touched.mark(row);
  };
  for (let s = 1; s <= 3; s++) {
    feed(a, e, s);
    opt.step();
    opt.zeroGrad();
  }
  const state = opt.exportState();
  assert.equal(state.t, 3);
  assert.deepEqual([...state.rows["e"]!], [1, 2, 3]);
  const a2 = param("a", [...a.value]);
  const e2 = sparseParam("e", 4, 2, [...e.value]);
  const opt2 = new Adam(k, [a2, e2], { lr: 0.01 });
  opt2.importState(state);
  for (const [p, s, o] of [[a, e, opt], [a2, e2, opt2]] as const) {
    feed(p, s, 5); // row 1 again (stored moments) — and feed(…, 4) would hit row 0 (fresh)
    s.grad[0] = 0.7;
    s.touched.mark(0);
    o.step();
  }
  assert.deepEqual([...a2.value], [...a.value]);
  assert.deepEqual([...e2.value], [...e.value]);
  assert.throws(() => opt2.importState({ ...state, m: { ...state.m, a: new Float32Array(2) } }), /m of "a" has 2 values, expected 3/);
  assert.throws(() => opt2.importState({ ...state, rows: {} }), /no rows for parameter "e"/);
  assert.throws(() => new Adam(k, [a, a2]), /two parameters are named "a"/);
});

test("clipGradNorm scales gradients to the maximum global norm and reports the norm before", () => {
  const p = param("p", [0, 0]);
  const q = sparseParam("q", 3, 1, [0, 0, 0]);
  p.grad.set([3, 0]);
  q.grad.set([0, 4, 0]);
  q.touched.mark(1);
  assert.ok(close(gradNorm([p, q]), 5));
  assert.ok(close(clipGradNorm([p, q], 1), 5));
  assert.ok(close(gradNorm([p, q]), 1, 1e-5));
  assert.ok(close(p.grad[0]!, 0.6, 1e-5) && close(q.grad[1]!, 0.8, 1e-5));
  assert.ok(close(clipGradNorm([p, q], 10), 1, 1e-5));
  assert.ok(close(p.grad[0]!, 0.6, 1e-5), "below the limit nothing changes");
});
