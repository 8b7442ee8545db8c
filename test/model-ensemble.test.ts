import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { referenceKernels as k } from "../src/engine/reference.js";
import { NerModel } from "../src/model/ner.js";
import type { TaggerSpec } from "../src/features/spec.js";
import { loadNerModel, saveModel, saveNerModel } from "../src/model/file.js";
import { encodeModel, parseModel } from "../src/model/format.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { EnsembleTagger } from "../src/nn/ensemble-tagger.js";
import type { FeatureTagger } from "../src/nn/feature-tagger.js";
import { createNlp } from "../src/pipeline/nlp.js";
import { nlpFromBytes } from "../src/pipeline/nlp.js";
import { toyFeatureModel } from "./toy-model.js";
import { concatBytes, runCli } from "./helpers.js";

const FEATURE: TaggerSpec = {
  chars: { dim: 4, filters: 4, window: 3 }, casingDim: 2, inputDropout: 0.5, outputDropout: 0.5, output: "crf", trainScheme: "IOB2", constrained: false,
};
const member = (seed: number, feature = FEATURE): NerModel => toyFeatureModel(k, seed, feature);

const SENTS = [["John", "Smith", "said"], ["Aarhus", "University", "."], ["in", "Paris"], ["Xq", "of", "Moscow"]];

test("an ensemble predicts the path with the best summed score of its members (brute force over every path)", () => {
  const models = [member(1), member(2), member(3)];
  const ens = NerModel.fromSaved(NerModel.ensemble(models, {}), k, "ensemble");
  const tagger = (ens as unknown as { tagger: EnsembleTagger }).tagger;
  assert.ok(tagger instanceof EnsembleTagger);
  const enc = ens.encoder();
  const batch = enc.collate(SENTS.map((s) => enc.encode(s)));
  const pred = ens.predict(batch);
  const members = tagger.members as FeatureTagger[];
  const K = CONLL_LABELS.length;
  const B = batch.size;
  const em = members.map((m) => m.emissions(batch));
  const score = (b: number, path: number[]): number => members.reduce((sum, m, i) => {
    const crf = m.crf!;
    let s = crf.start.value[path[0]!]! + crf.end.value[path.at(-1)!]!;
    path.forEach((y, t) => {
      s += em[i]![(t * B + b) * K + y]!;
      if (t > 0) s += crf.transitions.value[path[t - 1]! * K + y]!;
    });
    return sum + s;
  }, 0);
  let differsFromMember = false;
  for (let b = 0; b < B; b++) {
    const L = batch.lengths[b]!;
    let best = -Infinity;
    let bestPath: number[] = [];
    for (let code = 0; code < K ** L; code++) {
      const path = Array.from({ length: L }, (_, t) => Math.floor(code / K ** t) % K);
      const s = score(b, path);
      if (s > best) [best, bestPath] = [s, path];
    }
    assert.deepEqual(Array.from({ length: L }, (_, t) => pred[t * B + b]!), bestPath, `sentence ${b}`);
    for (const m of models) if (m.tag([SENTS[b]!])[0]!.join() !== enc.decode(Int32Array.from(bestPath)).join()) differsFromMember = true;
  }
  assert.ok(differsFromMember, "the members disagree somewhere, so the test is not one model's answer");
  // Two copies of one model are that model.
  const twin = NerModel.fromSaved(NerModel.ensemble([models[0]!, models[0]!], {}), k, "twin");
  assert.deepEqual(twin.tag(SENTS), models[0]!.tag(SENTS));
  assert.throws(() => twin.lossAndGrad(batch), /an ensemble is not trained/);
});

