/**
 * `predict` as a careful user runs it (issue 8): outputs are never lost or
 * half-written, errors name the right file, and odd-but-valid input (lone
 * "\r", a BOM, -DOCSTART-) lines up with the output. Real processes, real files.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, symlinkSync, existsSync, linkSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CLI, toyModel, TOY_TEXT } from "./pipeline-helpers.js";
import { toyConll } from "./toy-corpus.js";
import { score } from "../src/eval/conlleval.js";
import { runCli, type CliRun } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-predict-out-"));

const cli = (args: string[], input?: string): CliRun => runCli(args, { input, home: path.join(dir, "home") });

const tmpLeft = (d: string): string[] => readdirSync(d).filter((f) => f.endsWith(".tmp"));

test("--output is replaced only on success: a missing or broken input leaves an existing output as it was", async () => {
  const { file } = await toyModel();
  const d = mkdtempSync(path.join(dir, "atomic-"));
  const out = path.join(d, "out.conll");
  writeFileSync(out, "precious\n");
  const missing = cli(["predict", "--model", file, "--input", path.join(d, "absent.txt"), "--output", out]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^lstm-ner: error: .*absent\.txt: cannot read input \(ENOENT\)\n$/);
  assert.equal(readFileSync(out, "utf8"), "precious\n");

  // Fails after output has been written: many good lines, then a gzip stream cut short.
  const good = gzipSync(Array.from({ length: 3000 }, (_, i) => `${TOY_TEXT} ${i}`).join("\n") + "\n");
  const broken = path.join(d, "broken.txt.gz");
  writeFileSync(broken, good.subarray(0, good.length - 20));
  const b = cli(["predict", "--model", file, "--input", broken, "--output", out, "--workers", "2"]);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /^lstm-ner: error: .*broken\.txt\.gz: truncated or corrupt gzip data after line \d+ \(unexpected end of file\)\n$/);
  assert.equal(b.stderr.trim().split("\n").length, 1);
  assert.equal(readFileSync(out, "utf8"), "precious\n");
  assert.deepEqual(tmpLeft(d), []);

  const input = path.join(d, "in.txt");
  writeFileSync(input, `${TOY_TEXT}\n`);
  // A temporary left by a killed run (a pid that is not running) is cleaned up by the next run.
  writeFileSync(`${out}.999999999.1700000000000.0.tmp`, "half an output");
  const ok = cli(["predict", "--model", file, "--input", input, "--output", out]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(readFileSync(out, "utf8"), /^John B-PER\nSmith I-PER\n/);
  assert.deepEqual(tmpLeft(d), []);
});

test("Ctrl-C (SIGINT) or SIGTERM mid-run removes the temporary output and leaves an existing one as it was", async () => {
  const { file } = await toyModel();
  const d = mkdtempSync(path.join(dir, "sigint-"));
  const input = path.join(d, "in.txt");
  writeFileSync(input, Array.from({ length: 200_000 }, (_, i) => `${TOY_TEXT} ${i}`).join("\n"));
  const out = path.join(d, "out.conll");
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    writeFileSync(out, "precious\n");
    const p = spawn(process.execPath, [CLI, "predict", "--model", file, "--input", input, "--output", out, "--workers", "1"], { stdio: "ignore" });
    const exit = new Promise<number | null>((r) => p.once("exit", (code) => r(code)));
    while (tmpLeft(d).length === 0) await new Promise((r) => setTimeout(r, 50)); // writing has started
    p.kill(sig);
    assert.equal(await exit, sig === "SIGINT" ? 130 : 143);
    assert.equal(readFileSync(out, "utf8"), "precious\n");
    assert.deepEqual(tmpLeft(d), []);
  }
});

test("--output equal to --input is refused, by path or through a symlink, and the input is kept", async () => {
  const { file } = await toyModel();
  const d = mkdtempSync(path.join(dir, "same-"));
  const input = path.join(d, "in.txt");
  writeFileSync(input, `${TOY_TEXT}\n`);
  symlinkSync(input, path.join(d, "link.txt"));
  for (const out of [input, path.join(d, "..", path.basename(d), "in.txt"), path.join(d, "link.txt")]) {
    const r = cli(["predict", "--model", file, "--input", input, "--output", out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^lstm-ner: error: .*: the output is the input file; write to another file\n$/);
    assert.equal(readFileSync(input, "utf8"), `${TOY_TEXT}\n`);
  }
});

test("--output equal to --model is refused, by path or through a hard link, and the model is kept", async () => {
  const { file } = await toyModel();
  const d = mkdtempSync(path.join(dir, "model-out-"));
  const model = path.join(d, "m.safetensors");
  writeFileSync(model, readFileSync(file));
  linkSync(model, path.join(d, "hard.safetensors"));
  const before = readFileSync(model);
  for (const out of [model, path.join(d, "hard.safetensors")]) {
    const r = cli(["predict", "--model", model, "--output", out, TOY_TEXT]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^lstm-ner: error: .*: --output is the --model file, which would be overwritten; write to another file\n$/);
    assert.deepEqual(readFileSync(model), before);
  }
  assert.deepEqual(tmpLeft(d), []);
});

test("a full disk or an unwritable output is reported with the output's name, not the input's", async () => {
  const { file } = await toyModel();
  const d = mkdtempSync(path.join(dir, "full-"));
  const input = path.join(d, "in.txt");
  writeFileSync(input, Array.from({ length: 500 }, () => TOY_TEXT).join("\n"));
  // /dev/full: every write fails with ENOSPC, as on a full disk.
  const full = cli(["predict", "--model", file, "--input", input, "--output", "/dev/full"]);
  assert.equal(full.code, 1);
  assert.equal(full.stderr, "lstm-ner: error: /dev/full: cannot write output (ENOSPC)\n");
  const noDir = path.join(d, "no", "such", "dir", "out.conll");
  const nd = cli(["predict", "--model", file, "--input", input, "--output", noDir]);
  assert.equal(nd.code, 1);
  assert.equal(nd.stderr, `lstm-ner: error: ${noDir}: cannot write output (ENOENT)\n`);
  const isDir = cli(["predict", "--model", file, "--input", input, "--output", d]);
  assert.equal(isDir.code, 1);
  assert.equal(isDir.stderr, `lstm-ner: error: ${d}: cannot write output (EISDIR)\n`);
});

test("a lone \\r inside a text line does not split it: one doc per input line", async () => {
  const { file } = await toyModel();
  const input = path.join(dir, "cr.txt");
  writeFileSync(input, "Anna lives\rin Paris.\r\nJohn Smith works for Microsoft.\nReuters hired\r\rPeter Jones.\n");
  const r = cli(["predict", "--model", file, "--input", input, "--format", "jsonl"]);
  assert.equal(r.code, 0, r.stderr);
  const docs = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { text: string; ents: { text: string; label: string }[] });
  assert.deepEqual(docs.map((d) => d.text), ["Anna lives\rin Paris.", "John Smith works for Microsoft.", "Reuters hired\r\rPeter Jones."]);
  assert.deepEqual(docs[2]!.ents.map((e) => `${e.text}/${e.label}`), ["Reuters/ORG", "Peter Jones/PER"]);
});

test("CoNLL output: a BOM before -DOCSTART- is dropped, -DOCSTART- gets the predicted column, conlleval's column rule holds", async () => {
  const { file } = await toyModel();
  const input = path.join(dir, "bom.conll");
  const text = toyConll(12, 4);
  writeFileSync(input, "\ufeff" + text.replace(/\n/g, "\r\n")); // a Windows-made file
  const r = cli(["predict", "--model", file, "--input", input, "--input-format", "conll", "--workers", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes("\ufeff"));
  const inLines = text.trimEnd().split("\n");
  const outLines = r.stdout.trimEnd().split("\n");
  assert.equal(outLines.length, inLines.length);
  assert.equal(outLines[0], "-DOCSTART- -X- -X- O O");
  // conlleval: every non-empty line has the same number of columns, the last two are gold and guess.
  const widths = new Set(outLines.filter((l) => l !== "").map((l) => l.split(" ").length));
  assert.deepEqual([...widths], [5]);
  const sents = r.stdout.split(/\n\n+/).map((b) => b.split("\n").filter((l) => l !== "" && !l.startsWith("-DOCSTART-")).map((l) => l.split(" "))).filter((s) => s.length > 0);
  const s = score(sents.map((t) => t.map((c) => c[3]!)), sents.map((t) => t.map((c) => c[4]!)));
  assert.equal(sents.length, 12);
  assert.ok(s.f1 > 80, `toy F1 ${s.f1}`);
  // JSON output of the same file: the BOM did not become part of a token.
  const j = cli(["predict", "--model", file, "--input", input, "--input-format", "conll", "--format", "jsonl"]);
  assert.equal(j.stdout.trimEnd().split("\n").length, 12);
  assert.ok(!j.stdout.includes("DOCSTART") && !j.stdout.includes("\\ufeff"));
});

test("predict | head: exits quietly with status 0 when the reader goes away", async () => {
  const { file } = await toyModel();
  const input = path.join(dir, "long.txt");
  writeFileSync(input, Array.from({ length: 20_000 }, (_, i) => `${TOY_TEXT} ${i}`).join("\n"));
  for (const workers of ["1", "2"]) {
    const r = spawnSync("bash", ["-c", `"${process.execPath}" "${CLI}" predict --model "${file}" --input "${input}" --workers ${workers} | head -n 3; echo "status \${PIPESTATUS[0]}" >&2`], { encoding: "utf8" });
    assert.equal(r.stdout, "John B-PER\nSmith I-PER\nlives O\n");
    assert.equal(r.stderr, "status 0\n");
  }
  assert.ok(existsSync(input));
});
