import { test } from "node:test";
import assert from "node:assert/strict";
import { train, type TrainableModel } from "../src/train/trainer.js";
import { makeEncoder } from "../src/encode/encoder.js";
import type { Sentence } from "../src/data/types.js";
import { LstmNerError } from "../src/util/errors.js";

const sentences: Sentence[] = Array.from({ length: 6 }, (_, i) => ({ tokens: ["w" + i, "x"], tags: ["B-PER", "O"] }));
const enc = makeEncoder({ lookup: (t) => (t === "x" ? 1 : 0), padId: 2, labels: ["O", "B-PER"] });

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

/**
 * A model whose dev predictions follow a script, one entry per epoch: "good"
 * tags every sentence right (dev F1 100), "bad" finds no entity (F1 0). Its
 * one "weight" is the epoch it was snapshotted in.
 */
function scriptedModel(script: readonly ("good" | "bad")[]): TrainableModel & { restored: number[] } {
  let epoch = 0;
  return {
    restored: [],
    lossAndGrad: (b) => ({ loss: 1, count: b.tokens }),
    setTraining(on) {
      if (on) epoch++;
    },
    predict: (b) => {
      const out = new Int32Array(b.size * b.maxLen).fill(-1);
      for (let bi = 0; bi < b.size; bi++) {
        for (let t = 0; t < b.lengths[bi]!; t++) out[t * b.size + bi] = script[epoch - 1] === "good" && t === 0 ? 1 : 0;
      }
      return out;
    },
    snapshot: () => ({ w: Float32Array.of(epoch) }),
    restore(t) {
      this.restored.push(t.w![0]!);
    },
  };
}

test("patience: training stops after that many epochs without a dev improvement and keeps the best epoch", async () => {
  const opt = { step: () => {}, zeroGrad: () => {} };
  const script = ["bad", "good", "bad", "bad", "good", "good", "good", "good"] as const;
  const run = async (patience: number): Promise<{ f1: (number | null)[]; best: number; restored: number[] }> => {
    const m = scriptedModel(script);
    const r = await train(m, opt, sentences, sentences, enc, { epochs: script.length, batchSize: 2, seed: 1, batching: "plain", patience });
    return { f1: r.epochs.map((e) => e.dev_f1), best: r.bestEpoch, restored: m.restored };
  };
  // Epoch 2 is best; epochs 3 and 4 do not improve on it: patience 2 stops there.
  assert.deepEqual(await run(2), { f1: [0, 100, 0, 0], best: 2, restored: [2] });
  // Patience 3 also waits through epoch 5, whose F1 only equals the best (not an improvement).
  assert.deepEqual(await run(3), { f1: [0, 100, 0, 0, 100], best: 2, restored: [2] });
  // 0 = never stop early.
  assert.deepEqual((await run(0)).f1.length, script.length);
});

test("averageLast: dev scores (and keeps) the mean of the last N epochs' weights; training goes on from each epoch's own", async () => {
  // One weight, +1 per epoch; the dev set is tagged right only when it is exactly 2.5 (the mean of epochs 2 and 3).
  const w = Float32Array.of(0);
  let stepped = false;
  const model: TrainableModel = {
    lossAndGrad(b) {
      if (!stepped) w[0] = w[0]! + 1;
      stepped = true;
      return { loss: 1, count: b.tokens };
    },
    setTraining(on) {
      if (on) stepped = false;
    },
    predict: (b) => {
      const out = new Int32Array(b.size * b.maxLen).fill(-1);
      for (let bi = 0; bi < b.size; bi++) for (let t = 0; t < b.lengths[bi]!; t++) out[t * b.size + bi] = w[0] === 2.5 && t === 0 ? 1 : 0;
      return out;
    },
    snapshot: () => ({ w: w.slice() }),
    restore: (t) => w.set(t.w!),
  };
  const seen: number[] = [];
  const opt = { step: () => {}, zeroGrad: () => {} };
  const r = await train(model, opt, sentences, sentences, enc, {
    epochs: 5, batchSize: 2, seed: 1, batching: "plain", averageLast: 2, onEpoch: () => void seen.push(w[0]!),
  });
  assert.deepEqual(seen, [1, 1.5, 2.5, 3.5, 4.5], "onEpoch sees the averaged weights");
  assert.deepEqual(r.epochs.map((e) => e.dev_f1), [0, 0, 100, 0, 0]);
  assert.deepEqual(r.epochs.map((e) => e.dev_f1_last), [undefined, 0, 0, 0, 0], "and each epoch's own weights are scored too");
  assert.equal(r.bestEpoch, 3);
  assert.equal(w[0], 2.5, "the model ends with the best average");
});

test("a stop signal ends the epoch in progress after the current batch; it is evaluated and the best epoch is kept", async () => {
  const m = fakeModel(1000);
  const opt = { step: () => {}, zeroGrad: () => {} };
  const stop = new AbortController();
  const seen: string[] = [];
  const result = await train(m, opt, sentences, sentences, enc, {
    epochs: 5, batchSize: 2, seed: 1, batching: "plain", signal: stop.signal,
    // A promise from onBatch is awaited: the caller may yield there (to read a Stop message).
    onBatch: async (p) => {
      seen.push(`${p.epoch}.${p.batch}`);
      if (p.epoch === 2 && p.batch === 2) setTimeout(() => stop.abort(), 0);
      await new Promise((r) => setTimeout(r, 5));
    },
    onEpoch: (r) => void seen.push(`epoch ${r.epoch} loss ${r.loss.toFixed(4)}`),
  });
  assert.deepEqual(seen, ["1.1", "1.2", "1.3", "epoch 1 loss 0.6111", "2.1", "2.2", "epoch 2 loss 0.2250"], "epoch 2 stops after its second batch, loss over those two");
  assert.equal(result.stopped, true);
  assert.equal(result.epochs.length, 2);
  assert.equal(m.calls, 5);
  const full = await train(fakeModel(1000), opt, sentences, sentences, enc, { epochs: 1, batchSize: 2, seed: 1, batching: "plain" });
  assert.equal(full.stopped, false);
});
