/**
 * The English model in the box (models/en.safetensors, made by
 * scripts/make-en-model.mjs): its checksum, its size, the record in its header
 * of how it was made, its dev F1 on CoNLL++ scored again here and compared
 * with the recorded figure exactly, and `en` on the commands that take a model.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { getKernels } from "../src/engine/index.js";
import { readConll } from "../src/data/conll.js";
import { evaluate } from "../src/eval/evaluate.js";
import { parseModel } from "../src/model/format.js";
import { NerModel } from "../src/model/ner.js";
import { modelPath } from "../src/pipeline/packaged.js";
import { CLI, runCli } from "./helpers.js";
import { launchChromium, skipWithoutChromium } from "./pipeline-helpers.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const MODEL = path.join(ROOT, "models/en.safetensors");
const MB = 1e6;
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

// CoNLL++: $LSTM_NER_DATA, else a `shared` folder beside the checkout (as CI clones it) or beside its parent (a worktree).
const DATA = [process.env.LSTM_NER_DATA, path.resolve(ROOT, "../shared/data"), path.resolve(ROOT, "../../shared/data")]
  .find((d) => d !== undefined && existsSync(path.join(d, "conllpp/conllpp_dev.txt")));
const DEV = DATA === undefined ? "" : path.join(DATA, "conllpp/conllpp_dev.txt");
const skipData = DATA === undefined ? "CoNLL++ dev not found: set LSTM_NER_DATA to a folder holding conllpp/conllpp_dev.txt" : false;

interface Record {
  preset: string;
  seed: number;
  train: string;
  dev: string;
  embeddings: string;
  packaged: {
    name: string;
    made_by: string;
    from: { sha256: string; words: number; dev: { f1: number } };
    pruned: { keep: number; rows: number; aliases: number; embedding: string; weights: string };
    dev: { f1: number; precision: number; recall: number; phrases_gold: number; phrases_pred: number; correct: number; file: string };
    data: { train: { sha256: string }; dev: { sha256: string }; vectors: string };
    licences: { data: string; vectors: string; model: string };
  };
}

const bytes = new Uint8Array(readFileSync(MODEL));
const saved = parseModel(bytes, MODEL);
const record = saved.training as unknown as Record;

test("models/en.safetensors: ≤ 15 MB, its SHA-256 is in models/SHA256SUMS, and the build's copy that the package ships is the same file", () => {
  assert.ok(bytes.length <= 15 * MB, `${(bytes.length / MB).toFixed(2)} MB`);
  const sums = readFileSync(path.join(ROOT, "models/SHA256SUMS"), "utf8");
  assert.equal(sums, `${sha256(bytes)}  en.safetensors\n`);
  assert.equal(modelPath("en"), path.join(ROOT, "build/browser/en.safetensors"));
  assert.equal(sha256(readFileSync(modelPath("en"))), sha256(bytes));
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { files: string[] };
  assert.ok(pkg.files.includes("build/browser") && !pkg.files.some((f) => f.startsWith("models")), "the package ships build/browser's copy only");
});

test("its header records how it was made: best preset, seed, data and vectors by name and checksum, licences, dev F1 of both files", () => {
  assert.equal(record.preset, "best");
  assert.equal(typeof record.seed, "number");
  assert.deepEqual([record.train, record.dev, record.embeddings], ["conllpp_train.txt", "conllpp_dev.txt", "glove.6B.100d.341k.txt.gz"]);
  const p = record.packaged;
  assert.equal(p.name, "en");
  assert.match(p.made_by, /^node scripts\/make-en-model\.mjs --from \S+ --prune \d+/);
  // The checksums the conllpp dataset is downloaded with (src/data/datasets.ts).
  assert.equal(p.data.train.sha256, "213953b5522fb7924802d883e50f027b2c6ffb5d4d0e63368ed82909f9b60423");
  assert.equal(p.data.dev.sha256, "c02eb19809eafb83998326a0481942eb37d96f31826ae387cfe8773699969f5b");
  assert.match(p.data.vectors, /^GloVe 6B 100d/);
  assert.match(p.licences.data, /Reuters Corpus, Volume 1 \(RCV1\)/);
  assert.match(p.licences.vectors, /PDDL/);
  assert.deepEqual([p.pruned.embedding, p.pruned.weights, saved.embeddingDtype, saved.paramsDtype], ["i8", "f16", "i8", "f16"]);
  assert.equal(saved.words.length, p.pruned.rows);
  assert.equal(saved.aliases?.keys.length, p.pruned.aliases);
  assert.equal(p.pruned.rows + p.pruned.aliases, p.from.words, "every word of the full model is a kept row or an alias");
  assert.ok(p.dev.f1 >= p.from.dev.f1 - 0.2, `small ${p.dev.f1} against full ${p.from.dev.f1}: at most 0.2 lost`);
});

test("on CoNLL++ dev it scores exactly the recorded F1; evaluate --model en prints it", { skip: skipData }, async () => {
  const dev = readFileSync(DEV);
  assert.equal(sha256(dev), record.packaged.data.dev.sha256, `${DEV} is the recorded dev file`);
  const model = NerModel.fromSaved(saved, await getKernels(), MODEL);
  const s = evaluate(model, await readConll(DEV, { labels: model.dataLabels }), model.encoder());
  const d = record.packaged.dev;
  assert.deepEqual([s.f1, s.precision, s.recall, s.phrasesGold, s.phrasesPred, s.correct], [d.f1, d.precision, d.recall, d.phrases_gold, d.phrases_pred, d.correct]);
  const r = runCli(["evaluate", "--model", "en", "--data", DEV, "--json"]);
  assert.equal(r.stderr, "");
  assert.equal((JSON.parse(r.stdout) as { f1: number }).f1, Math.round(d.f1 * 100) / 100);
});

const TEXT = "Angela Merkel met Emmanuel Macron in Paris on Tuesday, and Siemens shares rose.";
const ENTITIES = ["Angela Merkel/PER", "Emmanuel Macron/PER", "Paris/LOC", "Siemens/ORG"];

test("--model en: predict tags with it, export reads it; serve without --model serves it", async () => {
  const p = runCli(["predict", "--model", "en", "--format", "jsonl", TEXT]);
  assert.equal(p.stderr, "");
  const doc = JSON.parse(p.stdout) as { ents: { text: string; label: string }[] };
  assert.deepEqual(doc.ents.map((e) => `${e.text}/${e.label}`), ENTITIES);

  const out = path.join(mkdtempSync(path.join(tmpdir(), "lstm-ner-en-")), "copy.safetensors");
  const e = runCli(["export", "--model", "en", "--dtype", "i8", "--weights", "f16", "--out", out]);
  assert.equal(e.stderr, "");
  assert.match(e.stdout, /en\.safetensors: \d+\.\d MB, \d+ words \+ \d+ keys, embedding i8/);
  assert.ok(statSync(out).size > 0);

  const child = spawn(process.execPath, [CLI, "serve", "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let err = "";
      child.stderr.setEncoding("utf8").on("data", (c: string) => {
        err += c;
        const m = /at (http:\/\/127\.0\.0\.1:\d+)\//.exec(err);
        if (m) resolve(m[1]!);
      });
      child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${err}`)));
    });
    const h = (await (await fetch(`${url}/health`)).json()) as { model: { name: string } };
    assert.equal(h.model.name, "en.safetensors");
    const r = await fetch(`${url}/ner`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: TEXT }) });
    const served = (await r.json()) as { ents: { text: string; label: string }[] };
    assert.deepEqual(served.ents.map((x) => `${x.text}/${x.label}`), ENTITIES);
  } finally {
    child.kill("SIGTERM");
  }
});

test("the demo page, with no model named, tags with the model in the box on the WebAssembly SIMD kernels", { skip: skipWithoutChromium }, async () => {
  const web = path.join(ROOT, "build/browser");
  const TYPES: { [ext: string]: string } = { ".js": "text/javascript", ".html": "text/html", ".wasm": "application/wasm" };
  const server = createServer((req, res) => {
    const f = path.join(web, path.basename(new URL(req.url ?? "/", "http://x").pathname));
    if (!existsSync(f)) return void res.writeHead(404).end();
    res.writeHead(200, { "Content-Type": TYPES[path.extname(f)] ?? "application/octet-stream" }).end(readFileSync(f));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/demo.html`);
    await page.waitForSelector("#result mark", { timeout: 60_000 });
    assert.match((await page.textContent("#status"))!, /^Model: en \(English, CoNLL\+\+\) \(feature, \d+ words, .*; kernels: wasm-simd; loaded in \d+ ms\)$/);
    const marks = await page.$$eval("#result mark", (ms) => ms.map((m) => m.textContent!.replace(/\s+/g, " ").trim()));
    assert.ok(marks.some((m) => /^Denmark ?LOC$/.test(m)), marks.join(" | "));
  } finally {
    await browser.close();
    server.close();
  }
});
