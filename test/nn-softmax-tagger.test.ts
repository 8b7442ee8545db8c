import { test } from "node:test";
import assert from "node:assert/strict";
import type { Kernels } from "../src/engine/kernels.js";
import { referenceKernels } from "../src/engine/reference.js";
import { Rng } from "../src/util/random.js";
import { LstmNerError } from "../src/util/errors.js";
import { Adam } from "../src/nn/adam.js";
import { SoftmaxTagger, type SoftmaxTaggerConfig } from "../src/nn/softmax-tagger.js";
import type { Batch } from "../src/nn/batch.js";
import { copyParams, loadParams } from "../src/nn/param.js";
import { BiLstm } from "../src/nn/bilstm.js";
import { argmaxWithProb } from "../src/nn/tagger-common.js";
import { assertSameStep, randomArray, wasmKernels } from "./nn-helpers.js";

const VOCAB = 12; // id 11 is PAD
const PAD = 11;
const CLASSES = 3;

/**
 * A synthetic tagging task that needs context from both sides: a "name" token
 * (id < 4) is class 1 when the next token is a "trigger" (ids 4..5), else
 * class 2; everything else is class 0.
 */
function syntheticBatch(rng: Rng, B: number, maxLen: number): Batch {
  const lengths = Int32Array.from({ length: B }, () => 2 + rng.int(maxLen - 1));
  const T = Math.max(...lengths);
  const ids = new Int32Array(T * B).fill(PAD);
  const labels = new Int32Array(T * B).fill(-1);
  for (let b = 0; b < B; b++) {
    const len = lengths[b]!;
    for (let t = 0; t < len; t++) ids[t * B + b] = rng.int(PAD);
    for (let t = 0; t < len; t++) {
      const id = ids[t * B + b]!;
      const next = t + 1 < len ? ids[(t + 1) * B + b]! : -1;
      labels[t * B + b] = id < 4 ? (next === 4 || next === 5 ? 1 : 2) : 0;
    }
  }
  return { size: B, maxLen: T, lengths, ids, labels, tokens: lengths.reduce((a, b) => a + b, 0) };
}

function makeModel(k: Kernels, seed: number, extra: Partial<SoftmaxTaggerConfig> = {}): SoftmaxTagger {
  const rng = new Rng(seed);
  const table = randomArray(rng, VOCAB * 8);
  table.fill(0, PAD * 8); // PAD row is zeros, as in the pipeline
  return new SoftmaxTagger(k, { vocabSize: VOCAB, embDim: 8, hidden: 12, outputs: CLASSES, ...extra }, table, rng);
}

function accuracy(model: SoftmaxTagger, batch: Batch): number {
  const pred = model.predict(batch);
  let right = 0;
  for (let i = 0; i < pred.length; i++) if (batch.labels[i]! >= 0 && pred[i] === batch.labels[i]) right++;
  return right / batch.tokens;
}

function trainOnSynthetic(bidirectional: boolean): { before: number; after: number; acc: number } {
  const model = makeModel(referenceKernels, 21, { bidirectional });
  const opt = new Adam(referenceKernels, model.params(), { lr: 0.03 });
  const data = new Rng(22);
  const heldOut = syntheticBatch(new Rng(23), 64, 8);
  const before = model.loss(heldOut).loss;
  for (let step = 0; step < 150; step++) {
    model.lossAndGrad(syntheticBatch(data, 16, 8));
    opt.step();
    opt.zeroGrad();
  }
  return { before, after: model.loss(heldOut).loss, acc: accuracy(model, heldOut) };
}

test("SoftmaxTagger learns a synthetic task that needs right context (frozen embeddings, BiLSTM)", () => {
  const { before, after, acc } = trainOnSynthetic(true);
  assert.ok(after < 0.05 * before, `held-out loss ${before.toFixed(3)} → ${after.toFixed(3)}`);
  assert.ok(acc > 0.99, `held-out accuracy ${acc}`);
});

test("a left-to-right LSTM cannot see the right context the task needs (so the BiLSTM's backward direction is doing the work)", () => {
  // Names followed by a trigger are ~6% of tokens: a model blind to the next token misses most of them.
  const { acc } = trainOnSynthetic(false);
  assert.ok(acc < 0.97, `left-to-right accuracy ${acc}`);
});

test("SoftmaxTagger.predict: argmax per real position, −1 at pads, time-major", () => {
  const model = makeModel(referenceKernels, 3, { bidirectional: false });
  const batch = syntheticBatch(new Rng(4), 5, 6);
  const pred = model.predict(batch);
  assert.equal(pred.length, batch.maxLen * batch.size);
  for (let t = 0; t < batch.maxLen; t++) {
    for (let b = 0; b < batch.size; b++) {
      const p = pred[t * batch.size + b]!;
      if (t < batch.lengths[b]!) assert.ok(p >= 0 && p < CLASSES);
      else assert.equal(p, -1);
    }
  }
});

