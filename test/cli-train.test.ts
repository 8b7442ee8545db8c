import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { writeToyData } from "./toy-corpus.js";
import { runCli, type CliRun } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-cli-"));
const { trainFile, devFile, glove } = writeToyData(dir, 240, "toy.glove.txt");
const toyGloveStart = readFileSync(glove, "utf8").slice(0, 40);

const cli = (...args: string[]): CliRun => runCli(args, { home: path.join(dir, "home") });

function trainArgs(out: string, log: string, seed = 7): string[] {
  return ["train", "--train", trainFile, "--dev", devFile, "--embeddings", glove, "--epochs", "6", "--hidden", "16",
    "--batch-size", "8", "--lr", "0.02", "--seed", String(seed), "--out", out, "--log", log, "--no-progress"];
}

interface LogLine { epoch: number; loss: number; train_tokens_per_s: number; dev_f1: number; best: boolean }
const readLog = (f: string): LogLine[] => readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l) as LogLine);

test("train → evaluate → predict on a toy corpus: it learns, and the saved model scores as at the end of training", () => {
  const model = path.join(dir, "m.safetensors");
  const log = path.join(dir, "log.jsonl");
  const r = cli(...trainArgs(model, log));
  assert.equal(r.code, 0, r.stderr);
  const lines = readLog(log);
  assert.equal(lines.length, 6);
  for (const l of lines) assert.ok(l.train_tokens_per_s > 0 && Number.isFinite(l.loss));
  assert.ok(lines[5]!.loss < lines[0]!.loss * 0.5, `loss should fall: ${lines.map((l) => l.loss)}`);
  const best = Math.max(...lines.map((l) => l.dev_f1));
  assert.ok(best > lines[0]!.dev_f1, "dev F1 should rise");
  assert.ok(best > 80, `the toy task is easy: best dev F1 ${best}`);

  const ev = cli("evaluate", "--model", model, "--data", devFile, "--json");
  assert.equal(ev.code, 0, ev.stderr);
  const score = JSON.parse(ev.stdout) as { f1: number; precision: number; recall: number; per_type: Record<string, { f1: number }> };
  assert.equal(score.f1, best, "the saved model is the best epoch and scores the same");
  assert.ok("PER" in score.per_type && "LOC" in score.per_type);

  const table = cli("evaluate", "--model", model, "--data", devFile);
  assert.match(table.stdout, /^processed \d+ tokens with \d+ phrases; found: \d+ phrases; correct: \d+\.\n/);
  assert.match(table.stdout, /FB1: +\d+\.\d\d/);

  const pr = cli("predict", "--model", model, "--format", "jsonl", "John Smith lives in London and works for Microsoft .");
  assert.equal(pr.code, 0, pr.stderr);
  const doc = JSON.parse(pr.stdout.trim()) as { tokens: { text: string; tag: string }[]; ents: { text: string; label: string }[] };
  assert.equal(doc.tokens.length, 10);
  assert.deepEqual(doc.ents.map((e) => [e.text, e.label]), [["John Smith", "PER"], ["London", "LOC"], ["Microsoft", "ORG"]]);

  const conll = cli("predict", "--model", model, "--input", devFile, "--input-format", "conll", "--format", "conll");
  assert.equal(conll.code, 0, conll.stderr);
  const first = conll.stdout.split("\n").find((l) => l.trim() !== "" && !l.startsWith("-DOCSTART-"))!;
  assert.equal(first.split(" ").length, 5, "CoNLL input lines are echoed with the predicted tag appended");
});

test("the same seed gives the same run; another seed a different one", () => {
  const run = (seed: number, tag: string): LogLine[] => {
    const log = path.join(dir, `seed-${tag}.jsonl`);
    const r = cli(...trainArgs(path.join(dir, `seed-${tag}.safetensors`), log, seed).map((a) => (a === "6" ? "2" : a)));
    assert.equal(r.code, 0, r.stderr);
    return readLog(log);
  };
  const a = run(11, "a");
  const b = run(11, "b");
  const c = run(12, "c");
  assert.deepEqual(a.map((l) => [l.loss, l.dev_f1]), b.map((l) => [l.loss, l.dev_f1]));
  assert.notDeepEqual(a.map((l) => l.loss), c.map((l) => l.loss));
});

