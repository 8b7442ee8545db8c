import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { referenceKernels as k } from "../src/engine/reference.js";
import { NerModel } from "../src/model/ner.js";
import type { TaggerSpec } from "../src/features/spec.js";
import { loadNerModel, saveModel, saveNerModel } from "../src/model/file.js";
import { parseConll } from "../src/data/conll.js";
import { CONLL_LABELS, type Sentence } from "../src/data/types.js";
import { evaluate } from "../src/eval/evaluate.js";
import { encodeAll } from "../src/encode/encoder.js";
import { train } from "../src/train/trainer.js";
import { createOptimizer } from "../src/train/optimizer.js";
import type { FeatureTagger } from "../src/nn/feature-tagger.js";
import { Rng } from "../src/util/random.js";
import { applyOverrides, getPreset } from "../src/train/presets.js";
import { toyConll, writeToyData } from "./toy-corpus.js";
import { toyFeatureModel, toyVectors, docEmissions, taggerOf } from "./toy-model.js";
import { runCli, type CliRun, CLI } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-docmem-"));
const FEATURE: TaggerSpec = {
  chars: { dim: 4, filters: 4, window: 3 }, casingDim: 2, inputDropout: 0.5, outputDropout: 0.5, output: "crf", trainScheme: "BIOES", constrained: true,
};
const SOFTMAX: TaggerSpec = { ...FEATURE, output: "softmax", constrained: false };

/** One document: a name in full, then the surname alone, "said" and "in" again and again. */
const DOC = [["John", "Smith", "said", "in", "Paris", "."], ["Smith", "said", "it", "."], ["Later", "Smith", "was", "in", "London", "and", "Paris", "."], ["Smith", "said", "so"]];
const OTHER = [["Smith", "of", "Moscow", "said", "no"], ["the", "Moscow", "talks", "said", "Smith"]];

test("a docMemory model file stores the switch, memory.w and the wider out.w, and loads to tag and score identically; without it the file is as before", async () => {
  const model = toyFeatureModel(k, 4, { ...FEATURE, docMemory: true });
  assert.equal(model.config.tagger!.docMemory, true);
  const file = path.join(dir, "mem.safetensors");
  await saveNerModel(file, model, { preset: "test" });
  const back = await loadNerModel(file, k);
  assert.deepEqual(back.config, model.config);
  const params = back.toSaved({}).params;
  assert.deepEqual(params["memory.w"]!.shape, [10, 10]);
  assert.deepEqual(params["out.w"]!.shape, [20, back.labels.length]);
  assert.deepEqual(back.tag(DOC), model.tag(DOC));
  const dev = parseConll(toyConll(20, 2));
  assert.deepEqual(evaluate(back, dev, back.encoder()), evaluate(model, dev, model.encoder()));
  // The memory's W is really used: another W scores the same document differently.
  const saved = back.toSaved({});
  const w = saved.params["memory.w"]!;
  const changed = NerModel.fromSaved({ ...saved, params: { ...saved.params, "memory.w": { shape: w.shape, data: w.data.map((v, i) => v + Math.sin(i)) } } }, k, "changed");
  const scores = (m: NerModel): Float32Array => docEmissions(m, DOC);
  assert.notDeepEqual(scores(changed), scores(back));
  assert.deepEqual(scores(back), scores(model));

  // Off (absent or false): no docMemory field, no memory.w, the same weights as a model made before the switch existed.
  const plain = toyFeatureModel(k, 3, FEATURE);
  const off = toyFeatureModel(k, 3, { ...FEATURE, docMemory: false });
  assert.equal("docMemory" in (plain.config.tagger as object), false);
  assert.deepEqual(off.config, plain.config);
  const a = off.toSaved({}).params, b = plain.toSaved({}).params;
  assert.deepEqual(Object.keys(a), Object.keys(b));
  assert.ok(!("memory.w" in a));
  for (const n of Object.keys(a)) assert.deepEqual(a[n]!.data, b[n]!.data, n);
});

