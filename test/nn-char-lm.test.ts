import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { Kernels } from "../src/engine/kernels.js";
import { referenceKernels as k } from "../src/engine/reference.js";
import { Rng } from "../src/util/random.js";
import { Highway } from "../src/nn/highway.js";
import { Lstm } from "../src/nn/lstm.js";
import { CharLm, lmClassesOf } from "../src/nn/char-language-model.js";
import { LM_SOFTMAXES } from "../src/nn/lm-softmax.js";
import type { FeatureTagger } from "../src/nn/feature-tagger.js";
import type { Batch } from "../src/nn/batch.js";
import type { CharIds } from "../src/nn/charcnn.js";
import { buildCharVocab, type CharVocab } from "../src/features/char-ids.js";
import { charLmOf, toyBatch, toyTagger, type ToyTaggerConfig } from "./toy-tagger.js";
import type { Param } from "../src/nn/param.js";
import { parseConll } from "../src/data/conll.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { NerModel } from "../src/model/ner.js";
import type { TaggerSpec } from "../src/features/spec.js";
import { loadModel, loadNerModel, saveNerModel } from "../src/model/file.js";
import { encodeSentences } from "../src/encode/encoder.js";
import { encodeModel, parseModel } from "../src/model/format.js";
import { train, type TrainOptions } from "../src/train/trainer.js";
import { createOptimizer } from "../src/train/optimizer.js";
import { loadCheckpoint, saveCheckpoint } from "../src/train/checkpoint.js";
import { applyOverrides, getPreset } from "../src/train/presets.js";
import { LstmNerError } from "../src/util/errors.js";
import { assertGradClose, assertSameStep, dot, numericGrad, randomArray, wasmKernels, zeroGrads } from "./nn-helpers.js";
import { toyConll, toyGlove } from "./toy-corpus.js";
import { concatBytes } from "./helpers.js";
import { epochLine } from "../src/report/log.js";

test("Highway: input, weight and bias gradients match finite differences", () => {
  const rng = new Rng(1);
  const D = 4;
  const rows = 5;
  const hw = new Highway(k, D, rng, "hw");
  const x = randomArray(rng, rows * D);
  const r = randomArray(rng, rows * D);
  const loss = (): number => dot(r, hw.forward(x, rows));
  zeroGrads(hw.params());
  hw.forward(x, rows);
  const dx = hw.backward(r).slice();
  assertGradClose(dx, numericGrad(loss, x, 1e-3), "Highway dx");
  for (const p of hw.params()) assertGradClose(p.grad.slice(), numericGrad(loss, p.value, 1e-3), `Highway ${p.name}`);
  // y = g⊙relu(a) + (1 − g)⊙x: a closed gate passes x through unchanged.
  hw.params()[1]!.value.fill(-1e4, D, 2 * D);
  assert.deepEqual(Array.from(hw.forward(x, rows)), Array.from(x));
});

const LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];

function sentences(rng: Rng, n: number): { tokens: string[][]; tags: number[][] } {
  const letters = "abcdefgh";
  const tokens: string[][] = [];
  const tags: number[][] = [];
  for (let s = 0; s < n; s++) {
    const len = 1 + rng.int(4);
    const toks = Array.from({ length: len }, () => {
      const w = Array.from({ length: 1 + rng.int(3) }, () => letters[rng.int(letters.length)]!).join("");
      return rng.next() < 0.4 ? w.toUpperCase() : w;
    });
    tokens.push(toks);
    tags.push(toks.map((t) => (t === t.toLowerCase() ? 0 : t <= "D" ? 1 : 3)));
  }
  return { tokens, tags };
}

const wordIds = (s: string): number => 1 + (s.length % 5); // word rows 1..5 of a 6-row table

function makeBatch(tokens: string[][], tags: number[][], vocab: CharVocab): Batch {
  return toyBatch(tokens.map((t, i) => ({ ids: t.map(wordIds), labels: tags[i]! })), tokens, vocab);
}

