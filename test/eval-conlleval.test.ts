import { test } from "node:test";
import assert from "node:assert/strict";
import { score, Scorer, type Score } from "../src/eval/conlleval.js";
import { LstmNerError } from "../src/util/errors.js";

const near = (actual: number, expected: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);

function counts(s: Score): [number, number, number, number, number] {
  return [s.tokens, s.correctTags, s.phrasesGold, s.phrasesPred, s.correct];
}

test("perfect prediction: every figure 100", () => {
  const gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]];
  const s = score(gold, gold);
  // 6 tokens; chunks PER(0-1), LOC(3), ORG(1 of sentence 2).
  assert.deepEqual(counts(s), [6, 6, 3, 3, 3]);
  assert.equal(s.precision, 100);
  assert.equal(s.recall, 100);
  assert.equal(s.f1, 100);
  assert.equal(s.accuracy, 100);
  assert.deepEqual(Object.keys(s.perType), ["LOC", "ORG", "PER"]);
  assert.deepEqual(s.perType.PER, { precision: 100, recall: 100, f1: 100, gold: 1, pred: 1, correct: 1 });
});

test("a missed entity lowers recall, not precision", () => {
  // gold PER(0), LOC(2); pred PER(0) only. P = 1/1, R = 1/2, F = 2*100*50/150 = 66.67.
  const s = score([["B-PER", "O", "B-LOC"]], [["B-PER", "O", "O"]]);
  assert.deepEqual(counts(s), [3, 2, 2, 1, 1]);
  assert.equal(s.precision, 100);
  assert.equal(s.recall, 50);
  near(s.f1, 200 / 3, "f1");
  near(s.accuracy, 200 / 3, "accuracy");
  assert.deepEqual(s.perType.LOC, { precision: 0, recall: 0, f1: 0, gold: 1, pred: 0, correct: 0 });
  assert.deepEqual(s.perType.PER, { precision: 100, recall: 100, f1: 100, gold: 1, pred: 1, correct: 1 });
});

test("a wrong type is a miss and a false alarm", () => {
  const s = score([["B-PER", "I-PER", "O"]], [["B-ORG", "I-ORG", "O"]]);
  assert.deepEqual(counts(s), [3, 1, 1, 1, 0]);
  assert.equal(s.f1, 0);
  assert.deepEqual(s.perType.PER, { precision: 0, recall: 0, f1: 0, gold: 1, pred: 0, correct: 0 });
  assert.deepEqual(s.perType.ORG, { precision: 0, recall: 0, f1: 0, gold: 0, pred: 1, correct: 0 });
});

test("boundary errors: a chunk counts only if both ends match", () => {
  // Ends too early: gold ORG(0-2), pred ORG(0-1). Tags right on 3 of 4 tokens, no correct chunk.
  const early = score([["B-ORG", "I-ORG", "I-ORG", "O"]], [["B-ORG", "I-ORG", "O", "O"]]);
  assert.deepEqual(counts(early), [4, 3, 1, 1, 0]);
  // Starts too early: gold LOC(1-2), pred LOC(0-2); the ends agree but the starts do not.
  const start = score([["O", "B-LOC", "I-LOC"]], [["B-LOC", "I-LOC", "I-LOC"]]);
  assert.deepEqual(counts(start), [3, 1, 1, 1, 0]);
  // Ends too late, at the end of the sentence.
  const late = score([["B-LOC", "O"]], [["B-LOC", "I-LOC"]]);
  assert.deepEqual(counts(late), [2, 1, 1, 1, 0]);
  // Gold splits what pred joins: gold PER(0), PER(1); pred PER(0-1).
  const joined = score([["B-PER", "B-PER"]], [["B-PER", "I-PER"]]);
  assert.deepEqual(counts(joined), [2, 1, 2, 1, 0]);
});

