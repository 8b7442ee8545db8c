import { test } from "node:test";
import assert from "node:assert/strict";
import type { Kernels } from "../src/engine/kernels.js";
import { referenceKernels as k } from "../src/engine/reference.js";
import { Rng } from "../src/util/random.js";
import { LstmNerError } from "../src/util/errors.js";
import { Adam } from "../src/nn/adam.js";
import { FeatureTagger } from "../src/nn/feature-tagger.js";
import type { Batch } from "../src/nn/batch.js";
import type { CharIds } from "../src/nn/charcnn.js";
import { allowedTransitions, isAllowedPath } from "../src/nn/crf.js";
import { buildCharVocab, type CharVocab } from "../src/features/char-ids.js";
import { memoryAddresses } from "../src/features/memory-addresses.js";
import { toyBatch, toyTagger, type ToyTaggerConfig } from "./toy-tagger.js";
import { copyParams, loadParams, type Param } from "../src/nn/param.js";
import { ConcatColumns } from "../src/nn/concat.js";
import { assertGradClose, assertSameStep, numericGrad, randomArray, wasmKernels, zeroGrads } from "./nn-helpers.js";

const LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];

/**
 * A synthetic task that word ids cannot solve (every word is UNK): runs of
 * capitalised words are entities, typed by the first letter of the run's
 * first word (A–M: PER, N–Z: LOC), tagged IOB2. So a token needs its casing
 * or characters, and an I- token needs the type decided to its left.
 */
function synthetic(rng: Rng, n: number): { tokens: string[][]; tags: number[][] } {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const word = (): string => Array.from({ length: 1 + rng.int(5) }, () => letters[rng.int(26)]!).join("");
  const tokens: string[][] = [];
  const tags: number[][] = [];
  for (let s = 0; s < n; s++) {
    const len = 2 + rng.int(8);
    const toks: string[] = [];
    const tg: number[] = [];
    let type = 0;
    for (let t = 0; t < len; t++) {
      const w = word();
      if (rng.next() < 0.35) {
        const cap = w[0]!.toUpperCase() + w.slice(1);
        const inside = t > 0 && tg[t - 1]! !== 0;
        if (!inside) type = cap[0]! <= "M" ? 0 : 1;
        toks.push(cap);
        tg.push(1 + 2 * type + (inside ? 1 : 0));
      } else {
        toks.push(w);
        tg.push(0);
      }
    }
    tokens.push(toks);
    tags.push(tg);
  }
  return { tokens, tags };
}

const UNK = 1; // word table: 0 = PAD, 1 = UNK, 2.. some words (unused by the synthetic task)

function makeBatch(tokens: string[][], tags: number[][] | null, vocab: CharVocab, ids?: (s: string) => number): Batch {
  const items = tokens.map((t, i) => ({ ids: t.map(ids ?? (() => UNK)), ...(tags === null ? {} : { labels: tags[i]! }) }));
  return toyBatch(items, tokens, vocab);
}

function makeModel(kern: Kernels, seed: number, extra: Partial<ToyTaggerConfig>, vocabSize = 6, embDim = 4): FeatureTagger {
  const rng = new Rng(seed);
  const table = randomArray(rng, vocabSize * embDim);
  table.fill(0, 0, embDim);
  return toyTagger(kern, { vocabSize, embDim, outputs: LABELS.length, ...extra }, table, rng);
}

const SMALL: Partial<ToyTaggerConfig> = {
  trainableEmbeddings: true, charVocabSize: 0, charDim: 3, charFilters: 3, casingDim: 2, hidden: 3,
  constraints: { labels: LABELS, scheme: "IOB2" },
};

/**
 * Finite-difference step: smaller for the char CNN, whose max-pool has kinks
 * (two positions nearly tied) that a 1e-2 step can cross. The data seeds of
 * the whole-model checks below have no tie within reach of a 1e-3 step; the
 * layer itself is checked on its own in nn-charcnn.test.ts.
 */
const stepFor = (name: string): number => (name.startsWith("char.") ? 1e-3 : 1e-2);