const charsOf = (b: Batch): CharIds => b.inputs!.chars as CharIds;

/** Word rows 1..5 → LM classes 1..3 (rows 4, 5 share the "other" class 0). */
const LM_CLASSES = Int32Array.from([0, 1, 2, 3, 0, 0]);

function makeTagger(kern: Kernels, seed: number, vocab: CharVocab, extra: Partial<ToyTaggerConfig> = {}): FeatureTagger {
  const rng = new Rng(seed);
  const table = randomArray(rng, 6 * 4);
  return toyTagger(kern, {
    vocabSize: 6, embDim: 4, outputs: LABELS.length, trainableEmbeddings: true, charVocabSize: vocab.chars.length, charDim: 3, charFilters: 3,
    casingDim: 2, hidden: 3, inputDropout: 0, outputDropout: 0, constraints: { labels: LABELS, scheme: "IOB2" },
    charLM: { dim: 3, hidden: 3, vocab: 3, lmWeight: 0.7, dropout: 0.3 }, lmClasses: LM_CLASSES, ...extra,
  }, table, rng);
}

function setup(seed: number, extra: Partial<ToyTaggerConfig> = {}) {
  const data = sentences(new Rng(seed), 4);
  const vocab = buildCharVocab(data.tokens);
  return { batch: makeBatch(data.tokens, data.tags, vocab), model: makeTagger(k, seed, vocab, extra), vocab, data };
}

// The char CNN's max-pool and the highways' relu have kinks a large step can cross.
const stepFor = (name: string): number => (name.startsWith("char") ? 1e-3 : 1e-2);

test("char LM: word t's features are the forward LSTM state at the ␣ after it and the backward state at the ␣ before it", () => {
  const vocab = buildCharVocab([["ab", "c", "ba"]]);
  const SP = vocab.chars.length;
  const rng = new Rng(3);
  const lm = new CharLm(k, vocab.chars.length, { dim: 3, hidden: 2, vocab: 2, lmWeight: 1, dropout: 0, softmax: "classes" }, rng, null, new Rng(4));
  lm.hw.params()[1]!.value.fill(-1e4, 4, 8); // closed gates: the highway passes the boundary states through
  const tokens = [["ab", "c", "ba"], ["c"]];
  const batch = toyBatch(tokens.map((t) => ({ ids: t.map(() => 1) })), tokens, vocab);
  const B = 2;
  const out = lm.forward(charsOf(batch), batch.ids, batch.maxLen, B, batch.lengths, { dropout: false, keep: false, lm: false });
  // Run each direction alone over the chars it should have read.
  const run = (dir: Lstm, chars: number[]): number[] => {
    const x = new Float32Array(chars.length * 3);
    chars.forEach((c, i) => x.set(lm.emb.value.subarray(c * 3, c * 3 + 3), i * 3));
    const h = dir.forward(x, chars.length, 1);
    return Array.from(h.subarray((chars.length - 1) * 2));
  };
  const id = (c: string): number => vocab.index.get(c)!;
  const seq = [SP, id("a"), id("b"), SP, id("c"), SP, id("b"), id("a"), SP]; // ␣ab␣c␣ba␣
  const ends = [3, 5, 8];
  const starts = [0, 3, 5];
  for (let t = 0; t < 3; t++) {
    const got = Array.from(out.subarray(t * B * 4, t * B * 4 + 4));
    const fwd = run(lm.rnn.fwd, seq.slice(0, ends[t]! + 1));
    const bwd = run(lm.rnn.bwd, seq.slice(starts[t]!).reverse());
    got.forEach((v, j) => assert.ok(Math.abs(v - [...fwd, ...bwd][j]!) < 1e-5, `word ${t}: ${got} vs ${[...fwd, ...bwd]}`));
  }
  // The second sentence's one word reads only ␣c␣; its pads get zeros.
  const one = run(lm.rnn.fwd, [SP, id("c"), SP]);
  assert.ok(Math.abs(out[4]! - one[0]!) < 1e-5 && Math.abs(out[5]! - one[1]!) < 1e-5);
  assert.ok(out.subarray(1 * B * 4 + 4, 2 * B * 4).every((v) => v === 0) && out.subarray(2 * B * 4 + 4).every((v) => v === 0));
  lm.dispose();
});

