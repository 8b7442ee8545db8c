import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceKernels as k } from "../src/engine/reference.js";
import { Rng } from "../src/util/random.js";
import { Linear } from "../src/nn/linear.js";
import { Lstm } from "../src/nn/lstm.js";
import { BiLstm } from "../src/nn/bilstm.js";
import { Embedding } from "../src/nn/embedding.js";
import { SoftmaxNll } from "../src/nn/loss.js";
import { SoftmaxTagger } from "../src/nn/softmax-tagger.js";
import type { Batch } from "../src/nn/batch.js";
import { assertGradClose, compareGrad, dot, gradCopies, numericGrad, randomArray, zeroGrads } from "./nn-helpers.js";

/** A mask over T·B time-major rows: 1 for real positions, 0 for pads. */
function rowMask(T: number, B: number, lengths: Int32Array, width: number): Float32Array {
  const m = new Float32Array(T * B * width);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) if (t < lengths[b]!) m.fill(1, (t * B + b) * width, (t * B + b + 1) * width);
  return m;
}

test("Linear: input, weight and bias gradients match finite differences", () => {
  const rng = new Rng(1);
  const rows = 5, inDim = 4, outDim = 3;
  const layer = new Linear(k, inDim, outDim, rng, "lin");
  const x = randomArray(rng, rows * inDim);
  const r = randomArray(rng, rows * outDim);
  const loss = (): number => dot(r, layer.forward(x, rows));
  zeroGrads(layer.params());
  layer.forward(x, rows);
  const dx = layer.backward(r).slice();
  assertGradClose(dx, numericGrad(loss, x), "Linear dx");
  assertGradClose(layer.w.grad, numericGrad(loss, layer.w.value), "Linear dW");
  assertGradClose(layer.b.grad, numericGrad(loss, layer.b.value), "Linear db");
});

test("gradient check is not vacuous: a slightly wrong gradient fails it", () => {
  const rng = new Rng(2);
  const layer = new Linear(k, 3, 4, rng, "lin");
  const x = randomArray(rng, 6 * 3);
  const r = randomArray(rng, 6 * 4);
  zeroGrads(layer.params());
  layer.forward(x, 6);
  const dx = layer.backward(r).slice();
  const numeric = numericGrad(() => dot(r, layer.forward(x, 6)), x);
  assert.ok(compareGrad(dx, numeric).ok);
  const scaled = dx.map((v) => v * 1.05); // 5% too large everywhere
  assert.ok(!compareGrad(scaled, numeric).ok, "a 5% scaled gradient passed");
  let big = 0;
  for (let i = 1; i < dx.length; i++) if (Math.abs(dx[i]!) > Math.abs(dx[big]!)) big = i;
  const oneWrong = dx.slice();
  oneWrong[big] = -oneWrong[big]!; // one entry with the wrong sign
  assert.ok(!compareGrad(oneWrong, numeric).ok, "a sign-flipped entry passed");
  const transposed = layer.w.grad.slice().reverse(); // right values, wrong places
  assert.ok(!compareGrad(transposed, numericGrad(() => dot(r, layer.forward(x, 6)), layer.w.value)).ok);
});

test("Linear and Lstm accumulate parameter gradients across backward calls", () => {
  const rng = new Rng(3);
  const lstm = new Lstm(k, 3, 2, rng, "l");
  const x = randomArray(rng, 3 * 2 * 3);
  const r = randomArray(rng, 3 * 2 * 2);
  zeroGrads(lstm.params());
  lstm.forward(x, 3, 2);
  lstm.backward(r);
  const once = gradCopies(lstm.params());
  lstm.forward(x, 3, 2);
  lstm.backward(r);
  lstm.params().forEach((p, i) => {
    for (let j = 0; j < p.grad.length; j++) assert.ok(Math.abs(p.grad[j]! - 2 * once[i]![j]!) <= 1e-6 * (1 + Math.abs(once[i]![j]!)), p.name);
  });
});