/** Every parameter's accumulated gradient against finite differences of `loss` (the casing padding row has none by definition). */
function assertParamGradsMatch(params: readonly Param[], loss: () => number, label: string): void {
  for (const p of params) {
    const numeric = numericGrad(loss, p.value, stepFor(p.name));
    if (p.name === "casing.weight") numeric.fill(0, 0, 2);
    assertGradClose(p.grad.slice(), numeric, `${label} ${p.name}`);
  }
}

function smallSetup(seed: number, extra: Partial<ToyTaggerConfig> = {}, modelSeed = seed) {
  const data = synthetic(new Rng(seed), 3);
  const vocab = buildCharVocab(data.tokens);
  const wordIds = (s: string): number => 1 + (s.length % 5); // some variety in word ids: 1..5
  const batch = makeBatch(data.tokens, data.tags, vocab, wordIds);
  const model = makeModel(k, modelSeed, { ...SMALL, charVocabSize: vocab.chars.length, ...extra });
  return { batch, model };
}

test("FeatureTagger (CRF, trainable words, char CNN, casing; eval mode): every parameter gradient of the real loss matches finite differences", () => {
  const { batch, model } = smallSetup(5);
  model.setTraining(false);
  const params = model.params();
  assert.deepEqual(params.map((p) => p.name), ["embedding.weight", "char.emb", "char.conv.w", "char.conv.b", "casing.weight",
    "lstm.fwd.w_ih", "lstm.fwd.w_hh", "lstm.fwd.b", "lstm.bwd.w_ih", "lstm.bwd.w_hh", "lstm.bwd.b", "out.w", "out.b",
    "crf.transitions", "crf.start", "crf.end"]);
  zeroGrads(params);
  const { count } = model.lossAndGrad(batch);
  assert.equal(count, batch.tokens);
  assertParamGradsMatch(params, () => model.loss(batch).loss, "FeatureTagger");
});

test("FeatureTagger in training mode with frozen dropout masks: gradients match finite differences", () => {
  const { batch, model } = smallSetup(3, { inputDropout: 0.3, outputDropout: 0.3 });
  const params = gradWithFrozenMasks(model, batch);
  const loss = (): number => model.loss(batch).loss;
  for (const name of ["char.conv.w", "casing.weight", "lstm.bwd.w_ih", "out.w", "crf.transitions"]) {
    const p = params.find((q) => q.name === name)!;
    const numeric = numericGrad(loss, p.value, stepFor(p.name));
    if (name === "casing.weight") numeric.fill(0, 0, 2);
    assertGradClose(p.grad.slice(), numeric, `FeatureTagger (dropout) ${name}`);
  }
});

test("FeatureTagger with a softmax output and a frozen word table: gradients match finite differences", () => {
  const { batch, model } = smallSetup(7, { output: "softmax", constraints: null, trainableEmbeddings: false });
  model.setTraining(false);
  const params = model.params();
  assert.ok(!params.some((p) => p.name === "embedding.weight" || p.name.startsWith("crf.")));
  zeroGrads(params);
  model.lossAndGrad(batch);
  assertParamGradsMatch(params, () => model.loss(batch).loss, "FeatureTagger softmax");
});

function accuracy(model: FeatureTagger, batch: Batch): { acc: number; valid: boolean } {
  const pred = model.predict(batch);
  const allowed = allowedTransitions(LABELS, "IOB2");
  let right = 0;
  let valid = true;
  for (let i = 0; i < pred.length; i++) if (batch.labels[i]! >= 0 && pred[i] === batch.labels[i]) right++;
  for (let b = 0; b < batch.size; b++) {
    const path = Array.from({ length: batch.lengths[b]! }, (_, t) => pred[t * batch.size + b]!);
    if (!isAllowedPath(allowed, path)) valid = false;
  }
  return { acc: right / batch.tokens, valid };
}

/**
 * Train a CRF tagger (`extra` on top of a small char/casing setup) with Adam on the synthetic task for
 * `epochs` epochs from seed `seed` (data seeds seed − 1 and seed + 1); held-out loss must fall below a tenth,
 * accuracy pass `minAcc`, and every predicted path be valid IOB2.
 */
