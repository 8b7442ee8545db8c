import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { createNlp } from "../src/pipeline/nlp.js";
import { encodeVectorTable } from "../src/embeddings/table.js";
import { toyModel, launchChromium, countColours, skipWithoutChromium, RGB, TOY_TEXT } from "./pipeline-helpers.js";

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../build/browser");
const BUNDLE = path.join(OUT, "lstm-ner.js");
const TYPES: Record<string, string> = { ".js": "text/javascript", ".html": "text/html", ".wasm": "application/wasm", ".map": "application/json" };

let server: Server | undefined;
let base = "";
let browser: Browser | undefined;

before(async () => {
  if (skipWithoutChromium || !existsSync(BUNDLE)) return;
  const { file } = await toyModel();
  // A static server for build/browser plus the toy model at /toy.safetensors.
  server = createServer((req, res) => {
    const name = new URL(req.url ?? "/", "http://x").pathname.slice(1);
    const f = name === "toy.safetensors" ? file : path.join(OUT, path.basename(name));
    if (!existsSync(f)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": TYPES[path.extname(f)] ?? "application/octet-stream" }).end(readFileSync(f));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
});

test("the bundle exists, is ESM, and holds no Node module", () => {
  assert.ok(existsSync(BUNDLE), `${BUNDLE} is missing: run npm run build (build:browser)`);
  const js = readFileSync(BUNDLE, "utf8");
  assert.match(js, /^export \{/m);
  assert.doesNotMatch(js, /\bfrom\s*["']node:|\bimport\(\s*["']node:|\brequire\(/);
  assert.ok(existsSync(path.join(OUT, "kernels-st.wasm")) && existsSync(path.join(OUT, "demo.html")));
});

test("the bundle is the inference path only: no trainer, optimiser or scorer", () => {
  const js = readFileSync(BUNDLE, "utf8");
  // esbuild heads each module with a `// src/...` comment.
  const modules = [...js.matchAll(/^\/\/ (src\/\S+\.ts)$/gm)].map((m) => m[1]!);
  assert.ok(modules.includes("src/model/ner.ts") && modules.includes("src/encode/run-batched.ts"), modules.join(" "));
  const training = modules.filter((m) => /^src\/(train|eval)\/|^src\/nn\/(adam|sgd|clip)\.ts$/.test(m));
  assert.deepEqual(training, []);
});

test("demo page: load a model by URL with the WASM kernels, tag text client-side, highlight entities", { skip: skipWithoutChromium }, async () => {
  const page = await browser!.newPage({ viewport: { width: 1000, height: 800 } });
  const requests: string[] = [];
  page.on("request", (r) => requests.push(new URL(r.url()).pathname));
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${base}/demo.html?model=/toy.safetensors`);
  await page.waitForFunction(() => document.getElementById("status")!.textContent!.startsWith("Model:"));
  assert.match((await page.textContent("#status"))!, /kernels: wasm-simd; loaded in \d+ ms\)$/);
  await page.fill("#text", `${TOY_TEXT} Anna lives in Paris.`);
  await page.click("#tag");
  await page.waitForSelector("#result mark.entity");
  const marks = await page.$$eval("#result mark.entity", (ms) => ms.map((m) => `${m.firstChild!.textContent}/${m.getAttribute("data-label")}`));
  assert.deepEqual(marks, ["John Smith/PER", "London/LOC", "Microsoft/ORG", "Anna/PER", "Paris/LOC"]);
  const counts = await countColours(browser!, await page.locator("#result").screenshot(), RGB);
  for (const [label, n] of Object.entries(counts)) assert.ok(n > 300, `${label} should be highlighted: ${n} pixels`);
  // Tagging happened in the page: after loading, no request went to a server.
  assert.deepEqual(requests.filter((r) => !["/demo.html", "/lstm-ner.js", "/kernels-st.wasm", "/kernels.wasm", "/toy.safetensors", "/favicon.ico"].includes(r)), []);
  assert.deepEqual(errors, []);
  await page.close();
});

test("in the browser, the bundle's Doc equals Node's for the same model", { skip: skipWithoutChromium }, async () => {
  const { model } = await toyModel();
  const node = createNlp(model)(TOY_TEXT).toJSON();
  const page = await browser!.newPage();
  await page.goto(`${base}/demo.html`);
  const web = await page.evaluate(async (text) => {
    const lib = await import("./lstm-ner.js" as string) as { load(u: string): Promise<(t: string) => { toJSON(): unknown }> };
    const nlp = await lib.load("/toy.safetensors");
    return nlp(text).toJSON();
  }, TOY_TEXT) as typeof node;
  const strip = (d: typeof node): unknown => ({ ...d, tokens: d.tokens.map((t) => ({ ...t, prob: undefined })), ents: d.ents.map((e) => ({ ...e, confidence: undefined })) });
  assert.deepEqual(strip(web), strip(node));
  web.tokens.forEach((t, i) => assert.ok(Math.abs(t.prob! - node.tokens[i]!.prob!) < 1e-4));
  await page.close();
});

test("demo page: a model from the file picker; a bad URL, a corrupt file or a vectors file is a message on the page", { skip: skipWithoutChromium }, async () => {
  const { file } = await toyModel();
  const page = await browser!.newPage();
  await page.goto(`${base}/demo.html`);
  await page.fill("#url", "/missing.safetensors");
  await page.click("#load-url");
  await page.waitForFunction(() => document.getElementById("error")!.textContent !== "");
  assert.match((await page.textContent("#error"))!, /missing\.safetensors.*HTTP 404/);
  assert.equal(await page.isDisabled("#tag"), true);

  await page.setInputFiles("#file", { name: "broken.safetensors", mimeType: "application/octet-stream", buffer: Buffer.from("not a model") });
  await page.waitForFunction(() => /broken/.test(document.getElementById("error")!.textContent!));
  assert.equal(await page.isDisabled("#tag"), true);

  // A file of the wrong kind: word vectors in the same container as a model.
  const vectors = Buffer.concat(encodeVectorTable({ words: ["a", "b"], dim: 2, data: new Float32Array([1, 2, 3, 4]) }, "f32"));
  await page.setInputFiles("#file", { name: "words.vectors", mimeType: "application/octet-stream", buffer: vectors });
  await page.waitForFunction(() => /words\.vectors/.test(document.getElementById("error")!.textContent!));
  assert.match((await page.textContent("#error"))!, /words\.vectors: not a valid lstm-ner model .*this is a word-vectors file/);
  assert.equal(await page.isDisabled("#tag"), true);

  await page.setInputFiles("#file", file);
  await page.waitForFunction(() => document.getElementById("status")!.textContent!.startsWith("Model: toy.safetensors"));
  await page.fill("#text", "Reuters hired Peter Jones.");
  await page.click("#tag");
  await page.waitForSelector("#result mark.entity");
  assert.deepEqual(await page.$$eval("#result mark.entity", (ms) => ms.map((m) => m.getAttribute("data-label"))), ["ORG", "PER"]);
  await page.close();
});
