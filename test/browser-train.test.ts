import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import type { Browser, Page } from "playwright-core";
import { startServer, type RunningServer } from "../src/server/server.js";
import { launchChromium, skipWithoutChromium, toyModel } from "./pipeline-helpers.js";
import { toyConll, writeToyData } from "./toy-corpus.js";
import { runCli, type CliRun } from "./helpers.js";

/**
 * The browser training page as `lstm-ner serve` serves it (/train/, cross-origin
 * isolated); the data goes through the page's file pickers, as a user would
 * pick them (serve has no route for data files).
 */
const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-train-page-"));
let srv: RunningServer | undefined;
let browser: Browser | undefined;

before(async () => {
  if (skipWithoutChromium) return;
  srv = await startServer((await toyModel()).model, { port: 0, modelName: "toy.safetensors" });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await srv?.close();
});

const cli = (...args: string[]): CliRun => runCli(args, { home: path.join(dir, "home") });

async function openPage(query: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1300, height: 1000 }, acceptDownloads: true });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${srv!.url}/train/${query}`);
  return { page, errors };
}

async function pick(page: Page, files: { train: string; dev: string; vectors: string }): Promise<void> {
  await page.setInputFiles("#train-file", files.train);
  await page.setInputFiles("#dev-file", files.dev);
  await page.setInputFiles("#vectors-file", files.vectors);
}

const { trainFile, devFile, glove } = writeToyData(dir, 240, "g.txt");

test("serve's training page trains in a worker with live charts, tags, downloads a model that evaluates in Node to the page's F1, and Stop works mid-epoch",
  { skip: skipWithoutChromium }, async () => {
    const res = await fetch(`${srv!.url}/train/`);
    assert.equal(res.headers.get("cross-origin-opener-policy"), "same-origin");
    assert.equal(res.headers.get("cross-origin-embedder-policy"), "require-corp");

    const set = ["lr=0.02", "hidden=16", "batchSize=8"].map((s) => `set=${encodeURIComponent(s)}`).join("&");
    const { page, errors } = await openPage(`?epochs=6&${set}`);
    await pick(page, { train: trainFile, dev: devFile, vectors: glove });
    await page.click("#train");
    await page.waitForFunction(() => window.lstmNerTraining?.done === true || document.getElementById("error")!.textContent !== "", null, { timeout: 60_000 });
    assert.equal(await page.textContent("#error"), "");
    assert.match((await page.textContent("#mode"))!, /^wasm-simd kernels, 2 threads \(cross-origin isolated: a helper Web Worker shares the WebAssembly memory\)/);
    const state = await page.evaluate(() => {
      const s = window.lstmNerTraining!;
      return { loss: s.loss.data(), dev: s.dev.data(), epochs: s.epochs, best: s.bestDevF1 };
    });
    assert.deepEqual(state.dev.x, [1, 2, 3, 4, 5, 6], "one dev point per epoch");
    assert.deepEqual(state.dev.ys[0], state.epochs.map((e) => e.dev_f1));
    assert.ok(state.loss.x.length >= 6, `loss points: ${state.loss.x.length}`);
    assert.ok(state.loss.ys[0]!.every((y) => y !== null && Number.isFinite(y)));
    const shown = Number(await page.textContent("#f1"));
    assert.equal(shown, Number(Math.max(...state.epochs.map((e) => e.dev_f1!)).toFixed(2)));
    assert.ok(shown > 80, `the toy task is easy: dev F1 ${shown}`);
    assert.ok(Number(await page.textContent("#tps")) > 0);

    await page.fill("#text", "John Smith lives in London.");
    await page.click("#tag");
    await page.waitForSelector("#result mark.entity");

    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
    const model = path.join(dir, "browser.safetensors");
    await download.saveAs(model);
    const ev = cli("evaluate", "--model", model, "--data", devFile, "--json", "--threads", "1");
    assert.equal(ev.code, 0, ev.stderr);
    const f1 = (JSON.parse(ev.stdout) as { f1: number }).f1;
    assert.ok(Math.abs(f1 - state.best!) <= 0.01, `Node evaluates the downloaded model to ${f1}, the page showed ${state.best}`);

    // Stop in the middle of an epoch (3000 one-sentence batches): training ends after that batch, keeping a model.
    const bigTrain = path.join(dir, "big.txt");
    writeFileSync(bigTrain, toyConll(3000, 5));
    await page.goto(`${srv!.url}/train/?epochs=5&set=batchSize%3D1`);
    await pick(page, { train: bigTrain, dev: devFile, vectors: glove });
    await page.click("#train");
    await page.waitForFunction(() => /^epoch 1, batch \d\d+\/3000,/.test(document.getElementById("progress-text")!.textContent!), null, { timeout: 60_000 });
    await page.click("#stop");
    await page.waitForFunction(() => window.lstmNerTraining?.done === true, null, { timeout: 60_000 });
    const after = await page.evaluate(() => ({ epochs: window.lstmNerTraining!.epochs.length, batches: window.lstmNerTraining!.loss.data().x }));
    assert.equal(after.epochs, 1, "the stopped epoch is evaluated, and no other runs");
    assert.ok(after.batches[after.batches.length - 1]! < 3000, `stopped mid-epoch, after batch ${after.batches[after.batches.length - 1]}`);
    assert.match((await page.textContent("#best"))!, /epoch 1; stopped early/);
    assert.ok(!(await page.isDisabled("#download")));
    assert.deepEqual(errors, []);
    await page.close();
  });

test("bad input in the page: CoNLL errors (a bad tag, bytes that are not UTF-8) and vectors errors (a model file, a truncated vectors file, a short row, cut gzip) name the file and line; the page keeps working",
  { skip: skipWithoutChromium }, async () => {
    const badConll = path.join(dir, "bad.txt");
    writeFileSync(badConll, "John B-PER\nSmith X-PER\n");
    const { page, errors } = await openPage("?epochs=1&batches=3");
    await pick(page, { train: badConll, dev: devFile, vectors: glove });
    await page.click("#train");
    await page.waitForFunction(() => document.getElementById("error")!.textContent !== "");
    assert.match((await page.textContent("#error"))!, /^bad\.txt:2: /);
    const latin1 = path.join(dir, "latin1.txt");
    writeFileSync(latin1, Buffer.concat([Buffer.from("-DOCSTART- -X- -X- O\n\nJos"), Buffer.from([0xe9]), Buffer.from(" NNP I-NP B-PER\n")]));
    const tryTrain = async (files: { train: string; dev: string; vectors: string }): Promise<string> => {
      await page.evaluate(() => { document.getElementById("error")!.textContent = ""; });
      await pick(page, files);
      await page.click("#train");
      await page.waitForFunction(() => document.getElementById("error")!.textContent !== "");
      return (await page.textContent("#error"))!;
    };
    assert.match(await tryTrain({ train: trainFile, dev: latin1, vectors: glove }), /^latin1\.txt:3: not valid UTF-8/);
    const model = (await toyModel()).file;
    assert.match(await tryTrain({ train: trainFile, dev: devFile, vectors: model }), /this is a model file/);
    // Vectors: lstm-ner's own file cut short, GloVe text with a short row, gzip data cut short.
    const pruned = path.join(dir, "pruned.vectors");
    const pr = cli("vectors", "prune", glove, "--keep", "20", "--out", pruned);
    assert.equal(pr.code, 0, pr.stderr);
    const cut = path.join(dir, "cut.vectors");
    writeFileSync(cut, readFileSync(pruned).subarray(0, Math.floor(readFileSync(pruned).length * 0.7)));
    assert.match(await tryTrain({ train: trainFile, dev: devFile, vectors: cut }), /^cut\.vectors: not a valid vectors file \(tensor vectors\.weight: data .* lies outside the \d+ data bytes \(truncated file\?\)\)$/);
    const shortRow = path.join(dir, "short-row.txt");
    const rows = readFileSync(glove, "utf8").split("\n");
    rows[4] = rows[4]!.split(" ").slice(0, 5).join(" ");
    writeFileSync(shortRow, rows.join("\n"));
    assert.match(await tryTrain({ train: trainFile, dev: devFile, vectors: shortRow }), /^short-row\.txt:5: expected 12 values \(as on line 1\), found 4$/);
    const cutGz = path.join(dir, "cut.txt.gz");
    const gz = gzipSync(readFileSync(glove));
    writeFileSync(cutGz, gz.subarray(0, gz.length >> 1));
    assert.match(await tryTrain({ train: trainFile, dev: devFile, vectors: cutGz }), /^cut\.txt\.gz: truncated or corrupt gzip data$/);
    assert.ok(!(await page.isDisabled("#train")), "the page can train again");
    await pick(page, { train: trainFile, dev: devFile, vectors: glove });
    await page.click("#train");
    await page.waitForFunction(() => window.lstmNerTraining?.done === true || document.getElementById("error")!.textContent !== "", null, { timeout: 60_000 });
    assert.equal(await page.textContent("#error"), "", "after the bad files, good ones train");
    assert.deepEqual(errors, []);
    await page.close();
  });

/** CoNLL++ with a pruned vectors file: slow (minutes), so only when LSTM_NER_BROWSER_VECTORS names such a file. */
const CONLLPP = path.join(process.env.LSTM_NER_DATA ?? "/work/shared/data", "conllpp");
const PRUNED = process.env.LSTM_NER_BROWSER_VECTORS;
const skipConllpp = skipWithoutChromium || (PRUNED && existsSync(PRUNED) && existsSync(path.join(CONLLPP, "conllpp_train.txt")) ? false
  : "set LSTM_NER_BROWSER_VECTORS to a pruned vectors file (lstm-ner vectors prune) and LSTM_NER_DATA to the data folder to run it");

test("the seed preset on CoNLL++ with pruned vectors, one epoch in the page: dev F1 ≥ 70, the model evaluates in Node to it", { skip: skipConllpp, timeout: 900_000 }, async () => {
  const { page, errors } = await openPage("?epochs=1");
  await pick(page, { train: path.join(CONLLPP, "conllpp_train.txt"), dev: path.join(CONLLPP, "conllpp_dev.txt"), vectors: PRUNED! });
  await page.click("#train");
  await page.waitForFunction(() => window.lstmNerTraining?.done === true || document.getElementById("error")!.textContent !== "", null, { timeout: 880_000, polling: 1000 });
  assert.equal(await page.textContent("#error"), "");
  const best = await page.evaluate(() => window.lstmNerTraining!.bestDevF1!);
  assert.ok(best >= 70, `dev F1 ${best}`);
  assert.ok((await page.evaluate(() => window.lstmNerTraining!.loss.data().x.length)) > 10);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  const model = path.join(dir, "conllpp-browser.safetensors");
  await download.saveAs(model);
  const ev = cli("evaluate", "--model", model, "--data", path.join(CONLLPP, "conllpp_dev.txt"), "--json", "--threads", "1");
  assert.equal(ev.code, 0, ev.stderr);
  assert.ok(Math.abs((JSON.parse(ev.stdout) as { f1: number }).f1 - best) <= 0.01);
  process.stderr.write(`browser, seed preset, one epoch of CoNLL++: dev F1 ${best.toFixed(2)}, ${await page.textContent("#tps")} tokens/s\n`);
  assert.deepEqual(errors, []);
  await page.close();
});
