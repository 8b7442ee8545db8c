import { test } from "node:test";
import assert from "node:assert/strict";
import { train, wordEncoder, type TrainableModel } from "../src/train/trainer.js";
import type { Sentence } from "../src/data/types.js";
import { LstmNerError } from "../src/util/errors.js";

const sentences: Sentence[] = Array.from({ length: 6 }, (_, i) => ({ tokens: ["w" + i, "x"], tags: ["B-PER", "O"] }));
const enc = wordEncoder((t) => (t === "x" ? 1 : 0), 2, ["O", "B-PER"]);

/** A model whose loss turns NaN at a chosen call, to drive the trainer's divergence check. */
function fakeModel(nanAtCall: number): TrainableModel & { calls: number } {
  return {
    calls: 0,
    lossAndGrad(b) {
      this.calls++;
      return { loss: this.calls >= nanAtCall ? NaN : 1 / this.calls, count: b.tokens };
    },
    predict: (b) => new Int32Array(b.size * b.maxLen),
    snapshot: () => ({}),
    restore: () => {},
  };
}

test("a loss that stops being finite ends training with a clear error after the last good epoch was reported", async () => {
  const m = fakeModel(4); // 3 batches of 2 per epoch: call 4 is epoch 2, batch 1
  const epochs: number[] = [];
  const opt = { step: () => {}, zeroGrad: () => {} };
  await assert.rejects(
    train(m, opt, sentences, sentences, enc, { epochs: 5, batchSize: 2, seed: 1, batching: "plain", onEpoch: (r) => void epochs.push(r.epoch) }),
    (e: unknown) => e instanceof LstmNerError && /^training diverged: loss is NaN at epoch 2, batch 1 \(try a lower learning rate/.test(e.message),
  );
  assert.deepEqual(epochs, [1], "epoch 1 was reported (and saved by the CLI) before the failure");
});