for (const softmax of LM_SOFTMAXES) test(`CharLm alone (${softmax} softmax): every gradient of (features · r + λ·LM loss), dropout on with a frozen mask, matches finite differences`, () => {
  // Seeds whose relu pre-activations all stay clear of 0 by more than the step (a kink would spoil the difference quotient).
  const data = sentences(new Rng(2), 4);
  const vocab = buildCharVocab(data.tokens);
  const batch = makeBatch(data.tokens, data.tags, vocab);
  const rng = new Rng(3);
  const lm = new CharLm(k, vocab.chars.length, { dim: 3, hidden: 3, vocab: 3, lmWeight: 0.7, dropout: 0.3, softmax }, rng, LM_CLASSES, new Rng(4));
  const T = batch.maxLen;
  const B = batch.size;
  const r = randomArray(rng, T * B * 6);
  const run = (keep: boolean): number => {
    const y = lm.forward(charsOf(batch), batch.ids, T, B, batch.lengths, { dropout: true, keep, lm: true });
    return dot(r, y) + lm.weightedLoss;
  };
  run(true); // draws the mask
  lm.dropout.frozen = true;
  zeroGrads(lm.params());
  run(true);
  lm.backward(r);
  // The LM heads' output layers have no kink, and their smallest entries need the larger step to rise above float32 noise.
  const step = (name: string): number => (/^charlm\.lm\.\w+\.(out|cls|word)\./.test(name) ? 1e-2 : 1e-3);
  for (const p of lm.params()) assertGradClose(p.grad.slice(), numericGrad(() => run(false), p.value, step(p.name)), `CharLm ${p.name}`);
  lm.dispose();
});

// A data seed whose whole-model check has no relu or max-pool kink within reach of the step (see nn-feature-tagger.test.ts).
test("FeatureTagger with the char LM (eval mode): every gradient, the LM head's included, matches finite differences", () => {
  const { batch, model } = setup(13);
  model.setTraining(false);
  const params = model.params();
  assert.deepEqual(params.map((p) => p.name).filter((n) => n.startsWith("charlm.")), ["charlm.emb",
    "charlm.lstm.fwd.w_ih", "charlm.lstm.fwd.w_hh", "charlm.lstm.fwd.b", "charlm.lstm.bwd.w_ih", "charlm.lstm.bwd.w_hh", "charlm.lstm.bwd.b",
    "charlm.hw.w", "charlm.hw.b", "charlm.lm.fwd.hw.w", "charlm.lm.fwd.hw.b", "charlm.lm.fwd.cls.w", "charlm.lm.fwd.cls.b", "charlm.lm.fwd.word.w",
    "charlm.lm.fwd.word.b", "charlm.lm.bwd.hw.w", "charlm.lm.bwd.hw.b", "charlm.lm.bwd.cls.w", "charlm.lm.bwd.cls.b", "charlm.lm.bwd.word.w", "charlm.lm.bwd.word.b"]);
  zeroGrads(params);
  model.lossAndGrad(batch);
  assert.ok(charLmOf(model).lastLoss!.fwd > 0 && charLmOf(model).lastLoss!.bwd > 0);
  const loss = (): number => model.loss(batch).loss;
  for (const p of params) {
    const numeric = numericGrad(loss, p.value, stepFor(p.name));
    if (p.name === "casing.weight") numeric.fill(0, 0, 2);
    assertGradClose(p.grad.slice(), numeric, `char LM tagger ${p.name}`);
  }
});

