import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { toyConll, toyGlove } from "./toy-corpus.js";

const here = path.dirname(fileURLToPath(import.meta.url));

test("the library example (examples/classroom.ts) runs end to end and learns", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-example-"));
  writeFileSync(path.join(dir, "toy_train.txt"), toyConll(1200, 1));
  writeFileSync(path.join(dir, "toy_dev.txt"), toyConll(100, 2));
  writeFileSync(path.join(dir, "vectors.txt"), toyGlove(10, 3));
  const out = path.join(dir, "classroom.safetensors");
  const r = spawnSync(process.execPath, [path.resolve(here, "../examples/classroom.js"), dir, path.join(dir, "vectors.txt"), "3", out],
    { encoding: "utf8", env: { ...process.env, LSTM_NER_HOME: path.join(dir, "home") } });
  assert.equal(r.status, 0, r.stderr);
  const f1s = [...r.stdout.matchAll(/FB1: +(\d+\.\d\d)\n/g)].map((m) => Number(m[1]));
  assert.equal(f1s.length, 3, r.stdout);
  assert.ok(f1s[2]! > f1s[0]!, `dev F1 should rise over epochs: ${f1s}`);
  assert.ok(existsSync(out));
  assert.match(r.stdout, /\[ *\[ *'[BIO]/, "prints the tags of the example sentence");
});
