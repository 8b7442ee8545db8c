import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { referenceKernels as k } from "../src/engine/reference.js";
import { NerModel, type FeatureOptions } from "../src/model/ner.js";
import { loadNerModel, saveModel, saveNerModel } from "../src/model/file.js";
import { parseConll } from "../src/data/conll.js";
import { evaluate } from "../src/eval/evaluate.js";
import { encodeAll } from "../src/encode/encoder.js";
import type { FeatureTagger } from "../src/nn/feature-tagger.js";
import { applyOverrides, getPreset } from "../src/train/presets.js";
import { toyConll, writeToyData } from "./toy-corpus.js";
import { toyFeatureModel, docEmissions, taggerOf } from "./toy-model.js";
import { runCli, type CliRun } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-sentrep-"));
const FEATURE: FeatureOptions = {
  chars: { dim: 4, filters: 4, window: 3 }, casingDim: 2, inputDropout: 0.5, outputDropout: 0.5, output: "crf", trainScheme: "BIOES", constrained: true,
};
const DOC = [["John", "Smith", "said", "in", "Paris", "."], ["Smith", "said", "it", "."], ["Later", "Smith", "was", "in", "London", "and", "Paris", "."]];

const scores = (m: NerModel): Float32Array => docEmissions(m, DOC);

for (const docMemory of [false, true]) {
  test(`a sentenceRep model file${docMemory ? " (with docMemory)" : ""} stores the switch and the sent.* weights, and loads to tag and score identically; the weights are used`, async () => {
    const model = toyFeatureModel(k, 4, { ...FEATURE, sentenceRep: 3, ...(docMemory ? { docMemory } : {}) });
    assert.equal(model.config.tagger!.sentenceRep, 3);
    const file = path.join(dir, `rep-${docMemory}.safetensors`);
    await saveNerModel(file, model, { preset: "test" });
    const back = await loadNerModel(file, k);
    assert.deepEqual(back.config, model.config);
    const saved = back.toSaved({});
    const labels = back.labels.length;
    const d = back.config.embDim;
    const x = d + 4 + 2; // word + char CNN + casing
    assert.deepEqual(saved.params["sent.labels"]!.shape, [labels, d], "one label vector per output, word-embedding wide");
    assert.deepEqual(saved.params["sent.conv.w"]!.shape, [labels, labels, 3]);
    assert.deepEqual(saved.params["sent.conv.b"]!.shape, [labels]);
    assert.deepEqual(saved.params["sent.lstm.fwd.w_ih"]!.shape, [x, 4 * 3]);
    assert.deepEqual(saved.params["lstm.fwd.w_ih"]!.shape, [x + 2 * 3, 4 * 5], "the tagger's BiLSTM reads [x ; r]");
    assert.equal("memory.w" in saved.params, docMemory);
    assert.deepEqual(back.tag(DOC), model.tag(DOC));
    assert.deepEqual(scores(back), scores(model));
    const dev = parseConll(toyConll(20, 2));
    assert.deepEqual(evaluate(back, dev, back.encoder()), evaluate(model, dev, model.encoder()));
    // The attention's weights are really used: another conv filter scores the same sentences differently.
    const w = saved.params["sent.conv.w"]!;
    const changed = NerModel.fromSaved({ ...saved, params: { ...saved.params, "sent.conv.w": { shape: w.shape, data: w.data.map((v, i) => v + 2 * Math.sin(i)) } } }, k, "changed");
    assert.notDeepEqual(scores(changed), scores(back));
  });
}

test("sentenceRep off (absent or 0): no config field, no sent.* weights, the same weights and the same file bytes as a model made before the switch existed", async () => {
  const plain = toyFeatureModel(k, 3, FEATURE);
  const off = toyFeatureModel(k, 3, { ...FEATURE, sentenceRep: 0 });
  assert.equal("sentenceRep" in (plain.config.tagger as object), false);
  assert.deepEqual(off.config, plain.config);
  const a = off.toSaved({}).params, b = plain.toSaved({}).params;
  assert.deepEqual(Object.keys(a), Object.keys(b));
  assert.ok(!Object.keys(a).some((n) => n.startsWith("sent.")));
  for (const n of Object.keys(a)) assert.deepEqual(a[n]!.data, b[n]!.data, n);
  const [fa, fb] = [path.join(dir, "off-a.safetensors"), path.join(dir, "off-b.safetensors")];
  await saveNerModel(fa, off, { preset: "test" });
  await saveNerModel(fb, plain, { preset: "test" });
  assert.deepEqual(readFileSync(fa), readFileSync(fb));
});

test("a damaged sentenceRep file is refused in one line: a bad sentenceRep value, a missing sent.labels", async () => {
  const saved = toyFeatureModel(k, 6, { ...FEATURE, sentenceRep: 2 }).toSaved({});
  const { "sent.labels": _l, ...noLabels } = saved.params;
  const withRep = (v: unknown): typeof saved => ({ ...saved, config: { ...saved.config, tagger: { ...saved.config.tagger!, sentenceRep: v as number } } });
  for (const [name, bad, re] of [
    ["str", withRep("2"), /config\.tagger\.sentenceRep must be a whole number ≥ 1, got "2"/],
    ["zero", withRep(0), /config\.tagger\.sentenceRep must be a whole number ≥ 1, got 0/],
    ["frac", withRep(1.5), /config\.tagger\.sentenceRep must be a whole number ≥ 1, got 1\.5/],
    ["nolabels", { ...saved, params: noLabels }, /tensor param\.sent\.labels is missing/],
  ] as const) {
    const file = path.join(dir, `bad-${name}.safetensors`);
    await saveModel(file, bad);
    await assert.rejects(loadNerModel(file, k), (e: unknown) => e instanceof Error && re.test(e.message) && e.message.includes(`bad-${name}.safetensors`) && !e.message.includes("\n"));
  }
});