test("an ensemble is one model file that load, nlp and the browser path use; mismatched members are refused", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-ensemble-"));
  const files = [1, 2, 3].map((s) => path.join(dir, `m${s}.safetensors`));
  const models = [member(1), member(2), member(3)];
  for (const [i, m] of models.entries()) await saveNerModel(files[i]!, m, { seed: i + 1 });
  const out = path.join(dir, "ens.safetensors");
  const r = runCli(["ensemble", "--out", out, "--kernels", "reference", ...files]);
  assert.equal(r.code, 0, r.stderr);
  const back = await loadNerModel(out, k);
  assert.equal(back.config.ensemble, 3);
  const direct = NerModel.fromSaved(NerModel.ensemble(models, {}), k, "direct");
  assert.deepEqual(back.tag(SENTS), direct.tag(SENTS));
  const text = "John Smith works for Aarhus University in Paris.";
  assert.deepEqual(JSON.stringify(nlpFromBytes(new Uint8Array(readFileSync(out)), k)(text)), JSON.stringify(createNlp(direct)(text)));
  const p = runCli(["predict", "--model", out, "--kernels", "reference", text]);
  assert.equal(p.code, 0, p.stderr);
  const tokens = ["John", "Smith", "works", "for", "Aarhus", "University", "in", "Paris", "."];
  assert.deepEqual(p.stdout.trim().split("\n"), tokens.map((t, i) => `${t} ${direct.tag([tokens])[0]![i]}`));

  // A member of other labels (trained in BIOES) is named by its file.
  const other = path.join(dir, "other.safetensors");
  await saveNerModel(other, member(4, { ...FEATURE, trainScheme: "BIOES" }), {});
  const bad = runCli(["ensemble", "--out", path.join(dir, "bad.safetensors"), "--kernels", "reference", files[0]!, other]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  assert.match(bad.stderr, /other\.safetensors: its labels differ from the first model's/);
  const one = runCli(["ensemble", "--out", path.join(dir, "x.safetensors"), files[0]!]);
  assert.match(one.stderr, /at least 2 model files/);
  // One member twice (by another path) would be a single model posing as an ensemble; --out over a member would lose it.
  const twice = runCli(["ensemble", "--out", path.join(dir, "x.safetensors"), files[0]!, files[1]!, path.join(dir, ".", "m1.safetensors")]);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /^lstm-ner: error: .*m1\.safetensors: the member model is given twice \(also as .*m1\.safetensors\); an ensemble combines different models\n$/);
  const overMember = runCli(["ensemble", "--out", path.join(dir, ".", "m2.safetensors"), files[0]!, files[1]!]);
  assert.equal(overMember.code, 1);
  assert.match(overMember.stderr, /^lstm-ner: error: .*m2\.safetensors: --out is the member model file, which would be overwritten; write to another file\n$/);
  assert.ok(!existsSync(path.join(dir, "x.safetensors")));
  // A config claiming an ensemble of 1 is not a valid model.
  const saved = NerModel.ensemble(models.slice(0, 2), {});
  await saveModel(path.join(dir, "one.safetensors"), { ...saved, config: { ...saved.config, ensemble: 1 } });
  await assert.rejects(loadNerModel(path.join(dir, "one.safetensors"), k), /config\.ensemble must be a whole number ≥ 2/);
});

test("members saved before the locked and word dropout switches were removed combine with newer files of the same recipe; members differing only in training-time dropout combine as one architecture, other layers as members of different architectures", () => {
  const [a, b] = [member(1), member(2)];
  // A file written while the switches existed: its tagger config has both fields, off or on (they only acted in training).
  const saved = a.toSaved({});
  const spec = saved.config.tagger!;
  for (const [locked, word] of [[false, 0], [true, 0.05]] as const) {
    // The tagger config as files of that time stored it: the tagger's resolved settings, not the spec.
    const tagger = {
      charVocabSize: saved.config.chars!.length, charDim: spec.chars!.dim, charFilters: spec.chars!.filters, charWindow: spec.chars!.window,
      casingDim: spec.casingDim, inputDropout: spec.inputDropout, outputDropout: spec.outputDropout, lockedDropout: locked, wordDropout: word,
      output: spec.output, crfReduction: "mean", constrained: spec.constrained,
    };
    const parsed = parseModel(concatBytes(encodeModel({ ...saved, config: { ...saved.config, tagger: tagger as unknown as typeof spec } })), "old.safetensors");
    assert.deepEqual(parsed.config, saved.config, "read as the spec of today's files");
    const old = NerModel.fromSaved(parsed, k, "old");
    assert.deepEqual(old.tag(SENTS), a.tag(SENTS));
    const ens = NerModel.fromSaved(NerModel.ensemble([old, b], {}), k, "ensemble");
    assert.equal(ens.config.ensemble, 2);
    assert.equal(ens.config.members, undefined, "one architecture: no config.members");
  }
  // Dropout only acts in training: a member trained with other rates tags through the same layers.
  const regularised = member(3, { ...FEATURE, inputDropout: 0.3, outputDropout: 0.25 });
  const mixed = NerModel.fromSaved(NerModel.ensemble([a, regularised], {}), k, "mixed");
  assert.equal(mixed.config.ensemble, 2);
  assert.equal(mixed.tag(SENTS).length, SENTS.length);
  assert.equal(mixed.config.members, undefined, "one architecture: no config.members");
  assert.equal(NerModel.ensemble([a, member(3, { ...FEATURE, casingDim: 3 })], {}).config.members?.length, 2);
  assert.equal(NerModel.ensemble([a, member(3, { ...FEATURE, output: "crf", constrained: true })], {}).config.members?.length, 2);
});
