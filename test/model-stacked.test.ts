import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { referenceKernels as k } from "../src/engine/reference.js";
import { NerModel } from "../src/model/ner.js";
import type { TaggerSpec } from "../src/features/spec.js";
import { loadNerModel, saveModel, saveNerModel } from "../src/model/file.js";
import { parseConll } from "../src/data/conll.js";
import { evaluate } from "../src/eval/evaluate.js";
import { encodeAll } from "../src/encode/encoder.js";
import type { FeatureTagger } from "../src/nn/feature-tagger.js";
import { toyConll, writeToyData } from "./toy-corpus.js";
import { toyFeatureModel } from "./toy-model.js";
import { runCli, type CliRun } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-stacked-"));
const FEATURE: TaggerSpec = {
  chars: { dim: 4, filters: 4, window: 3 }, casingDim: 2, inputDropout: 0.5, outputDropout: 0.5, output: "crf", trainScheme: "BIOES", constrained: true,
};
const create = (seed: number, feature: TaggerSpec): NerModel => toyFeatureModel(k, seed, feature);
/** The emission scores (a copy) the model's tagger gives SENTS, in one batch. */
function emissions(m: NerModel): Float32Array {
  const enc = m.encoder();
  const tagger = (m as unknown as { tagger: FeatureTagger }).tagger;
  return tagger.emissions(enc.collate(encodeAll(SENTS, enc)));
}
const SENTS = [["John", "Smith", "said"], ["Aarhus", "University", "."], ["in", "Paris", "and", "London", "today"], ["Xq", "of", "Moscow"]];

test("a 2-layer model file stores layers and the second layer's weights, and loads to tag and score identically (with the document memory too)", async () => {
  for (const [i, feature] of [{ ...FEATURE, layers: 2 }, { ...FEATURE, layers: 2, docMemory: true }].entries()) {
    const model = create(4 + i, feature);
    assert.equal(model.config.tagger!.layers, 2);
    const file = path.join(dir, `two-${i}.safetensors`);
    await saveNerModel(file, model, { preset: "test" });
    const back = await loadNerModel(file, k);
    assert.deepEqual(back.config, model.config);
    assert.ok(Object.keys(back.toSaved({}).params).includes("lstm2.bwd.w_hh"));
    assert.deepEqual(back.tag(SENTS), model.tag(SENTS));
    const { scores } = back.tagWithScores(SENTS);
    assert.deepEqual(scores, model.tagWithScores(SENTS).scores);
    const dev = parseConll(toyConll(20, 2));
    assert.deepEqual(evaluate(back, dev, back.encoder()), evaluate(model, dev, model.encoder()));
    // The second layer is really used: other weights there tag differently.
    const saved = back.toSaved({});
    const w = saved.params["lstm2.fwd.w_ih"]!;
    const changed = NerModel.fromSaved({ ...saved, params: { ...saved.params, "lstm2.fwd.w_ih": { shape: w.shape, data: w.data.map((v) => -3 * v) } } }, k, "changed");
    assert.notDeepEqual(emissions(changed), emissions(model));
    assert.deepEqual(emissions(back), emissions(model));
  }
});

test("one layer (the default) writes the file as before stacking existed: no layers field, no lstm2 weights", () => {
  const plain = create(3, FEATURE);
  const one = create(3, { ...FEATURE, layers: 1 });
  assert.equal("layers" in (plain.config.tagger as object), false);
  assert.deepEqual(one.config, plain.config);
  const a = one.toSaved({}), b = plain.toSaved({});
  assert.deepEqual(Object.keys(a.params), Object.keys(b.params));
  assert.ok(!Object.keys(a.params).some((n) => n.startsWith("lstm2.")));
  for (const n of Object.keys(a.params)) assert.deepEqual(a.params[n]!.data, b.params[n]!.data, n);
});

test("a damaged 2-layer file is refused in one line: a bad layers value, a missing second-layer tensor", async () => {
  const saved = create(6, { ...FEATURE, layers: 2 }).toSaved({});
  const tagger = saved.config.tagger!;
  for (const [name, bad, re] of [
    ["zero", { ...saved, config: { ...saved.config, tagger: { ...tagger, layers: 0 } } }, /config\.tagger\.layers must be a whole number ≥ 1, got 0/],
    ["half", { ...saved, config: { ...saved.config, tagger: { ...tagger, layers: 1.5 } } }, /config\.tagger\.layers must be a whole number ≥ 1, got 1\.5/],
    ["three", { ...saved, config: { ...saved.config, tagger: { ...tagger, layers: 3 } } }, /tensor param\.lstm3\.fwd\.w_ih is missing/],
  ] as const) {
    const file = path.join(dir, `bad-${name}.safetensors`);
    await saveModel(file, bad);
    await assert.rejects(loadNerModel(file, k), (e: unknown) => e instanceof Error && re.test(e.message) && e.message.includes(`bad-${name}.safetensors`) && !e.message.includes("\n"));
  }
});

