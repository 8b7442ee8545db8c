import { test } from "node:test";
import assert from "node:assert/strict";
import { Doc } from "../src/pipeline/doc.js";
import { tokenizeSentences } from "../src/data/tokenize.js";

const TEXT = "Hello my name is Ross.  I work at Aarhus University!";

function makeDoc(probs = true): Doc {
  const sents = tokenizeSentences(TEXT);
  const tags = [["O", "O", "O", "O", "B-PER", "O"], ["O", "O", "O", "B-ORG", "I-ORG", "O"]];
  const p = probs ? sents.map((s) => s.map((_, i) => 0.5 + i / 20)) : undefined;
  return Doc.fromTagged(TEXT, sents, tags, "IOB2", p);
}

test("tokens, whitespace, sentences and entities from tagged sentences", () => {
  const doc = makeDoc();
  assert.equal(doc.length, 12);
  assert.deepEqual([...doc].map((t) => [t.i, t.text, t.idx, t.entIob, t.entType]).slice(3, 9), [
    [3, "is", 14, "O", ""], [4, "Ross", 17, "B", "PER"], [5, ".", 21, "O", ""], [6, "I", 24, "O", ""],
    [7, "work", 26, "O", ""], [8, "at", 31, "O", ""],
  ]);
  assert.equal(doc.tokens[5]!.whitespace, "  ", "whitespace is the original text up to the next token");
  assert.equal(doc.tokens[4]!.whitespace, "");
  assert.equal(doc.tokens.map((t) => t.text + t.whitespace).join(""), TEXT);
  assert.equal(`${doc.tokens[4]}`, "Ross");
  assert.deepEqual(doc.sents.map((s) => [s.start, s.end, s.text]), [[0, 6, "Hello my name is Ross."], [6, 12, "I work at Aarhus University!"]]);
  assert.deepEqual(doc.ents.map((e) => [e.text, e.label, e.start, e.end, e.startChar, e.endChar]), [
    ["Ross", "PER", 4, 5, 17, 21], ["Aarhus University", "ORG", 9, 11, 34, 51],
  ]);
  assert.deepEqual([...doc.ents[1]!].map((t) => `${t.entIob}-${t.entType}`), ["B-ORG", "I-ORG"]);
  // Entity confidence is the mean of its tokens' tag probabilities.
  assert.ok(Math.abs(doc.ents[1]!.confidence! - (0.65 + 0.7) / 2) < 1e-9);
  assert.equal(makeDoc(false).ents[0]!.confidence, undefined);
  // A model without per-tag probabilities (a CRF) reports NaN: no prob, no confidence, valid JSON.
  const sents = tokenizeSentences("Anna met Bob");
  const crf = Doc.fromTagged("Anna met Bob", sents, [["B-PER", "O", "B-PER"]], "IOB2", [[NaN, NaN, NaN]]);
  assert.deepEqual([crf.tokens[0]!.prob, crf.ents[0]!.confidence], [undefined, undefined]);
  assert.deepEqual(Doc.fromJSON(JSON.stringify(crf)).toJSON(), crf.toJSON());
});

test("entities follow the scheme: IOB1 and BIOES, stray I- starts an entity", () => {
  const text = "a b c d e";
  const sents = tokenizeSentences(text);
  const iob1 = Doc.fromTagged(text, sents, [["I-PER", "B-PER", "O", "I-LOC", "I-ORG"]], "IOB1");
  assert.deepEqual(iob1.ents.map((e) => [e.label, e.start, e.end]), [["PER", 0, 1], ["PER", 1, 2], ["LOC", 3, 4], ["ORG", 4, 5]]);
  assert.deepEqual(iob1.tokens.map((t) => t.entIob).join(""), "BBOBB");
  const bioes = Doc.fromTagged(text, sents, [["B-MISC", "I-MISC", "E-MISC", "S-LOC", "O"]], "BIOES");
  assert.deepEqual(bioes.ents.map((e) => [e.text, e.label]), [["a b c", "MISC"], ["d", "LOC"]]);
  assert.throws(() => Doc.fromTagged(text, sents, [["O", "O"]], "IOB2"), /sentence 0 has 5 tokens but 2 tags/);
});

test("JSON round trip keeps everything; JSON.stringify uses toJSON", () => {
  const doc = makeDoc();
  const json = JSON.parse(JSON.stringify(doc)) as ReturnType<Doc["toJSON"]>;
  assert.equal(json.ents[1]!.text, "Aarhus University");
  assert.equal(json.tokens[4]!.tag, "B-PER");
  const back = Doc.fromJSON(json);
  assert.deepEqual(back.toJSON(), doc.toJSON());
  assert.deepEqual(Doc.fromJSON(JSON.stringify(doc)).toJSON(), doc.toJSON());
  assert.equal(back.ents[1]!.text, "Aarhus University");
  assert.equal(back.sents[1]!.text, "I work at Aarhus University!");
  const plain = makeDoc(false).toJSON();
  assert.ok(!("confidence" in plain.ents[0]!) && !("prob" in plain.tokens[0]!));
});