test("Lstm (T=4, B=3, ragged lengths): dx, dW_ih, dW_hh, db match finite differences; pads get no gradient", () => {
  const rng = new Rng(4);
  const T = 4, B = 3, inDim = 3, H = 4;
  const lengths = Int32Array.from([4, 2, 3]);
  const lstm = new Lstm(k, inDim, H, rng, "lstm");
  const x = randomArray(rng, T * B * inDim);
  const r = randomArray(rng, T * B * H);
  const mask = rowMask(T, B, lengths, H);
  for (let i = 0; i < r.length; i++) r[i]! *= mask[i]!; // loss only on real positions
  const loss = (): number => dot(r, lstm.forward(x, T, B));
  zeroGrads(lstm.params());
  lstm.forward(x, T, B);
  const dx = lstm.backward(r).slice();
  assertGradClose(dx, numericGrad(loss, x), "Lstm dx");
  assertGradClose(lstm.wIh.grad, numericGrad(loss, lstm.wIh.value), "Lstm dW_ih");
  assertGradClose(lstm.wHh.grad, numericGrad(loss, lstm.wHh.value), "Lstm dW_hh");
  assertGradClose(lstm.b.grad, numericGrad(loss, lstm.b.value), "Lstm db");
  const xMask = rowMask(T, B, lengths, inDim);
  for (let i = 0; i < dx.length; i++) if (xMask[i] === 0) assert.equal(dx[i], 0, `dx at pad index ${i}`);
  // The input gradient can be skipped; parameter gradients still accumulate.
  zeroGrads(lstm.params());
  lstm.forward(x, T, B);
  assert.equal(lstm.backward(r, false), null);
  assertGradClose(lstm.wIh.grad, numericGrad(loss, lstm.wIh.value), "Lstm dW_ih without dx");
});

test("BiLstm with ragged lengths: dx and both directions' parameter gradients match finite differences", () => {
  const rng = new Rng(5);
  const T = 5, B = 3, inDim = 3, H = 3;
  const lengths = Int32Array.from([3, 5, 1]);
  const bi = new BiLstm(k, inDim, H, rng, "bi");
  const x = randomArray(rng, T * B * inDim);
  const r = randomArray(rng, T * B * 2 * H);
  const mask = rowMask(T, B, lengths, 2 * H);
  for (let i = 0; i < r.length; i++) r[i]! *= mask[i]!;
  const loss = (): number => dot(r, bi.forward(x, T, B, lengths));
  zeroGrads(bi.params());
  bi.forward(x, T, B, lengths);
  const dx = bi.backward(r).slice();
  assertGradClose(dx, numericGrad(loss, x), "BiLstm dx");
  for (const p of bi.params()) assertGradClose(p.grad.slice(), numericGrad(loss, p.value), `BiLstm ${p.name}`);
  const xMask = rowMask(T, B, lengths, inDim);
  for (let i = 0; i < dx.length; i++) if (xMask[i] === 0) assert.equal(dx[i], 0, `dx at pad index ${i}`);
});

test("Embedding (trainable): table gradient matches finite differences, only seen rows are touched, padding row skipped", () => {
  const rng = new Rng(6);
  const size = 6, dim = 3;
  const table = randomArray(rng, size * dim);
  const emb = new Embedding(k, table, size, dim, { trainable: true, paddingIdx: 5 });
  const ids = Int32Array.from([2, 0, 2, 5, 3, 2]); // repeats accumulate
  const r = randomArray(rng, ids.length * dim);
  const w = emb.weight!;
  emb.forward(ids);
  emb.backward(r);
  const numeric = numericGrad(() => dot(r, emb.forward(ids)), table);
  for (let i = 5 * dim; i < 6 * dim; i++) numeric[i] = 0; // padding_idx: no gradient by definition
  assertGradClose(w.grad, numeric, "Embedding dW");
  assert.deepEqual([...w.touched.rows()].sort(), [0, 2, 3]);
  for (const row of [1, 4, 5]) for (let j = 0; j < dim; j++) assert.equal(w.grad[row * dim + j], 0);
});

