import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { startServer, type RunningServer } from "../src/server/server.js";
import { launchChromium, skipWithoutChromium, toyModel } from "./pipeline-helpers.js";
import { toyGlove, writeToyData } from "./toy-corpus.js";

/**
 * The training page's kernel modes in Chromium: two threads (a helper Web
 * Worker over shared memory) where the page is cross-origin isolated, with
 * results identical to one thread's; one thread where it is not; the plain
 * JavaScript kernels in a browser without WebAssembly SIMD; and files too
 * large for the page.
 */
const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-browser-threads-"));
const { trainFile, devFile, glove } = writeToyData(dir, 160, "g.txt");
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../build/browser");
let srv: RunningServer | undefined;
let plain: Server | undefined;
let plainUrl = "";
let browser: Browser | undefined;

/** More than 1 MB of GloVe text: too large for a page opened with ?maxMB=1. */
const big = path.join(dir, "big.txt");
writeFileSync(big, Array.from({ length: 60 }, (_, i) => toyGlove(50, 100 + i)).join(""));
assert.ok(statSync(big).size > 1.2e6);

before(async () => {
  if (skipWithoutChromium) return;
  srv = await startServer((await toyModel()).model, { port: 0, modelName: "toy.safetensors" });
  // build/browser and the data over plain HTTP, without COOP/COEP: the page is not cross-origin isolated.
  const data: Record<string, string> = { "/data/train.txt": trainFile, "/data/dev.txt": devFile, "/data/big.txt": big };
  plain = createServer((req, res) => {
    const p = new URL(req.url ?? "/", "http://x").pathname;
    try {
      const body = readFileSync(data[p] ?? path.join(ROOT, path.normalize(p)));
      const type = p.endsWith(".js") ? "text/javascript" : p.endsWith(".wasm") ? "application/wasm" : p.endsWith(".html") ? "text/html" : "text/plain";
      res.writeHead(200, { "Content-Type": type, "Content-Length": body.length }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  }).listen(0, "127.0.0.1");
  await new Promise((r) => plain!.once("listening", r));
  plainUrl = `http://127.0.0.1:${(plain.address() as { port: number }).port}`;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await srv?.close();
  plain?.close();
});

const SET = ["hidden=16", "batchSize=8", "lr=0.02"].map((s) => `set=${encodeURIComponent(s)}`).join("&");

async function open(b: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await b.newPage({ acceptDownloads: true });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  return { page, errors };
}

async function pickToy(page: Page, vectors = glove): Promise<void> {
  await page.setInputFiles("#train-file", trainFile);
  await page.setInputFiles("#dev-file", devFile);
  await page.setInputFiles("#vectors-file", vectors);
}

/** Presses Train and waits until training is done or the page shows an error. */
async function trainAndWait(page: Page): Promise<void> {
  await page.click("#train");
  await page.waitForFunction(() => window.lstmNerTraining?.done === true || document.getElementById("error")!.textContent !== "", null, { timeout: 120_000 });
}

/** The downloaded model file's bytes. */
async function downloadModel(page: Page, name: string): Promise<Buffer> {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  const file = path.join(dir, name);
  await download.saveAs(file);
  return readFileSync(file);
}

test("serve's page is cross-origin isolated and trains on two threads (a helper Web Worker), with results identical to one thread's",
  { skip: skipWithoutChromium, timeout: 300_000 }, async () => {
    const runs: { model: Buffer; epochs: unknown[]; mode: string }[] = [];
    for (const threads of [1, 2]) {
      const { page, errors } = await open(browser!, `${srv!.url}/train/?threads=${threads}&epochs=2&batches=12&${SET}`);
      assert.equal(await page.evaluate(() => crossOriginIsolated), true, "COOP/COEP make the page cross-origin isolated");
      assert.match((await page.textContent("#mode"))!, threads === 2 ? /^Cross-origin isolated: training will run on 2 threads/ : /^Training will run on 1 thread .*one thread asked for/);
      await pickToy(page);
      await trainAndWait(page);
      assert.equal(await page.textContent("#error"), "");
      const mode = (await page.textContent("#mode"))!;
      const scripts = page.workers().map((w) => path.basename(new URL(w.url()).pathname)).sort();
      assert.deepEqual(scripts, threads === 2 ? ["kernels-helper.js", "train-worker.js"] : ["train-worker.js"], "the second thread is a Web Worker");
      // Only training's numbers count: the timings differ from run to run.
      const epochs = await page.evaluate(() => window.lstmNerTraining!.epochs.map(({ epoch, loss, dev_f1, dev_precision, dev_recall, best }) => ({ epoch, loss, dev_f1, dev_precision, dev_recall, best })));
      runs.push({ model: await downloadModel(page, `threads-${threads}.safetensors`), epochs, mode });
      if (threads === 2) {
        // Training again stops the last run's helper (it leaves its loop and closes) and starts a new one.
        const first = page.workers().find((w) => w.url().endsWith("/kernels-helper.js"))!;
        const closed = new Promise((resolve) => first.once("close", resolve));
        await trainAndWait(page);
        assert.equal(await page.textContent("#error"), "");
        await closed;
        const again = await page.evaluate(() => window.lstmNerTraining!.epochs.map(({ epoch, loss, dev_f1, dev_precision, dev_recall, best }) => ({ epoch, loss, dev_f1, dev_precision, dev_recall, best })));
        assert.deepEqual(again, epochs, "the second training on the page repeats the first");
        assert.deepEqual(page.workers().map((w) => path.basename(new URL(w.url()).pathname)).sort(), ["kernels-helper.js", "train-worker.js"]);
        assert.ok(!page.workers().includes(first), "the first helper is gone");
      }
      assert.deepEqual(errors, []);
      await page.close();
    }
    const [one, two] = runs as [typeof runs[0], typeof runs[0]];
    assert.match(one.mode, /^wasm-simd kernels, 1 thread \(cross-origin isolated; one thread asked for\)/);
    assert.match(two.mode, /^wasm-simd kernels, 2 threads \(cross-origin isolated: a helper Web Worker shares the WebAssembly memory\)/);
    assert.equal(one.epochs.length, 2);
    assert.deepEqual(two.epochs, one.epochs, "the same losses and dev scores per epoch");
    assert.ok(two.model.equals(one.model), "the two models are byte-identical (every weight equal)");
  });

test("a page that is not cross-origin isolated trains on one thread and says why; a file too large for the page is named, by URL and by picker, and the page keeps working",
  { skip: skipWithoutChromium }, async () => {
    const { page, errors } = await open(browser!, `${plainUrl}/train.html?maxMB=1&epochs=1&batches=5&${SET}&train=/data/train.txt&dev=/data/dev.txt&vectors=/data/big.txt`);
    assert.equal(await page.evaluate(() => crossOriginIsolated), false);
    assert.match((await page.textContent("#mode"))!, /^Training will run on 1 thread \(WebAssembly SIMD; the page is not cross-origin isolated/);
    await trainAndWait(page);
    assert.match((await page.textContent("#error"))!, /^big\.txt: [1-9]\.\d MB is too large to load in this page \(the limit is 1 MB; \?maxMB= changes it\); for word vectors, keep the rows you need with `lstm-ner vectors prune`$/);
    const huge = path.join(dir, "huge-vectors.txt");
    writeFileSync(huge, readFileSync(big));
    await page.setInputFiles("#vectors-file", huge);
    await trainAndWait(page);
    assert.match((await page.textContent("#error"))!, /^huge-vectors\.txt: [1-9]\.\d MB is too large to load in this page/);
    assert.ok(!(await page.isDisabled("#train")), "the page can train again");

    await page.setInputFiles("#vectors-file", glove);
    await trainAndWait(page);
    assert.equal(await page.textContent("#error"), "");
    assert.match((await page.textContent("#mode"))!, /^wasm-simd kernels, 1 thread \(the page is not cross-origin isolated, so no shared memory for a second thread\)/);
    assert.equal(await page.evaluate(() => window.lstmNerTraining!.epochs.length), 1);
    assert.deepEqual(errors, []);
    await page.close();
  });

test("a browser without WebAssembly SIMD (V8 told the CPU lacks SSE4.1) says so on the page and trains on the plain JavaScript kernels",
  { skip: skipWithoutChromium }, async () => {
    const noSimd = await launchChromium(["--js-flags=--no-enable-sse4-1"]);
    try {
      const { page, errors } = await open(noSimd, `${srv!.url}/train/?epochs=1&batches=3&${SET}`);
      assert.equal(await page.evaluate(() => WebAssembly.validate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, ...new Array<number>(16).fill(0), 11]))), false,
        "this Chromium has no WebAssembly SIMD");
      assert.match((await page.textContent("#mode"))!, /^This browser has no WebAssembly SIMD, which lstm-ner's fast kernels need: training will run on plain JavaScript kernels/);
      await pickToy(page);
      await trainAndWait(page);
      assert.equal(await page.textContent("#error"), "");
      assert.match((await page.textContent("#mode"))!, /^reference kernels, 1 thread \(this browser has no WebAssembly SIMD, which lstm-ner's fast kernels need: plain JavaScript kernels, many times slower\)/);
      assert.equal(await page.evaluate(() => window.lstmNerTraining!.epochs.length), 1);
      assert.deepEqual(errors, []);
      await page.close();
    } finally {
      await noSimd.close();
    }
  });
