/**
 * Ensembles of members with different architectures (`config.members`) and
 * the span vote (`config.combine = "vote"`): the tags are checked against a
 * combination computed here from each member on its own.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { referenceKernels as k } from "../src/engine/reference.js";
import { NerModel } from "../src/model/ner.js";
import type { TaggerSpec } from "../src/features/spec.js";
import { loadNerModel, saveModel, saveNerModel } from "../src/model/file.js";
import { encodeModel, parseModel, type SavedModel } from "../src/model/format.js";
import { encodeSafetensors, decodeSafetensors, type Tensor } from "../src/tensors/safetensors.js";
import { parseConll } from "../src/data/conll.js";
import { CONLL_LABELS, type Sentence } from "../src/data/types.js";
import { chunks, chunksToTags, type Chunk } from "../src/data/schemes.js";
import { allowedTransitions } from "../src/nn/crf.js";
import { createOptimizer } from "../src/train/optimizer.js";
import { train } from "../src/train/trainer.js";
import { evaluate } from "../src/eval/evaluate.js";
import { nlpFromBytes } from "../src/pipeline/nlp.js";
import { toyConll } from "./toy-corpus.js";
import { toyVectors, docEmissions, taggerOf } from "./toy-model.js";
import { concatBytes, runCli } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-ensemble-mixed-"));
const FEATURE: TaggerSpec = {
  chars: { dim: 4, filters: 4, window: 3 }, casingDim: 2, inputDropout: 0.5, outputDropout: 0.5, output: "crf", trainScheme: "BIOES", constrained: true,
};
const trainSet = parseConll(toyConll(40, 1));

/** A toy BiLSTM-CNN-CRF model of the given hidden size and switches (over the toy corpus's vectors and words). */
function create(seed: number, feature: TaggerSpec, o: { hidden?: number; extendVocab?: number } = {}): NerModel {
  return NerModel.create(k, {
    vectors: toyVectors(), labels: CONLL_LABELS, scheme: "IOB2", hidden: o.hidden ?? 5, bidirectional: true, trainableEmbeddings: true, seed,
    feature, trainTokens: trainSet.map((s) => s.tokens), extendVocab: o.extendVocab ?? 1,
  });
}

/** `m` after `epochs` epochs on the toy corpus (so that members agree on some entities and not on others). */
async function trained(m: NerModel, epochs: number, seed: number): Promise<NerModel> {
  await train(m, createOptimizer(k, m.params(), { kind: "sgd", lr: 0.05, momentum: 0.9, lrDecay: 0.05, clipNorm: 5 }), trainSet, null, m.encoder(),
    { epochs, batchSize: 8, seed, batching: "plain" });
  m.setTraining(false);
  return m;
}

const EPOCHS = 4;
// Four members of four architectures: plain; char LM; document memory + hidden 7; 2 layers, unconstrained CRF, no casing.
const MEMBERS: NerModel[] = [
  await trained(create(1, FEATURE), EPOCHS, 1),
  await trained(create(2, { ...FEATURE, charLM: { dim: 3, hidden: 3, vocab: 20 } }), EPOCHS, 2),
  await trained(create(3, { ...FEATURE, docMemory: true }, { hidden: 7 }), EPOCHS, 3),
  await trained(create(4, { ...FEATURE, layers: 2, constrained: false, casingDim: 0 }), EPOCHS, 4),
];
/** One document to tag: toy sentences of other names and templates, and two sentences of other words. */
const DOC: string[][] = [
  ...parseConll(toyConll(14, 9)).map((s) => s.tokens),
  ["John", "Smith", "said", "in", "New", "York", "."], ["The", "German", "team", "beat", "Denmark", "in", "Paris", "."],
];
const K = CONLL_LABELS.length * 2 - 1; // BIOES over the four types: 17
const LABELS = MEMBERS[0]!.labels;

