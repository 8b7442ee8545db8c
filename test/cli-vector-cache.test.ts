import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { runCli, type CliRun } from "./helpers.js";
import { toyConll, toyGlove } from "./toy-corpus.js";

test("train tells the user when the vector cache was damaged and the file is parsed again", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-vcache-cli-"));
  const home = path.join(dir, "home");
  const train = path.join(dir, "train.txt");
  const glove = path.join(dir, "toy.glove.txt");
  writeFileSync(train, toyConll(20, 1));
  writeFileSync(glove, toyGlove(12, 3));
  const run = (): CliRun => runCli(["train", "--train", train, "--embeddings", glove, "--epochs", "1", "--hidden", "4",
    "--out", path.join(dir, "m.safetensors"), "--overwrite", "--no-progress"], { home });
  const first = run();
  assert.equal(first.code, 0, first.stderr);
  assert.doesNotMatch(first.stderr, /note:/);
  const vecDir = path.join(home, "vectors");
  const [cacheName] = readdirSync(vecDir).filter((f) => f.endsWith(".vec"));
  const cacheFile = path.join(vecDir, cacheName!);
  const bytes = readFileSync(cacheFile);
  bytes.writeFloatLE(NaN, bytes.length - 8);
  writeFileSync(cacheFile, bytes);

  const second = run();
  assert.equal(second.code, 0, second.stderr);
  assert.ok(second.stderr.includes(`note: the cached copy of ${glove} (${cacheFile}) is unusable (checksum mismatch); parsing the file again\n`), second.stderr);
  const third = run();
  assert.equal(third.code, 0, third.stderr);
  assert.doesNotMatch(third.stderr, /note:/, "the rewritten cache is used quietly");
});
