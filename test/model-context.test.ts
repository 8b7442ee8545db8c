import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { getKernels } from "../src/engine/index.js";
import { referenceKernels } from "../src/engine/reference.js";
import { NerModel, type FeatureOptions } from "../src/model/ner.js";
import { loadNerModel, saveNerModel } from "../src/model/file.js";
import { parseConll } from "../src/data/conll.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { contextWindows } from "../src/encode/context.js";
import { encodeSentences } from "../src/encode/encoder.js";
import { train } from "../src/train/trainer.js";
import { evaluate } from "../src/eval/evaluate.js";
import { createOptimizer } from "../src/train/optimizer.js";
import { createNlp } from "../src/pipeline/nlp.js";
import { tagItems, type PredictItem } from "../src/predict/items.js";
import { Rng } from "../src/util/random.js";
import { LstmNerError } from "../src/util/errors.js";

test("contextWindows: nearest neighbours first on both sides, within the document and the token budget", () => {
  const s = [["a"], ["b", "b"], ["c"], ["d", "d", "d"], ["e"], ["f"]];
  const docs = [0, 0, 0, 0, 1, 1];
  const w = contextWindows(s, docs, { sentences: 1, maxTokens: 100 });
  assert.deepEqual(w[0], { tokens: ["a", "b", "b"], start: 0, length: 1 });
  assert.deepEqual(w[2], { tokens: ["b", "b", "c", "d", "d", "d"], start: 2, length: 1 });
  assert.deepEqual(w[3], { tokens: ["c", "d", "d", "d"], start: 1, length: 3 }, "the next sentence is another document");
  assert.deepEqual(w[4], { tokens: ["e", "f"], start: 0, length: 1 });
  // Budget 4: c (1) + b b (2) fits, then d d d (3) does not; that side stops, the other goes on.
  assert.deepEqual(contextWindows(s, docs, { sentences: 3, maxTokens: 4 })[2], { tokens: ["a", "b", "b", "c"], start: 3, length: 1 });
  // The centre always fits, alone if need be.
  assert.deepEqual(contextWindows(s, docs, { sentences: 2, maxTokens: 2 })[3], { tokens: ["d", "d", "d"], start: 0, length: 3 });
  // No document ids: one document.
  assert.equal(contextWindows(s, undefined, { sentences: 5, maxTokens: 100 })[0]!.tokens.length, 9);
  assert.equal(contextWindows(s, docs, { sentences: 0, maxTokens: 100 })[1]!.tokens.length, 2);
  assert.throws(() => contextWindows(s, [0], { sentences: 1, maxTokens: 10 }), /1 document ids for 6 sentences/);
  assert.throws(() => contextWindows(s, docs, { sentences: 1, maxTokens: 0 }), LstmNerError);
});

/**
 * Documents of two sentences whose second sentence's entity type only the
 * first tells: "mr Xyz arrived ." (PER) or "city Xyz arrived ." (LOC), then
 * "Xyz spoke ." — the name is a fresh unknown word every time.
 */
function twoSentenceDocs(n: number, seed: number): string {
  const rng = new Rng(seed);
  const letters = "bcdfghjklmnpqrstvwxz";
  const lines: string[] = [];
  for (let d = 0; d < n; d++) {
    const per = rng.next() < 0.5;
    const name = Array.from({ length: 4 }, () => letters[rng.int(letters.length)]!).join("");
    const type = per ? "PER" : "LOC";
    lines.push("-DOCSTART- O", "", `${per ? "mr" : "city"} O`, `${name} B-${type}`, "arrived O", ". O", "", `${name} B-${type}`, "spoke O", ". O", "");
  }
  return lines.join("\n");
}

const WORDS = ["mr", "city", "arrived", "spoke", "."];
const vectors = (): { words: string[]; dim: number; data: Float32Array } => {
  const rng = new Rng(9);
  return { words: WORDS, dim: 6, data: rng.fillUniform(new Float32Array(WORDS.length * 6), -1, 1) };
};
const FEATURE: FeatureOptions = {
  chars: null, casingDim: 0, inputDropout: 0, outputDropout: 0, output: "crf", trainScheme: "IOB2", constrained: true,
};

