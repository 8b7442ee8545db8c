import { test } from "node:test";
import assert from "node:assert/strict";
import { LstmNerError } from "../src/util/errors.js";
import { padBatch } from "../src/encode/pad-batch.js";
import { CHAR_UNK, addFeatures, buildCharVocab, charVocabFromList, featureBatch, sentenceFeatures } from "../src/encode/features.js";
import { CASING_CLASSES, CASING_PAD } from "../src/nn/casing.js";

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

test("sentenceFeatures: original-case char ids (unknown → 0), truncation, casing classes", () => {
  const v = buildCharVocab([["Ab1"]]);
  const f = sentenceFeatures(["Ab", "12x", "AAAA"], v, { maxWordLength: 3 });
  const id = (c: string): number => v.index.get(c)!;
  assert.deepEqual([...f.chars], [id("A"), id("b"), id("1"), CHAR_UNK, CHAR_UNK, id("A"), id("A"), id("A")]);
  assert.deepEqual([...f.offsets], [0, 2, 5, 8]);
  assert.deepEqual([...f.casing].map((c) => CASING_CLASSES[c]), ["initial_upper", "mainly_numeric", "all_upper"]);
});

test("featureBatch lays features out time-major like the batch, pads empty with padding casing", () => {
  const tokens = [["Hi", "there"], ["Yes"], ["a", "BB", "c"]];
  const v = buildCharVocab(tokens);
  const batch = padBatch(tokens.map((t) => ({ ids: t.map(() => 1), labels: t.map(() => 0) })), 0);
  const fb = addFeatures(batch, tokens, v);
  const B = 3;
  assert.equal(fb.chars.maxChars, 5);
  assert.equal(fb.chars.ids.length, 3 * B * 5);
  assert.deepEqual([...fb.chars.lengths], [2, 3, 1, 5, 0, 2, 0, 0, 1]); // t·B+b
  const word = (w: number): string => Array.from(fb.chars.ids.subarray(w * 5, w * 5 + fb.chars.lengths[w]!), (c) => v.chars[c]).join("");
  assert.equal(word(1 * B + 0), "there");
  assert.equal(word(1 * B + 2), "BB");
  assert.equal(fb.casing[1 * B + 1], CASING_PAD);
  assert.equal(CASING_CLASSES[fb.casing[0 * B + 1]!], "initial_upper");
  assert.equal(fb.ids, batch.ids);
  assert.throws(() => featureBatch(batch, [sentenceFeatures(["x"], v)]), /features for 1 sentences, the batch has 3/);
  assert.throws(() => addFeatures(batch, [["Hi"], ["Yes"], ["a", "BB", "c"]], v), /batch item 0: features for 1 tokens, the batch has 2/);
});
