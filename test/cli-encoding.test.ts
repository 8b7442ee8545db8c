import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { toyModel } from "./pipeline-helpers.js";
import { toyConll } from "./toy-corpus.js";
import { runCli, type CliRun } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-encoding-"));

const cli = (args: string[], input?: Buffer): CliRun => runCli(args, { input, home: path.join(dir, "home") });

/** The toy corpus with one token made Latin-1 (`Zoë` → bytes 5a 6f eb), plus where that byte is. */
function latin1Conll(): { bytes: Buffer; offset: number; line: number } {
  const text = toyConll(30, 3);
  const lines = text.split("\n");
  const k = lines.findIndex((l) => / O$/.test(l) && !l.startsWith("-DOCSTART-"));
  lines[k] = "Zoë" + lines[k]!.slice(lines[k]!.indexOf(" "));
  const bytes = Buffer.from(lines.join("\n"), "latin1");
  return { bytes, offset: bytes.indexOf(0xeb), line: k + 1 };
}

test("train, evaluate and predict refuse Latin-1 input in one line naming file, line and byte offset; --encoding latin1 reads it", async () => {
  const { file: model } = await toyModel();
  const { bytes, offset, line } = latin1Conll();
  const data = path.join(dir, "latin1.conll");
  writeFileSync(data, bytes);
  const expected = `lstm-ner: error: ${data}:${line}: not valid UTF-8: byte 0xeb at byte offset ${offset}; convert the file to UTF-8, or read it with encoding latin1 if it is Latin-1\n`;

  const tr = cli(["train", "--train", data, "--embeddings", "/nonexistent", "--no-progress"]);
  assert.equal(tr.code, 1);
  assert.equal(tr.stderr, expected);

  const ev = cli(["evaluate", "--model", model, "--data", data, "--json"]);
  assert.equal(ev.code, 1);
  assert.equal(ev.stderr, expected);
  assert.equal(ev.stdout, "");
  const ok = cli(["evaluate", "--model", model, "--data", data, "--json", "--encoding", "latin1"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(Number.isFinite((JSON.parse(ok.stdout) as { f1: number }).f1));

  const pr = cli(["predict", "--model", model, "--input-format", "conll"], bytes);
  assert.equal(pr.code, 1);
  assert.equal(pr.stderr, expected.replace(data, "<stdin>"));
  const pf = cli(["predict", "--model", model, "--input-format", "conll", "--input", data, "--encoding", "latin1"]);
  assert.equal(pf.code, 0, pf.stderr);
  assert.match(pf.stdout, /^Zoë( \S+){4}$/m);

  const bad = cli(["predict", "--model", model, "--encoding", "cp1252", "x"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /argument 'cp1252' is invalid\. Allowed choices are utf8, latin1/);
});

test("UTF-16 text (no BOM: valid UTF-8 byte for byte) is refused in one line naming file, line and offset, not tagged as garbage", async () => {
  const { file: model } = await toyModel();
  const input = path.join(dir, "utf16.txt");
  writeFileSync(input, Buffer.from("John Smith lives in London .\n", "utf16le"));
  for (const extra of [[], ["--encoding", "latin1"], ["--workers", "1"]]) {
    const r = cli(["predict", "--model", model, "--input", input, ...extra]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `lstm-ner: error: ${input}:1: a NUL byte at byte offset 1: this is not a text file (or it is UTF-16; convert it to UTF-8)\n`);
    assert.equal(r.stdout, "");
  }
  const conll = path.join(dir, "utf16.conll");
  writeFileSync(conll, Buffer.from(toyConll(5, 1), "utf16le"));
  const tr = cli(["train", "--train", conll, "--embeddings", "/nonexistent", "--no-progress"]);
  assert.equal(tr.code, 1);
  assert.match(tr.stderr, /^lstm-ner: error: .*utf16\.conll:1: a NUL byte at byte offset 1: /);
});
