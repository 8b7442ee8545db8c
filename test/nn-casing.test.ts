import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceKernels as k } from "../src/engine/reference.js";
import { Rng } from "../src/util/random.js";
import { CasingEmbedding } from "../src/nn/casing-embedding.js";
import { CASING_CLASSES, CASING_PAD, casingId } from "../src/features/casing.js";
import { assertGradClose, dot, numericGrad, randomArray } from "./nn-helpers.js";

test("casingId follows Reimers & Gurevych's rules", () => {
  const cases: [string, string][] = [
    ["1996", "numeric"], ["12.5", "mainly_numeric"], ["1-0", "mainly_numeric"], ["3rd", "all_lower"], ["100th", "mainly_numeric"],
    ["the", "all_lower"], ["n't", "all_lower"], ["EU", "all_upper"], ["U.S.", "all_upper"], ["A1", "all_upper"],
    ["Germany", "initial_upper"], ["McDonald", "initial_upper"], ["Émile", "initial_upper"], ["ÉTAT", "all_upper"],
    ["iPhone", "other"], ["-", "other"], [",", "other"], ["x-1y2", "all_lower"], ["--1", "contains_digit"], ["", "other"],
  ];
  for (const [token, cls] of cases) assert.equal(CASING_CLASSES[casingId(token)], cls, token);
  assert.equal(CASING_CLASSES[CASING_PAD], "padding");
});

test("CasingEmbedding: table gradient matches finite differences; the padding row stays zero and gets none", () => {
  const rng = new Rng(1);
  const emb = new CasingEmbedding(k, CASING_CLASSES.length, 3, rng);
  for (let j = 0; j < 3; j++) assert.equal(emb.weight.value[j], 0);
  const ids = Int32Array.from([3, 5, 0, 3, 1, 0]);
  const r = randomArray(rng, ids.length * 3);
  emb.weight.grad.fill(0);
  const out = emb.forward(ids);
  assert.deepEqual([...out.subarray(3, 6)], [...emb.weight.value.subarray(15, 18)]);
  emb.backward(r);
  const numeric = numericGrad(() => dot(r, emb.forward(ids)), emb.weight.value);
  numeric.fill(0, 0, 3); // padding: no gradient by definition
  assertGradClose(emb.weight.grad, numeric, "casing table");
  assert.throws(() => emb.forward(Int32Array.from([8])), /casing.weight: ids\[0\] = 8 is outside 0..7/);
});