test("ensembles: 2-layer members combine into one file that tags as their ensemble; a 1-layer and a 2-layer model combine as members of different architectures", async () => {
  const [a, b] = [create(1, { ...FEATURE, layers: 2 }), create(2, { ...FEATURE, layers: 2 })];
  const file = path.join(dir, "ens.safetensors");
  await saveModel(file, NerModel.ensemble([a, b], {}));
  const ens = await loadNerModel(file, k);
  assert.equal(ens.config.ensemble, 2);
  assert.equal(ens.config.tagger!.layers, 2);
  assert.ok(Object.keys(ens.toSaved({}).params).includes("m1.lstm2.fwd.w_ih"));
  assert.equal(ens.tag(SENTS).length, SENTS.length);
  const mixed = NerModel.fromSaved(NerModel.ensemble([create(1, FEATURE), b, create(3, { ...FEATURE, layers: 3 })], {}), k, "mixed");
  assert.deepEqual(mixed.config.members!.map((m) => m.tagger.layers ?? 1), [1, 2, 3]);
  assert.ok(Object.keys(mixed.toSaved({}).params).includes("m2.lstm3.fwd.w_ih"));
  assert.equal(mixed.tag(SENTS).length, SENTS.length);
  // layers=1 spelled out matches a model (or an older file) without the field.
  assert.equal(NerModel.ensemble([create(1, FEATURE), create(2, { ...FEATURE, layers: 1 })], {}).config.ensemble, 2);
});

const toy = writeToyData(dir, 240);
const cli = (...args: string[]): CliRun => runCli(args, { home: path.join(dir, "home") });

test("train --set feature.layers=2: the accurate recipe with two BiLSTM layers learns the toy corpus; the file evaluates to the best epoch; a bad value is one line", () => {
  const out = path.join(dir, "cli-two.safetensors");
  const log = path.join(dir, "cli-two.jsonl");
  const r = cli("train", "--preset", "accurate", "--set", "feature.layers=2", "--set", "feature.inputDropout=0.2", "--set", "feature.outputDropout=0.2", "--set", "feature.chars.filters=10", "--set", "feature.chars.dim=8",
    "--set", "extendVocab=1", "--train", toy.trainFile, "--dev", toy.devFile, "--embeddings", toy.glove, "--hidden", "16", "--epochs", "12",
    "--seed", "2", "--out", out, "--log", log, "--no-progress");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /model: 2-layer BiLSTM-CNN-CRF \(BIOES\) hidden 16/);
  const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { loss: number; dev_f1: number });
  assert.equal(lines.length, 12);
  assert.ok(lines.at(-1)!.loss < 0.5 * lines[0]!.loss, `loss should fall: ${lines.map((l) => l.loss)}`);
  const best = Math.max(...lines.map((l) => l.dev_f1));
  assert.ok(best > lines[0]!.dev_f1 + 50 && best > 80, `dev F1 should rise: ${lines.map((l) => l.dev_f1)}`);
  const ev = cli("evaluate", "--model", out, "--data", toy.devFile, "--json");
  assert.equal(ev.code, 0, ev.stderr);
  assert.equal((JSON.parse(ev.stdout) as { f1: number }).f1, best, "the saved 2-layer model scores as the best epoch did");

  for (const [v, re] of [["0", /feature\.layers must be a whole number ≥ 1, got 0/], ["1.5", /feature\.layers must be a whole number ≥ 1, got 1\.5/],
    ["two", /feature\.layers must be a whole number ≥ 1, got "two"/]] as const) {
    const badOut = path.join(dir, `never-${v}.safetensors`);
    const bad = cli("train", "--preset", "accurate", "--set", `feature.layers=${v}`, "--train", toy.trainFile, "--embeddings", toy.glove, "--no-progress", "--out", badOut);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`^lstm-ner: error: --set feature\\.layers=${v.replace(".", "\\.")}: ${re.source}\\n$`));
    assert.ok(!existsSync(badOut));
  }
});
