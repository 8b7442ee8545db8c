import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { referenceKernels } from "../src/engine/reference.js";
import { parseConll } from "../src/data/conll.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { NerModel } from "../src/model/ner.js";
import { train, type TrainOptions, type TrainState } from "../src/train/trainer.js";
import { createOptimizer, type Optimizer } from "../src/train/optimizer.js";
import { loadCheckpoint, saveCheckpoint } from "../src/train/checkpoint.js";
import { LstmNerError } from "../src/util/errors.js";
import { toyConll, toyGlove } from "./toy-corpus.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-ckpt-"));
const trainSet = parseConll(toyConll(60, 1));
const dev = parseConll(toyConll(20, 2));
const rows = toyGlove(8, 3).trim().split("\n").map((l) => l.split(" "));
const vectors = { words: rows.map((r) => r[0]!), dim: 8, data: Float32Array.from(rows.flatMap((r) => r.slice(1).map(Number))) };

/** The accurate recipe in small: char CNN, dropout, CRF, trainable embeddings, SGD with momentum and decay, buckets, patience. */
function setup(): { model: NerModel; opt: Optimizer } {
  const model = NerModel.create(referenceKernels, {
    vectors, labels: CONLL_LABELS, scheme: "IOB2", hidden: 6, bidirectional: true, trainableEmbeddings: true, seed: 4,
    trainTokens: trainSet.map((s) => s.tokens), extendVocab: 1,
    feature: { chars: { dim: 4, filters: 5, window: 3 }, casingDim: 3, inputDropout: 0.5, outputDropout: 0.5, output: "crf", trainScheme: "BIOES", constrained: true },
  });
  return { model, opt: createOptimizer(referenceKernels, model.params(), { kind: "sgd", lr: 0.02, momentum: 0.9, lrDecay: 0.05, clipNorm: 5 }) };
}
const opts: TrainOptions = { epochs: 4, batchSize: 4, seed: 9, batching: "bucket", patience: 3 };

test("a run stopped mid-epoch and resumed from its checkpoint file ends with exactly the uninterrupted run's weights", async () => {
  const a = setup();
  const whole = await train(a.model, a.opt, trainSet, dev, a.model.encoder(), opts);
  assert.equal(whole.stopped, false);

  // Stop after 23 batches (epoch 2 of 15-batch epochs), through a checkpoint written to disk and read back.
  const b = setup();
  let batches = 0;
  const file = path.join(dir, "run.checkpoint");
  const first = await train(b.model, b.opt, trainSet, dev, b.model.encoder(), {
    ...opts, shouldStop: () => ++batches >= 23, onCheckpoint: (state) => saveCheckpoint(file, { state, run: { note: "x" } }),
  });
  assert.equal(first.stopped, true);
  const cp = await loadCheckpoint(file);
  assert.deepEqual(cp.run, { note: "x" });
  assert.equal(cp.state.epoch, 2);
  assert.ok(cp.state.batch > 0, "stopped inside the epoch");

  const c = setup(); // a fresh process would build the model and optimiser anew
  const rest = await train(c.model, c.opt, trainSet, dev, c.model.encoder(), { ...opts, resume: cp.state });
  assert.equal(rest.stopped, false);
  assert.deepEqual(rest.epochs.map((r) => [r.epoch, r.loss, r.dev_f1]), whole.epochs.map((r) => [r.epoch, r.loss, r.dev_f1]));
  assert.equal(rest.bestEpoch, whole.bestEpoch);
  const wa = a.model.snapshot();
  const wc = c.model.snapshot();
  for (const k of Object.keys(wa)) assert.deepEqual(wc[k], wa[k], k);
});

test("every epoch end checkpoints; resuming from any of them gives the same final weights", async () => {
  const states: TrainState[] = [];
  const a = setup();
  await train(a.model, a.opt, trainSet, dev, a.model.encoder(), { ...opts, onCheckpoint: (s) => void states.push(s) });
  assert.equal(states.length, opts.epochs);
  assert.deepEqual(states.map((s) => [s.epoch, s.batch]), [[2, 0], [3, 0], [4, 0], [5, 0]]);
  const final = a.model.snapshot();
  for (const s of states.slice(0, 3)) {
    const c = setup();
    await train(c.model, c.opt, trainSet, dev, c.model.encoder(), { ...opts, resume: s });
    const w = c.model.snapshot();
    for (const k of Object.keys(final)) assert.deepEqual(w[k], final[k], `${k}, resumed at epoch ${s.epoch}`);
  }
});

test("a damaged or foreign checkpoint is refused naming the file", async () => {
  const a = setup();
  const file = path.join(dir, "d.checkpoint");
  await train(a.model, a.opt, trainSet, null, a.model.encoder(), { ...opts, epochs: 1, onCheckpoint: (state) => saveCheckpoint(file, { state, run: {} }) });
  const bytes = readFileSync(file);
  bytes[bytes.length - 5]! ^= 0x10;
  writeFileSync(file, bytes);
  await assert.rejects(loadCheckpoint(file), (e: unknown) => e instanceof LstmNerError && e.message.startsWith(`${file}: damaged checkpoint: tensor state/`));
  writeFileSync(file, "nonsense");
  await assert.rejects(loadCheckpoint(file), (e: unknown) => e instanceof LstmNerError && e.message.startsWith(`${file}: not a valid checkpoint`));
  // An optimiser of another kind cannot take the state.
  const b = setup();
  const adam = createOptimizer(referenceKernels, b.model.params(), { kind: "adam", lr: 0.01 });
  const states: TrainState[] = [];
  await train(a.model, a.opt, trainSet, null, a.model.encoder(), { ...opts, epochs: 1, onCheckpoint: (s) => void states.push(s) });
  await assert.rejects(train(b.model, adam, trainSet, null, b.model.encoder(), { ...opts, resume: states[0]! }), /optimiser state is not adam's/);
});

test("with checkpoint averaging (averageLast), a resumed run also ends with the uninterrupted run's weights", async () => {
  const avg: TrainOptions = { ...opts, averageLast: 2 };
  const states: TrainState[] = [];
  const a = setup();
  const whole = await train(a.model, a.opt, trainSet, dev, a.model.encoder(), { ...avg, onCheckpoint: (s) => void states.push(s) });
  assert.equal(states[1]!.recent.length, 2, "the checkpoint holds the weights being averaged");
  const final = a.model.snapshot();
  const c = setup();
  const rest = await train(c.model, c.opt, trainSet, dev, c.model.encoder(), { ...avg, resume: states[1]! });
  const scores = (r: typeof whole): unknown[] => r.epochs.map((e) => [e.epoch, e.loss, e.dev_f1, e.dev_f1_last]);
  assert.deepEqual(scores(rest), scores(whole), "the same averaged and single-epoch scores");
  const w = c.model.snapshot();
  for (const k of Object.keys(final)) assert.deepEqual(w[k], final[k], k);
});
