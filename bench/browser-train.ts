/**
 * Training tokens/s in the browser page (Chromium, build/browser/train.html,
 * cross-origin isolated, Web Worker, WASM kernels, at 1 and 2 threads) next to
 * Node's (the same trainer and recipe, at 1 and 2 threads), on the same
 * CoNLL++ batches and pruned vectors, in one run. Prints one JSON object per
 * line, then one per thread count with the page / Node ratio (goal ≥ 0.8).
 *
 *   node dist/bench/browser-train.js --vectors PRUNED [--preset seed] [--batches 100]
 * Data: $LSTM_NER_DATA (default ../shared/data). PRUNED: a file from `lstm-ner vectors prune`.
 */
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { readConll } from "../src/data/conll.js";
import { detectScheme } from "../src/data/schemes.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { readVectors } from "../src/embeddings/read.js";
import { disposeKernels, getKernels } from "../src/engine/index.js";
import { getPreset, applyOverrides } from "../src/train/presets.js";
import { buildRecipe, trainOptions } from "../src/train/recipe.js";
import { train } from "../src/train/trainer.js";

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
};
const vectorsFile = arg("--vectors", "");
if (!vectorsFile) throw new Error("--vectors PRUNED is required (a file from lstm-ner vectors prune)");
const presetName = arg("--preset", "seed");
const batches = Number(arg("--batches", "100"));
const dataDir = path.join(process.env.LSTM_NER_DATA ?? path.resolve("../shared/data"), "conllpp");
const trainFile = path.join(dataDir, "conllpp_train.txt");
const devFile = path.join(dataDir, "conllpp_dev.txt");
const print = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));

// Node: the recipe and trainer the page runs, on one epoch of `batches` batches (dev kept tiny: only training speed counts).
const trainSet = await readConll(trainFile);
const dev = (await readConll(devFile)).slice(0, 50);
const vectors = await readVectors(vectorsFile, { cache: false });
const preset = applyOverrides(getPreset(presetName), ["epochs=1"]);
const node = new Map<number, number>();
for (const threads of [1, 2]) {
  const kernels = await getKernels("wasm", { threads });
  const { model, optimizer } = buildRecipe(kernels, preset, {
    vectors, labels: CONLL_LABELS, scheme: detectScheme(trainSet.map((s) => s.tags)), trainTokens: trainSet.map((s) => s.tokens), seed: 1,
  });
  const r = await train(model, optimizer, trainSet, dev, model.encoder(), { ...trainOptions(preset, 1), maxBatches: batches });
  const got = (kernels as { threads?: number }).threads ?? 1;
  if (got !== threads) throw new Error(`Node ran ${got} thread(s), ${threads} asked for`);
  node.set(threads, r.epochs[0]!.train_tokens_per_s);
  print({ bench: "node", node: process.version, preset: presetName, batches, threads, tokens_per_s: Math.round(r.epochs[0]!.train_tokens_per_s) });
  await disposeKernels();
}

// The browser: the page from build/browser, cross-origin isolated, the same files by URL.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../build/browser");
const files: Record<string, string> = { "/data/train.txt": trainFile, "/data/dev.txt": devFile, "/data/vectors": vectorsFile };
const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm" };
const server = createServer((req, res) => {
  const p = new URL(req.url ?? "/", "http://x").pathname;
  const file = files[p] ?? path.join(root, path.normalize(p));
  try {
    const body = readFileSync(file);
    res.writeHead(200, { "Content-Type": types[path.extname(file)] ?? "application/octet-stream", "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
}).listen(0, "127.0.0.1");
await new Promise((r) => server.once("listening", r));
const { port } = server.address() as { port: number };
const { chromium } = await import("playwright-core");
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
try {
  for (const threads of [1, 2]) {
    const page = await browser.newPage();
    // The page's dev set is the whole dev file; only the training epoch's tokens/s is read.
    await page.goto(`http://127.0.0.1:${port}/train.html?threads=${threads}&preset=${presetName}&epochs=1&batches=${batches}` +
      "&train=/data/train.txt&dev=/data/dev.txt&vectors=/data/vectors");
    await page.click("#train");
    await page.waitForFunction(() => (window.lstmNerTraining?.epochs.length ?? 0) > 0 || document.getElementById("error")!.textContent !== "", null, { timeout: 1_800_000, polling: 500 });
    const err = await page.textContent("#error");
    if (err) throw new Error(`the page failed: ${err}`);
    const mode = (await page.textContent("#mode"))!;
    const got = Number(/, ([12]) threads? \(/.exec(mode)?.[1]);
    if (got !== threads) throw new Error(`the page ran ${got} thread(s), ${threads} asked for: ${mode}`);
    const tps = (await page.evaluate(() => window.lstmNerTraining!.epochs[0]!)).train_tokens_per_s;
    print({ bench: "browser", browser: `Chromium ${browser.version()}`, preset: presetName, batches, threads, mode, tokens_per_s: tps });
    print({ bench: "ratio", threads, browser_over_node: Number((tps / node.get(threads)!).toFixed(2)), goal: 0.8 });
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
