/**
 * The package as a user gets it: `npm pack`, the tarball installed into an
 * empty folder outside the repository (from npm's cache or the registry),
 * then used from there — Node ESM and CommonJS scripts tagging with the
 * English model in the box, TypeScript consumers for Node and for browsers,
 * a page bundled by esbuild tagging in Chromium on the WebAssembly SIMD
 * kernels, the command line, and the errors for what is missing.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium, skipWithoutChromium } from "./pipeline-helpers.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const MODEL = path.join(ROOT, "build/browser/en.safetensors");
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const MiB = 1 << 20;

const TEXT = "Angela Merkel met Emmanuel Macron in Paris on Tuesday, and Siemens shares rose.";
const ENTITIES = ["Angela Merkel/PER", "Emmanuel Macron/PER", "Paris/LOC", "Siemens/ORG"];


let work = "";
let app = ""; // the consumer project: only the tarball installed
let tarball = "";
let packed: { filename: string; files: { path: string; size: number }[]; size: number; unpackedSize: number } | undefined;

function run(cmd: string, args: readonly string[], cwd: string, input?: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: "utf8", input, timeout: 300_000, maxBuffer: 1 << 26, env: { ...process.env, npm_config_update_notifier: "false" } });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.error, undefined, `${what}: ${String(r.error)}`);
  assert.equal(r.status, 0, `${what} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function duBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? duBytes(p) : e.isFile() ? statSync(p).size : 0;
  }
  return n;
}

before(() => {
  work = mkdtempSync(path.join(tmpdir(), "lstm-ner-package-"));
  // The build is there (npm test builds first): pack it as is, without the prepack build.
  const out = ok(run(NPM, ["pack", "--ignore-scripts", "--json", "--pack-destination", work], ROOT), "npm pack");
  packed = (JSON.parse(out) as NonNullable<typeof packed>[])[0]!;
  tarball = path.join(work, path.basename(packed.filename));
  app = path.join(work, "app");
  mkdirSync(app);
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true, type: "module" }));
});

after(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true });
});

test("the tarball: no source maps, the model, both entries and their types", () => {
  const files = new Set(packed!.files.map((f) => f.path));
  assert.deepEqual([...files].filter((f) => f.endsWith(".map")), [], "source maps without their sources stay out");
  for (const f of ["package.json", "dist/src/index.js", "dist/src/index.d.ts", "dist/src/browser.d.ts", "dist/src/cli/main.js",
    "dist/src/engine/worker.js", "build/kernels.wasm", "build/kernels-st.wasm", "build/browser/lstm-ner.js",
    "build/browser/kernels.wasm", "build/browser/kernels-st.wasm", "build/browser/kernels-helper.js", "build/browser/en.safetensors"]) {
    assert.ok(files.has(f), `${f} is in the package`);
  }
  assert.ok(![...files].some((f) => f.startsWith("src/") || f.startsWith("test/") || f.startsWith("dist/test/")), "no sources or tests");
  assert.deepEqual([...files].filter((f) => f.endsWith(".safetensors")), ["build/browser/en.safetensors"], "the model once");
});

test("installs into an empty folder from npm's cache or the registry, without install scripts, within 8 MiB plus the model", (t) => {
  const r = run(NPM, ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], app);
  ok(r, "npm install");
  assert.doesNotMatch(r.stderr, /install-scripts|gyp|postinstall/i, "no package with an install script");
  const installed = duBytes(path.join(app, "node_modules"));
  const model = statSync(MODEL).size;
  const packages = readdirSync(path.join(app, "node_modules")).filter((d) => !d.startsWith("."));
  t.diagnostic(`installed: ${(installed / MiB).toFixed(2)} MiB in node_modules (${packages.join(", ")}), of which the model ${(model / MiB).toFixed(2)} MiB; tarball ${(packed!.size / MiB).toFixed(2)} MiB`);
  assert.ok(installed - model <= 8 * MiB, `installed size without the model: ${((installed - model) / MiB).toFixed(2)} MiB`);
  for (const optional of ["bullmq", "ioredis"]) assert.ok(!packages.includes(optional), `${optional} is not installed by default`);
});

/** The entities of TEXT and the kernels' name, as a script in the app prints them. */
function tagged(stdout: string): { ents: string[]; kernels: string } {
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as { ents: string[]; kernels: string };
}