/** Viterbi written out: argmax over paths of start[y0] + Σ_t e[t][y_t] + Σ_t trans[y_{t-1}][y_t] + end[y_last], forbidden moves −∞. */
function viterbi(e: (t: number, y: number) => number, L: number, trans: Float32Array, start: Float32Array, end: Float32Array,
  allowed: ReturnType<typeof allowedTransitions> | null): number[] {
  const ok = (mask: Uint8Array | undefined, i: number): boolean => mask === undefined || mask[i] === 1;
  let delta = Array.from({ length: K }, (_, y) => (ok(allowed?.start, y) ? start[y]! + e(0, y) : -Infinity));
  const back: number[][] = [];
  for (let t = 1; t < L; t++) {
    const row: number[] = [];
    delta = Array.from({ length: K }, (_, y) => {
      let best = -Infinity;
      let arg = 0;
      for (let x = 0; x < K; x++) {
        const s = ok(allowed?.transitions, x * K + y) ? delta[x]! + trans[x * K + y]! : -Infinity;
        if (s > best) [best, arg] = [s, x];
      }
      row.push(arg);
      return best + e(t, y);
    });
    back.push(row);
  }
  let last = 0;
  let best = -Infinity;
  for (let y = 0; y < K; y++) {
    const s = ok(allowed?.end, y) ? delta[y]! + end[y]! : -Infinity;
    if (s > best) [best, last] = [s, y];
  }
  const path = [last];
  for (let t = L - 1; t > 0; t--) path.unshift(back[t - 1]![path[0]!]!);
  return path;
}

/** The mixed ensemble's tags as computed here: Viterbi over the mean of the members' own emissions with their mean potentials. */
function handPotentials(members: readonly NerModel[], doc: string[][]): string[][] {
  const n = members.length;
  const em = members.map((m) => docEmissions(m, doc)); // each member with its own encoder (memory addresses)
  const mean = (pick: (m: NerModel) => Float32Array): Float32Array => {
    const out = new Float32Array(pick(members[0]!).length);
    for (const m of members) pick(m).forEach((v, i) => { out[i]! += v / n; });
    return out;
  };
  const crf = (m: NerModel): NonNullable<ReturnType<typeof taggerOf>["crf"]> => taggerOf(m).crf!;
  const trans = mean((m) => crf(m).transitions.value);
  const start = mean((m) => crf(m).start.value);
  const end = mean((m) => crf(m).end.value);
  // Some member is constrained: its forbidden moves are forbidden in the sum.
  const allowed = members.some((m) => m.config.tagger!.constrained) ? allowedTransitions(LABELS, "BIOES") : null;
  const B = doc.length;
  const enc = members[0]!.encoder();
  return doc.map((s, b) => {
    const e = (t: number, y: number): number => em.reduce((sum, x) => sum + x[(t * B + b) * K + y]!, 0) / n;
    return enc.decode(Int32Array.from(viterbi(e, s.length, trans, start, end, allowed)));
  });
}

/** The span vote computed here from each member's own tags: spans more than half predict; overlaps: more votes, then the earlier start. */
function handVote(members: readonly NerModel[], doc: string[][]): { tags: string[][]; share: number[][]; kept: number[] } {
  const own = members.map((m) => m.tag(doc));
  const n = members.length;
  const keptVotes: number[] = [];
  const out = doc.map((s, b) => {
    const votes = new Map<string, { c: Chunk; v: number }>();
    for (const tags of own) for (const c of chunks(tags[b]!, "IOB2")) {
      const key = JSON.stringify(c);
      votes.set(key, { c, v: (votes.get(key)?.v ?? 0) + 1 });
    }
    const kept: { c: Chunk; v: number }[] = [];
    for (const x of [...votes.values()].filter((x) => x.v > n / 2).sort((p, q) => q.v - p.v || p.c.start - q.c.start)) {
      if (kept.every((y) => x.c.end <= y.c.start || y.c.end <= x.c.start)) kept.push(x);
    }
    kept.sort((p, q) => p.c.start - q.c.start);
    keptVotes.push(...kept.map((x) => x.v));
    const share = s.map((_, t) => own.filter((tags) => chunks(tags[b]!, "IOB2").every((c) => t < c.start || t >= c.end)).length / n);
    for (const x of kept) for (let t = x.c.start; t < x.c.end; t++) share[t] = x.v / n;
    return { tags: chunksToTags(kept.map((x) => x.c), s.length, "IOB2"), share };
  });
  return { tags: out.map((o) => o.tags), share: out.map((o) => o.share), kept: keptVotes };
}