function assertLearnsSyntheticTask(seed: number, extra: Partial<ToyTaggerConfig>, epochs: number, minAcc: number): void {
  const train = synthetic(new Rng(seed - 1), 400);
  const vocab = buildCharVocab(train.tokens);
  const model = makeModel(k, seed, { charVocabSize: vocab.chars.length, charDim: 8, charFilters: 12, casingDim: 4, hidden: 16, ...extra,
    inputDropout: 0.1, outputDropout: 0.1, constraints: { labels: LABELS, scheme: "IOB2" } });
  const opt = new Adam(k, model.params(), { lr: 0.02 });
  const held = synthetic(new Rng(seed + 1), 64);
  const heldBatch = makeBatch(held.tokens, held.tags, vocab);
  model.setTraining(false);
  const before = model.loss(heldBatch).loss;
  model.setTraining(true);
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = 0; i < train.tokens.length; i += 16) {
      model.lossAndGrad(makeBatch(train.tokens.slice(i, i + 16), train.tags.slice(i, i + 16), vocab));
      opt.step();
      opt.zeroGrad();
    }
  }
  model.setTraining(false);
  const after = model.loss(heldBatch).loss;
  const { acc, valid } = accuracy(model, heldBatch);
  assert.ok(after < 0.1 * before, `held-out loss ${before.toFixed(3)} → ${after.toFixed(3)}`);
  assert.ok(acc > minAcc, `held-out accuracy ${acc}`);
  assert.ok(valid, "a predicted sequence is invalid IOB2");
}

test("FeatureTagger with CRF learns a task only characters/casing and left context can solve; its predictions are valid IOB2", () => {
  assertLearnsSyntheticTask(11, {}, 3, 0.98);
});

test("FeatureTagger: dropout only in training mode; predict never drops; tensors round-trip by name", () => {
  const { batch, model } = smallSetup(4, { inputDropout: 0.5, outputDropout: 0.5 });
  const a = model.loss(batch).loss;
  const b = model.loss(batch).loss;
  assert.notEqual(a, b, "training mode draws a new mask each call");
  const p1 = model.predict(batch);
  model.setTraining(false);
  assert.equal(model.isTraining, false);
  assert.equal(model.loss(batch).loss, model.loss(batch).loss);
  assert.deepEqual(model.predict(batch), p1);
  const other = smallSetup(4, { inputDropout: 0.5, outputDropout: 0.5 }, 5).model;
  other.setTraining(false);
  const tensors = copyParams(model.params());
  assert.throws(() => loadParams(other.params(), { ...tensors, "crf.end": new Float32Array(2) }), /"crf.end" has 2 values, expected 5/);
  const { ["char.emb"]: _dropped, ...missing } = tensors;
  assert.throws(() => loadParams(other.params(), missing), /tensor "char.emb" is missing/);
  loadParams(other.params(), copyParams(model.params()));
  assert.equal(other.loss(batch).loss, model.loss(batch).loss);
  assert.deepEqual(other.predict(batch), model.predict(batch));
});

