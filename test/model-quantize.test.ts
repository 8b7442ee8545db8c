import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseConll } from "../src/data/conll.js";
import { encodeSentences } from "../src/infer/encoder.js";
import { evaluate } from "../src/eval/evaluate.js";
import { load } from "../src/pipeline/load.js";
import { loadNerModel } from "../src/model/file.js";
import { getKernels } from "../src/engine/index.js";
import { CLI, TOY_TEXT, toyModel } from "./pipeline-helpers.js";
import { toyConll } from "./toy-corpus.js";

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
    const r = spawnSync(process.execPath, [CLI, "evaluate", "--model", file, "--data", gold, "--json", ...flags], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    scores.push((JSON.parse(r.stdout) as { f1: number }).f1);
  }
  for (const s of scores) assert.ok(Math.abs(s - scores[0]!) <= 1, `F1 with each flag set: ${scores.join(", ")}`);
  const p = spawnSync(process.execPath, [CLI, "predict", "--model", file, "--quantize", TOY_TEXT], { encoding: "utf8" });
  assert.equal(p.status, 0, p.stderr);
  assert.match(p.stdout, /^John B-PER\nSmith I-PER\n/);
  // The worker pool does not take the flags: asking for both is refused, not ignored.
  const w = spawnSync(process.execPath, [CLI, "predict", "--model", file, "--quantize", "--workers", "2", "--input", gold], { encoding: "utf8" });
  assert.equal(w.status, 1);
  assert.match(w.stderr, /--quantize and --relaxed-simd work with --workers 1 only/);
});