test("a damaged docMemory file is refused in one line: a bad docMemory value, a missing memory.w", async () => {
  const saved = toyFeatureModel(k, 6, { ...FEATURE, docMemory: true }).toSaved({});
  const { "memory.w": _w, ...noW } = saved.params;
  for (const [name, bad, re] of [
    ["yes", { ...saved, config: { ...saved.config, tagger: { ...saved.config.tagger!, docMemory: "yes" as unknown as boolean } } }, /config\.tagger\.docMemory must be true or false, got "yes"/],
    ["now", { ...saved, params: noW }, /tensor param\.memory\.w is missing/],
  ] as const) {
    const file = path.join(dir, `bad-${name}.safetensors`);
    await saveModel(file, bad);
    await assert.rejects(loadNerModel(file, k), (e: unknown) => e instanceof Error && re.test(e.message) && e.message.includes(`bad-${name}.safetensors`) && !e.message.includes("\n"));
  }
});

for (const [what, feature] of [["", {}], [" (two layers)", { layers: 2 }]] as const) {
test(`the memory is filled per document, not per batch${what}: a document tags the same alone or beside another, in any batch size; its words' other occurrences change its scores`, () => {
  const model = toyFeatureModel(k, 5, { ...SOFTMAX, ...feature, docMemory: true });
  const scoresOf = (sents: string[][], docs: number[] | undefined, batchSize: number): number[][] => model.tagWithScores(sents, batchSize, docs).scores;
  const alone = scoresOf(DOC, undefined, 64);
  const close = (x: number[][], y: number[][], what: string): void => {
    assert.equal(x.length, y.length);
    x.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - y[i]![j]!) < 1e-6, `${what}: sentence ${i} token ${j}: ${v} vs ${y[i]![j]}`)));
  };
  for (const batchSize of [1, 2, 3]) close(scoresOf(DOC, undefined, batchSize), alone, `batch size ${batchSize}`);
  // Beside another document (sharing "Smith", "said", ...), interleaved in the input (the memory groups by document): the same.
  const mixed = scoresOf([OTHER[0]!, DOC[0]!, DOC[1]!, OTHER[1]!, DOC[2]!, DOC[3]!], [7, 3, 3, 7, 3, 3], 2).filter((_, i) => i !== 0 && i !== 3);
  close(mixed, alone, "beside another document");
  assert.deepEqual(model.tag([...OTHER, ...DOC], [7, 7, 3, 3, 3, 3]).slice(2), model.tag(DOC));
  // Each sentence its own document: the repeated words ("Smith", "said", "in", "Paris", ".") no longer see each
  // other and score differently; a word that occurs once in the document ("John") is unaffected.
  const apart = scoresOf(DOC, DOC.map((_, i) => i), 64);
  assert.notEqual(apart[1]![0], alone[1]![0], "the second \"Smith\" reads the first");
  if (what === "") assert.ok(Math.abs(apart[0]![0]! - alone[0]![0]!) < 1e-6, "\"John\" reads nothing either way");
});
}