test("FeatureTagger rejects bad configs and malformed batches with clear errors", () => {
  const { batch, model } = smallSetup(6);
  const chars = batch.inputs!.chars as CharIds;
  const casingIn = batch.inputs!.casing as Int32Array;
  const shortCasing: Batch = { ...batch, inputs: { ...batch.inputs, casing: casingIn.subarray(1) } };
  const shortChars: Batch = { ...batch, inputs: { ...batch.inputs, chars: { ...chars, lengths: chars.lengths.subarray(1) } } };
  assert.throws(() => model.lossAndGrad(shortCasing), /batch.inputs.casing has/);
  assert.throws(() => model.lossAndGrad(shortChars), /batch.inputs.chars.lengths has/);
  const { inputs: _i, ...idsOnly } = batch;
  assert.throws(() => model.predict(idsOnly), (e: unknown) => e instanceof LstmNerError && /batch.inputs.chars is missing/.test(e.message));
  const labels = batch.labels.slice();
  labels[0] = -1; // a real token without a label: a CRF cannot score its sentence
  assert.throws(() => model.lossAndGrad({ ...batch, labels }), (e: unknown) => e instanceof LstmNerError && /CRF labels\[0\] = -1/.test(e.message));
  // Tagging builds its input in packed order; a bad id or char is still named at its padded position t·B+b.
  const last = (batch.lengths[1]! - 1) * batch.size + 1; // sentence 1's last token
  const ids = batch.ids.slice();
  ids[last] = 99;
  assert.throws(() => model.predict({ ...batch, ids }), (e: unknown) => e instanceof LstmNerError && new RegExp(`^ids\\[${last}\\] = 99 is outside the embedding table`).test(e.message));
  const casing = casingIn.slice();
  casing[last] = 42;
  const withCasing: Batch = { ...batch, inputs: { ...batch.inputs, casing } };
  assert.throws(() => model.predict(withCasing), (e: unknown) => e instanceof LstmNerError && new RegExp(`casing.weight: ids\\[${last}\\] = 42 is outside`).test(e.message));
  const charIds = chars.ids.slice();
  charIds[last * chars.maxChars] = 1000;
  const withChars: Batch = { ...batch, inputs: { ...batch.inputs, chars: { ...chars, ids: charIds } } };
  assert.throws(() => model.predict(withChars),
    (e: unknown) => e instanceof LstmNerError && new RegExp(`chars.ids\\[${last * chars.maxChars}\\] = 1000 \\(word ${last}, char 0\\)`).test(e.message));
  const cfg = { vocabSize: 4, embDim: 2, outputs: 5 };
  const table = new Float32Array(8);
  assert.throws(() => toyTagger(k, { ...cfg, inputDropout: 1 }, table, new Rng(1)), /inputDropout must be a number in \[0, 1\)/);
  assert.throws(() => new FeatureTagger(k, { outputs: 5, inputDropout: 1 }, { input: [] }, new Rng(1)), /inputDropout must be in \[0, 1\)/);
  assert.throws(() => toyTagger(k, { ...cfg, constraints: { labels: LABELS.slice(1), scheme: "IOB2" } }, table, new Rng(1)), /constraints name 4 labels, outputs is 5/);
  assert.throws(() => toyTagger(k, { ...cfg, output: "softmax", constraints: { labels: LABELS, scheme: "IOB2" } }, table, new Rng(1)), /constraints need output "crf"/);
  assert.throws(() => new FeatureTagger(k, { outputs: 5 }, { input: [] }, new Rng(1)), /feature tagger: no input features/);
});

test("FeatureTagger with WASM kernels matches the reference: loss, every gradient, Viterbi paths", async (t) => {
  const wasm = await wasmKernels();
  if (typeof wasm === "string") {
    t.skip(wasm);
    return;
  }
  const data = synthetic(new Rng(20), 12);
  const vocab = buildCharVocab(data.tokens);
  const cfg: Partial<ToyTaggerConfig> = { trainableEmbeddings: true, charVocabSize: vocab.chars.length, casingDim: 4, hidden: 8,
    constraints: { labels: LABELS, scheme: "IOB2" } };
  const ref = makeModel(k, 21, cfg);
  const fast = makeModel(wasm, 21, cfg);
  for (const [lo, hi] of [[0, 5], [5, 12]]) { // two batches of different shapes: buffers are reused
    const batch = makeBatch(data.tokens.slice(lo, hi), data.tags.slice(lo, hi), vocab, (s) => 1 + (s.length % 5));
    assertSameStep(ref, fast, batch);
  }
  fast.dispose();
});

/** Draw dropout masks with one step, freeze them, and accumulate the gradient of one more step with those masks. */
function gradWithFrozenMasks(model: FeatureTagger, batch: Batch): Param[] {
  model.lossAndGrad(batch); // draws the masks
  model.inputDropout.frozen = true;
  model.outputDropout.frozen = true;
  for (const d of model.betweenDropout) d.frozen = true;
  const params = model.params();
  zeroGrads(params);
  model.lossAndGrad(batch);
  return params;
}

/**
 * The padded path's emission scores: every layer on all T·B rows, each input part in its own block
 * concatenated afterwards (the training forward; what tagging computed before PackedScores and before
 * it wrote the parts straight into the BiLSTM input).
 */
