import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceKernels as k } from "../src/engine/reference.js";
import { Rng } from "../src/util/random.js";
import { GatherSpans, gatherSpanInts, scatterSpanInts } from "../src/nn/gather.js";
import { assertGradClose, dot, numericGrad, randomArray } from "./nn-helpers.js";

test("GatherSpans moves each sequence's span to the front (zeros beyond); dx matches finite differences and is zero outside the spans", () => {
  const rng = new Rng(1);
  const T = 5, B = 3, W = 2;
  const start = Int32Array.from([1, 0, 3]);
  const length = Int32Array.from([3, 2, 2]);
  const g = new GatherSpans(k, W);
  const x = randomArray(rng, T * B * W);
  const y = g.forward(x, T, B, start, length).slice();
  assert.equal(y.length, 3 * B * W);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < 3; t++) {
      for (let j = 0; j < W; j++) {
        const want = t < length[b]! ? x[((start[b]! + t) * B + b) * W + j]! : 0;
        assert.equal(y[(t * B + b) * W + j], want, `b ${b} t ${t}`);
      }
    }
  }
  const r = randomArray(rng, y.length);
  const dx = g.backward(r).slice();
  assertGradClose(dx, numericGrad(() => dot(r, g.forward(x, T, B, start, length)), x), "GatherSpans dx");
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      if (t >= start[b]! && t < start[b]! + length[b]!) continue;
      for (let j = 0; j < W; j++) assert.equal(dx[(t * B + b) * W + j], 0);
    }
  }
  assert.throws(() => g.forward(x, T, B, start, Int32Array.from([3, 2, 3])), /outside/);
});

test("gatherSpanInts and scatterSpanInts are inverse on the spans", () => {
  const T = 4, B = 2;
  const x = Int32Array.from({ length: T * B }, (_, i) => i);
  const start = Int32Array.from([2, 1]);
  const length = Int32Array.from([2, 1]);
  const y = gatherSpanInts(x, T, B, start, length, -1);
  assert.deepEqual([...y], [4, 3, 6, -1]);
  assert.deepEqual([...scatterSpanInts(y, T, B, start, length, -1)], [-1, -1, -1, 3, 4, -1, 6, -1]);
});