test("bad input: one clear line naming the file and line, non-zero exit, no stack trace, no model left behind", () => {
  const bad = path.join(dir, "bad.txt");
  writeFileSync(bad, "EU NNP B-NP B-ORG\nrejects VBZ B-VP\n");
  const out = path.join(dir, "never.safetensors");
  const r = cli("train", "--train", bad, "--embeddings", glove, "--epochs", "1", "--out", out, "--no-progress");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.txt:2: /);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  assert.ok(!existsSync(out));

  const corrupt = path.join(dir, "corrupt.safetensors");
  writeFileSync(corrupt, Buffer.from("this is not a model file at all"));
  const e = cli("evaluate", "--model", corrupt, "--data", devFile);
  assert.equal(e.code, 1);
  assert.match(e.stderr, /corrupt\.safetensors: not a valid model file/);

  const missing = cli("evaluate", "--model", path.join(dir, "nope.safetensors"), "--data", devFile);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope\.safetensors: cannot read model file \(ENOENT\)/);

  const vec = path.join(dir, "short.txt");
  writeFileSync(vec, "london 0.1 0.2 0.3\nparis 0.1 0.2\n");
  const v = cli("train", "--train", trainFile, "--embeddings", vec, "--epochs", "1", "--no-progress", "--out", out);
  assert.equal(v.code, 1);
  assert.match(v.stderr, /short\.txt:2: /);
  assert.ok(!readdirSync(dir).some((f) => f.endsWith(".tmp")), "no temporary files left behind");

  const typo = cli("train", "--preset", "accurate", "--set", "optimizer=sdg", "--train", trainFile, "--embeddings", glove, "--no-progress", "--out", out);
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /^lstm-ner: error: --set optimizer=sdg: optimizer must be one of adam, sgd, got "sdg"\n$/);
  assert.ok(!existsSync(out));

  // An option the architecture would ignore is refused, not silently dropped.
  const uni = cli("train", "--preset", "accurate", "--unidirectional", "--train", trainFile, "--embeddings", glove, "--no-progress", "--out", out);
  assert.equal(uni.code, 1);
  assert.match(uni.stderr, /^lstm-ner: error: recipe: bidirectional=false \(--unidirectional\) does not apply to the feature architecture, which is always a BiLSTM; [^\n]*\n$/);
  assert.ok(!existsSync(out));
});

test("usage errors (bad choice, unknown option, missing option or argument) are one line, not the help text", () => {
  for (const [args, msg] of [
    [["train", "--batching", "shuffled"], /^lstm-ner: error: option '--batching <kind>' argument 'shuffled' is invalid\. Allowed choices are plain, bucket\. \(see --help\)\n$/],
    [["train", "--epoch", "3"], /^lstm-ner: error: unknown option '--epoch' \(Did you mean --epochs\?\) \(see --help\)\n$/],
    [["predict", "some text"], /^lstm-ner: error: required option '--model <file\|name>' not specified \(see --help\)\n$/],
    [["report", "--out", "x.html"], /^lstm-ner: error: missing required argument 'log' \(see --help\)\n$/],
  ] as const) {
    const r = cli(...args);
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.stderr, msg);
    assert.equal(r.stdout, "");
  }
});

test("train refuses an output (--report, --log, --out) that is an input or another output, before touching anything", () => {
  const d = mkdtempSync(path.join(dir, "same-"));
  const dev = path.join(d, "dev.txt");
  writeFileSync(dev, readFileSync(devFile));
  const devBytes = readFileSync(dev);
  const out = path.join(d, "m.safetensors");
  const base = ["train", "--train", trainFile, "--dev", dev, "--embeddings", glove, "--epochs", "1", "--hidden", "8", "--no-progress"];
  for (const [args, msg] of [
    [["--out", out, "--report", path.join(d, ".", "dev.txt")], /: --report is the --dev file, which would be overwritten; write to another file\n$/],
    [["--out", out, "--log", dev], /: --log is the --dev file, which would be overwritten/],
    [["--out", out, "--log", out], /m\.safetensors: --log is the --out file, which would be overwritten/],
    [["--out", glove, "--overwrite"], /toy\.glove\.txt: --out is the --embeddings file, which would be overwritten/],
  ] as const) {
    const r = cli(...base, ...args);
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.stderr, /^lstm-ner: error: /);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  assert.deepEqual(readFileSync(dev), devBytes, "the dev set is untouched");
  assert.ok(readFileSync(glove, "utf8").startsWith(toyGloveStart), "the vectors are untouched");
  assert.deepEqual(readdirSync(d).sort(), ["dev.txt"], "no model, report, log, lock or temporary file");
});