test("a mixed ensemble (plain, char LM, document memory + hidden 7, 2 layers + no constraints) tags as Viterbi over the mean of the members' own emissions and potentials", () => {
  const saved = NerModel.ensemble(MEMBERS, {});
  assert.equal(saved.config.members?.length, 4);
  assert.deepEqual(saved.config.members!.map((m) => m.hidden), [5, 5, 7, 5]);
  assert.equal(saved.config.combine, undefined, "the default is not stored");
  const ens = NerModel.fromSaved(saved, k, "mixed");
  const expected = handPotentials(MEMBERS, DOC);
  assert.deepEqual(ens.tag(DOC), expected);
  // Not one member's answer, and the members disagree.
  const own = MEMBERS.map((m) => m.tag(DOC));
  assert.ok(own.every((tags) => JSON.stringify(tags) !== JSON.stringify(expected)), "every member differs from the ensemble somewhere");
  assert.ok(expected.flat().some((t) => t !== "O"), "the ensemble finds entities");
});

test("--combine vote: spans more than half of the members predict (each decoding with its own CRF), with the vote share as the per-token score", () => {
  const saved = NerModel.ensemble(MEMBERS, {}, { combine: "vote" });
  assert.equal(saved.config.combine, "vote");
  const ens = NerModel.fromSaved(saved, k, "vote");
  const { tags, share, kept } = handVote(MEMBERS, DOC);
  assert.deepEqual(ens.tag(DOC), tags);
  const scored = ens.tagWithScores(DOC);
  assert.deepEqual(scored.tags, tags);
  scored.scores.forEach((row, b) => row.forEach((p, t) => assert.ok(Math.abs(p - share[b]![t]!) < 1e-6, `sentence ${b} token ${t}: ${p} against ${share[b]![t]}`)));
  // The vote is a real one here: kept spans with 3 of 4 votes (not unanimous), spans with 2 of 4 dropped, and it differs from the potentials' tags.
  assert.ok(kept.length > 0 && kept.includes(3), `kept spans' votes ${kept}`);
  const own = MEMBERS.map((m) => m.tag(DOC).map((s) => chunks(s, "IOB2").length)).map((c) => c.reduce((a, b) => a + b, 0));
  assert.ok(own.some((c) => c > kept.length), "some member's spans are outvoted");
  const halves = DOC.some((_, b) => {
    const count = new Map<string, number>();
    for (const m of MEMBERS) for (const c of chunks(m.tag([DOC[b]!])[0]!, "IOB2")) count.set(JSON.stringify(c), (count.get(JSON.stringify(c)) ?? 0) + 1);
    return [...count.values()].includes(2);
  });
  assert.ok(halves, "a span with exactly half of the votes exists (and is dropped: not a majority)");
  // Three members: two votes of three are a majority.
  const three = NerModel.fromSaved(NerModel.ensemble(MEMBERS.slice(0, 3), {}, { combine: "vote" }), k, "three");
  assert.deepEqual(three.tag(DOC), handVote(MEMBERS.slice(0, 3), DOC).tags);
  // Unanimous members: the vote is the member.
  const twin = NerModel.fromSaved(NerModel.ensemble([MEMBERS[0]!, MEMBERS[0]!], {}, { combine: "vote" }), k, "twin");
  assert.deepEqual(twin.tag(DOC), MEMBERS[0]!.tag(DOC));
  assert.ok(twin.tagWithScores(DOC).scores.flat().every((p) => p === 1));
});

