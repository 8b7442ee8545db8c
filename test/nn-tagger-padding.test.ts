import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceKernels } from "../src/engine/reference.js";
import { SoftmaxTagger } from "../src/nn/tagger.js";
import { padBatch } from "../src/train/batching.js";
import { Rng } from "../src/util/random.js";

// Sentence A's loss alone, and in a batch beside a longer sentence whose positions are all unlabelled (-1):
// only the padding A gets differs between the two.
function lossAloneAndPadded(readsPadding: boolean): [number, number] {
  const vocab = 12;
  const emb = new Rng(1).fillUniform(new Float32Array(vocab * 4), -1, 1);
  emb.fill(0, 11 * 4); // PAD row = zeros, as the pipeline builds it
  const tagger = new SoftmaxTagger(referenceKernels, { vocabSize: vocab, embDim: 4, hidden: 5, outputs: 3, readsPadding }, emb, new Rng(2));
  const a = { ids: [1, 2, 3], labels: [0, 1, 2] };
  const long = { ids: [4, 5, 6, 7, 8, 9], labels: [-1, -1, -1, -1, -1, -1] };
  return [tagger.loss(padBatch([a], 11)).loss, tagger.loss(padBatch([a, long], 11)).loss];
}

test("by default a sentence's scores do not depend on the padding its batch gives it", () => {
  const [alone, padded] = lossAloneAndPadded(false);
  assert.ok(Math.abs(alone - padded) < 1e-6, `${alone} vs ${padded}`);
});

test("readsPadding runs the backward LSTM over the padding, as PyTorch's unpacked nn.LSTM does", () => {
  const [alone, padded] = lossAloneAndPadded(true);
  assert.ok(Math.abs(alone - padded) > 1e-4, `the padding should change the backward direction: ${alone} vs ${padded}`);
});