test("char LM in training mode with frozen dropout masks: gradients match finite differences", () => {
  const { batch, model } = setup(3, { inputDropout: 0.3, outputDropout: 0.3 });
  model.lossAndGrad(batch); // draws the masks
  for (const d of [model.inputDropout, model.outputDropout, charLmOf(model).dropout]) d.frozen = true;
  const params = model.params();
  zeroGrads(params);
  model.lossAndGrad(batch);
  const loss = (): number => model.loss(batch).loss;
  for (const name of ["charlm.emb", "charlm.lstm.bwd.w_hh", "charlm.hw.w", "charlm.lm.fwd.hw.b", "charlm.lm.bwd.word.w", "charlm.lm.fwd.cls.w", "out.w"]) {
    const p = params.find((q: Param) => q.name === name)!;
    assertGradClose(p.grad.slice(), numericGrad(loss, p.value, stepFor(name)), `char LM (dropout) ${name}`);
  }
});

test("char LM: the loss is the tagger's plus λ·(L_fwd + L_bwd); without the head (a loaded model) the same weights tag the same", () => {
  const { batch, model, vocab } = setup(7);
  const headless = makeTagger(k, 7, vocab, { lmClasses: null });
  assert.ok(!headless.params().some((p) => p.name.startsWith("charlm.lm.")));
  // The head is built last: every other weight is the same as without it.
  const shared = new Map(headless.params().map((p) => [p.name, p.value]));
  for (const p of model.params()) if (shared.has(p.name)) assert.deepEqual(p.value, shared.get(p.name), p.name);
  model.setTraining(false);
  headless.setTraining(false);
  const full = model.loss(batch).loss;
  const { fwd, bwd } = charLmOf(model).lastLoss!;
  assert.ok(Math.abs(full - (headless.loss(batch).loss + 0.7 * (fwd + bwd))) < 1e-5);
  assert.equal(charLmOf(headless).lastLoss, null);
  assert.deepEqual(model.predict(batch), headless.predict(batch));
  assert.equal(charLmOf(model).lastLoss, null, "prediction computes no LM loss");
  // The LM targets: next word's class forward, previous word's backward (rows 4 and 5 are the "other" class 0).
  assert.deepEqual(Array.from(lmClassesOf([3, 3, 1, 5, 5, 5, 2, 0], 7, 2, [0, 6])), [0, 0, 0, 2, 0, 1, 0]);
  assert.throws(() => makeTagger(k, 1, vocab, { charVocabSize: 0 }), /charLM needs feature\.chars/);
  assert.throws(() => makeTagger(k, 1, vocab, { charLM: { hidden: 0 } }), /charLM\.hidden must be a whole number ≥ 1, got 0/);
});

test("char LM with WASM kernels matches the reference: loss, every gradient, predictions", async (t) => {
  const wasm = await wasmKernels();
  if (typeof wasm === "string") {
    t.skip(wasm);
    return;
  }
  const data = sentences(new Rng(20), 9);
  const vocab = buildCharVocab(data.tokens);
  const ref = makeTagger(k, 21, vocab);
  const fast = makeTagger(wasm, 21, vocab);
  ref.setTraining(false);
  fast.setTraining(false);
  for (const [lo, hi] of [[0, 4], [4, 9]]) assertSameStep(ref, fast, makeBatch(data.tokens.slice(lo, hi), data.tags.slice(lo, hi), vocab));
  fast.dispose();
});

test("--set feature.charLM: defaults for fields left out, one clear line for a bad value", () => {
  const p = applyOverrides(getPreset("accurate"), ['feature.charLM={"hidden":64,"lmWeight":0.5}']);
  assert.deepEqual(p.feature!.charLM, { hidden: 64, lmWeight: 0.5 });
  assert.equal(getPreset("accurate").feature!.charLM, null, "off by default");
  const bad: [string[], RegExp][] = [
    [['feature.charLM={"hidden":0}'], /feature\.charLM\.hidden must be a whole number ≥ 1, got 0/],
    [['feature.charLM={"lmWeight":-1}'], /feature\.charLM\.lmWeight must be a number ≥ 0, got -1/],
    [['feature.charLM={"dropout":1}'], /feature\.charLM\.dropout must be a number in \[0, 1\), got 1/],
    [['feature.charLM={"size":3}'], /unknown field feature\.charLM\.size/],
    [['feature.charLM={"softmax":"sampled"}'], /feature\.charLM\.softmax must be one of full, classes, got "sampled"/],
    [["feature.charLM=3"], /feature\.charLM must be an object or null, got 3/],
    [["feature.chars=null", 'feature.charLM={}'], /feature\.charLM needs feature\.chars/],
  ];
  for (const [sets, re] of bad) {
    assert.throws(() => applyOverrides(getPreset("accurate"), sets), (e: unknown) => e instanceof LstmNerError && re.test(e.message) && !e.message.includes("\n"), sets.join(" "));
  }
});

