import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadModel } from "../src/model/file.js";
import { writeToyData } from "./toy-corpus.js";
import { fixture, runCli, type CliRun } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-jsonl-"));
const { trainFile, devFile, glove } = writeToyData(dir, 120, "toy.glove.txt");
const cli = (...args: string[]): CliRun => runCli(args, { home: path.join(dir, "home") });

test("train and evaluate read JSON lines: the conversion of a CoNLL corpus trains the same weights and scores the same", async () => {
  for (const [from, to] of [[trainFile, "train.jsonl"], [devFile, "dev.jsonl"]] as const) {
    const r = cli("convert", from, "--out", path.join(dir, to));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /read back, every token stays as it is/);
  }
  const train = (t: string, d: string, out: string): void => {
    const r = cli("train", "--train", t, "--dev", d, "--embeddings", glove, "--epochs", "2", "--hidden", "8", "--batch-size", "8",
      "--seed", "3", "--out", path.join(dir, out), "--no-report", "--no-progress");
    assert.equal(r.code, 0, r.stderr);
  };
  train(trainFile, devFile, "conll.safetensors");
  train(path.join(dir, "train.jsonl"), path.join(dir, "dev.jsonl"), "jsonl.safetensors");
  const a = await loadModel(path.join(dir, "conll.safetensors"));
  const b = await loadModel(path.join(dir, "jsonl.safetensors"));
  assert.deepEqual(b.params, a.params, "the same weights");
  assert.deepEqual(b.embedding, a.embedding);
  assert.deepEqual({ ...b.training, train: null, dev: null }, { ...a.training, train: null, dev: null }, "the same record, but for the file names");
  const score = (model: string, data: string): string => {
    const r = cli("evaluate", "--model", path.join(dir, model), "--data", data, "--json");
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const s = score("conll.safetensors", devFile);
  assert.ok((JSON.parse(s) as { f1: number }).f1 > 0);
  assert.equal(score("jsonl.safetensors", path.join(dir, "dev.jsonl")), s);
  // --input-format names the format when the file name does not.
  writeFileSync(path.join(dir, "dev-jsonl.txt"), readFileSync(path.join(dir, "dev.jsonl")));
  const r = cli("evaluate", "--model", path.join(dir, "conll.safetensors"), "--data", path.join(dir, "dev-jsonl.txt"), "--input-format", "jsonl", "--json");
  assert.equal(r.stdout, s, r.stderr);
});

test("evaluate refuses a span of a type the model does not know, in one line; predict tags an annotated file's texts", () => {
  const model = path.join(dir, "conll.safetensors");
  const gold = path.join(dir, "gold.jsonl");
  writeFileSync(gold, `{"text": "John Smith lives in London .", "spans": [{"start": 0, "end": 10, "label": "PERSON"}]}\n`);
  const r = cli("evaluate", "--model", model, "--data", gold);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `lstm-ner: error: ${gold}:1: span [0, 10) "PERSON" "John Smith": unknown label (known: PER, ORG, LOC, MISC)\n`);
  // The annotation tools' exports go to predict as they are: the text field is tagged, the spans are not read.
  const p = cli("predict", "--model", model, "--input", fixture("spans/doccano.jsonl"), "--format", "jsonl");
  assert.equal(p.code, 0, p.stderr);
  const docs = p.stdout.trim().split("\n").map((l) => JSON.parse(l) as { id: number; text: string });
  assert.deepEqual(docs.map((d) => d.id), [1, 2, 3]);
  assert.match(docs[0]!.text, /^Zoë Schmidt/);
});
