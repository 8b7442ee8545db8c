import { test } from "node:test";
import assert from "node:assert/strict";
import type { Kernels } from "../src/engine/kernels.js";
import { referenceKernels as k } from "../src/engine/reference.js";
import { Rng } from "../src/util/random.js";
import { ClassSoftmax } from "../src/nn/class-softmax.js";
import { lmSoftmax } from "../src/nn/lm-softmax.js";
import { LstmNerError } from "../src/util/errors.js";
import { assertGradClose, numericGrad, randomArray, wasmKernels, zeroGrads } from "./nn-helpers.js";

const H = 4;
const V = 11; // ⌈√11⌉ = 4 clusters of 3 words: {0,1,2} {3,4,5} {6,7,8} {9,10}

function layer(kern: Kernels, seed: number, clusters?: number): ClassSoftmax {
  return new ClassSoftmax(kern, H, V, new Rng(seed), "cs", clusters);
}

/** log Σ exp over a list. */
const logSumExp = (z: number[]): number => {
  const m = Math.max(...z);
  return m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
};

test("ClassSoftmax: p(w|x) = p(c(w)|x)·p(w|c(w),x) as written out, and it sums to 1 over all V words", () => {
  const cs = layer(k, 1);
  assert.equal(cs.clusters, 4);
  assert.equal(cs.clusterSize, 3);
  assert.deepEqual(cs.params().map((p) => [p.name, p.shape]), [["cs.cls.w", [H, 4]], ["cs.cls.b", [4]], ["cs.word.w", [V, H]], ["cs.word.b", [V]]]);
  const x = randomArray(new Rng(2), H);
  const [cw, cb, ww, wb] = cs.params().map((p) => p.value);
  const z = [0, 1, 2, 3].map((c) => cb![c]! + [0, 1, 2, 3].reduce((s, j) => s + x[j]! * cw![j * 4 + c]!, 0));
  const u = Array.from({ length: V }, (_, w) => wb![w]! + [0, 1, 2, 3].reduce((s, j) => s + x[j]! * ww![w * H + j]!, 0));
  let total = 0;
  for (let w = 0; w < V; w++) {
    const c = Math.floor(w / 3);
    const members = u.slice(3 * c, Math.min(V, 3 * c + 3));
    const want = -(z[c]! - logSumExp(z)) - (u[w]! - logSumExp(members));
    const got = cs.forward(x, Int32Array.of(w), 1, false);
    assert.ok(Math.abs(got - want) < 1e-5, `word ${w}: NLL ${got} vs ${want}`);
    total += Math.exp(-got);
  }
  assert.ok(Math.abs(total - 1) < 1e-5, `Σ_w p(w|x) = ${total}`);
  // The mean over rows: two rows give the mean of their NLLs.
  const x2 = new Float32Array([...x, ...x]);
  const two = cs.forward(x2, Int32Array.of(0, 10), 2, false);
  assert.ok(Math.abs(two - (cs.forward(x, Int32Array.of(0), 1, false) + cs.forward(x, Int32Array.of(10), 1, false)) / 2) < 1e-5);
  cs.dispose();
});

