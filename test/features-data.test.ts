import { test } from "node:test";
import assert from "node:assert/strict";
import { LstmNerError } from "../src/util/errors.js";
import { padBatch } from "../src/encode/pad-batch.js";
import { CHAR_UNK, buildCharVocab, charData, charVocabFromList, collateChars, sentenceChars } from "../src/features/char-ids.js";
import { CASING_CLASSES, CASING_PAD, casingData } from "../src/features/casing.js";

test("buildCharVocab: unknown first, then code points in order, with minCount; stored list round-trips", () => {
  const v = buildCharVocab([["Bab", "a"], ["c😀", "a"]]);
  assert.deepEqual(v.chars, ["", "B", "a", "b", "c", "😀"]);
  assert.equal(v.index.get("😀"), 5);
  assert.deepEqual(buildCharVocab([["Bab", "a"]], { minCount: 2 }).chars, ["", "a"]);
  assert.deepEqual(charVocabFromList(v.chars).index, v.index);
  assert.throws(() => charVocabFromList(["a"]), (e: unknown) => e instanceof LstmNerError && /chars\[0\]/.test(e.message));
  assert.throws(() => charVocabFromList(["", "a", "a"]), /chars\[2\].*twice/);
  assert.throws(() => charVocabFromList(["", "ab"]), /chars\[1\].*not a single character/);
});

test("sentenceChars: original-case char ids (unknown → 0), truncation; casing classes per token", () => {
  const v = buildCharVocab([["Ab1"]]);
  const f = sentenceChars(["Ab", "12x", "AAAA"], v, 3);
  const id = (c: string): number => v.index.get(c)!;
  assert.deepEqual([...f.ids], [id("A"), id("b"), id("1"), CHAR_UNK, CHAR_UNK, id("A"), id("A"), id("A")]);
  assert.deepEqual([...f.offsets], [0, 2, 5, 8]);
  const [casing] = casingData.encode([["Ab", "12x", "AAAA"]], [new Int32Array(3)]);
  assert.deepEqual([...casing!].map((c) => CASING_CLASSES[c]), ["initial_upper", "mainly_numeric", "all_upper"]);
});

test("the chars and casing data are laid out time-major like the batch, pads empty with padding casing", () => {
  const tokens = [["Hi", "there"], ["Yes"], ["a", "BB", "c"]];
  const v = buildCharVocab(tokens);
  const batch = padBatch(tokens.map((t) => ({ ids: t.map(() => 1), labels: t.map(() => 0) })), 0);
  const ids = tokens.map((t) => new Int32Array(t.length));
  const chars = charData(v).collate(charData(v).encode(tokens, ids), batch);
  const casing = casingData.collate(casingData.encode(tokens, ids), batch);
  const B = 3;
  assert.equal(chars.maxChars, 5);
  assert.equal(chars.ids.length, 3 * B * 5);
  assert.deepEqual([...chars.lengths], [2, 3, 1, 5, 0, 2, 0, 0, 1]); // t·B+b
  const word = (w: number): string => Array.from(chars.ids.subarray(w * 5, w * 5 + chars.lengths[w]!), (c) => v.chars[c]).join("");
  assert.equal(word(1 * B + 0), "there");
  assert.equal(word(1 * B + 2), "BB");
  assert.equal(casing[1 * B + 1], CASING_PAD);
  assert.equal(CASING_CLASSES[casing[0 * B + 1]!], "initial_upper");
  assert.throws(() => collateChars([sentenceChars(["x"], v)], batch), /char ids for 1 sentences, the batch has 3/);
  assert.throws(() => collateChars(tokens.map((t, i) => sentenceChars(i === 0 ? ["Hi"] : t, v)), batch), /batch item 0: char ids for 1 tokens, the batch has 2/);
  assert.throws(() => casingData.collate([new Int32Array(1), new Int32Array(1), new Int32Array(3)], batch), /batch item 0: casing classes for 1 tokens, the batch has 2/);
});