test("fromJSON names the bad field", () => {
  const good = makeDoc().toJSON();
  const bad = (mutate: (d: Record<string, unknown> & typeof good) => void): unknown => {
    const d = structuredClone(good) as Record<string, unknown> & typeof good;
    mutate(d);
    return d;
  };
  assert.throws(() => Doc.fromJSON("{"), /doc: not valid JSON/);
  assert.throws(() => Doc.fromJSON([]), /doc: must be an object/);
  assert.throws(() => Doc.fromJSON(bad((d) => { (d as Record<string, unknown>).text = 5; })), /doc\.text: must be a string/);
  assert.throws(() => Doc.fromJSON(bad((d) => { d.tokens[2]!.idx = 999; })), /doc\.tokens\[2\]\.idx: must be an integer in 0\.\./);
  assert.throws(() => Doc.fromJSON(bad((d) => { d.tokens[2]!.text = "nope"; })), /doc\.tokens\[2\]: token text does not match/);
  assert.throws(() => Doc.fromJSON(bad((d) => { (d.tokens[1] as unknown as Record<string, unknown>).entIob = "X"; })), /doc\.tokens\[1\]\.entIob/);
  assert.throws(() => Doc.fromJSON(bad((d) => { d.ents[0]!.end = 99; })), /doc\.ents\[0\]\.end: must be an integer in 5\.\.12/);
  assert.throws(() => Doc.fromJSON(bad((d) => { (d.ents[0] as unknown as Record<string, unknown>).label = null; })), /doc\.ents\[0\]\.label: must be a string/);
  assert.throws(() => Doc.fromJSON(bad((d) => { (d as Record<string, unknown>).sents = {}; })), /doc\.sents: must be an array/);
});

test("offsets: idx/startChar/endChar count UTF-16 units, the codePoint* fields count code points (as spaCy and Python do)", () => {
  // 😀 and 𝔘 take two UTF-16 units each; é (precomposed) and 東京 one each.
  const text = "😀 Zoë met 𝔘lf in 東京 😀😀 today .";
  const sents = tokenizeSentences(text);
  const tokens = sents.flat().map((t) => t.text);
  const tags = [tokens.map((t) => (t === "Zoë" || t === "𝔘lf" ? "B-PER" : t === "東京" ? "B-LOC" : "O"))];
  const doc = Doc.fromTagged(text, [sents.flat()], tags, "IOB2");
  const cps = [...text];
  for (const t of doc) {
    assert.equal(text.slice(t.idx, t.idx + t.text.length), t.text);
    assert.equal(cps.slice(t.codePointIdx, t.codePointIdx + [...t.text].length).join(""), t.text, `token ${t.text}`);
  }
  assert.deepEqual(doc.ents.map((e) => [e.text, e.startChar, e.endChar, e.codePointStart, e.codePointEnd]), [
    ["Zoë", 3, 6, 2, 5], ["𝔘lf", 11, 15, 10, 13], ["東京", 19, 21, 17, 19],
  ]);
  for (const e of doc.ents) assert.equal(cps.slice(e.codePointStart, e.codePointEnd).join(""), e.text);
  const last = doc.tokens[doc.length - 1]!;
  assert.deepEqual([last.text, last.idx, last.codePointIdx], [".", text.length - 1, cps.length - 1]);
  // Without astral characters the two agree.
  const plain = makeDoc();
  for (const t of plain) assert.equal(t.codePointIdx, t.idx);

  // The JSON carries both, round-trips, and refuses code-point offsets that disagree with idx.
  const json = doc.toJSON();
  assert.deepEqual(json.tokens.map((t) => t.codePointIdx), [...doc].map((t) => t.codePointIdx));
  assert.deepEqual([json.ents[0]!.codePointStart, json.ents[0]!.codePointEnd], [2, 5]);
  assert.deepEqual(Doc.fromJSON(JSON.stringify(doc)).toJSON(), json);
  const bad = structuredClone(json);
  bad.tokens[3]!.codePointIdx = bad.tokens[3]!.idx;
  assert.throws(() => Doc.fromJSON(bad), /doc\.tokens\[3\]\.codePointIdx: codePointIdx is 11, but idx 11 is code point 10 of doc\.text/);
  const badEnt = structuredClone(json);
  badEnt.ents[2]!.codePointEnd = 21;
  assert.throws(() => Doc.fromJSON(badEnt), /doc\.ents\[2\]\.codePointEnd: codePointEnd is 21, expected 19/);
  // JSON without the code-point fields (older versions) is still read.
  const old = structuredClone(json) as unknown as { tokens: Record<string, unknown>[]; ents: Record<string, unknown>[] };
  for (const t of old.tokens) delete t.codePointIdx;
  for (const e of old.ents) { delete e.codePointStart; delete e.codePointEnd; }
  assert.deepEqual(Doc.fromJSON(old).toJSON(), json);
});