const trainSet = parseConll(toyConll(200, 1));
const dev = parseConll(toyConll(30, 2));
const rows = toyGlove(8, 3).trim().split("\n").map((l) => l.split(" "));
const vectors = { words: rows.map((r) => r[0]!), dim: 8, data: Float32Array.from(rows.flatMap((r) => r.slice(1).map(Number))) };
const FEATURE: TaggerSpec = {
  chars: { dim: 4, filters: 5, window: 3 }, casingDim: 3, inputDropout: 0.2, outputDropout: 0.2, output: "crf", trainScheme: "BIOES", constrained: true,
  charLM: { dim: 6, hidden: 8, vocab: 20, lmWeight: 1, dropout: 0.2 },
};

function toyModel(): NerModel {
  return NerModel.create(k, {
    vectors, labels: CONLL_LABELS, scheme: "IOB2", hidden: 12, bidirectional: true, trainableEmbeddings: true, seed: 4,
    trainTokens: trainSet.map((s) => s.tokens), normalizeDigits: true, feature: FEATURE,
  });
}

/** Mean LM loss (λ-free, both directions) of a model on some sentences, dropout off. */
function lmLoss(model: NerModel, sents: typeof dev): number {
  const tagger = (model as unknown as { tagger: FeatureTagger }).tagger;
  tagger.setTraining(false);
  const enc = model.encoder();
  tagger.loss(enc.collate(encodeSentences(sents, enc)));
  const { fwd, bwd } = charLmOf(tagger).lastLoss!;
  return fwd + bwd;
}