function paddedScores(model: FeatureTagger, kern: Kernels, batch: Batch): Float32Array {
  const T = batch.maxLen, B = batch.size, n = T * B;
  const parts = model.inputs.map((f) => f.forward(batch, { dropout: false, keep: true, aux: false }).slice());
  const concat = new ConcatColumns(kern, parts.map((p) => p.length / n));
  let h = model.rnn.forward(concat.forward(parts, n), T, B, batch.lengths, false).slice();
  for (const layer of model.upper) h = layer.forward(h, T, B, batch.lengths, false).slice(); // dropout between layers: off when tagging
  concat.dispose();
  return model.out.forward(h, n).slice();
}

test("tagging scores (parts written into the BiLSTM input, packed real-token rows) equal the padded training forward's bit for bit (chars, casing, char LM, stacked layers; chunks of 256 rows, pads = bias), reference and WASM", async () => {
  const wasm = await wasmKernels();
  const charLM = { dim: 3, hidden: 3, vocab: 3 };
  const variants: Partial<ToyTaggerConfig>[] = [{}, { charLM }, { layers: 3 }, { charLM, layers: 2 }];
  for (const [kern, extra] of [k, ...(typeof wasm === "string" ? [] : [wasm])].flatMap((kn) => variants.map((v) => [kn, v] as const))) {
    const data = synthetic(new Rng(21), 70); // > 256 real tokens: several output chunks
    const vocab = buildCharVocab(data.tokens);
    const wordIds = (s: string): number => 1 + (s.length % 5);
    const model = makeModel(kern, 21, { ...SMALL, charVocabSize: vocab.chars.length, hidden: 5, ...extra });
    model.setTraining(false);
    const batch = makeBatch(data.tokens, null, vocab, wordIds);
    assert.ok(batch.tokens > 256, `${batch.tokens} tokens`);
    const want = paddedScores(model, kern, batch);
    const got = model.emissions(batch);
    assert.equal(got.length, want.length, `${kern.name}: scores' length`);
    for (let i = 0; i < want.length; i++) assert.ok(Object.is(got[i], want[i]), `${kern.name}: score ${i}: packed ${got[i]}, padded ${want[i]}`);
    // A pad row holds the bias.
    const C = LABELS.length, B = batch.size;
    const b = Array.from(batch.lengths).findIndex((len) => len < batch.maxLen);
    assert.ok(b >= 0);
    const t = batch.maxLen - 1;
    assert.deepEqual(Array.from(got.subarray((t * B + b) * C, (t * B + b + 1) * C)), Array.from(model.out.b.value));
    model.dispose();
  }
});

test("stacked BiLSTM (layers 2, eval mode): parameter names, and every gradient of the real loss matches finite differences", () => {
  const { batch, model } = smallSetup(15, { layers: 2 });
  model.setTraining(false);
  const params = model.params();
  const lstm = (n: string): string[] => ["fwd", "bwd"].flatMap((d) => ["w_ih", "w_hh", "b"].map((w) => `${n}.${d}.${w}`));
  assert.deepEqual(params.map((p) => p.name), ["embedding.weight", "char.emb", "char.conv.w", "char.conv.b", "casing.weight",
    ...lstm("lstm"), ...lstm("lstm2"), "out.w", "out.b", "crf.transitions", "crf.start", "crf.end"]);
  assert.deepEqual(params.find((p) => p.name === "lstm2.fwd.w_ih")!.shape, [2 * 3, 4 * 3], "the second layer reads the first's 2·hidden output");
  zeroGrads(params);
  model.lossAndGrad(batch);
  assertParamGradsMatch(params, () => model.loss(batch).loss, "FeatureTagger (2 layers)");
});