async function trained(docContext: number): Promise<{ model: NerModel; f1: number }> {
  const trainSet = parseConll(twoSentenceDocs(150, 1));
  const dev = parseConll(twoSentenceDocs(40, 2));
  const model = NerModel.create(await getKernels("auto"), {
    vectors: vectors(), labels: CONLL_LABELS, scheme: "IOB2", hidden: 12, bidirectional: true, trainableEmbeddings: false, seed: 3,
    feature: { ...FEATURE, docContext, contextTokens: 64 },
  });
  const opt = createOptimizer(model.kernels, model.params(), { kind: "adam", lr: 0.02 });
  const r = await train(model, opt, trainSet, dev, model.encoder(), { epochs: 12, batchSize: 10, seed: 1, batching: "bucket" });
  return { model, f1: r.bestDevF1! };
}

test("document context learns what only a neighbouring sentence tells; without it the model cannot", async () => {
  const withContext = await trained(1);
  const without = await trained(0);
  assert.ok(withContext.f1 > 97, `with context: dev F1 ${withContext.f1}`);
  assert.ok(without.f1 < 85, `without context: dev F1 ${without.f1} (the second sentence's type is a coin toss)`);

  // Training items: the window's context tokens carry no label.
  const m = withContext.model;
  const items = encodeSentences(parseConll(twoSentenceDocs(1, 5)), m.encoder());
  assert.deepEqual(items.map((i) => i.centre), [[0, 4], [4, 3]]);
  assert.deepEqual([...items[1]!.labels!].slice(0, 4), [-1, -1, -1, -1]);

  // Raw text: one text is one document, and texts never see each other.
  const nlp = createNlp(m);
  const ents = (text: string): string[] => nlp(text).ents.map((e) => `${e.text}/${e.label}`);
  assert.deepEqual(ents("mr Qwrt arrived. Qwrt spoke."), ["Qwrt/PER", "Qwrt/PER"]);
  assert.deepEqual(ents("city Qwrt arrived. Qwrt spoke."), ["Qwrt/LOC", "Qwrt/LOC"]);
  const texts = ["mr Qwrt arrived.", "Qwrt spoke.", "city Bzzk arrived. Bzzk spoke."];
  assert.deepEqual(nlp.batch(texts).map((d) => JSON.stringify(d)), texts.map((t) => JSON.stringify(nlp(t))));
  // tag(): docs say which sentences belong together.
  const sents = [["city", "Qwrt", "arrived", "."], ["Qwrt", "spoke", "."]];
  assert.deepEqual(m.tag(sents, [0, 0])[1], ["B-LOC", "O", "O"]);
  assert.deepEqual(m.tag([sents[1]!], [0]), m.tag([sents[1]!]));
  // An empty sentence in a document (its window is all context) gets no tags, in any batch.
  const alone = m.tag([sents[1]!])[0]!;
  assert.deepEqual(m.tag([[], sents[1]!, []], [0, 0, 0]), [[], alone, []]);
  assert.deepEqual(m.tagWithScores([[], sents[1]!, []], 1, [0, 0, 0]).tags, [[], alone, []], "batches of one: some are all context");
  assert.deepEqual(m.tag([[], []]), [[], []]);
  // predict's CoNLL input: -DOCSTART- lines separate documents.
  const conll = (toks: string[]): PredictItem => ({ kind: "conll", lines: toks.map((t) => `${t} O`) });
  const docstart: PredictItem = { kind: "raw", raw: "-DOCSTART- O\n\n" };
  const lastTags = (items: PredictItem[]): string => tagItems(nlp, items, "conll").out.trim().split("\n\n").at(-1)!;
  assert.equal(lastTags([docstart, conll(sents[0]!), conll(sents[1]!)]), "Qwrt O B-LOC\nspoke O O\n. O O");
  assert.equal(lastTags([docstart, conll(sents[0]!), docstart, conll(sents[1]!)]).split("\n")[0],
    `Qwrt O ${m.tag([sents[1]!])[0]![0]}`, "the second document does not see the first");

  // The file keeps the context, so a loaded model reads text the same way.
  const file = path.join(mkdtempSync(path.join(tmpdir(), "lstm-ner-context-")), "ctx.safetensors");
  await saveNerModel(file, m, {});
  const back = await loadNerModel(file, referenceKernels);
  assert.deepEqual(back.config.context, { sentences: 1, maxTokens: 64 });
  const dev = parseConll(twoSentenceDocs(40, 2));
  assert.equal(evaluate(back, dev, back.encoder()).f1, withContext.f1);
  assert.deepEqual(createNlp(back)("city Qwrt arrived. Qwrt spoke.").ents.map((e) => e.label), ["LOC", "LOC"]);
});