test("mixed and vote ensembles round-trip through a file, the CLI (ensemble, predict, evaluate) and the browser path; same-architecture files keep their bytes", async () => {
  const files = MEMBERS.map((_, i) => path.join(dir, `member${i}.safetensors`));
  for (const [i, m] of MEMBERS.entries()) await saveNerModel(files[i]!, m, { seed: i + 1 });
  const dev = path.join(dir, "dev.txt");
  writeFileSync(dev, toyConll(20, 5));
  const devSet: Sentence[] = parseConll(readFileSync(dev, "utf8"));
  for (const combine of ["potentials", "vote"] as const) {
    const direct = NerModel.fromSaved(NerModel.ensemble(MEMBERS, {}, { combine }), k, "direct");
    const out = path.join(dir, `mixed-${combine}.safetensors`);
    const r = runCli(["ensemble", "--out", out, "--kernels", "reference", ...(combine === "vote" ? ["--combine", "vote"] : []), ...files]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`ensemble of 4 models \\(${combine}, members of different architectures\\)`));
    const back = await loadNerModel(out, k);
    assert.deepEqual(back.config, direct.config);
    assert.deepEqual(back.tag(DOC), direct.tag(DOC));
    assert.deepEqual(back.tagWithScores(DOC), direct.tagWithScores(DOC));
    const text = "John Smith works for Aarhus University in Paris. The German team beat Denmark.";
    assert.deepEqual(JSON.stringify(nlpFromBytes(new Uint8Array(readFileSync(out)), k)(text)), JSON.stringify(nlpFromBytes(concatBytes(encodeModel(NerModel.ensemble(MEMBERS, {}, { combine }))), k)(text)));
    const p = runCli(["predict", "--model", out, "--kernels", "reference", "--input-format", "conll", "--input", dev]);
    assert.equal(p.code, 0, p.stderr);
    const predicted = p.stdout.trim().split("\n\n").filter((s) => !s.startsWith("-DOCSTART-")).map((s) => s.split("\n").map((l) => l.split(" ").at(-1)));
    assert.deepEqual(predicted, direct.tag(devSet.map((s) => s.tokens), devSet.map((s) => s.doc)));
    const ev = runCli(["evaluate", "--model", out, "--kernels", "reference", "--data", dev]);
    assert.equal(ev.code, 0, ev.stderr);
    const f1 = evaluate(direct, devSet, direct.encoder()).f1;
    assert.match(ev.stdout + ev.stderr, new RegExp(f1.toFixed(2).replace(".", "\\.")));
  }
  // Members of one architecture: the file is the one the earlier code wrote (the first member's config with
  // `ensemble`, the members' weights under m<i>., no `members`, no `combine`), byte for byte.
  const same = [create(11, FEATURE), create(12, FEATURE), create(13, FEATURE)];
  const training = { ensemble_of: ["a", "b", "c"] };
  const old: SavedModel = {
    ...same[0]!.toSaved(training), config: { ...same[0]!.config, ensemble: 3 },
    params: Object.fromEntries(same.flatMap((m, i) => [
      ...Object.entries(m.toSaved({}).params).map(([name, p]) => [`m${i}.${name}`, p] as const),
      ...(i > 0 ? [[`m${i}.embedding.weight`, { shape: [m.words.length + 2, m.config.embDim], data: m.embedding }] as const] : []),
    ])),
  };
  assert.deepEqual(concatBytes(encodeModel(NerModel.ensemble(same, training))), concatBytes(encodeModel(old)));
  // The same members with --combine vote: only config.combine is added.
  assert.deepEqual(NerModel.ensemble(same, training, { combine: "vote" }).config, { ...same[0]!.config, ensemble: 3, combine: "vote" });
});

