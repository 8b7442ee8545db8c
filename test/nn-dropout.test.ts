import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceKernels as k } from "../src/engine/reference.js";
import { Rng } from "../src/util/random.js";
import { Dropout } from "../src/nn/dropout.js";
import { assertGradClose, dot, numericGrad, randomArray } from "./nn-helpers.js";

test("Dropout zeroes about p of the values, scales the rest by 1/(1−p), and is the identity at inference", () => {
  const drop = new Dropout(k, 0.3, new Rng(1));
  const x = new Float32Array(20000).fill(1);
  const y = drop.forward(x, x.length, true);
  let zeros = 0;
  let sum = 0;
  for (const v of y) {
    if (v === 0) zeros++;
    else assert.ok(Math.abs(v - 1 / 0.7) < 1e-6);
    sum += v;
  }
  assert.ok(Math.abs(zeros / x.length - 0.3) < 0.02, `dropped ${zeros / x.length}`);
  assert.ok(Math.abs(sum / x.length - 1) < 0.03, "the expectation is kept");
  assert.equal(drop.forward(x, x.length, false), x, "inference returns the input itself");
  const d = randomArray(new Rng(2), x.length);
  assert.equal(drop.backward(d), d);
  assert.throws(() => new Dropout(k, 1, new Rng(1)), /\[0, 1\)/);
});

test("Dropout: with a frozen mask the gradient matches finite differences; the mask is what forward used", () => {
  const rng = new Rng(3);
  const drop = new Dropout(k, 0.5, new Rng(4));
  const x = randomArray(rng, 40);
  const r = randomArray(rng, 40);
  const y = drop.forward(x, 40, true).slice();
  drop.frozen = true;
  const dx = drop.backward(r).slice();
  for (let i = 0; i < 40; i++) assert.equal(dx[i] === 0, y[i] === 0, `mask position ${i}`);
  assertGradClose(dx, numericGrad(() => dot(r, drop.forward(x, 40, true)), x), "dropout dx");
});

test("Dropout masks repeat for the same seed and differ between draws", () => {
  const x = new Float32Array(64).fill(1);
  const a = new Dropout(k, 0.5, new Rng(7));
  const b = new Dropout(k, 0.5, new Rng(7));
  const first = a.forward(x, 64, true).slice();
  assert.deepEqual(b.forward(x, 64, true), first);
  assert.notDeepEqual(a.forward(x, 64, true), first);
});
