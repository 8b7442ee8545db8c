import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { formatConll, parseConll, readConll } from "../src/data/conll.js";
import { formatSpansJsonl, parseSpansJsonl, readSpansJsonl, retokenized } from "../src/data/spans-jsonl.js";
import { LstmNerError } from "../src/util/errors.js";
import { fixture, runCli } from "./helpers.js";

// The sentences every fixture in test/fixtures/spans holds (written by make.py in each tool's shape).
const EXPECTED = [
  { tokens: ["Zoë", "Schmidt", "🎉", "flew", "from", "São", "Paulo", "to", "the", "U.S.", "on", "Monday", "."],
    tags: ["B-PER", "I-PER", "O", "O", "O", "B-LOC", "I-LOC", "O", "O", "B-LOC", "O", "O", "O"], doc: 0 },
  { tokens: ["Apple", "'s", "chief", "met", "EU", "officials", "in", "Brussels", "."], tags: ["B-ORG", "O", "O", "O", "B-ORG", "O", "O", "B-LOC", "O"], doc: 1 },
  { tokens: ["They", "talked", "for", "hours", "."], tags: ["O", "O", "O", "O", "O"], doc: 1 },
  { tokens: ["No", "entities", "here", "at", "all", "."], tags: ["O", "O", "O", "O", "O", "O"], doc: 2 },
];

test("the shapes spaCy/Prodigy, doccano (both exports) and Label Studio (JSON-MIN) write read as the same sentences", async () => {
  for (const name of ["prodigy.jsonl", "doccano.jsonl", "doccano-relation.jsonl", "label-studio-min.jsonl"]) {
    const r = await readSpansJsonl(fixture(`spans/${name}`));
    assert.deepEqual(r.sentences, EXPECTED, name);
    // Prodigy's database export keeps rejected answers: they are left out, and counted.
    assert.equal(r.rejected, name === "prodigy.jsonl" ? 1 : 0, name);
  }
});

test("offsets count code points, as the Python tools do: an emoji before a span does not shift it", () => {
  const text = "🎉🎉 Paris";
  assert.equal(text.indexOf("Paris"), 5, "UTF-16 offset");
  const r = parseSpansJsonl(JSON.stringify({ text, spans: [{ start: 3, end: 8, label: "LOC" }] }));
  assert.deepEqual(r.sentences, [{ tokens: ["🎉", "🎉", "Paris"], tags: ["O", "O", "B-LOC"] }]);
  // ... and formatSpansJsonl writes them so.
  assert.equal(formatSpansJsonl(r.sentences), `{"text":"🎉 🎉 Paris","spans":[{"start":4,"end":9,"label":"LOC"}]}\n`);
});

