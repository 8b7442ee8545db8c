import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseConll } from "../src/data/conll.js";
import { encodeSentences } from "../src/encode/encoder.js";
import { evaluate } from "../src/eval/evaluate.js";
import { load } from "../src/pipeline/load.js";
import { loadNerModel } from "../src/model/file.js";
import { getKernels } from "../src/engine/index.js";
import { TOY_TEXT, toyModel } from "./pipeline-helpers.js";
import { toyConll } from "./toy-corpus.js";
import { NerModel } from "../src/model/ner.js";
import { encodeModel } from "../src/model/format.js";
import { Embedding } from "../src/nn/embedding.js";
import { referenceKernels } from "../src/engine/reference.js";
import { Rng } from "../src/util/random.js";
import type { Int8Rows } from "../src/tensors/int8-rows.js";
import { LstmNerError } from "../src/util/errors.js";
import { randomArray } from "./nn-helpers.js";
import { runCli } from "./helpers.js";

const isLstmNerError = (re: RegExp) => (e: unknown): boolean => e instanceof LstmNerError && re.test(e.message);

test("a quantized model tags (nearly) as its fp32 self; a training step returns it to fp32 exactly", async () => {
  const { file } = await toyModel();
  const kernels = await getKernels("wasm", { threads: 2 });
  const model = await loadNerModel(file, kernels);
  const dev = parseConll(toyConll(80, 5));
  const enc = model.encoder();
  const fp32 = model.tag(dev.map((s) => s.tokens));
  const f1 = evaluate(model, dev, enc).f1;
  assert.ok(f1 > 90, `the toy model tags its corpus well (F1 ${f1})`);
  model.quantize();
  const q = model.tag(dev.map((s) => s.tokens));
  const fq = evaluate(model, dev, enc).f1;
  const tokens = fp32.flat().length;
  const same = fp32.flat().filter((t, i) => t === q.flat()[i]).length;
  assert.ok(same >= 0.99 * tokens, `int16 tags agree with fp32 at ${same} of ${tokens} tokens`);
  assert.ok(Math.abs(fq - f1) <= 1, `F1 ${f1} fp32, ${fq} int16`);
  // A training forward drops the int16 copy: tags are fp32's again, exactly.
  model.lossAndGrad(enc.collate(encodeSentences(dev.slice(0, 4), enc)));
  assert.deepEqual(model.tag(dev.map((s) => s.tokens)), fp32);
});

test("load({ quantize }) and the --quantize / --relaxed-simd flags of evaluate and predict", async () => {
  const { file } = await toyModel();
  const nlp = await load(file, { kernels: "wasm", quantize: true });
  assert.deepEqual(nlp(TOY_TEXT).ents.map((e) => e.label), ["PER", "LOC", "ORG"]);
  const gold = path.join(mkdtempSync(path.join(tmpdir(), "lstm-ner-quant-")), "dev.conll");
  writeFileSync(gold, toyConll(60, 2));
  const scores: number[] = [];
  for (const flags of [[], ["--quantize"], ["--quantize", "--relaxed-simd"], ["--relaxed-simd"]]) {
    const r = runCli(["evaluate", "--model", file, "--data", gold, "--json", ...flags]);
    assert.equal(r.code, 0, r.stderr);
    scores.push((JSON.parse(r.stdout) as { f1: number }).f1);
  }
  for (const s of scores) assert.ok(Math.abs(s - scores[0]!) <= 1, `F1 with each flag set: ${scores.join(", ")}`);
  const p = runCli(["predict", "--model", file, "--quantize", TOY_TEXT]);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /^John B-PER\nSmith I-PER\n/);
  // The worker pool does not take the flags: asking for both is refused, not ignored.
  const w = runCli(["predict", "--model", file, "--quantize", "--workers", "2", "--input", gold]);
  assert.equal(w.code, 1);
  assert.match(w.stderr, /--quantize and --relaxed-simd work with --workers 1 only/);
});

