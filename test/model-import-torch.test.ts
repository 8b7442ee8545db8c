import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { getKernels } from "../src/engine/index.js";
import { readVectors } from "../src/embeddings/read.js";
import { importTorchModel, readTorchStateDict } from "../src/model/import-torch.js";
import { loadModel, loadNerModel } from "../src/model/file.js";
import { loadParams } from "../src/nn/param.js";
import { SoftmaxTagger } from "../src/nn/softmax-tagger.js";
import { Rng } from "../src/util/random.js";
import type { SavedModel } from "../src/model/format.js";
import { LstmNerError } from "../src/util/errors.js";
import { fixture, runCli } from "./helpers.js";

// Written once by real PyTorch: test/fixtures/torch/make.py (the notebook's model, its state dict, its vectors,
// PyTorch's log-probabilities). CI has no torch: these tests only read the files.
interface Expected {
  tags: string[];
  model: { tokens: string[]; log_probs: number[][]; tags: string[] }[];
  uni: { tokens: string[]; log_probs: number[][]; tags: string[] }[];
}
const expected = JSON.parse(readFileSync(fixture("torch/expected.json"), "utf8")) as Expected;
const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-torch-"));
const vectorsFile = fixture("torch/vectors.txt");

/** Log-softmax of every token's scores from the imported model's network, in float64. */
async function logProbs(saved: SavedModel, tokens: string[]): Promise<number[][]> {
  const k = await getKernels("auto");
  const tagger = new SoftmaxTagger(k, { vocabSize: saved.words.length + 2, embDim: saved.config.embDim, hidden: saved.config.hidden,
    bidirectional: saved.config.bidirectional, outputs: saved.config.outputs }, saved.embedding, new Rng(0));
  loadParams(tagger.params(), Object.fromEntries(Object.entries(saved.params).map(([n, p]) => [n, p.data])));
  const vocab = new Map(saved.words.map((w, i) => [w, i]));
  const ids = Int32Array.from(tokens, (t) => vocab.get(t.toLowerCase()) ?? saved.words.length);
  const T = tokens.length;
  const scores = tagger.scores({ ids, labels: new Int32Array(T).fill(-1), lengths: Int32Array.of(T), maxLen: T, size: 1, tokens: T });
  const C = saved.config.outputs;
  return Array.from({ length: T }, (_, t) => {
    const row = Array.from(scores.subarray(t * C, (t + 1) * C));
    const max = Math.max(...row);
    const z = Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0)) + max;
    return row.map((x) => x - z);
  });
}

for (const [what, file, key] of [
  ["torch.save zip", "torch/model.pt", "model"],
  ["safetensors", "torch/model.safetensors", "model"],
  ["torch.save zip, unidirectional", "torch/uni.pt", "uni"],
] as const) {
  test(`the notebook's PyTorch model (${what}) imported: PyTorch's argmax tags, and its log-probabilities within 1e-5`, async () => {
    const vectors = await readVectors(vectorsFile, { cache: false });
    const saved = importTorchModel(await readTorchStateDict(fixture(file)), vectors, { file });
    assert.equal(saved.config.bidirectional, key === "model");
    const out = path.join(dir, `${key}-${path.basename(file)}.safetensors`);
    const r = runCli(["import-torch", fixture(file), "--vectors", vectorsFile, "--out", out], { home: path.join(dir, "home") });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^imported ${key === "model" ? "BiLSTM" : "LSTM"} hidden 5, 10 outputs \\(O B-PER I-PER B-ORG I-ORG B-LOC I-LOC B-MISC I-MISC \\+ 1 read as O\\), 16 words × 6 → `));
    // The file the command wrote holds what importTorchModel gives, and tags in Node as PyTorch does.
    const fromFile = await loadModel(out);
    assert.deepEqual(fromFile.params, saved.params);
    const model = await loadNerModel(out, await getKernels("auto"));
    let largest = 0;
    for (const s of expected[key]) {
      assert.deepEqual(model.tag([s.tokens])[0], s.tags, s.tokens.join(" "));
      const lp = await logProbs(fromFile, s.tokens);
      s.log_probs.forEach((row, t) => row.forEach((v, c) => (largest = Math.max(largest, Math.abs(v - lp[t]![c]!)))));
    }
    assert.ok(largest < 1e-5, `largest difference from PyTorch's log-probabilities: ${largest}`);
    assert.ok(expected[key].some((s) => s.tags.some((t) => t !== "O")) && expected[key].some((s) => s.tags.includes("O")), "the fixture's tags are varied");
  });
}

