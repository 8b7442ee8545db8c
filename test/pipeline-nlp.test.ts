import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { load, createNlp } from "../src/pipeline/index.js";
import { Doc } from "../src/pipeline/doc.js";
import { toyModel, TOY_TEXT } from "./pipeline-helpers.js";

test("load(file) → nlp(text): tokens with entIob/entType, ents with offsets and confidence", async () => {
  const { file } = await toyModel();
  const nlp = await load(file);
  const doc = nlp(TOY_TEXT);
  assert.ok(doc instanceof Doc);
  assert.equal(doc.text, TOY_TEXT);
  const rows = [...doc].map((t) => `${t.text} ${t.entIob === "O" ? "O" : `${t.entIob}-${t.entType}`}`);
  assert.deepEqual(rows, [
    "John B-PER", "Smith I-PER", "lives O", "in O", "London B-LOC", "and O", "works O", "for O", "Microsoft B-ORG", ". O",
  ]);
  assert.deepEqual(doc.ents.map((e) => [e.text, e.label, e.start, e.end, e.startChar, e.endChar]), [
    ["John Smith", "PER", 0, 2, 0, 10], ["London", "LOC", 4, 5, 20, 26], ["Microsoft", "ORG", 8, 9, 41, 50],
  ]);
  for (const e of doc.ents) {
    assert.equal(TOY_TEXT.slice(e.startChar, e.endChar), e.text);
    assert.ok(e.confidence! > 0.5 && e.confidence! <= 1, `confidence ${e.confidence}`);
  }
  for (const t of doc) assert.ok(t.prob! > 0 && t.prob! <= 1);
  assert.equal(doc.tokens[9]!.whitespace, "");
  assert.equal(doc.tokens[0]!.whitespace, " ");
  assert.equal(doc.tokens.map((t) => t.text + t.whitespace).join(""), TOY_TEXT);
});

test("bytes and in-memory models load too; tags agree with NerModel.tag", async () => {
  const { file, model } = await toyModel();
  const fromBytes = await load(new Uint8Array(readFileSync(file)));
  const inMemory = createNlp(model);
  const a = fromBytes(TOY_TEXT);
  const b = inMemory(TOY_TEXT);
  assert.deepEqual(a.toJSON().tokens.map((t) => t.tag), model.tag([a.tokens.map((t) => t.text)])[0]);
  assert.deepEqual(a.toJSON(), b.toJSON());
});

test("sentences, empty text and long sentences", async () => {
  const { model } = await toyModel();
  const nlp = createNlp(model, { maxSentenceTokens: 4 });
  const text = "Anna lives in Paris. Peter Jones works for Reuters.\n\nit was a good year";
  const doc = createNlp(model)(text);
  assert.deepEqual(doc.sents.map((s) => s.text), ["Anna lives in Paris.", "Peter Jones works for Reuters.", "it was a good year"]);
  assert.deepEqual(doc.ents.map((e) => e.label), ["PER", "LOC", "PER", "ORG"]);
  const empty = nlp("   ");
  assert.deepEqual([empty.tokens.length, empty.ents.length, empty.sents.length], [0, 0, 0]);
  const pieces = nlp("the the the the the the the the the");
  assert.deepEqual(pieces.sents.map((s) => s.length), [4, 4, 1]);
});

test("batch and pipe give the same docs as nlp(text), in order, from sync and async sources", async () => {
  const { model } = await toyModel();
  const nlp = createNlp(model);
  const texts = Array.from({ length: 7 }, (_, i) => (i % 2 ? `Anna lives in Paris ${i}.` : `Microsoft hired Peter Jones ${i}.`));
  const single = texts.map((t) => JSON.stringify(nlp(t)));
  assert.deepEqual(nlp.batch(texts).map((d) => JSON.stringify(d)), single);
  const fromSync: string[] = [];
  for await (const d of nlp.pipe(texts, { batchSize: 3 })) fromSync.push(JSON.stringify(d));
  assert.deepEqual(fromSync, single);
  async function* gen(): AsyncGenerator<string> {
    for (const t of texts) yield t;
  }
  const fromAsync: string[] = [];
  for await (const d of nlp.pipe(gen(), { batchSize: 2 })) fromAsync.push(JSON.stringify(d));
  assert.deepEqual(fromAsync, single);
  await assert.rejects(async () => {
    for await (const _ of nlp.pipe(texts, { batchSize: 0 })) void _;
  }, /batchSize must be a positive integer/);
  assert.throws(() => nlp.batch([42 as unknown as string]), /texts\[0\]: must be a string/);
});

test("a missing or corrupt model file is a clear LstmNerError", async () => {
  await assert.rejects(load("/nonexistent/model.safetensors"), (e: Error) => e.name === "LstmNerError" && /model\.safetensors/.test(e.message));
  await assert.rejects(load(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), (e: Error) => e.name === "LstmNerError");
});

test("a CRF model (no per-tag probabilities) gives entities without confidences", async () => {
  const { getKernels } = await import("../src/engine/index.js");
  const { NerModel } = await import("../src/model/ner.js");
  const { parseConll } = await import("../src/data/conll.js");
  const { CONLL_LABELS } = await import("../src/data/types.js");
  const { toyConll, toyGlove } = await import("./toy-corpus.js");
  const rows = toyGlove(12, 3).trim().split("\n").map((l) => l.split(" "));
  const data = Float32Array.from(rows.flatMap((r) => r.slice(1).map(Number)));
  const trainSet = parseConll(toyConll(40, 1));
  const model = NerModel.create(await getKernels("auto"), {
    vectors: { words: rows.map((r) => r[0]!), dim: 12, data }, labels: CONLL_LABELS, scheme: "IOB2", hidden: 8, bidirectional: true,
    trainableEmbeddings: false, seed: 1, trainTokens: trainSet.map((s) => s.tokens),
    feature: { chars: null, casingDim: 0, inputDropout: 0, outputDropout: 0, output: "crf", trainScheme: "IOB2", constrained: true },
  });
  const doc = createNlp(model)(TOY_TEXT);
  assert.equal(doc.tokens.length, 10);
  for (const t of doc) assert.equal(t.prob, undefined);
  for (const e of doc.ents) assert.equal(e.confidence, undefined);
  assert.deepEqual(Doc.fromJSON(JSON.stringify(doc)).toJSON(), doc.toJSON());
});