test("stacked BiLSTM in training mode (dropout between layers, frozen masks): gradients match finite differences; the masks between layers are drawn", () => {
  for (const seed of [16, 17]) {
    const { batch, model } = smallSetup(seed, { layers: 3, inputDropout: 0.3, outputDropout: 0.3 });
    assert.equal(model.betweenDropout.length, 2);
    assert.equal(model.betweenDropout[0]!.p, 0.3, "the rate of the output dropout");
    const params = gradWithFrozenMasks(model, batch);
    const loss = (): number => model.loss(batch).loss;
    for (const name of ["casing.weight", "lstm.fwd.w_ih", "lstm2.bwd.w_ih", "lstm2.fwd.b", "lstm3.fwd.w_hh", "out.w", "crf.transitions"]) {
      const p = params.find((q) => q.name === name)!;
      const numeric = numericGrad(loss, p.value, stepFor(p.name));
      if (name === "casing.weight") numeric.fill(0, 0, 2);
      assertGradClose(p.grad.slice(), numeric, `FeatureTagger (3 layers, seed ${seed}) ${name}`);
    }
    // With every mask but those between layers frozen, the loss still changes from call to call: those masks are drawn.
    for (const d of model.betweenDropout) d.frozen = false;
    assert.notEqual(model.loss(batch).loss, model.loss(batch).loss);
    model.setTraining(false);
    assert.equal(model.loss(batch).loss, model.loss(batch).loss, "no dropout between layers outside training");
  }
});

test("stacked BiLSTM: layers=1 is the model without stacking (same weights and loss, no lstm2); a bad layers value is named", () => {
  const one = smallSetup(18, { layers: 1 }).model;
  const { batch, model: plain } = smallSetup(18);
  assert.deepEqual(one.params().map((p) => p.name), plain.params().map((p) => p.name));
  for (const [i, p] of one.params().entries()) assert.deepEqual(p.value, plain.params()[i]!.value, p.name);
  assert.equal(one.loss(batch).loss, plain.loss(batch).loss, "the same dropout masks too");
  assert.equal(one.upper.length, 0);
  const cfg = { vocabSize: 4, embDim: 2, outputs: 5 };
  for (const bad of [0, 1.5, -1]) {
    assert.throws(() => toyTagger(k, { ...cfg, layers: bad }, new Float32Array(8), new Rng(1)),
      (e: unknown) => e instanceof LstmNerError && e.message === `feature.layers must be a whole number ≥ 1, got ${bad}`);
    assert.throws(() => new FeatureTagger(k, { outputs: 5, layers: bad }, { input: [] }, new Rng(1)),
      (e: unknown) => e instanceof LstmNerError && e.message === `feature tagger config: layers must be an integer ≥ 1, got ${bad}`);
  }
});

test("stacked BiLSTM with WASM kernels matches the reference: loss, every gradient, Viterbi paths (with dropout between layers)", async (t) => {
  const wasm = await wasmKernels();
  if (typeof wasm === "string") {
    t.skip(wasm);
    return;
  }
  const data = synthetic(new Rng(22), 12);
  const vocab = buildCharVocab(data.tokens);
  const cfg: Partial<ToyTaggerConfig> = { trainableEmbeddings: true, charVocabSize: vocab.chars.length, casingDim: 4, hidden: 8, layers: 2,
    inputDropout: 0.2, outputDropout: 0.2, constraints: { labels: LABELS, scheme: "IOB2" } };
  const ref = makeModel(k, 23, cfg);
  const fast = makeModel(wasm, 23, cfg);
  for (const [lo, hi] of [[0, 5], [5, 12]]) {
    const batch = makeBatch(data.tokens.slice(lo, hi), data.tags.slice(lo, hi), vocab, (s) => 1 + (s.length % 5));
    assertSameStep(ref, fast, batch);
  }
  fast.dispose();
});

test("stacked BiLSTM learns the task only characters/casing and left context can solve", () => {
  assertLearnsSyntheticTask(31, { layers: 2 }, 4, 0.97);
});

test("stacked BiLSTM: quantize() puts every layer in int16 (tagging nearly as fp32); a training step returns every layer to fp32", () => {
  const data = synthetic(new Rng(40), 30);
  const vocab = buildCharVocab(data.tokens);
  const model = makeModel(k, 41, { ...SMALL, charVocabSize: vocab.chars.length, hidden: 6, layers: 3 });
  const batch = makeBatch(data.tokens, data.tags, vocab, (s) => 1 + (s.length % 5));
  model.setTraining(false);
  const fp32 = model.emissions(batch);
  model.quantize();
  const layers = [model.rnn, ...model.upper];
  assert.equal(layers.length, 3);
  for (const l of layers) assert.ok(l.fwd.quantized && l.bwd.quantized);
  const q = model.emissions(batch);
  let worst = 0;
  for (let i = 0; i < q.length; i++) worst = Math.max(worst, Math.abs(q[i]! - fp32[i]!));
  assert.ok(worst > 0 && worst < 0.05, `int16 emissions differ from fp32 by at most ${worst}`);
  model.lossAndGrad(batch);
  for (const l of layers) assert.ok(!l.fwd.quantized && !l.bwd.quantized);
  assert.deepEqual(model.emissions(batch), fp32);
});