test("ensembles: sentenceRep members combine, each scoring as the model it came from; a member without it combines as a member of another architecture", async () => {
  const [a, b] = [toyFeatureModel(k, 1, { ...FEATURE, sentenceRep: 2 }), toyFeatureModel(k, 2, { ...FEATURE, sentenceRep: 2 })];
  const file = path.join(dir, "ens.safetensors");
  await saveModel(file, NerModel.ensemble([a, b], {}));
  const ens = await loadNerModel(file, k);
  assert.equal(ens.config.tagger!.sentenceRep, 2);
  assert.ok(Object.keys(ens.toSaved({}).params).includes("m1.sent.conv.w"));
  const enc = ens.encoder();
  const batch = enc.collate(encodeAll(DOC, enc));
  const members = (ens as unknown as { tagger: { members: FeatureTagger[] } }).tagger.members;
  [a, b].forEach((m, i) => assert.deepEqual(members[i]!.emissions(batch), scores(m), `member ${i}`));
  const plain = toyFeatureModel(k, 1, FEATURE);
  const mixed = NerModel.fromSaved(NerModel.ensemble([plain, b], {}), k, "mixed");
  assert.deepEqual(mixed.config.members!.map((m) => m.tagger.sentenceRep ?? 0), [0, 2]);
  const mm = (mixed as unknown as { tagger: { members: FeatureTagger[] } }).tagger.members;
  [plain, b].forEach((m, i) => assert.deepEqual(mm[i]!.emissions(batch), scores(m), `mixed member ${i}`));
});

test("presets: accurate and best have no sentenceRep field (their files stay as they were), yet --set feature.sentenceRep=50 reaches them; a bad value is one line naming the field", () => {
  for (const name of ["accurate", "best"]) {
    const p = getPreset(name);
    assert.equal("sentenceRep" in p.feature!, false);
    assert.equal(applyOverrides(p, ["feature.sentenceRep=50"]).feature!.sentenceRep, 50);
  }
  assert.equal(applyOverrides(getPreset("best"), ["feature.sentenceRep=50"]).feature!.docMemory, true, "with best's document memory");
  assert.equal(applyOverrides(getPreset("best"), ["feature.sentenceRep=0"]).feature!.sentenceRep, 0, "0 is off");
  for (const [v, got] of [["-1", "-1"], ["1.5", "1.5"], ["abc", '"abc"'], ["true", "true"]] as const) {
    assert.throws(() => applyOverrides(getPreset("best"), [`feature.sentenceRep=${v}`]), (e: unknown) => e instanceof Error && !e.message.includes("\n") &&
      e.message.includes(`feature.sentenceRep must be a ${v === "abc" || v === "true" ? "number" : "whole number ≥ 0"}, got ${got}`));
  }
});

const toy = writeToyData(dir, 160);
const cli = (...args: string[]): CliRun => runCli(args, { home: path.join(dir, "home") });

test("train --preset best --set feature.sentenceRep=4: trains and learns on the toy corpus; the saved file evaluates to the best epoch's dev F1 and tags; a bad value is one line", async () => {
  const out = path.join(dir, "cli-rep.safetensors");
  const log = path.join(dir, "cli-rep.jsonl");
  const r = cli("train", "--preset", "best", "--set", "feature.sentenceRep=4", "--set", "feature.chars.filters=8", "--set", "feature.chars.dim=8",
    "--set", "extendVocab=1", "--train", toy.trainFile, "--dev", toy.devFile, "--embeddings", toy.glove, "--hidden", "8", "--epochs", "4",
    "--seed", "2", "--out", out, "--log", log, "--no-progress");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /model: BiLSTM-CNN-CRF \(BIOES\) \+ doc memory \+ sentence rep 4 hidden 8/);
  const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { dev_f1: number; loss: number });
  assert.equal(lines.length, 4);
  assert.ok(lines[3]!.loss < 0.5 * lines[0]!.loss, `train loss ${lines.map((l) => l.loss).join(" → ")}`);
  const best = Math.max(...lines.map((l) => l.dev_f1));
  // Dev F1 (in %) from 0 after the first epoch to about 49 after the fourth on this seed.
  assert.ok(lines[0]!.dev_f1 < best && best > 40, `dev F1 ${lines.map((l) => l.dev_f1).join(" → ")}`);
  const ev = cli("evaluate", "--model", out, "--data", toy.devFile, "--json");
  assert.equal(ev.code, 0, ev.stderr);
  assert.equal((JSON.parse(ev.stdout) as { f1: number }).f1, best, "the saved model scores as the best epoch did");
  const model = await loadNerModel(out, k);
  assert.equal(model.config.tagger!.sentenceRep, 4);
  assert.equal(model.config.tagger!.docMemory, true);
  assert.equal(model.tag(DOC).length, DOC.length);

  for (const [v, re] of [["-1", /feature\.sentenceRep must be a whole number ≥ 0, got -1/], ["2.5", /feature\.sentenceRep must be a whole number ≥ 0, got 2\.5/],
    ["big", /feature\.sentenceRep must be a number, got "big"/]] as const) {
    const badOut = path.join(dir, `never-${v}.safetensors`);
    const bad = cli("train", "--preset", "best", "--set", `feature.sentenceRep=${v}`, "--train", toy.trainFile, "--embeddings", toy.glove, "--no-progress", "--out", badOut);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`^lstm-ner: error: --set feature\\.sentenceRep=${v}: ${re.source}\\n$`));
    assert.ok(!existsSync(badOut));
  }
});
