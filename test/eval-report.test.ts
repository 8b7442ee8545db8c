import { test } from "node:test";
import assert from "node:assert/strict";
import { score, Scorer } from "../src/eval/conlleval.js";
import { fixed2, formatConllevalReport, scoreToJson } from "../src/eval/report.js";

/**
 * The output published with conlleval on the CoNLL-2000 page
 * (https://www.clips.uantwerpen.be/conll2000/chunking/output.html).
 */
const CONLL2000_OUTPUT = [
  "processed 961 tokens with 459 phrases; found: 539 phrases; correct: 371.",
  "accuracy:  87.20%; precision:  68.83%; recall:  80.83%; FB1:  74.35",
  "             ADJP: precision:   0.00%; recall:   0.00%; FB1:   0.00  1",
  "             ADVP: precision:  45.45%; recall:  62.50%; FB1:  52.63  11",
  "               NP: precision:  64.98%; recall:  78.63%; FB1:  71.16  317",
  "               PP: precision:  83.18%; recall:  98.89%; FB1:  90.36  107",
  "             SBAR: precision:  66.67%; recall:  33.33%; FB1:  44.44  3",
  "               VP: precision:  69.00%; recall:  79.31%; FB1:  73.80  100",
  "",
].join("\n");

/**
 * Tag sequences with the same counts as that run. From its figures, per type
 * (gold, predicted, correct): ADJP 6/1/0, ADVP 8/11/5, NP 262/317/206,
 * PP 90/107/89, SBAR 6/3/2, VP 87/100/69; and 838 of 961 tags right.
 * That is 88 missed and 168 false chunks made with only 123 wrong tags, so
 * most wrong tags must do double duty:
 *  - split   gold [B-X I-X] pred [B-X B-X]: 1 missed X, 2 false X, 1 wrong tag (30 NP, 15 VP);
 *  - swap    gold [B-X] pred [B-Y]: 1 missed X, 1 false Y, 1 wrong tag
 *            (or gold [B-X I-X] pred [B-X O] when X = Y);
 *  - false   gold [O] pred [B-Y]: 1 false Y, 1 wrong tag;
 * plus correct one-token chunks and O/O filler up to 961 tokens.
 */
function conll2000Like(): { gold: string[][]; pred: string[][] } {
  const gold: string[][] = [];
  const pred: string[][] = [];
  const add = (g: string[], p: string[]): void => {
    gold.push(g);
    pred.push(p);
  };
  const correct: Record<string, number> = { ADJP: 0, ADVP: 5, NP: 206, PP: 89, SBAR: 2, VP: 69 };
  const splits: Record<string, number> = { NP: 30, VP: 15 };
  // Missed / false chunks left after the splits.
  const missed: Record<string, number> = { ADJP: 6, ADVP: 3, NP: 56 - 30, PP: 1, SBAR: 4, VP: 18 - 15 };
  const falseAlarms: Record<string, number> = { ADJP: 1, ADVP: 6, NP: 111 - 60, PP: 18, SBAR: 1, VP: 31 - 30 };
  for (const [type, n] of Object.entries(correct)) for (let i = 0; i < n; i++) add([`B-${type}`], [`B-${type}`]);
  for (const [type, n] of Object.entries(splits)) for (let i = 0; i < n; i++) add([`B-${type}`, `I-${type}`], [`B-${type}`, `B-${type}`]);
  const expand = (counts: Record<string, number>): string[] => Object.entries(counts).flatMap(([t, n]) => new Array<string>(n).fill(t));
  const m = expand(missed);
  const f = expand(falseAlarms);
  for (let i = 0; i < f.length; i++) {
    const y = f[i]!;
    if (i >= m.length) add(["O"], [`B-${y}`]);
    else if (m[i] === y) add([`B-${y}`, `I-${y}`], [`B-${y}`, "O"]);
    else add([`B-${m[i]!}`], [`B-${y}`]);
  }
  const used = gold.reduce((n, s) => n + s.length, 0);
  for (let i = used; i < 961; i++) add(["O"], ["O"]);
  return { gold, pred };
}

test("reproduces the conlleval output published for CoNLL-2000, byte for byte", () => {
  const { gold, pred } = conll2000Like();
  const s = score(gold, pred);
  assert.equal(formatConllevalReport(s), CONLL2000_OUTPUT);
});

test("report layout: sorted types, %17s names, predicted count last", () => {
  // gold PER(0-1), LOC(3); pred PER(0-1), ORG(3). PER 1/1/1, LOC 1/0/0, ORG 0/1/0.
  const s = score([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]]);
  assert.equal(
    formatConllevalReport(s),
    "processed 4 tokens with 2 phrases; found: 2 phrases; correct: 1.\n" +
      "accuracy:  75.00%; precision:  50.00%; recall:  50.00%; FB1:  50.00\n" +
      "              LOC: precision:   0.00%; recall:   0.00%; FB1:   0.00  0\n" +
      "              ORG: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n" +
      "              PER: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n",
  );
});

test("types sort in byte order (upper case first) and long names are not cut", () => {
  const s = score([["B-loc", "B-PER", "B-A_VERY_LONG_TYPE_NAME"]], [["B-loc", "B-PER", "B-A_VERY_LONG_TYPE_NAME"]]);
  const lines = formatConllevalReport(s).split("\n");
  assert.equal(lines[2], "A_VERY_LONG_TYPE_NAME: precision: 100.00%; recall: 100.00%; FB1: 100.00  1");
  assert.match(lines[3]!, /^ {14}PER: /);
  assert.match(lines[4]!, /^ {14}loc: /);
});

test("no tokens: only the first line, as conlleval prints", () => {
  assert.equal(formatConllevalReport(new Scorer().result()), "processed 0 tokens with 0 phrases; found: 0 phrases; correct: 0.\n");
});

test("fixed2 rounds like C printf: exact ties to even", () => {
  // 12.125, 0.625 and 0.375 are exact in binary, so they are true ties: printf gives 12.12, 0.62, 0.38.
  assert.equal(fixed2(12.125), "12.12");
  assert.equal(fixed2((100 * 97) / 800), "12.12");
  assert.equal(fixed2(0.625), "0.62");
  assert.equal(fixed2(0.375), "0.38");
  assert.equal(fixed2(0.875), "0.88");
  // 2.675 is really 2.67499999..., so it rounds down; 66.666... rounds up.
  assert.equal(fixed2(2.675), "2.67");
  assert.equal(fixed2(200 / 3), "66.67");
  assert.equal(fixed2(100), "100.00");
  assert.equal(fixed2(0), "0.00");
});

test("scoreToJson: rounded percentages, support is the gold count", () => {
  // gold PER(0), LOC(2); pred PER(0), LOC(1): P 50, R 50; accuracy 1/3.
  const s = score([["B-PER", "O", "B-LOC"]], [["B-PER", "B-LOC", "O"]]);
  const json = scoreToJson(s);
  assert.deepEqual(json, {
    precision: 50,
    recall: 50,
    f1: 50,
    accuracy: 33.33,
    tokens: 3,
    per_type: {
      LOC: { precision: 0, recall: 0, f1: 0, support: 1 },
      PER: { precision: 100, recall: 100, f1: 100, support: 1 },
    },
  });
  // F1 2/3 → 66.67 (from a missed entity).
  const f = scoreToJson(score([["B-PER", "O", "B-LOC"]], [["B-PER", "O", "O"]]));
  assert.equal(f.f1, 66.67);
  assert.equal(f.per_type.LOC!.support, 1);
  assert.deepEqual(JSON.parse(JSON.stringify(f)), f);
});