test("a stray I- after O starts a chunk (and can even be correct)", () => {
  // pred I-PER after O opens a chunk at 1 that ends at 2, exactly as gold's B-PER:
  // conlleval counts it correct although the tag differs, so F1 = 100 while accuracy = 2/3.
  const s = score([["O", "B-PER", "O"]], [["O", "I-PER", "O"]]);
  assert.deepEqual(counts(s), [3, 2, 1, 1, 1]);
  assert.equal(s.f1, 100);
  near(s.accuracy, 200 / 3, "accuracy");
  // A stray I- where gold has nothing is a false alarm.
  const stray = score([["O", "O"]], [["O", "I-LOC"]]);
  assert.deepEqual(counts(stray), [2, 1, 0, 1, 0]);
  assert.equal(stray.precision, 0);
  assert.equal(stray.recall, 0);
});

test("a type change inside I- makes two chunks", () => {
  // pred B-PER I-ORG = PER(0), ORG(1); gold PER(0-1). Pred PER ends at 0, gold's does not: 0 correct.
  const s = score([["B-PER", "I-PER"]], [["B-PER", "I-ORG"]]);
  assert.deepEqual(counts(s), [2, 1, 1, 2, 0]);
  assert.deepEqual(s.perType.ORG, { precision: 0, recall: 0, f1: 0, gold: 0, pred: 1, correct: 0 });
  // The same two chunks on both sides are both correct.
  const both = score([["B-PER", "I-ORG"]], [["B-PER", "I-ORG"]]);
  assert.deepEqual(counts(both), [2, 2, 2, 2, 2]);
});

