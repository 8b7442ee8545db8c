import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceKernels } from "../src/engine/reference.js";
import { parseConll } from "../src/data/conll.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { getPreset } from "../src/train/presets.js";
import { buildRecipe, trainOptions } from "../src/train/recipe.js";
import { LstmNerError } from "../src/util/errors.js";
import { parseGlove } from "./pipeline-helpers.js";
import { toyConll, toyGlove } from "./toy-corpus.js";

const trainSet = parseConll(toyConll(20, 1));
const inputs = { vectors: parseGlove(toyGlove(12, 3)), labels: CONLL_LABELS, scheme: "IOB2" as const, trainTokens: trainSet.map((s) => s.tokens), seed: 1 };

test("buildRecipe builds each preset's architecture, and its optimiser steps the model's parameters", () => {
  const seed = buildRecipe(referenceKernels, { ...getPreset("seed"), hidden: 4 }, inputs);
  assert.equal(seed.model.config.arch, "softmax");
  assert.equal(seed.model.config.outputs, CONLL_LABELS.length + 1, "the exercise's extra output");
  const accurate = buildRecipe(referenceKernels, { ...getPreset("accurate"), hidden: 4 }, inputs);
  assert.equal(accurate.model.config.arch, "feature");
  assert.equal(accurate.model.trainScheme, "BIOES");
  assert.equal(accurate.model.config.outputs, 17, "BIOES labels of four types + O");
  // One SGD step with clipping moves the weights (the optimiser holds the model's parameters).
  const enc = accurate.model.encoder();
  const b = enc.collate(trainSet.slice(0, 4).map((s) => ({ ...enc.encode(s.tokens), labels: enc.labelIds(s.tags) })));
  const before = accurate.model.snapshot();
  accurate.model.lossAndGrad(b);
  accurate.optimizer.step();
  assert.notDeepEqual(accurate.model.snapshot()["out.w"], before["out.w"]);
  assert.deepEqual(trainOptions(getPreset("accurate"), 7), { epochs: 50, batchSize: 10, seed: 7, batching: "bucket", patience: 8 });
});

test("buildRecipe refuses settings the architecture would ignore", () => {
  assert.throws(() => buildRecipe(referenceKernels, { ...getPreset("accurate"), bidirectional: false }, inputs),
    (e: unknown) => e instanceof LstmNerError && /bidirectional=false/.test(e.message));
  assert.throws(() => buildRecipe(referenceKernels, { ...getPreset("accurate"), extraOutputs: 1 }, inputs),
    (e: unknown) => e instanceof LstmNerError && /extraOutputs=1/.test(e.message));
});