test("--seed outside the generator's 32 bits and a --hidden too big to allocate are refused in one line, before any output", () => {
  const out = path.join(dir, "range.safetensors");
  for (const [args, msg] of [
    [["--seed", "-1"], "--seed must be a whole number from 0 to 4294967295, got -1"],
    [["--seed", "4294967296"], "--seed must be a whole number from 0 to 4294967295, got 4294967296"],
    [["--hidden", "1000000000"], "--hidden must be at most 4096, got 1000000000"],
    [["--preset", "accurate", "--set", "hidden=5000"], "--set hidden must be at most 4096, got 5000"],
  ] as const) {
    const r = cli("train", "--train", trainFile, "--embeddings", glove, "--epochs", "1", "--no-progress", "--no-report", "--out", out, ...args);
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(r.stderr, `lstm-ner: error: ${msg}\n`);
    assert.ok(!existsSync(out));
  }
});

test("control characters from the input (a newline in a file name or --set value, an escape in a tag) are shown escaped: still one line", () => {
  const esc = path.join(dir, "esc.txt");
  writeFileSync(esc, "EU B-ORG\nx O\x1b[2J\n");
  for (const [args, expected] of [
    [["train", "--set", "optimizer=a\nb", "--train", trainFile, "--embeddings", glove, "--no-progress", "--out", path.join(dir, "nl.safetensors")],
      'lstm-ner: error: --set optimizer=a\\nb: optimizer must be one of adam, sgd, got "a\\nb"\n'],
    [["train", "--train", esc, "--embeddings", glove, "--no-progress", "--out", path.join(dir, "esc.safetensors")],
      `lstm-ner: error: ${esc}:2: invalid tag 'O\\u001b[2J' (expected O or B-/I-/E-/S- followed by a type)\n`],
    [["train", "--train", path.join(dir, "no\nsuch.txt"), "--embeddings", glove, "--no-progress", "--out", path.join(dir, "nf.safetensors")],
      `lstm-ner: error: ${dir}/no\\nsuch.txt: cannot read file (ENOENT: no such file or directory, open '${dir}/no\\nsuch.txt')\n`],
  ] as const) {
    const r = cli(...args);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, expected);
  }
});

test("an entity type named __proto__ is a type like any other: in evaluate --json, the training log and the report", () => {
  const d = mkdtempSync(path.join(tmpdir(), "lstm-ner-proto-"));
  const rename = (f: string): string => {
    const to = path.join(d, path.basename(f));
    writeFileSync(to, readFileSync(f, "utf8").replace(/-LOC$/gm, "-__proto__"));
    return to;
  };
  const [train, dev] = [rename(trainFile), rename(devFile)];
  const model = path.join(d, "m.safetensors");
  const log = path.join(d, "log.jsonl");
  const r = cli("train", "--train", train, "--dev", dev, "--embeddings", glove, "--epochs", "2", "--hidden", "8", "--batch-size", "8",
    "--out", model, "--log", log, "--no-progress");
  assert.equal(r.code, 0, r.stderr);
  const ev = cli("evaluate", "--model", model, "--data", dev, "--json");
  assert.equal(ev.code, 0, ev.stderr);
  const perType = (JSON.parse(ev.stdout) as { per_type: Record<string, { support: number }> }).per_type;
  assert.ok(Object.hasOwn(perType, "__proto__"), `evaluate --json: ${ev.stdout}`);
  assert.equal(perType["__proto__"]!.support, readFileSync(dev, "utf8").split("\n").filter((l) => l.endsWith("B-__proto__")).length);
  const last = JSON.parse(readFileSync(log, "utf8").trim().split("\n").at(-1)!) as { dev_per_type: object; dev_confusion: Record<string, object> };
  assert.ok(Object.hasOwn(last.dev_per_type, "__proto__"), "the log's per-type figures");
  assert.ok(Object.hasOwn(last.dev_confusion, "__proto__"), "the log's confusion rows");
  assert.match(readFileSync(path.join(d, "m.report.html"), "utf8"), /<tr><th>__proto__<\/th><td>/);
});
