import { test } from "node:test";
import assert from "node:assert/strict";
import { labelIds, padBatch, toIds } from "../src/encode/pad-batch.js";
import { batch, bucketBatches, shuffled } from "../src/train/batching.js";
import { Rng } from "../src/util/random.js";
import { LstmNerError } from "../src/util/errors.js";
import { CONLL_LABELS } from "../src/data/types.js";

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const sortedNums = (xs: number[]): number[] => xs.slice().sort((a, b) => a - b);

test("shuffled: a permutation, reproducible by seed, input untouched", () => {
  const items = range(50);
  const a = shuffled(items, new Rng(42));
  const b = shuffled(items, new Rng(42));
  const c = shuffled(items, new Rng(43));
  assert.deepEqual(items, range(50));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.notDeepEqual(a, items);
  assert.deepEqual(sortedNums(a), items);
  assert.deepEqual(shuffled([], new Rng(1)), []);
});

test("batch: consecutive slices, short last batch", () => {
  assert.deepEqual(batch([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  assert.deepEqual(batch([1, 2, 3, 4], 2), [[1, 2], [3, 4]]);
  assert.deepEqual(batch([1, 2], 32), [[1, 2]]);
  assert.deepEqual(batch([], 3), []);
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => batch([1], bad), LstmNerError);
});

test("bucketBatches: similar lengths together, every item once, reproducible", () => {
  const rng0 = new Rng(5);
  // 100 items with lengths 1..20, several per length.
  const items = range(100).map((id) => ({ id, len: 1 + rng0.int(20) }));
  const lengthOf = (x: { len: number }): number => x.len;
  const a = bucketBatches(items, 8, new Rng(9), lengthOf);
  const b = bucketBatches(items, 8, new Rng(9), lengthOf);
  const c = bucketBatches(items, 8, new Rng(10), lengthOf);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.equal(a.length, 13);
  assert.deepEqual(sortedNums(a.flat().map((x) => x.id)), range(100));
  assert.equal(a.filter((bt) => bt.length < 8).length, 1);
  // Cut from a length-sorted list, so the batches' length ranges do not overlap.
  const spans = a.map((bt) => [Math.min(...bt.map(lengthOf)), Math.max(...bt.map(lengthOf))] as const);
  const bySpan = spans.slice().sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  for (let i = 1; i < bySpan.length; i++) assert.ok(bySpan[i - 1]![1] <= bySpan[i]![0], `overlap: ${JSON.stringify(bySpan)}`);
  // The batch order is shuffled, not ascending by length.
  assert.notDeepEqual(spans, bySpan);
});

test("bucketBatches: ties broken at random by the seed", () => {
  const items = range(40); // all the same length
  const a = bucketBatches(items, 10, new Rng(1), () => 3);
  const b = bucketBatches(items, 10, new Rng(2), () => 3);
  assert.notDeepEqual(a.flat(), b.flat());
  assert.deepEqual(sortedNums(a.flat()), items);
  assert.throws(() => bucketBatches(items, 0, new Rng(1), () => 3), LstmNerError);
});

test("padBatch: time-major ids, PAD and -1 past each end, element by element", () => {
  const PAD = 99;
  const b = padBatch(
    [
      { ids: [1, 2, 3], labels: [0, 1, 2] },
      { ids: Int32Array.from([4]), labels: Int32Array.from([5]) },
      { ids: [6, 7], labels: [3, 4] },
    ],
    PAD,
  );
  assert.equal(b.size, 3);
  assert.equal(b.maxLen, 3);
  assert.equal(b.tokens, 6);
  assert.deepEqual([...b.lengths], [3, 1, 2]);
  assert.ok(b.ids instanceof Int32Array && b.labels instanceof Int32Array);
  // ids[t*B + b]:      t=0       t=1          t=2
  assert.deepEqual([...b.ids], [1, 4, 6, 2, PAD, 7, 3, PAD, PAD]);
  assert.deepEqual([...b.labels], [0, 5, 3, 1, -1, 4, 2, -1, -1]);
});

test("padBatch: without labels every label is -1; a one-sentence batch has no padding", () => {
  const b = padBatch([{ ids: [5, 6] }, { ids: [7] }], 0);
  assert.deepEqual([...b.ids], [5, 7, 6, 0]);
  assert.deepEqual([...b.labels], [-1, -1, -1, -1]);
  const one = padBatch([{ ids: [1, 2, 3], labels: [0, 0, 1] }], 9);
  assert.deepEqual([...one.ids], [1, 2, 3]);
  assert.deepEqual([...one.labels], [0, 0, 1]);
  assert.equal(one.tokens, 3);
});

test("padBatch: bad input is an LstmNerError", () => {
  assert.throws(() => padBatch([], 0), LstmNerError);
  assert.throws(() => padBatch([{ ids: [1, 2], labels: [0] }], 0), /batch item 0: 2 ids but 1 labels/);
  assert.throws(() => padBatch([{ ids: [1.5] }], 0), LstmNerError);
  assert.throws(() => padBatch([{ ids: [-3] }], 0), LstmNerError);
  assert.throws(() => padBatch([{ ids: [1], labels: [-2] }], 0), LstmNerError);
  assert.throws(() => padBatch([{ ids: [1] }], -1), LstmNerError);
});

test("toIds: lookup per token, lowercasing and UNK are the lookup's business", () => {
  const vocab = new Map([["hello", 0], ["world", 1]]);
  const UNK = 2;
  const ids = toIds(["Hello", "WORLD", "zzz"], (t) => vocab.get(t.toLowerCase()) ?? UNK);
  assert.ok(ids instanceof Int32Array);
  assert.deepEqual([...ids], [0, 1, 2]);
  assert.equal(toIds([], () => 0).length, 0);
  assert.throws(() => toIds(["a", "b"], (t) => (t === "b" ? Number.NaN : 0)), /token 2 "b"/);
});

test("labelIds: index in the label list; unknown tags name file, sentence and token", () => {
  assert.deepEqual([...labelIds(["O", "B-PER", "I-PER", "B-MISC", "I-MISC"], CONLL_LABELS)], [0, 1, 2, 7, 8]);
  assert.throws(
    () => labelIds(["O", "B-PERSON"], CONLL_LABELS, { file: "train.txt", sentence: 12 }),
    (e: unknown) => {
      assert.ok(e instanceof LstmNerError);
      assert.equal(e.file, "train.txt");
      assert.match(e.message, /^train\.txt: sentence 12, token 2: unknown tag "B-PERSON" \(known: O B-PER/);
      return true;
    },
  );
  assert.throws(() => labelIds(["X"], CONLL_LABELS), /token 1: unknown tag "X"/);
});