test("ensembles: docMemory members combine and fill every member's memory, each member scoring as the model it came from; a member without it combines as a member of another architecture", async () => {
  const [a, b] = [toyFeatureModel(k, 1, { ...FEATURE, docMemory: true }), toyFeatureModel(k, 2, { ...FEATURE, docMemory: true })];
  const file = path.join(dir, "ens.safetensors");
  await saveModel(file, NerModel.ensemble([a, b], {}));
  const ens = await loadNerModel(file, k);
  assert.equal(ens.config.tagger!.docMemory, true);
  assert.ok(Object.keys(ens.toSaved({}).params).includes("m1.memory.w"));
  const enc = ens.encoder();
  const batch = enc.collate(encodeAll(DOC, enc));
  const members = (ens as unknown as { tagger: { members: FeatureTagger[] } }).tagger.members;
  ens.fillMemory([batch]);
  assert.ok(members.every((m) => m.memorySize.tag > 0), "every member's memory is filled");
  const own = [a, b].map((m) => {
    taggerOf(m).fillMemory([batch]);
    return taggerOf(m).emissions(batch);
  });
  own.forEach((e, i) => assert.deepEqual(members[i]!.emissions(batch), e, `member ${i} scores as the model it came from`));
  assert.equal(ens.tag(DOC).length, DOC.length);
  // A plain first member: the input still carries memory addresses for the second, whose memory is filled.
  const plain = toyFeatureModel(k, 1, FEATURE);
  const mixed = NerModel.fromSaved(NerModel.ensemble([plain, b], {}), k, "mixed");
  assert.deepEqual(mixed.config.members!.map((m) => m.tagger.docMemory === true), [false, true]);
  assert.ok(mixed.encoder().documentWide, "the encoder gives memory addresses");
  const menc = mixed.encoder();
  const mbatch = menc.collate(encodeAll(DOC, menc));
  mixed.fillMemory([mbatch]);
  const mm = (mixed as unknown as { tagger: { members: FeatureTagger[] } }).tagger.members;
  assert.ok(mm[1]!.memorySize.tag > 0);
  assert.deepEqual(mm[0]!.emissions(mbatch), taggerOf(plain).emissions(mbatch));
  assert.deepEqual(mm[1]!.emissions(mbatch), own[1]);
});

test("presets: accurate's recipe has no docMemory field (its files stay as they were), yet --set feature.docMemory=true reaches it; other absent fields stay refused", () => {
  const accurate = getPreset("accurate");
  assert.equal("docMemory" in accurate.feature!, false);
  assert.equal(applyOverrides(accurate, ["feature.docMemory=true"]).feature!.docMemory, true);
  assert.throws(() => applyOverrides(accurate, ["feature.nosuch=true"]), /the preset has no field feature\.nosuch/);
  assert.throws(() => applyOverrides(getPreset("seed"), ["feature.docMemory=true"]), /feature is not an object/);
});

/**
 * Documents where only the memory can tell a name's type: the first sentence gives it with a cue
 * ("mister" NAME: PER, "city" NAME: LOC), the three later ones mention the name alone among filler
 * words. Every name is PER in some documents and LOC in others.
 */
function cueDocs(n: number, seed: number): Sentence[] {
  const rng = new Rng(seed);
  const names = ["zorvak", "kellun", "brimo", "tasgar", "ovena", "quillet", "dunmor", "hespa", "ravolt", "ysmir", "cadoru", "felwin"];
  const filler = ["the", "said", "was", "and", "of", "today", "it", "again"];
  const f = (): string => filler[rng.int(filler.length)]!;
  const out: Sentence[] = [];
  for (let d = 0; d < n; d++) {
    const name = names[rng.int(names.length)]!;
    const per = rng.next() < 0.5;
    const tag = per ? "B-PER" : "B-LOC";
    out.push({ tokens: [f(), per ? "mister" : "city", name, f()], tags: ["O", "O", tag, "O"], doc: d });
    for (let s = 0; s < 3; s++) {
      const before = rng.int(3);
      const tokens = [...Array.from({ length: before }, f), name, f(), f()];
      out.push({ tokens, tags: tokens.map((_, i) => (i === before ? tag : "O")), doc: d });
    }
  }
  return out;
}

test("a task only the document memory can solve (a name's type is cued at its first mention only): the tagger with docMemory learns it, without it it cannot", async () => {
  const trainSet = cueDocs(120, 1);
  const held = cueDocs(40, 2);
  const laterAccuracy = async (docMemory: boolean): Promise<number> => {
    const model = NerModel.create(k, {
      vectors: toyVectors(), labels: CONLL_LABELS, scheme: "IOB2", hidden: 8, bidirectional: true, trainableEmbeddings: true, seed: 3,
      feature: { chars: null, casingDim: 0, inputDropout: 0, outputDropout: 0, output: "crf", trainScheme: "IOB2", constrained: true, docMemory },
      trainTokens: trainSet.map((s) => s.tokens), extendVocab: 1,
    });
    await train(model, createOptimizer(k, model.params(), 0.01), trainSet, null, model.encoder(), { epochs: 8, batchSize: 8, seed: 4, batching: "plain" });
    const pred = model.tag(held.map((s) => s.tokens), held.map((s) => s.doc));
    let right = 0, all = 0;
    held.forEach((s, i) => {
      if (s.tokens.includes("mister") || s.tokens.includes("city")) return; // the cued first mentions: both models can tag those
      s.tags.forEach((t, j) => {
        if (t === "O") return;
        all++;
        if (pred[i]![j] === t) right++;
      });
    });
    return right / all;
  };
  const without = await laterAccuracy(false);
  const withMemory = await laterAccuracy(true);
  assert.ok(withMemory > 0.9, `with the memory: ${withMemory} of the later mentions typed right`);
  assert.ok(without < 0.75, `without: ${without} (about a coin toss)`);
});