test("ClassSoftmax: dL/dx and every parameter gradient of scale·L match finite differences (an empty cluster, the short last one)", () => {
  const cs = layer(k, 3);
  const rng = new Rng(4);
  const rows = 7;
  const x = randomArray(rng, rows * H);
  const targets = Int32Array.of(10, 0, 4, 9, 2, 0, 5); // clusters 3, 0, 1, 3, 0, 0, 1; cluster 2 gets none
  const scale = 0.7;
  const loss = (): number => scale * cs.forward(x, targets, rows, false);
  zeroGrads(cs.params());
  cs.forward(x, targets, rows, true);
  const dx = cs.backward(scale).slice();
  assertGradClose(dx, numericGrad(loss, x, 1e-2), "ClassSoftmax dx");
  for (const p of cs.params()) assertGradClose(p.grad.slice(), numericGrad(loss, p.value, 1e-2), `ClassSoftmax ${p.name}`);
  // Cluster 2's words (6, 7, 8) had no target: their rows of the word weights get no gradient.
  const gw = cs.params()[2]!.grad;
  assert.ok(gw.subarray(6 * H, 9 * H).every((g) => g === 0));
  assert.ok(gw.subarray(9 * H, 11 * H).some((g) => g !== 0));
  // Gradients accumulate: a second backward doubles them.
  const once = cs.params().map((p) => p.grad.slice());
  cs.forward(x, targets, rows, true);
  cs.backward(scale);
  cs.params().forEach((p, i) => p.grad.forEach((g, j) => assert.ok(Math.abs(g - 2 * once[i]![j]!) < 1e-6)));
  cs.dispose();
});

test("ClassSoftmax: a cluster count of its own; one cluster is the full softmax", () => {
  const one = layer(k, 5, 1);
  assert.equal(one.clusters, 1);
  assert.equal(one.clusterSize, V);
  const x = randomArray(new Rng(6), 3 * H);
  const targets = Int32Array.of(1, 7, 10);
  const full = lmSoftmax("full", k, H, V, new Rng(7), "f");
  // Same weights in the full layer (in×V there, V×in here): the same loss, and p(c) = 1 adds nothing.
  const [w, b] = full.params();
  const [, cb, ww, wb] = one.params();
  cb!.value.fill(0);
  for (let c = 0; c < V; c++) for (let j = 0; j < H; j++) w!.value[j * V + c] = ww!.value[c * H + j]!;
  b!.value.set(wb!.value);
  assert.ok(Math.abs(one.forward(x, targets, 3, false) - full.forward(x, targets, 3, false)) < 1e-5);
  assert.equal(layer(k, 5, 4).clusters, 4);
  assert.equal(layer(k, 5, 5).clusters, 4, "5 clusters of ⌈11/5⌉ = 3 words need only 4");
  assert.throws(() => layer(k, 5, 0), /cs: clusters must be a whole number in 1\.\.11, got 0/);
  full.dispose();
});

test("ClassSoftmax: a target outside 0..V−1 is one clear error", () => {
  const cs = layer(k, 8);
  const x = randomArray(new Rng(9), 2 * H);
  for (const bad of [11, -1]) {
    assert.throws(() => cs.forward(x, Int32Array.of(0, bad), 2, true), (e: unknown) => e instanceof LstmNerError && e.message === `class softmax: target 1 = ${bad} is outside 0..10`);
  }
});

test("ClassSoftmax on the WASM kernels matches the reference: loss, dL/dx, every gradient", async (t) => {
  const wasm = await wasmKernels();
  if (typeof wasm === "string") {
    t.skip(wasm);
    return;
  }
  const rows = 40;
  const ref = layer(k, 10);
  const fast = layer(wasm, 10);
  const x = randomArray(new Rng(11), rows * H);
  const xw = wasm.alloc(rows * H);
  xw.set(x);
  const targets = Int32Array.from({ length: rows }, (_, i) => (i * 7) % V);
  zeroGrads(ref.params());
  zeroGrads(fast.params());
  const a = ref.forward(x, targets, rows, true);
  const b = fast.forward(xw, targets, rows, true);
  assert.ok(Math.abs(a - b) < 1e-5 * (1 + a), `loss ${a} vs ${b}`);
  const close = (p: ArrayLike<number>, q: ArrayLike<number>, what: string): void => {
    for (let i = 0; i < p.length; i++) assert.ok(Math.abs(p[i]! - q[i]!) < 1e-5, `${what}[${i}]: ${p[i]} vs ${q[i]}`);
  };
  close(ref.backward(0.5), fast.backward(0.5), "dx");
  ref.params().forEach((p, i) => close(p.grad, fast.params()[i]!.grad, p.name));
  fast.dispose();
});