function refused(text: string, message: RegExp, opts: { types?: string[] } = {}): void {
  assert.throws(() => parseSpansJsonl(text, { file: "f.jsonl", ...opts }), (err: unknown) => {
    assert.ok(err instanceof LstmNerError, String(err));
    assert.equal(err.file, "f.jsonl");
    assert.match(err.message, message);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
}

test("a bad span is refused in one line naming the file, the line and the span", () => {
  const ok = JSON.stringify({ text: "Ann met Bob", spans: [] });
  const line = (rec: unknown): string => `${ok}\n\n${JSON.stringify(rec)}\n`;
  refused(line({ text: "Ann met Bob", spans: [{ start: 0, end: 2, label: "PER" }] }),
    /^f\.jsonl:3: span \[0, 2\) "PER" "An" does not fall on token boundaries \(the tokens there: "Ann"\)$/);
  refused(line({ text: "Ann met Bob", label: [[0, 3, "PER"], [0, 7, "PER"]] }), /^f\.jsonl:3: span \[0, 7\) "PER" "Ann met" overlaps span \[0, 3\)/);
  refused(line({ text: "Ann met Bob", spans: [{ start: 8, end: 11, label: "PERSON" }] }), /^f\.jsonl:3: span \[8, 11\) "PERSON" "Bob": unknown label \(known: PER, LOC\)$/,
    { types: ["PER", "LOC"] });
  refused(line({ text: "Ann met Bob", spans: [{ start: 8, end: 12, label: "PER" }] }), /^f\.jsonl:3: span \[8, 12\) "PER": offsets must be whole numbers with 0 ≤ start < end ≤ 11/);
  refused(line({ text: "Ann met Bob", spans: [{ start: 4, end: 4, label: "PER" }] }), /start < end/);
  refused(line({ text: "Ann met Bob", spans: [{ start: 0, end: 3, label: "P R" }] }), /the label must be a type name without spaces/);
  refused(line({ text: "Ann\n\nBob", spans: [{ start: 0, end: 8, label: "PER" }] }), /^f\.jsonl:3: span \[0, 8\) .* crosses a blank line/);
  refused(line({ text: "Ann", spans: "PER" }), /^f\.jsonl:3: field "spans" must be a list of spans$/);
  refused(line({ text: "Ann", label: ["PER"] }), /^f\.jsonl:3: field "label": "PER" is not a span of a known shape/);
  refused(line({ data: { text: "Ann" }, annotations: [] }), /^f\.jsonl:3: this is Label Studio's full JSON export; export the project as JSON-MIN instead$/);
  refused(line({ text: 3 }), /^f\.jsonl:3: field "text" must be a string, got number$/);
  refused(`${ok}\n{"text": "x",\n`, /^f\.jsonl:2: not valid JSON/);
  refused("[1]\n", /^f\.jsonl:1: expected a JSON object per line$/);
  refused(`{"text": "Ann met Bob"}\n`, /^f\.jsonl: no record has entity spans \(expected one of the fields spans, label, entities/);
  refused("\n\n", /^f\.jsonl: empty file/);
});

test("skipBad leaves out the records with bad spans and counts them; the others are read", () => {
  const text = [
    { text: "Ann met Bob", spans: [{ start: 0, end: 3, label: "PER" }] },
    { text: "Ann met Bob", spans: [{ start: 0, end: 2, label: "PER" }, { start: 8, end: 10, label: "PER" }] },
    { text: "Bob left", spans: [{ start: 0, end: 3, label: "ORGG" }] },
  ].map((r) => JSON.stringify(r)).join("\n");
  const r = parseSpansJsonl(text, { file: "f.jsonl", types: ["PER"], skipBad: true });
  assert.deepEqual(r.sentences, [{ tokens: ["Ann", "met", "Bob"], tags: ["B-PER", "O", "O"] }]);
  assert.equal(r.skipped.records, 2);
  assert.equal(r.skipped.spans, 2, "a record is left out at its first bad span");
  assert.match(r.skipped.first!, /^f\.jsonl:2: span \[0, 2\) "PER" "An" does not fall on token boundaries/);
});

test("CoNLL → JSON lines → sentences: the same tokens, tags (IOB2) and documents; records are documents", async () => {
  const conll = await readConll(fixture("conll/conll2003-sample.txt"));
  const jsonl = formatSpansJsonl(conll);
  assert.equal(jsonl.trim().split("\n").length, 2, "one record per -DOCSTART- document");
  assert.match(jsonl, /^\{"text":"EU rejects German call to boycott British lamb \.\\n\\nPeter Blackburn","spans":\[\{"start":0,"end":2,"label":"ORG"\}/);
  const back = parseSpansJsonl(jsonl).sentences;
  assert.deepEqual(back, conll.map(({ extra: _extra, ...s }) => s), "tokens, tags and documents; the POS and chunk columns are not kept");
  assert.deepEqual(retokenized(conll), { tokens: 13, changed: 0, sentences: 0 });
  // Without -DOCSTART-: one record per sentence, and no documents when read back; BIOES tags come back in IOB2.
  const plain = parseConll("Ann S-PER\nmet O\nNew B-LOC\nYork E-LOC\n\nBob S-PER\n");
  const again = parseSpansJsonl(formatSpansJsonl(plain)).sentences;
  assert.deepEqual(again, [{ tokens: ["Ann", "met", "New", "York"], tags: ["B-PER", "O", "B-LOC", "I-LOC"] }, { tokens: ["Bob"], tags: ["B-PER"] }]);
  assert.equal(formatConll(again), "Ann B-PER\nmet O\nNew B-LOC\nYork I-LOC\n\nBob B-PER\n\n");
});

test("tokens the toolkit's tokenizer splits are counted, and their tags follow the split", () => {
  const s = parseConll("Germany O\n's O\nU.S.-based B-MISC\nfirm O\n\nup O\n+0.5 O\n");
  assert.deepEqual(retokenized(s), { tokens: 6, changed: 3, sentences: 2 });
  const back = parseSpansJsonl(formatSpansJsonl(s)).sentences;
  assert.deepEqual(back[0], { tokens: ["Germany", "'", "s", "U.S.", "-", "based", "firm"], tags: ["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"] });
});

test("lstm-ner convert: CoNLL → JSON lines → CoNLL gives the file back; a bad span is one line and exit 1, no output", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-convert-"));
  const src = path.join(dir, "in.txt");
  const text = "-DOCSTART- O\n\nEU B-ORG\nrejects O\nGerman B-MISC\ncall O\n.\tO\n\nPeter B-PER\nBlackburn I-PER\n\n-DOCSTART- O\n\nBRUSSELS B-LOC\n1996-08-22 O\n\n";
  writeFileSync(src, text);
  const j = path.join(dir, "out.jsonl");
  const a = runCli(["convert", src, "--out", j]);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stderr, /^wrote 3 sentences in 2 documents, 4 entities to .*out\.jsonl \(JSON lines, one record per document\)\nread back, every token stays as it is\n$/);
  const b = runCli(["convert", j, "--out", path.join(dir, "back.conll")]);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(readFileSync(path.join(dir, "back.conll"), "utf8"), text.replace("\t", " "));
  // doccano → spaCy's shape (JSON lines to JSON lines), gzipped.
  const c = runCli(["convert", fixture("spans/doccano.jsonl"), "--out", path.join(dir, "spacy.jsonl.gz")]);
  assert.equal(c.code, 0, c.stderr);
  const bad = path.join(dir, "bad.jsonl");
  writeFileSync(bad, `{"text": "Ann met Bob", "label": [[0, 3, "PER"]]}\n{"text": "Ann met Bob", "label": [[0, 5, "PER"]]}\n`);
  const out = path.join(dir, "bad.txt");
  const d = runCli(["convert", bad, "--out", out]);
  assert.equal(d.code, 1);
  assert.equal(d.stderr, `lstm-ner: error: ${bad}:2: span [0, 5) "PER" "Ann m" does not fall on token boundaries (the tokens there: "Ann" "met")\n`);
  assert.throws(() => readFileSync(out), /ENOENT/);
  const e = runCli(["convert", bad, "--out", out, "--skip-bad-spans"]);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stderr, /--skip-bad-spans left out 1 record \(1 bad span\); the first: .*bad\.jsonl:2: span \[0, 5\)/);
  assert.equal(readFileSync(out, "utf8"), "Ann B-PER\nmet O\nBob O\n\n");
});