/**
 * Three synthetic sentences of one document and one of another, with document-memory addresses over
 * them (at most 3 rows read per token; word ids 2..5, so words repeat and none is UNK).
 */
function memorySetup(kern: Kernels, seed: number, extra: Partial<ToyTaggerConfig> = {}) {
  const data = synthetic(new Rng(seed), 4);
  const vocab = buildCharVocab(data.tokens);
  const ids = data.tokens.map((t) => t.map((s) => 2 + (s.length % 4)));
  const addresses = memoryAddresses(ids, [0, 0, 0, 1], { skip: [0, UNK], cap: 3 });
  const items = ids.map((x, i) => ({ ids: x, labels: data.tags[i]! }));
  const batch = toyBatch(items, data.tokens, vocab, addresses);
  const model = makeModel(kern, seed, { ...SMALL, charVocabSize: vocab.chars.length, docMemory: true, ...extra });
  return { batch, model, reads: addresses.flatMap((a) => Array.from(a.slots, (_, t) => a.offsets[t + 1]! - a.offsets[t]!)) };
}

test("FeatureTagger with a document memory (eval mode; tokens reading 0, 1 and several stored rows): every parameter gradient of the real loss matches finite differences", () => {
  const { batch, model, reads } = memorySetup(k, 13);
  assert.ok(reads.includes(0) && reads.includes(1) && reads.some((n) => n > 1), `reads per token: ${reads}`);
  model.setTraining(false);
  const params = model.params();
  assert.deepEqual(params.map((p) => p.name).slice(-7), ["lstm.bwd.b", "memory.w", "out.w", "out.b", "crf.transitions", "crf.start", "crf.end"]);
  assert.deepEqual(model.out.w.shape, [4 * 3, LABELS.length], "the output layer reads [h ; g]");
  // The first step finds the memory empty and fills it; the second reads what the first stored
  // (the same values: same weights, no dropout), as do the loss evaluations, which store nothing.
  model.lossAndGrad(batch);
  const slots = (batch.inputs!.memory as { slots: Int32Array }).slots;
  assert.equal(model.memorySize.train, new Set(Array.from(slots).filter((s) => s >= 0)).size);
  zeroGrads(params);
  model.lossAndGrad(batch);
  assertParamGradsMatch(params, () => model.loss(batch).loss, "FeatureTagger (document memory)");
  // Tagging reads its own memory, filled from whole documents: here the same batch, so it scores as the loss's forward did.
  assert.equal(model.memorySize.tag, 0);
  model.fillMemory([batch]);
  assert.equal(model.memorySize.tag, model.memorySize.train);
  const { batch: bare } = smallSetup(13);
  assert.throws(() => model.predict(bare), /batch\.inputs\.memory is missing \(the model has a document memory/);
});

test("FeatureTagger with a document memory on the WASM kernels matches the reference: loss, every gradient, Viterbi paths, also once the memory is filled", async (t) => {
  const wasm = await wasmKernels();
  if (typeof wasm === "string") {
    t.skip(wasm);
    return;
  }
  const { batch, model: ref } = memorySetup(k, 14, { hidden: 6 });
  const fast = memorySetup(wasm, 14, { hidden: 6 }).model;
  for (let step = 0; step < 2; step++) {
    ref.fillMemory([batch]);
    fast.fillMemory([batch]);
    assertSameStep(ref, fast, batch); // step 0 reads an empty training memory, step 1 what step 0 stored
  }
  assert.ok(fast.memorySize.train > 0 && fast.memorySize.tag > 0);
  fast.dispose();
});