test("the imported model tags through predict (the service and the page load the same file)", () => {
  const out = path.join(dir, "predict.safetensors");
  assert.equal(runCli(["import-torch", fixture("torch/model.pt"), "--vectors", vectorsFile, "--out", out]).code, 0);
  const r = runCli(["predict", "--model", out, "--format", "jsonl", expected.model[0]!.tokens.join(" ")]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { tokens: { tag: string }[] };
  assert.deepEqual(doc.tokens.map((t) => t.tag), expected.model[0]!.tags);
});

test("other layer stacks, missing keys, a pickle asking for anything but tensors, and the wrong vectors: one line each, no output", () => {
  const refused = (file: string, message: RegExp, vectors = vectorsFile, extra: string[] = []): void => {
    const out = path.join(dir, "refused.safetensors");
    const r = runCli(["import-torch", file, "--vectors", vectors, "--out", out, ...extra], { home: path.join(dir, "home") });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.split("\n").length, 2, r.stderr);
    assert.ok(!existsSync(out));
  };
  refused(fixture("torch/two-layers.pt"), /^lstm-ner: error: .*two-layers\.pt: key lstm\.weight_ih_l1: an LSTM of more than one layer; lstm-ner imports the classroom model: embedding, one nn\.LSTM layer, fc\n$/);
  refused(fixture("torch/missing-key.pt"), /^lstm-ner: error: .*missing-key\.pt: key fc\.bias is missing \(the notebook's model has embedding\.weight, /);
  refused(fixture("torch/evil.pt"), /^lstm-ner: error: .*evil\.pt: not a PyTorch state dict of tensors \(it asks for posix\.system, which a state dict of tensors does not need\); nothing in the file was run\n$/);
  assert.ok(!existsSync("/tmp/lstm-ner-pwned"));
  // Vectors that are not the model's: another vocabulary size, or the same size with other values.
  refused(fixture("torch/model.pt"), /embedding\.weight is 18 × 6, but the vectors give 4 words \+ UNK \+ PAD = 6 rows × 4: these are not the vectors the model was built from\n$/, fixture("vectors/tiny.glove.txt"));
  const shuffled = path.join(dir, "shuffled.txt");
  const lines = readFileSync(vectorsFile, "utf8").trim().split("\n");
  writeFileSync(shuffled, [lines[1], lines[0], ...lines.slice(2)].join("\n") + "\n");
  refused(fixture("torch/model.pt"), /embedding row 0 \(","\) differs from the vectors: these are not the vectors the model was built from/, shuffled);
  refused(fixture("torch/model.pt"), /fc has 10 outputs, fewer than the 11 tags/, vectorsFile, ["--tags", "O,B-A,I-A,B-B,I-B,B-C,I-C,B-D,I-D,B-E,I-E"]);
  refused(fixture("vectors/tiny.glove.txt"), /tiny\.glove\.txt: not a valid PyTorch state dict \(neither a torch\.save zip nor a safetensors file\)/);
});

test("the pickle reader refuses what a state dict does not use, in one line, without running it", async () => {
  const { parseTorchPickle } = await import("../src/tensors/torch-pickle.js");
  const refuses = (bytes: number[], message: RegExp): void =>
    assert.throws(() => parseTorchPickle(Uint8Array.from(bytes), "p.pkl"), (e: unknown) => e instanceof LstmNerError && message.test(e.message));
  const global = (m: string, n: string): number[] => [0x63, ...Buffer.from(`${m}\n${n}\n`)];
  // builtins.eval, REDUCE: refused at the GLOBAL, before anything could be called.
  refuses([0x80, 2, ...global("builtins", "eval"), 0x58, 1, 0, 0, 0, 0x31, 0x85, 0x52, 0x2e], /it asks for builtins\.eval/);
  refuses([0x80, 2, 0x8c, 2, ...Buffer.from("os"), 0x8c, 6, ...Buffer.from("system"), 0x93, 0x2e], /it asks for os\.system/);
  refuses([0x80, 2, 0x5d, 0x2e], /pickle opcode 0x5d at byte 2/); // EMPTY_LIST: no list in a state dict
  refuses([0x80, 2, 0x7d, 0x58, 1, 0, 0, 0, 0x61, 0x4b, 1, 0x73, 0x2e], /entry "a" is 1, not a tensor/);
  refuses([0x80, 2, 0x4b, 1, 0x2e], /the pickle holds 1, not a dict/);
  refuses([0x80, 2, 0x7d], /the pickle ends early/);
});