const toy = writeToyData(dir, 160);
const cli = (...args: string[]): CliRun => runCli(args, { home: path.join(dir, "home") });

test("train --set feature.docMemory=true: the accurate recipe with the memory trains; the saved file evaluates to the best epoch's dev F1; a bad value is one line", () => {
  const out = path.join(dir, "cli-mem.safetensors");
  const log = path.join(dir, "cli-mem.jsonl");
  const r = cli("train", "--preset", "accurate", "--set", "feature.docMemory=true", "--set", "feature.chars.filters=8", "--set", "feature.chars.dim=8",
    "--set", "extendVocab=1", "--train", toy.trainFile, "--dev", toy.devFile, "--embeddings", toy.glove, "--hidden", "8", "--epochs", "3",
    "--seed", "2", "--out", out, "--log", log, "--no-progress");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /model: BiLSTM-CNN-CRF \(BIOES\) \+ doc memory hidden 8/);
  const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { dev_f1: number });
  assert.equal(lines.length, 3);
  const ev = cli("evaluate", "--model", out, "--data", toy.devFile, "--json");
  assert.equal(ev.code, 0, ev.stderr);
  assert.equal((JSON.parse(ev.stdout) as { f1: number }).f1, Math.max(...lines.map((l) => l.dev_f1)), "the saved model scores as the best epoch did");

  for (const [v, re] of [["yes", /feature\.docMemory must be true or false, got "yes"/], ["1", /feature\.docMemory must be true or false, got 1/]] as const) {
    const badOut = path.join(dir, `never-${v}.safetensors`);
    const bad = cli("train", "--preset", "accurate", "--set", `feature.docMemory=${v}`, "--train", toy.trainFile, "--embeddings", toy.glove, "--no-progress", "--out", badOut);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`^lstm-ner: error: --set feature\\.docMemory=${v}: ${re.source}\\n$`));
    assert.ok(!existsSync(badOut));
  }
});

test("train --resume with docMemory: Ctrl-C writes a checkpoint (memory.w in it); the resumed run says its memory starts empty again, finishes, and its file loads and tags", async () => {
  const out = path.join(dir, "resumed.safetensors");
  const recipe = ["--preset", "accurate", "--set", "feature.docMemory=true", "--set", "feature.chars.filters=8", "--set", "feature.chars.dim=8", "--set", "extendVocab=1",
    "--train", toy.trainFile, "--embeddings", toy.glove, "--hidden", "8", "--epochs", "8", "--seed", "2", "--no-progress"];
  const first = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, "train", ...recipe, "--out", out], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LSTM_NER_HOME: path.join(dir, "home") } });
    let err = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (c: string) => {
      err += c;
      if (/epoch 2:/.test(err) && !child.killed) child.kill("SIGINT");
    });
    child.on("close", (code) => resolve({ code, stderr: err }));
  });
  assert.equal(first.code, 130, first.stderr);
  assert.ok(existsSync(`${out}.checkpoint`));
  const second = cli("train", "--resume", "--out", out, "--no-progress");
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /note: the document memory is not kept in checkpoints: it starts empty again/);
  const model = await loadNerModel(out, k);
  assert.equal(model.config.tagger!.docMemory, true);
  assert.equal(model.tag(DOC).length, DOC.length);
});