test("IOB1 input: I- opens a chunk, B- only separates same-type neighbours", () => {
  // gold IOB1: PER(0-1), LOC(3), LOC(4); pred the same chunks in IOB2.
  // Chunks all match (F1 100) but tags differ at 0 and 3: accuracy 3/5 = 60.
  const s = score([["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]], [["B-PER", "I-PER", "O", "B-LOC", "B-LOC"]]);
  assert.deepEqual(counts(s), [5, 3, 3, 3, 3]);
  assert.equal(s.f1, 100);
  assert.equal(s.accuracy, 60);
  assert.equal(s.perType.LOC!.gold, 2);
});

test("BIOES input: S- is a one-token chunk, E- closes a chunk", () => {
  // gold: PER(0) PER(1) LOC(2-4) ORG(6)                        = 4 chunks
  // pred: PER(0) PER(1) LOC(2-3) LOC(4) ORG(6)                 = 5 chunks
  // correct: PER, PER, ORG = 3.  P = 60, R = 75, F = 9000/135. Tags differ at 3 and 4: accuracy 5/7.
  const gold = [["S-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "O", "S-ORG"]];
  const pred = [["S-PER", "S-PER", "B-LOC", "E-LOC", "S-LOC", "O", "S-ORG"]];
  const s = score(gold, pred);
  assert.deepEqual(counts(s), [7, 5, 4, 5, 3]);
  assert.equal(s.precision, 60);
  assert.equal(s.recall, 75);
  near(s.f1, 9000 / 135, "f1");
  near(s.accuracy, 500 / 7, "accuracy");
  assert.deepEqual(s.perType.PER, { precision: 100, recall: 100, f1: 100, gold: 2, pred: 2, correct: 2 });
  assert.deepEqual(s.perType.LOC, { precision: 0, recall: 0, f1: 0, gold: 1, pred: 2, correct: 0 });
  // E- followed by B- of the same type: two chunks.
  const twice = score([["B-PER", "E-PER", "B-PER", "E-PER"]], [["B-PER", "E-PER", "B-PER", "E-PER"]]);
  assert.deepEqual(counts(twice), [4, 4, 2, 2, 2]);
});

test("empty predictions: precision, recall and F1 are 0, not NaN", () => {
  const s = score([["B-PER", "O"]], [["O", "O"]]);
  assert.deepEqual(counts(s), [2, 1, 1, 0, 0]);
  assert.equal(s.precision, 0);
  assert.equal(s.recall, 0);
  assert.equal(s.f1, 0);
  assert.equal(s.accuracy, 50);
  const nothing = score([], []);
  assert.deepEqual(counts(nothing), [0, 0, 0, 0, 0]);
  assert.equal(nothing.accuracy, 0);
  assert.deepEqual(nothing.perType, {});
});

test("accuracy counts O tokens: an all-O tagger looks good", () => {
  // 1 entity token among 10: predicting O everywhere scores accuracy 90 and F1 0.
  const gold = [["O", "O", "O", "O", "B-LOC", "O", "O", "O", "O", "O"]];
  const s = score(gold, [gold[0]!.map(() => "O")]);
  assert.equal(s.accuracy, 90);
  assert.equal(s.f1, 0);
});

test("chunks never cross sentence boundaries", () => {
  // Sentence 2 starts with I-PER: a new chunk (after conlleval's blank line), not a continuation.
  const s = score([["B-PER"], ["I-PER"]], [["B-PER"], ["B-PER"]]);
  assert.deepEqual(counts(s), [2, 1, 2, 2, 2]);
});

test("per-type figures (seqeval's README example, hand-checked)", () => {
  // gold MISC(3-5), PER(0-1 of s2); pred MISC(2-5) wrong start, PER right.
  // Tags differ at tokens 2 and 3: accuracy 8/10.
  const gold = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]];
  const pred = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]];
  const s = score(gold, pred);
  assert.deepEqual(counts(s), [10, 8, 2, 2, 1]);
  assert.equal(s.accuracy, 80);
  assert.equal(s.f1, 50);
  assert.deepEqual(s.perType.MISC, { precision: 0, recall: 0, f1: 0, gold: 1, pred: 1, correct: 0 });
  assert.deepEqual(s.perType.PER, { precision: 100, recall: 100, f1: 100, gold: 1, pred: 1, correct: 1 });
});

test("types keep their hyphens after the first one, as conlleval's regex does", () => {
  const s = score([["B-NAME-X", "I-NAME-X"]], [["B-NAME-X", "I-NAME-X"]]);
  assert.deepEqual(Object.keys(s.perType), ["NAME-X"]);
  assert.equal(s.perType["NAME-X"]!.correct, 1);
});

test("Scorer streams: same result as score(), readable mid-way", () => {
  const gold = [["B-PER", "I-PER", "O"], ["B-LOC"], ["O", "B-ORG", "I-ORG"]];
  const pred = [["B-PER", "O", "O"], ["B-LOC"], ["O", "B-ORG", "I-ORG"]];
  const scorer = new Scorer();
  scorer.add(gold[0]!, pred[0]!);
  assert.deepEqual(counts(scorer.result()), [3, 2, 1, 1, 0]);
  scorer.add(gold[1]!, pred[1]!);
  scorer.add(gold[2]!, pred[2]!);
  assert.deepEqual(scorer.result(), score(gold, pred));
  assert.deepEqual(counts(scorer.result()), [7, 6, 3, 3, 2]);
});

test("mismatched lengths and bad tags are LstmNerErrors naming the place", () => {
  assert.throws(() => score([["O", "O"]], [["O"]], { file: "dev.txt" }), (e: unknown) => {
    assert.ok(e instanceof LstmNerError);
    assert.equal(e.file, "dev.txt");
    assert.match(e.message, /sentence 1: gold has 2 tags but the prediction has 1/);
    return true;
  });
  assert.throws(() => score([["O"], ["O"]], [["O"]]), (e: unknown) => e instanceof LstmNerError && /2 sentences/.test(e.message));
  const scorer = new Scorer();
  scorer.add(["B-PER"], ["B-PER"]);
  assert.throws(() => scorer.add(["B-PER", "O"], ["B-PER", ""]), (e: unknown) => {
    assert.ok(e instanceof LstmNerError);
    assert.match(e.message, /sentence 2, token 2: predicted tag ""/);
    return true;
  });
  assert.throws(() => scorer.add(["B PER"], ["O"]), LstmNerError);
  // A rejected sentence leaves the totals untouched.
  assert.deepEqual(counts(scorer.result()), [1, 1, 1, 1, 1]);
});