test("SoftmaxTagger parameters round-trip by name (copyParams/loadParams); bad tensors are rejected without changing the model", () => {
  const a = makeModel(referenceKernels, 5, { trainableEmbeddings: true });
  const b = makeModel(referenceKernels, 6, { trainableEmbeddings: true });
  const batch = syntheticBatch(new Rng(7), 6, 7);
  const tensors = copyParams(a.params());
  assert.deepEqual(Object.keys(tensors), ["embedding.weight", "lstm.fwd.w_ih", "lstm.fwd.w_hh", "lstm.fwd.b",
    "lstm.bwd.w_ih", "lstm.bwd.w_hh", "lstm.bwd.b", "out.w", "out.b"]);
  assert.notEqual(b.loss(batch).loss, a.loss(batch).loss);
  const lossBefore = b.loss(batch).loss;
  const { ["out.b"]: _dropped, ...missing } = tensors;
  assert.throws(() => loadParams(b.params(), missing), /tensor "out.b" is missing/);
  assert.throws(() => loadParams(b.params(), { ...tensors, "out.w": new Float32Array(3) }), /"out.w" has 3 values, expected 72/);
  assert.throws(() => loadParams(b.params(), { ...tensors, extra: new Float32Array(1) }), /"extra" is not a parameter/);
  assert.equal(b.loss(batch).loss, lossBefore);
  loadParams(b.params(), tensors);
  assert.equal(b.loss(batch).loss, a.loss(batch).loss);
  assert.deepEqual(b.predict(batch), a.predict(batch));
  // Snapshots are copies: training afterwards does not change them.
  const snap = copyParams(a.params());
  const opt = new Adam(referenceKernels, a.params(), { lr: 0.1 });
  a.lossAndGrad(batch);
  opt.step();
  assert.notDeepEqual(copyParams(a.params())["out.w"], snap["out.w"]);
  loadParams(a.params(), snap);
  assert.equal(a.loss(batch).loss, b.loss(batch).loss);
  // A frozen embedding is not a parameter.
  assert.ok(!("embedding.weight" in copyParams(makeModel(referenceKernels, 1).params())));
});

test("SoftmaxTagger rejects malformed batches with a clear error", () => {
  const model = makeModel(referenceKernels, 8);
  const good = syntheticBatch(new Rng(9), 3, 5);
  const padPos = (): number => {
    for (let t = 0; t < good.maxLen; t++) for (let b = 0; b < good.size; b++) if (t >= good.lengths[b]!) return t * good.size + b;
    throw new Error("no pad in batch");
  };
  const labels = good.labels.slice();
  labels[padPos()] = 0;
  assert.throws(() => model.lossAndGrad({ ...good, labels }), /padded position/);
  const ids = good.ids.slice();
  ids[0] = VOCAB;
  assert.throws(() => model.predict({ ...good, ids }), (e: unknown) => e instanceof LstmNerError && /ids\[0\] = 12 is outside/.test(e.message));
  assert.throws(() => model.predict({ ...good, lengths: good.lengths.subarray(1) }), /batch.lengths has 2 values/);
  assert.throws(() => model.predict({ ...good, ids: good.ids.subarray(1) }), /batch.ids has/);
  assert.throws(() => new SoftmaxTagger(referenceKernels, { vocabSize: 4, embDim: 2, outputs: 0 }, new Float32Array(8), new Rng(1)), /outputs must be a positive integer/);
});

test("SoftmaxTagger with WASM kernels matches the reference: loss, every gradient, predictions", async (t) => {
  const wasm = await wasmKernels();
  if (typeof wasm === "string") {
    t.skip(wasm);
    return;
  }
  for (const trainableEmbeddings of [false, true]) {
    const ref = makeModel(referenceKernels, 31, { trainableEmbeddings });
    const fast = makeModel(wasm, 31, { trainableEmbeddings });
    for (const seed of [1, 2]) { // two batches of different shapes: buffers are reused
      const batch = syntheticBatch(new Rng(seed), 4 + seed, 9);
      assertSameStep(ref, fast, batch);
    }
    fast.dispose();
  }
});

test("SoftmaxTagger (BiLSTM) tags from the packed real-token rows exactly as from the padded T·B×2H output, reference and WASM", async () => {
  const wasm = await wasmKernels();
  for (const kern of [referenceKernels, ...(typeof wasm === "string" ? [] : [wasm])]) {
    const model = makeModel(kern, 8, {});
    const batch = syntheticBatch(new Rng(9), 60, 12); // > 256 real tokens: several output chunks
    assert.ok(batch.tokens > 256);
    const { size: B, maxLen: T } = batch;
    const h = model.rnn instanceof BiLstm ? model.rnn.forward(model.embedding.forward(batch.ids, T * B), T, B, batch.lengths, false) : assert.fail("BiLSTM expected");
    const want = argmaxWithProb(model.out.forward(h, T * B), batch, CLASSES);
    const got = model.predictWithScores(batch);
    assert.deepEqual(got.pred, want.pred, kern.name);
    for (let i = 0; i < T * B; i++) assert.ok(Object.is(got.prob[i], want.prob[i]), `${kern.name}: prob ${i}: ${got.prob[i]} vs ${want.prob[i]}`);
    model.dispose();
  }
});