test("Embedding rejects ids outside the table and a table of the wrong size", () => {
  const emb = new Embedding(k, new Float32Array(8), 4, 2);
  assert.throws(() => emb.forward(Int32Array.from([1, 4])), /ids\[1\] = 4 is outside/);
  assert.throws(() => emb.forward(Int32Array.from([-1])), /ids\[0\] = -1/);
  assert.throws(() => new Embedding(k, new Float32Array(7), 4, 2), /expected 4×2/);
  assert.deepEqual(emb.params(), []);
});

test("SoftmaxNll: mean over non-ignored rows; gradient matches finite differences", () => {
  const rng = new Rng(7);
  const rows = 5, cols = 4;
  const logits = randomArray(rng, rows * cols, 2);
  const labels = Int32Array.from([1, -1, 3, 0, -1]);
  const nll = new SoftmaxNll(k);
  const { loss, count } = nll.forward(logits, labels, rows, cols);
  assert.equal(count, 3);
  let expected = 0;
  for (const r of [0, 2, 3]) {
    let z = 0;
    for (let j = 0; j < cols; j++) z += Math.exp(logits[r * cols + j]!);
    expected -= logits[r * cols + labels[r]!]! - Math.log(z);
  }
  assert.ok(Math.abs(loss - expected / 3) < 1e-5, `${loss} vs ${expected / 3}`);
  const d = nll.backward().slice();
  assertGradClose(d, numericGrad(() => nll.forward(logits, labels, rows, cols, false).loss, logits, 1e-2), "NLL dlogits");
  for (let j = 0; j < cols; j++) assert.equal(d[cols + j], 0);
  assert.throws(() => nll.forward(logits, Int32Array.from([0, 4, 0, 0, 0]), rows, cols), /labels\[1\] = 4/);
  assert.deepEqual(nll.forward(logits, new Int32Array(rows).fill(-1), rows, cols), { loss: 0, count: 0 });
});

/** A small ragged batch over a vocabulary of `vocab` words. */
export function smallBatch(rng: Rng, vocab: number, classes: number, lengths: number[]): Batch {
  const B = lengths.length;
  const T = Math.max(...lengths);
  const ids = new Int32Array(T * B).fill(vocab - 1);
  const labels = new Int32Array(T * B).fill(-1);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < lengths[b]!; t++) {
      ids[t * B + b] = rng.int(vocab - 1);
      labels[t * B + b] = rng.int(classes);
    }
  }
  return { size: B, maxLen: T, lengths: Int32Array.from(lengths), ids, labels, tokens: lengths.reduce((a, b) => a + b, 0) };
}

for (const bidirectional of [true, false]) {
  test(`SoftmaxTagger (${bidirectional ? "BiLSTM" : "LSTM"}, trainable embeddings): every parameter gradient of the real NLL matches finite differences`, () => {
    const rng = new Rng(8);
    const vocab = 7, dim = 3, outputs = 4;
    const table = randomArray(rng, vocab * dim);
    const model = new SoftmaxTagger(k, { vocabSize: vocab, embDim: dim, hidden: 3, bidirectional, outputs, trainableEmbeddings: true }, table, rng);
    const batch = smallBatch(rng, vocab, outputs, [4, 2, 3]);
    const params = model.params();
    assert.deepEqual(params.map((p) => p.name), ["embedding.weight", "lstm.fwd.w_ih", "lstm.fwd.w_hh", "lstm.fwd.b",
      ...(bidirectional ? ["lstm.bwd.w_ih", "lstm.bwd.w_hh", "lstm.bwd.b"] : []), "out.w", "out.b"]);
    zeroGrads(params);
    const { count } = model.lossAndGrad(batch);
    assert.equal(count, 9);
    const loss = (): number => model.loss(batch).loss;
    for (const p of params) assertGradClose(p.grad.slice(), numericGrad(loss, p.value), `tagger ${p.name}`);
  });
}