test("members that cannot share one input or output are refused in one line naming the member file and the field; nothing is written", async () => {
  const file = (name: string): string => path.join(dir, `${name}.safetensors`);
  const plain = file("plain");
  await saveNerModel(plain, MEMBERS[0]!, {});
  const cases: [string, NerModel, RegExp][] = [
    ["iob2", create(21, { ...FEATURE, trainScheme: "IOB2" }), /iob2\.safetensors: its labels differ from the first model's \(IOB2 O B-PER/],
    ["softmax", create(22, { ...FEATURE, output: "softmax", constrained: false }), /softmax\.safetensors: its config\.tagger\.output is "softmax": only CRF taggers can be combined/],
    ["vocab", create(24, FEATURE, { extendVocab: 0 }), /vocab\.safetensors: its vocabulary differs from the first model's/],
  ];
  for (const [name, m, message] of cases) {
    await saveNerModel(file(name), m, {});
    const out = file(`bad-${name}`);
    const r = runCli(["ensemble", "--out", out, "--kernels", "reference", plain, file(name)]);
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^lstm-ner: error: /);
    assert.match(r.stderr, message);
    assert.ok(!existsSync(out), `${name}: no file written`);
  }
  // A classroom softmax model.
  const classroom = NerModel.create(k, { vectors: toyVectors(), labels: CONLL_LABELS, scheme: "IOB2", hidden: 5, bidirectional: true, trainableEmbeddings: false, seed: 1 });
  assert.throws(() => NerModel.ensemble([MEMBERS[0]!, classroom], {}), /^LstmNerError: model 2: its config\.arch is "softmax"/);
  // A bad --combine value: one line naming the option, before any model is read.
  const bad = runCli(["ensemble", "--combine", "average", "--out", file("bad-combine"), "--kernels", "reference", plain, file("iob2")]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "lstm-ner: error: --combine must be potentials or vote, got \"average\"\n");
  assert.ok(!existsSync(file("bad-combine")));
  assert.throws(() => NerModel.ensemble(MEMBERS, {}, { combine: "mean" as "vote" }), /combine must be potentials or vote, got "mean"/);
});

test("damaged config.members and config.combine are refused on load in one line naming the field", () => {
  const saved = NerModel.ensemble(MEMBERS.slice(0, 2), {}, { combine: "vote" });
  const bytes = concatBytes(encodeModel(saved));
  const { tensors, metadata } = decodeSafetensors(bytes, "x");
  const withConfig = (edit: (c: Record<string, unknown>) => void): Uint8Array => {
    const config = JSON.parse(metadata.config!) as Record<string, unknown>;
    edit(config);
    return concatBytes(encodeSafetensors(Object.fromEntries(tensors) as Record<string, Tensor>, { ...metadata, config: JSON.stringify(config) }));
  };
  assert.equal(parseModel(withConfig(() => undefined)).config.combine, "vote");
  const refused: [(c: Record<string, unknown>) => void, RegExp][] = [
    [(c) => { c.combine = "average"; }, /config\.combine must be "vote" \(or absent: "potentials"\)/],
    [(c) => { c.members = (c.members as unknown[]).slice(0, 1); }, /config\.members must list the config\.ensemble \(2\) members/],
    [(c) => { (c.members as { hidden: number }[])[1]!.hidden = 0; }, /config\.members\[1\]\.hidden must be a whole number ≥ 1, got 0/],
    [(c) => { (c.members as { hidden: number }[])[0]!.hidden = 9; }, /config\.members\[0\] must be the top-level config\.hidden and config\.tagger/],
    [(c) => { (c.members as { tagger: { output: string } }[])[1]!.tagger.output = "softmax"; }, /config\.members\[1\]\.tagger\.output must be "crf"/],
    [(c) => { (c.members as { tagger: { casingDim: number } }[])[1]!.tagger.casingDim = -1; }, /config\.members\[1\]\.tagger\.casingDim must be a whole number ≥ 0/],
  ];
  for (const [edit, message] of refused) assert.throws(() => parseModel(withConfig(edit), "x.safetensors"), (e: Error) => message.test(e.message) && !e.message.includes("\n"), String(message));
});
