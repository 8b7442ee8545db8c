import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { referenceKernels } from "../src/engine/reference.js";
import { getKernels } from "../src/engine/index.js";
import { NerModel } from "../src/model/ner.js";
import { loadNerModel, saveNerModel } from "../src/model/file.js";
import { parseConll } from "../src/data/conll.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { train } from "../src/train/trainer.js";
import { evaluate } from "../src/eval/evaluate.js";
import { createOptimizer } from "../src/train/optimizer.js";
import { getPreset } from "../src/train/presets.js";
import { Rng } from "../src/util/random.js";
import { LstmNerError } from "../src/util/errors.js";
import { toyConll, toyGlove } from "./toy-corpus.js";

function vectorsFromGlove(text: string): { words: string[]; dim: number; data: Float32Array } {
  const rows = text.trim().split("\n").map((l) => l.split(" "));
  const dim = rows[0]!.length - 1;
  return { words: rows.map((r) => r[0]!), dim, data: Float32Array.from(rows.flatMap((r) => r.slice(1).map(Number))) };
}

/** No chunk continues without a start: O→I-X and B-X/I-X→I-Y (Y≠X) never occur. */
function validIob2(tags: readonly string[]): boolean {
  let prev = "O";
  for (const t of tags) {
    if (t.startsWith("I-") && (prev === "O" || prev.slice(2) !== t.slice(2))) return false;
    prev = t;
  }
  return true;
}

test("the accurate architecture (char CNN, casing, BIOES, constrained CRF) trains, tags valid IOB2, and survives a save/load", async () => {
  const trainSet = parseConll(toyConll(300, 1));
  const dev = parseConll(toyConll(60, 2));
  const preset = getPreset("accurate");
  const kernels = await getKernels("auto");
  const model = NerModel.create(kernels, {
    vectors: vectorsFromGlove(toyGlove(12, 3)), labels: CONLL_LABELS, scheme: "IOB2", hidden: 16, bidirectional: true,
    trainableEmbeddings: true, seed: 5, feature: preset.feature!, normalizeDigits: true,
    trainTokens: trainSet.map((s) => s.tokens), extendVocab: 1,
  });
  assert.equal(model.trainScheme, "BIOES");
  assert.equal(model.scheme, "IOB2");
  assert.deepEqual(model.dataLabels, [...CONLL_LABELS]);
  assert.ok(model.words.includes("yeltsin"), "a training word missing from the vectors got its own row");
  const enc = model.encoder();
  const before = evaluate(model, dev, enc).f1;
  const result = await train(model, createOptimizer(model.kernels, model.params(), { kind: "sgd", lr: 0.05, momentum: 0.9, lrDecay: 0.05, clipNorm: 5 }), trainSet, dev, enc,
    { epochs: 6, batchSize: 8, seed: 3, batching: "bucket" });
  assert.ok(result.bestDevF1! > before + 30, `dev F1 should rise well above ${before}: ${result.epochs.map((e) => e.dev_f1)}`);
  assert.ok(result.epochs.at(-1)!.loss < result.epochs[0]!.loss);

  // Constrained Viterbi: whatever the input, the output is a valid tag sequence.
  const rng = new Rng(1);
  const vocab = ["London", "of", "Bank", "the", "Xq", "said", "United", "Cup", "-", "1996", "Smith", "."];
  const noise = Array.from({ length: 200 }, () => Array.from({ length: 1 + rng.int(12) }, () => vocab[rng.int(vocab.length)]!));
  for (const tags of model.tag(noise)) assert.ok(validIob2(tags), tags.join(" "));

  const file = path.join(mkdtempSync(path.join(tmpdir(), "lstm-ner-feature-")), "acc.safetensors");
  await saveNerModel(file, model, { preset: "accurate" });
  const back = await loadNerModel(file, referenceKernels);
  assert.deepEqual(back.config, model.config);
  assert.deepEqual(back.tag(noise.slice(0, 20)), model.tag(noise.slice(0, 20)));
  assert.equal(evaluate(back, dev, back.encoder()).f1, result.bestDevF1);
});

test("NerModel.create refuses what the feature architecture would ignore: a unidirectional LSTM, an output count", () => {
  const base = {
    vectors: vectorsFromGlove(toyGlove(12, 3)), labels: CONLL_LABELS, scheme: "IOB2" as const, hidden: 4, bidirectional: true,
    trainableEmbeddings: false, seed: 1, feature: { ...getPreset("accurate").feature!, chars: null },
  };
  assert.throws(() => NerModel.create(referenceKernels, { ...base, bidirectional: false }),
    (e: unknown) => e instanceof LstmNerError && /^bidirectional: false does not apply to the feature architecture/.test(e.message));
  assert.throws(() => NerModel.create(referenceKernels, { ...base, outputs: 10 }),
    (e: unknown) => e instanceof LstmNerError && /^outputs: the feature architecture has one output per label \(17 in BIOES\), got 10/.test(e.message));
  assert.equal(NerModel.create(referenceKernels, { ...base, outputs: 17 }).config.outputs, 17);
});

test("gold tags are read the conlleval way even when the data's scheme is the training scheme: a stray I-X or an unclosed B-X trains, a foreign prefix names file and sentence", async () => {
  const kernels = await getKernels("auto");
  const preset = getPreset("accurate");
  const make = (scheme: "IOB2" | "BIOES", labels: readonly string[]): NerModel => NerModel.create(kernels, {
    vectors: vectorsFromGlove(toyGlove(12, 3)), labels, scheme, hidden: 8, bidirectional: true,
    trainableEmbeddings: false, seed: 1, feature: { ...preset.feature!, trainScheme: scheme }, normalizeDigits: true,
    trainTokens: [["John", "Smith", "lives", "in", "Paris"]],
  });
  const ids = (m: NerModel, tags: string[]): number[] => [...m.encoder().labelIds(tags)].map((i) => i);
  const iob2 = make("IOB2", CONLL_LABELS);
  assert.equal(iob2.trainScheme, "IOB2");
  // I-PER after O (IOB2 written like IOB1) is the chunk conlleval reads: B-PER I-PER.
  assert.deepEqual(ids(iob2, ["O", "I-PER", "I-PER", "O"]), ids(iob2, ["O", "B-PER", "I-PER", "O"]));
  assert.throws(() => iob2.encoder().labelIds(["O", "E-PER"], { file: "dev.txt", sentence: 4 }),
    (e: Error) => e instanceof LstmNerError && /^dev\.txt: sentence 4, token 2: tag 'E-PER' is not valid in IOB2/.test(e.message));
  const bioesLabels = ["O", ...["PER", "LOC"].flatMap((t) => ["B", "I", "E", "S"].map((p) => `${p}-${t}`))];
  const bioes = make("BIOES", bioesLabels);
  // A BIOES file with an IOB2 chunk in it (B-PER I-PER, never closed by E-PER).
  assert.deepEqual(ids(bioes, ["B-PER", "I-PER", "O", "S-LOC"]), ids(bioes, ["B-PER", "E-PER", "O", "S-LOC"]));

  // And the constrained CRF trains on such data (before, its loss refused the gold path).
  const stray = parseConll(toyConll(40, 1).replace(/B-PER/g, "I-PER"));
  const r = await train(iob2, createOptimizer(iob2.kernels, iob2.params(), { kind: "sgd", lr: 0.05, momentum: 0.9, lrDecay: 0.05, clipNorm: 5 }),
    stray, null, iob2.encoder(), { epochs: 1, batchSize: 8, seed: 3, batching: "plain" });
  assert.ok(Number.isFinite(r.epochs[0]!.loss), `loss ${r.epochs[0]!.loss}`);
});
