import { test } from "node:test";
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { formatConll, parseConll, readConll, writeConll } from "../src/data/conll.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { LstmNerError } from "../src/util/errors.js";
import { fixture } from "./helpers.js";

function throwsAt(fn: () => unknown, line: number | undefined, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LstmNerError, `expected LstmNerError, got ${String(err)}`);
    assert.equal(err.file, "f.txt");
    assert.equal(err.line, line);
    assert.match(err.message, message);
    return true;
  });
}

test("reads 4-column CoNLL-2003 with -DOCSTART- and no trailing blank line", async () => {
  const s = await readConll(fixture("conll/conll2003-sample.txt"));
  assert.equal(s.length, 3);
  assert.deepEqual(s[0]!.tokens, ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."]);
  assert.deepEqual(s[0]!.tags, ["B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"]);
  assert.deepEqual(s[0]!.extra![0]!.slice(0, 3), ["NNP", "VBZ", "JJ"]);
  assert.deepEqual(s[0]!.extra![1]!.slice(0, 3), ["B-NP", "B-VP", "B-NP"]);
  assert.deepEqual(s[1], { tokens: ["Peter", "Blackburn"], tags: ["B-PER", "I-PER"], extra: [["NNP", "NNP"], ["B-NP", "I-NP"]], doc: 0 });
  // The last sentence ends at end of file without a blank line.
  assert.deepEqual(s[2]!.tokens, ["BRUSSELS", "1996-08-22"]);
});

test("reads 2-column files with tabs; no extra columns", async () => {
  const s = await readConll(fixture("conll/two-col-tabs.txt"));
  assert.deepEqual(s, [
    { tokens: ["Ross", "lives"], tags: ["B-PER", "O"] },
    { tokens: ["Denmark"], tags: ["B-LOC"] },
  ]);
});

test("DOCSTART splits sentences even without a blank line; mixed separators, CRLF, BOM, repeated blanks", () => {
  const text = "\uFEFFa\t O\r\nb  B-PER\r\n-DOCSTART- O\r\nc O\r\n\r\n\r\n  \t\r\nd I-LOC\r\n";
  const s = parseConll(text);
  assert.deepEqual(s, [
    { tokens: ["a", "b"], tags: ["O", "B-PER"], doc: 0 },
    { tokens: ["c"], tags: ["O"], doc: 1 },
    { tokens: ["d"], tags: ["I-LOC"], doc: 1 },
  ]);
});

test("-DOCSTART- numbers documents in order (empty ones skipped); formatConll writes the markers back", () => {
  const text = "-DOCSTART- O\n\na O\n\nb O\n\n-DOCSTART- O\n\n-DOCSTART- O\n\nc B-LOC\n\n";
  const s = parseConll(text);
  assert.deepEqual(s.map((x) => x.doc), [0, 0, 1]);
  assert.equal(formatConll(s), "-DOCSTART- O\n\na O\n\nb O\n\n-DOCSTART- O\n\nc B-LOC\n\n");
  assert.deepEqual(parseConll(formatConll(s)), s);
  assert.equal(formatConll([{ tokens: ["x"], tags: ["O"], extra: [["NN"]], doc: 4 }]), "-DOCSTART- -X- O\n\nx NN O\n\n");
  assert.equal(parseConll("a O\n\nb O\n")[0]!.doc, undefined, "no markers, no document ids");
});

test("round-trips 4-column and 2-column files byte for byte", async () => {
  for (const name of ["conll/four-col.txt", "conll/two-col.txt"]) {
    const text = await fs.readFile(fixture(name), "utf8");
    assert.equal(formatConll(parseConll(text)), text, name);
  }
});

test("format then parse gives back the sentences; DOCSTART file normalises", async () => {
  const s = await readConll(fixture("conll/conll2003-sample.txt"));
  assert.deepEqual(parseConll(formatConll(s)), s);
});

test("formatConll appends a predicted column", () => {
  const s = [{ tokens: ["Ross", "left"], tags: ["B-PER", "O"] }, { tokens: ["Paris"], tags: ["B-LOC"] }];
  const text = formatConll(s, { predicted: [["B-PER", "B-LOC"], ["O"]] });
  assert.equal(text, "Ross B-PER B-PER\nleft O B-LOC\n\nParis B-LOC O\n\n");
});

test("formatConll rejects mismatched lengths and unwritable tokens", () => {
  const s = [{ tokens: ["a", "b"], tags: ["O", "O"] }];
  assert.throws(() => formatConll(s, { predicted: [["O"]] }), /sentence 0.*2 tokens but 1 predicted/);
  assert.throws(() => formatConll(s, { predicted: [] }), /predicted has 0 sentences but there are 1/);
  assert.throws(() => formatConll([{ tokens: ["a b"], tags: ["O"] }]), LstmNerError);
  assert.throws(() => formatConll([{ tokens: ["a"], tags: ["O", "O"] }]), /1 tokens but 2 tags/);
});

test("errors name file and line", () => {
  throwsAt(() => parseConll("a O\nlonely\n", { file: "f.txt" }), 2, /at least 2 columns.*found 1/);
  throwsAt(() => parseConll("a X B-NP O\n\nb O\n", { file: "f.txt" }), 3, /expected 4 columns \(as on line 1\), found 2/);
  throwsAt(() => parseConll("a O\nb PER\n", { file: "f.txt" }), 2, /invalid tag 'PER'/);
  throwsAt(() => parseConll("a O\nb B-\n", { file: "f.txt" }), 2, /invalid tag 'B-'/);
  throwsAt(() => parseConll("a O\n\nb B-FOO\n", { file: "f.txt", labels: CONLL_LABELS }), 3, /unknown tag 'B-FOO' \(known: O, B-PER, I-PER/);
  throwsAt(() => parseConll("", { file: "f.txt" }), undefined, /empty file/);
  throwsAt(() => parseConll("-DOCSTART- -X- -X- O\n\n\n", { file: "f.txt" }), undefined, /no sentences/);
});

test("the message of an error starts with file:line", () => {
  assert.throws(() => parseConll("a O\nb PER\n", { file: "data/x.txt" }), { message: /^data\/x\.txt:2: invalid tag/ });
});

test("readConll reads .gz, reports missing files, writeConll writes atomically (also .gz)", async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "lstm-ner-conll-"));
  try {
    const text = await fs.readFile(fixture("conll/four-col.txt"));
    const gz = path.join(dir, "x.txt.gz");
    await fs.writeFile(gz, gzipSync(text));
    const s = await readConll(gz);
    assert.equal(s.length, 3);

    const out = path.join(dir, "sub", "out.txt");
    await writeConll(out, s);
    assert.equal(await fs.readFile(out, "utf8"), text.toString("utf8"));
    const outGz = path.join(dir, "out.txt.gz");
    await writeConll(outGz, s, { predicted: s.map((x) => x.tags) });
    const back = await readConll(outGz);
    assert.deepEqual(back[0]!.extra!.length, 3, "gold tag becomes an extra column when a prediction is appended");
    assert.deepEqual(back[0]!.tags, s[0]!.tags);
    assert.deepEqual((await fs.readdir(dir)).sort(), ["out.txt.gz", "sub", "x.txt.gz"]);

    const missing = path.join(dir, "nope.txt");
    await assert.rejects(readConll(missing), (err: unknown) => err instanceof LstmNerError && err.file === missing && /cannot read/.test(err.message));
    await fs.writeFile(path.join(dir, "bad.gz"), "not gzip");
    await assert.rejects(readConll(path.join(dir, "bad.gz")), /not a valid gzip file/);
    // Errors inside a file name that file.
    await fs.writeFile(path.join(dir, "bad.txt"), "a O\nb\n");
    await assert.rejects(readConll(path.join(dir, "bad.txt")), { message: new RegExp(`bad\\.txt:2: `) });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