test("quantize({ embedding: true }): the word table becomes int8 rows, tagging exactly as the same model exported with --dtype i8; one-way (no training, no saving)", async () => {
  const { file } = await toyModel();
  const kernels = await getKernels("wasm", { threads: 1 });
  const dev = parseConll(toyConll(80, 5));
  const tokens = dev.map((s) => s.tokens);
  const fp32 = await loadNerModel(file, kernels);
  const want = fp32.tag(tokens);
  const count = fp32.parameterCount();
  // The reference: the table stored as int8 with per-row scales (read back as float32), LSTM int16.
  const i8 = NerModel.fromBytes(Buffer.concat(encodeModel({ ...fp32.toSaved({}), embeddingDtype: "i8" })), kernels);
  i8.quantize();
  const model = await loadNerModel(file, kernels);
  model.quantize({ embedding: true });
  const got = model.tag(tokens);
  assert.deepEqual(got, i8.tag(tokens));
  // Its scores too, to the last bit.
  const sents = tokens.slice(0, 12);
  assert.deepEqual(model.tagWithScores(sents).scores, i8.tagWithScores(sents).scores);
  const same = want.flat().filter((t, i) => t === got.flat()[i]).length;
  assert.ok(same >= 0.99 * want.flat().length, `int8 table + int16 LSTM agree with fp32 at ${same} of ${want.flat().length} tokens`);
  assert.equal(model.parameterCount(), count, "the table still counts");
  assert.ok(model.quantized);
  assert.throws(() => model.embedding, isLstmNerError(/quantized to int8 for tagging: it cannot be saved, exported or trained/));
  assert.throws(() => model.toSaved({}), isLstmNerError(/quantized to int8/));
  const enc = model.encoder();
  assert.throws(() => model.lossAndGrad(enc.collate(encodeSentences(dev.slice(0, 2), enc))), isLstmNerError(/cannot be trained/));
  // load({ quantize }) of a file takes the table to int8 too; of a model object only the LSTM (it stays savable).
  const nlp = await load(file, { kernels, quantize: true });
  assert.deepEqual(nlp(TOY_TEXT).ents.map((e) => e.label), ["PER", "LOC", "ORG"]);
  const own = await loadNerModel(file, kernels);
  await load(own, { kernels, quantize: true });
  assert.ok(own.quantized);
  assert.equal(own.embedding.length, (own.words.length + 2) * own.config.embDim);
});

test("Embedding.quantize: rows are int8 · per-row scale (within half a step of float32), shared tables quantized once, no gradient afterwards", () => {
  const rng = new Rng(5);
  const table = randomArray(rng, 7 * 6);
  table.fill(0, 0, 6); // an all-zero row has scale 0
  const e = new Embedding(referenceKernels, table, 7, 6, { trainable: true });
  const ids = Int32Array.from([3, 0, 6, 3, 1]);
  const before = e.forward(ids).slice();
  const shared = new WeakMap<Float32Array, Int8Rows>();
  e.quantize(shared);
  const after = e.forward(ids).slice();
  const { q, scale } = shared.get(table)!;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    for (let j = 0; j < 6; j++) {
      assert.equal(after[i * 6 + j], Math.fround(q[id * 6 + j]! * scale[id]!));
      assert.ok(Math.abs(after[i * 6 + j]! - before[i * 6 + j]!) <= scale[id]! / 2 + 1e-7, `row ${id}, column ${j}`);
    }
  }
  assert.deepEqual(Array.from(after.subarray(6, 12)), [0, 0, 0, 0, 0, 0]);
  assert.ok(e.quantized);
  assert.deepEqual(e.params(), []);
  assert.throws(() => e.matrix, isLstmNerError(/quantized to int8/));
  assert.throws(() => e.backward(new Float32Array(ids.length * 6)), isLstmNerError(/cannot be trained/));
  // A second layer over the same table reuses the int8 copy.
  const e2 = new Embedding(referenceKernels, table, 7, 6);
  e2.quantize(shared);
  assert.deepEqual(e2.forward(ids), after);
});