test("Node ESM: load(\"en\") tags on the WebAssembly kernels, and the import loads no other package", () => {
  writeFileSync(path.join(app, "tag.mjs"), `import { load } from "lstm-ner";
const nlp = await load("en");
const doc = nlp(${JSON.stringify(TEXT)});
console.log(JSON.stringify({ ents: doc.ents.map((e) => e.text + "/" + e.label), kernels: nlp.model.kernels.name }));
`);
  const r = run(process.execPath, ["tag.mjs"], app);
  assert.deepEqual(tagged(ok(r, "tag.mjs")), { ents: ENTITIES, kernels: "wasm-simd" });
  assert.equal(r.stderr, "");
  // A resolve hook lists every module the import resolves outside lstm-ner (Node built-ins aside).
  writeFileSync(path.join(app, "hooks.mjs"), `export async function resolve(s, c, next) {
  const r = await next(s, c);
  if (r.url.startsWith("file:") && !r.url.includes("/node_modules/lstm-ner/") && !r.url.endsWith("/import-only.mjs")) console.log("outside: " + r.url);
  return r;
}`);
  writeFileSync(path.join(app, "register.mjs"), `import { register } from "node:module"; register("./hooks.mjs", import.meta.url);`);
  writeFileSync(path.join(app, "import-only.mjs"), `await import("lstm-ner"); console.log("imported");`);
  const imp = run(process.execPath, ["--import", "./register.mjs", "import-only.mjs"], app);
  assert.equal(ok(imp, "import-only.mjs").trim(), "imported", "import \"lstm-ner\" loads no other package (commander, yauzl, ...)");
});

test("CommonJS: require(\"lstm-ner\") gives the same load(\"en\")", () => {
  writeFileSync(path.join(app, "tag.cjs"), `const { load } = require("lstm-ner");
load("en").then((nlp) => {
  const doc = nlp(${JSON.stringify(TEXT)});
  console.log(JSON.stringify({ ents: doc.ents.map((e) => e.text + "/" + e.label), kernels: nlp.model.kernels.name }));
});
`);
  const r = run(process.execPath, ["tag.cjs"], app);
  assert.deepEqual(tagged(ok(r, "tag.cjs")), { ents: ENTITIES, kernels: "wasm-simd" });
  assert.equal(r.stderr, "", "no warning");
});

test("the command line: --version, predict --model en, and the job queue's one line without its packages", () => {
  const bin = path.join(app, "node_modules/.bin/lstm-ner");
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string };
  assert.equal(ok(run(bin, ["--version"], app), "--version").trim(), pkg.version);
  const conll = ok(run(bin, ["predict", "--model", "en", TEXT], app), "predict");
  assert.match(conll, /^Angela B-PER\nMerkel I-PER\nmet O\nEmmanuel B-PER\nMacron I-PER\nin O\nParis B-LOC\n(.+\n)+Siemens B-ORG\n/);
  writeFileSync(path.join(app, "docs.jsonl"), `{"id":1,"text":"Paris"}\n`);
  const q = run(bin, ["enqueue", "--redis", "redis://127.0.0.1:1", "--queue", "q", "docs.jsonl"], app);
  assert.equal(q.status, 1);
  assert.equal(q.stderr, "lstm-ner: error: the job queue (worker, enqueue, collect) needs BullMQ and ioredis, which lstm-ner does not install: npm install bullmq ioredis\n");
});

const TS_COMMON = { target: "es2022", strict: true, noEmit: true, skipLibCheck: false, noUncheckedIndexedAccess: true };

test("TypeScript, browser: the entry's types check with lib dom + es2022, no @types/node, skipLibCheck false", () => {
  // Checked before @types/node is installed (next test), so nothing could lean on it.
  assert.ok(!existsSync(path.join(app, "node_modules/@types/node")));
  const dir = path.join(app, "web-ts");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: { ...TS_COMMON, lib: ["dom", "es2022"], module: "esnext", moduleResolution: "bundler", types: [] }, files: ["main.ts"],
  }));
  // Blob and URL sources exist only in the browser's load(): the browser types were picked.
  writeFileSync(path.join(dir, "main.ts"), `import { load, displacy, type Nlp, type Doc } from "lstm-ner";
const nlp: Nlp = await load("en", { kernels: "wasm" });
const fromFile: Promise<Nlp> = load(new Blob([new Uint8Array(4)]));
const doc: Doc = nlp("Hello from Paris.");
document.body.innerHTML = displacy.render(doc, { style: "ent" });
void fromFile;
export {};
`);
  ok(run(process.execPath, [TSC, "-p", dir], app), "tsc (browser)");
});