test("a model with the char LM learns the toy corpus (loss falls, dev F1 rises, LM loss falls); its file drops the LM head and tags the same", async () => {
  const model = toyModel();
  const lm0 = lmLoss(model, dev);
  const opt = createOptimizer(k, model.params(), { kind: "adam", lr: 0.02 });
  const r = await train(model, opt, trainSet, dev, model.encoder(), { epochs: 5, batchSize: 8, seed: 1, batching: "bucket" });
  const lm1 = lmLoss(model, dev);
  const first = r.epochs[0]!;
  const last = r.epochs.at(-1)!;
  assert.ok(last.loss < 0.5 * first.loss, `training loss ${first.loss} → ${last.loss}`);
  assert.ok(last.dev_f1! > first.dev_f1! && r.bestDevF1! > 90, `dev F1 ${r.epochs.map((e) => e.dev_f1).join(" → ")}`);
  assert.ok(lm1 < 0.8 * lm0, `dev LM loss ${lm0} → ${lm1}`);
  // The log's lm_loss: the training LM loss, part of `loss`.
  assert.ok(last.lm_loss! < 0.8 * first.lm_loss! && first.lm_loss! < first.loss, `training LM loss ${first.lm_loss} → ${last.lm_loss}`);
  assert.deepEqual(Object.keys(epochLine(last, null)).filter((key) => key === "lm_loss"), ["lm_loss"]);

  const file = path.join(mkdtempSync(path.join(tmpdir(), "lstm-ner-charlm-")), "m.safetensors");
  await saveNerModel(file, model, {});
  const saved = await loadModel(file);
  assert.deepEqual(saved.config.tagger!.charLM, { ...FEATURE.charLM, softmax: "classes" }, "the settings, defaults filled in");
  const names = Object.keys(saved.params);
  assert.ok(names.includes("charlm.lstm.fwd.w_ih") && names.includes("charlm.hw.w"));
  assert.ok(!names.some((n) => n.startsWith("charlm.lm.")), "the LM head is not saved");
  const back = await loadNerModel(file, k);
  const sents = dev.map((s) => s.tokens);
  const tags = model.tag(sents);
  assert.deepEqual(back.tag(sents), tags);
  // Int16 weights (serve --quantize) cover the char BiLSTM too and tag nearly the same.
  back.quantize();
  const q = back.tag(sents).flat();
  const same = q.filter((t, i) => t === tags.flat()[i]).length / q.length;
  assert.ok(same > 0.95, `quantized tags agree on ${same}`);
  // A file whose char LM settings were damaged is refused with one line naming the field.
  const damaged = (charLM: unknown): Uint8Array => concatBytes(encodeModel({ ...saved, config: { ...saved.config, tagger: { ...saved.config.tagger!, charLM } as never } }));
  for (const [charLM, re] of [[{ ...FEATURE.charLM, hidden: 0 }, /config\.tagger\.charLM\.hidden must be a whole number ≥ 1, got 0/],
    [{ ...FEATURE.charLM, lmWeight: "x" }, /config\.tagger\.charLM\.lmWeight must be a number, got "x"/], [7, /config\.tagger\.charLM must be an object or null, got 7/],
    [{ ...FEATURE.charLM, softmax: "tree" }, /config\.tagger\.charLM\.softmax must be one of full, classes, got "tree"/]] as const) {
    assert.throws(() => parseModel(damaged(charLM), "m.safetensors"), (e: unknown) => e instanceof LstmNerError && re.test(e.message) && /m\.safetensors/.test(e.message));
  }
});

test("a run with the char LM stopped mid-epoch and resumed from its checkpoint ends with the uninterrupted run's weights, LM head included", async () => {
  const opts: TrainOptions = { epochs: 2, batchSize: 8, seed: 9, batching: "bucket" };
  const small = trainSet.slice(0, 40);
  const make = () => {
    const model = toyModel();
    return { model, opt: createOptimizer(k, model.params(), { kind: "sgd", lr: 0.05, momentum: 0.9, clipNorm: 5 }) };
  };
  const a = make();
  const whole = await train(a.model, a.opt, small, dev, a.model.encoder(), opts);
  const b = make();
  let batches = 0;
  const file = path.join(mkdtempSync(path.join(tmpdir(), "lstm-ner-charlm-")), "run.checkpoint");
  const stopped = await train(b.model, b.opt, small, dev, b.model.encoder(), {
    ...opts, shouldStop: () => ++batches >= 7, onCheckpoint: (state) => saveCheckpoint(file, { state, run: {} }),
  });
  assert.equal(stopped.stopped, true);
  const cp = await loadCheckpoint(file);
  assert.ok(Object.keys(cp.state.weights).includes("charlm.lm.fwd.word.w"), "the checkpoint carries the LM head");
  assert.ok(cp.state.lmSum! > 0, "and the epoch's running LM loss");
  const edited = `${file}.edited`;
  await saveCheckpoint(edited, { state: { ...cp.state, lmSum: "x" as never }, run: {} });
  await assert.rejects(loadCheckpoint(edited), /not a valid checkpoint \(state\.lmSum must be a number\)/);
  const c = make();
  const rest = await train(c.model, c.opt, small, dev, c.model.encoder(), { ...opts, resume: cp.state });
  assert.deepEqual(rest.epochs.map((e) => [e.loss, e.lm_loss, e.dev_f1]), whole.epochs.map((e) => [e.loss, e.lm_loss, e.dev_f1]));
  const wa = a.model.snapshot();
  const wc = c.model.snapshot();
  for (const key of Object.keys(wa)) assert.deepEqual(wc[key], wa[key], key);
});
