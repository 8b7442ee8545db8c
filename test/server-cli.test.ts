import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CLI, toyModel, TOY_TEXT } from "./pipeline-helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-serve-"));

test("lstm-ner serve: starts, announces its URL, serves, stops on SIGTERM", async () => {
  const { file } = await toyModel();
  const child = spawn(process.execPath, [CLI, "serve", "--model", file, "--port", "0", "--kernels", "reference"], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let err = "";
      child.stderr.setEncoding("utf8");
      child.stderr.on("data", (c: string) => {
        err += c;
        const m = /at (http:\/\/127\.0\.0\.1:\d+)\//.exec(err);
        if (m) resolve(m[1]!);
      });
      child.on("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
    const h = (await (await fetch(`${url}/health`)).json()) as { status: string; model: { name: string } };
    assert.deepEqual([h.status, h.model.name], ["ok", path.basename(file)]);
    const r = await fetch(`${url}/ner`, { method: "POST", body: JSON.stringify({ text: TOY_TEXT }) });
    const doc = (await r.json()) as { ents: { label: string }[] };
    assert.deepEqual(doc.ents.map((e) => e.label), ["PER", "LOC", "ORG"]);
    const page = await fetch(`${url}/`);
    assert.match(await page.text(), /<button id="tag"/);
    const js = await fetch(`${url}/displacy.js`);
    assert.match(js.headers.get("content-type")!, /^text\/javascript/);
    assert.match(await js.text(), /export function render/);
  } finally {
    child.kill("SIGTERM");
  }
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0);
});

test("lstm-ner serve: a missing or corrupt model is one clear error line and exit 1", () => {
  const missing = spawnSync(process.execPath, [CLI, "serve", "--model", path.join(dir, "none.safetensors"), "--port", "0"], { encoding: "utf8" });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^lstm-ner: error: .*none\.safetensors/);
  assert.equal(missing.stderr.trim().split("\n").length, 1);
  const corrupt = path.join(dir, "corrupt.safetensors");
  writeFileSync(corrupt, "this is not a model file at all");
  const bad = spawnSync(process.execPath, [CLI, "serve", "--model", corrupt, "--port", "0"], { encoding: "utf8" });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^lstm-ner: error: .*corrupt\.safetensors/);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
});