test("TypeScript, Node: the entry's types check with @types/node, skipLibCheck false, without the queue's packages", () => {
  const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string }> };
  const typesNode = lock.packages["node_modules/@types/node"]!.version;
  ok(run(NPM, ["install", "--prefer-offline", "--no-audit", "--no-fund", "--no-save", `@types/node@${typesNode}`], app), "npm install @types/node");
  const dir = path.join(app, "node-ts");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: { ...TS_COMMON, lib: ["es2022"], module: "nodenext", moduleResolution: "nodenext", types: ["node"] }, files: ["main.ts"],
  }));
  // readConll and train exist only in the Node entry: the Node types were picked.
  writeFileSync(path.join(dir, "main.ts"), `import { load, readConll, train, startQueueWorker, VERSION, type Nlp } from "lstm-ner";
const nlp: Nlp = await load("en");
const sentences = await readConll("train.txt");
console.log(VERSION, nlp("Hello from Paris.").ents.length, sentences.length, typeof train, typeof startQueueWorker);
`);
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }));
  ok(run(process.execPath, [TSC, "-p", dir], app), "tsc (node)");
});

let server: Server | undefined;
after(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

test("a page bundled by esbuild tags in Chromium with the model in the box on the WebAssembly SIMD kernels; a missing kernels file is an error naming it",
  { skip: skipWithoutChromium }, async () => {
    const { build } = await import("esbuild");
    const www = path.join(app, "www");
    mkdirSync(www, { recursive: true });
    writeFileSync(path.join(app, "page.js"), `import { load } from "lstm-ner";
try {
  const nlp = await load("en");
  const doc = nlp(${JSON.stringify(TEXT)});
  window.result = { ents: doc.ents.map((e) => e.text + "/" + e.label), kernels: nlp.model.kernels.name };
} catch (e) {
  window.result = { error: e.name + ": " + e.message };
}
`);
    await build({ absWorkingDir: app, entryPoints: ["page.js"], outfile: path.join(www, "page.js"), bundle: true, format: "esm", platform: "browser", logLevel: "error" });
    assert.doesNotMatch(readFileSync(path.join(www, "page.js"), "utf8"), /["']node:/, "the bundle holds no Node module");
    // esbuild does not copy files named by new URL(…, import.meta.url): the files sit beside the bundle, as the README says.
    const dist = path.join(app, "node_modules/lstm-ner/build/browser");
    for (const f of ["kernels-st.wasm", "kernels.wasm", "kernels-helper.js", "en.safetensors"]) copyFileSync(path.join(dist, f), path.join(www, f));
    writeFileSync(path.join(www, "index.html"), `<!DOCTYPE html><meta charset="utf-8"><script type="module" src="page.js"></script>`);
    const TYPES: Record<string, string> = { ".js": "text/javascript", ".html": "text/html", ".wasm": "application/wasm" };
    server = createServer((req, res) => {
      // /missing/… serves the same page without its kernels.
      const p = new URL(req.url ?? "/", "http://x").pathname;
      const name = path.basename(p) || "index.html";
      const file = path.join(www, name);
      if ((p.startsWith("/missing/") && name.endsWith(".wasm")) || !existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { "Content-Type": TYPES[path.extname(name)] ?? "application/octet-stream" }).end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const browser = await launchChromium();
    try {
      const result = async (url: string): Promise<unknown> => {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(e.message));
        await page.goto(url);
        const handle = await page.waitForFunction(() => (window as { result?: unknown }).result, undefined, { timeout: 60_000 });
        const value = await handle.jsonValue();
        assert.deepEqual(errors, []);
        await page.close();
        return value;
      };
      assert.deepEqual(await result(`${base}/index.html`), { ents: ENTITIES, kernels: "wasm-simd" });
      const missing = await result(`${base}/missing/index.html`) as { error: string };
      assert.match(missing.error, /^LstmNerError: http:\/\/127\.0\.0\.1:\d+\/missing\/kernels-st\.wasm: cannot read the WebAssembly kernels \(HTTP 404 Not Found\); serve the files of lstm-ner's build\/browser folder/);
    } finally {
      await browser.close();
    }
  });

test("a kernels file missing from the installed package is an error naming it, not a quiet fall back", () => {
  rmSync(path.join(app, "node_modules/lstm-ner/build/kernels.wasm"));
  const r = run(process.execPath, ["tag.mjs"], app);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /LstmNerError: \/.*\/node_modules\/lstm-ner\/build\/kernels\.wasm: cannot read the WebAssembly kernels \(ENOENT.*reinstall lstm-ner/);
});
