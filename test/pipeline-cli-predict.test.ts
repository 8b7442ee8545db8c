import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Doc } from "../src/pipeline/doc.js";
import { toyModel, TOY_TEXT } from "./pipeline-helpers.js";
import { toyConll } from "./toy-corpus.js";
import { runCli, type CliRun } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-predict-"));

const cli = (args: string[], input?: string): CliRun => runCli(args, { input, home: path.join(dir, "home") });

const ents = (d: Doc): string[] => d.ents.map((e) => `${e.text}/${e.label}`);

test("texts from arguments → JSON lines, one Doc per text", async () => {
  const { file } = await toyModel();
  const r = cli(["predict", "--model", file, "--format", "jsonl", TOY_TEXT, "Anna lives in Paris. Reuters hired Peter Jones."]);
  assert.equal(r.code, 0, r.stderr);
  const docs = r.stdout.trimEnd().split("\n").map((l) => Doc.fromJSON(l));
  assert.equal(docs.length, 2);
  assert.equal(docs[0]!.text, TOY_TEXT);
  assert.deepEqual(ents(docs[0]!), ["John Smith/PER", "London/LOC", "Microsoft/ORG"]);
  assert.deepEqual(ents(docs[1]!), ["Anna/PER", "Paris/LOC", "Reuters/ORG", "Peter Jones/PER"]);
  assert.equal(docs[1]!.sents.length, 2);
});

test("stdin → CoNLL, one block per sentence; a file of many lines streams through in order", async () => {
  const { file } = await toyModel();
  const r = cli(["predict", "--model", file], "Anna lives in Paris. Reuters hired Peter Jones.\n\nit was a good year for Clinton.\n");
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, [
    "Anna B-PER\nlives O\nin O\nParis B-LOC\n. O\n",
    "Reuters B-ORG\nhired O\nPeter B-PER\nJones I-PER\n. O\n",
    "it O\nwas O\na O\ngood O\nyear O\nfor O\nClinton B-PER\n. O\n",
  ].join("\n") + "\n");

  // More lines than one group (256), so several groups go through; order and count are kept.
  const input = path.join(dir, "many.txt");
  const lines = Array.from({ length: 600 }, (_, i) => (i % 3 === 0 ? `Anna lives in Paris ${i}.` : `Microsoft hired Peter Jones ${i}.`));
  writeFileSync(input, lines.join("\n") + "\n");
  const out = path.join(dir, "many.jsonl");
  const m = cli(["predict", "--model", file, "--input", input, "--format", "jsonl", "--output", out]);
  assert.equal(m.code, 0, m.stderr);
  assert.equal(m.stdout, "");
  const docs = readFileSync(out, "utf8").trimEnd().split("\n").map((l) => Doc.fromJSON(l));
  assert.deepEqual(docs.map((d) => d.text), lines);
  assert.deepEqual(ents(docs[599]!), ["Microsoft/ORG", "Peter Jones/PER"]);
});

test("CoNLL input: echoed with the tag appended, -DOCSTART- kept; or as Doc JSON", async () => {
  const { file } = await toyModel();
  const conll = path.join(dir, "dev.txt");
  writeFileSync(conll, toyConll(5, 9));
  const r = cli(["predict", "--model", file, "--input", conll, "--input-format", "conll"]);
  assert.equal(r.code, 0, r.stderr);
  const inLines = readFileSync(conll, "utf8").trimEnd().split("\n");
  const outLines = r.stdout.trimEnd().split("\n");
  assert.equal(outLines.length, inLines.length);
  assert.equal(outLines[0], `${inLines[0]} O`);
  let right = 0;
  let total = 0;
  inLines.forEach((l, i) => {
    if (l === "" || l.startsWith("-DOCSTART-")) return;
    const cols = outLines[i]!.split(" ");
    assert.equal(cols.slice(0, 4).join(" "), l);
    total++;
    if (cols[4] === cols[3]) right++;
  });
  assert.ok(right / total > 0.9, `toy accuracy ${right}/${total}`);
  const j = cli(["predict", "--model", file, "--input", conll, "--input-format", "conll", "--format", "jsonl"]);
  const docs = j.stdout.trimEnd().split("\n").map((l) => Doc.fromJSON(l));
  assert.equal(docs.length, 5);
  assert.equal(docs[0]!.tokens.length, inLines.slice(2).indexOf(""));
});

test("--format html: a displaCy-style page with escaped text", async () => {
  const { file } = await toyModel();
  const r = cli(["predict", "--model", file, "--format", "html"], `${TOY_TEXT}\n<script>alert("x")</script> Anna & Peter Jones\n`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^<!DOCTYPE html>/);
  assert.ok(r.stdout.endsWith("</html>\n"));
  assert.equal(r.stdout.match(/<figure/g)!.length, 2);
  const first = r.stdout.split("</figure>")[0]!;
  const labels = [...first.matchAll(/<mark class="entity" data-label="(\w+)"[^>]*>([^<]*)</g)].map((m) => `${m[2]}/${m[1]}`);
  assert.deepEqual(labels, ["John Smith/PER", "London/LOC", "Microsoft/ORG"]);
  assert.ok(!r.stdout.includes("<script>") && r.stdout.includes("&lt;script&gt;"));
});

test("bad model, input or arguments: one clear error line and exit 1", async () => {
  const { file } = await toyModel();
  const missing = cli(["predict", "--model", path.join(dir, "nope.safetensors"), "x"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^lstm-ner: error: .*nope\.safetensors/);
  assert.equal(missing.stderr.trim().split("\n").length, 1);
  const corrupt = path.join(dir, "corrupt.safetensors");
  writeFileSync(corrupt, readFileSync(file).subarray(0, 200));
  const c = cli(["predict", "--model", corrupt, "x"]);
  assert.equal(c.code, 1);
  assert.match(c.stderr, /^lstm-ner: error: .*corrupt\.safetensors/);
  const noInput = cli(["predict", "--model", file, "--input", path.join(dir, "absent.txt")]);
  assert.equal(noInput.code, 1);
  assert.match(noInput.stderr, /^lstm-ner: error: .*absent\.txt.*cannot read input/);
  const both = cli(["predict", "--model", file, "--input", path.join(dir, "absent.txt"), "text"]);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /give texts as arguments or --input, not both/);
});
