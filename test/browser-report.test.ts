import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { Browser } from "playwright-core";
import { launchChromium, skipWithoutChromium } from "./pipeline-helpers.js";
import { writeToyData } from "./toy-corpus.js";
import type { EpochLine } from "../src/report/log.js";
import { runCli, type CliRun } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-report-"));
let browser: Browser | undefined;

before(async () => {
  if (!skipWithoutChromium) browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

const cli = (...args: string[]): CliRun => runCli(args, { home: path.join(dir, "home") });

test("train writes an HTML report that renders in Chromium: one chart point per epoch, tables equal to the log", { skip: skipWithoutChromium }, async () => {
  const { trainFile, devFile, glove } = writeToyData(dir, 200, "g.txt");
  const log = path.join(dir, "log.jsonl");
  const r = cli("train", "--train", trainFile, "--dev", devFile, "--embeddings", glove, "--epochs", "4", "--hidden", "16",
    "--batch-size", "8", "--lr", "0.02", "--out", path.join(dir, "m.safetensors"), "--log", log, "--no-progress");
  assert.equal(r.code, 0, r.stderr);
  const report = path.join(dir, "m.report.html");
  assert.match(r.stderr, /report: .*m\.report\.html/);
  const lines = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as EpochLine);
  assert.equal(lines.length, 4);
  // `lstm-ner report` renders the same page from the log.
  const again = path.join(dir, "again.html");
  assert.equal(cli("report", log, "--out", again).code, 0);
  const strip = (html: string): string => html.replace(/<title>.*?<\/title>|<h1>.*?<\/h1>/g, "");
  assert.equal(strip(readFileSync(again, "utf8")), strip(readFileSync(report, "utf8")));
  assert.ok(!/<script[^>]+src=|<link/.test(readFileSync(report, "utf8")), "self-contained: nothing is fetched");

  const page = await browser!.newPage({ viewport: { width: 1300, height: 1000 } });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("request", (req) => {
    if (!req.url().startsWith("file:")) errors.push(`fetched ${req.url()}`);
  });
  await page.goto(`file://${report}`);
  await page.waitForFunction(() => (window.lstmNerCharts?.length ?? 0) === 2);
  const charts = await page.evaluate(() => window.lstmNerCharts!.map((c) => c.data()));
  assert.deepEqual(charts[0]!.x, [1, 2, 3, 4], "one point per epoch");
  assert.deepEqual(charts[0]!.ys[0], lines.map((l) => l.loss));
  assert.deepEqual(charts[1]!.ys, [lines.map((l) => l.dev_f1), lines.map((l) => l.dev_precision), lines.map((l) => l.dev_recall)]);
  assert.equal(await page.locator(".uplot canvas").count(), 2, "uPlot drew two canvases");

  const cells = (sel: string): Promise<string[][]> => page.$$eval(`${sel} tbody tr`, (rows) => rows.map((tr) => Array.from(tr.children, (c) => c.textContent!)));
  const epochs = await cells("#epochs");
  assert.deepEqual(epochs.map((row) => row.slice(0, 6)), lines.map((l) => [String(l.epoch), l.loss.toFixed(5), l.dev_precision!.toFixed(2),
    l.dev_recall!.toFixed(2), l.dev_f1!.toFixed(2), String(l.train_tokens_per_s)]));
  const best = [...lines].reverse().find((l) => l.best)!;
  assert.equal(await page.textContent("#best-epoch"), String(best.epoch));
  assert.equal(await page.textContent("#best-f1"), best.dev_f1!.toFixed(2));
  const perType = await cells("#per-type");
  for (const [type, s] of Object.entries(best.dev_per_type!)) {
    const row = perType.find((r) => r[0] === type)!;
    assert.deepEqual(row, [type, s.precision.toFixed(2), s.recall.toFixed(2), s.f1.toFixed(2), String(s.gold), String(s.pred), String(s.correct)]);
  }
  const confusion = await cells("#confusion");
  const head = await page.$$eval("#confusion thead th", (ths) => ths.map((t) => t.textContent!));
  const col = (name: string): number => head.indexOf(name);
  for (const [gold, row] of Object.entries(best.dev_confusion!)) {
    const tr = confusion.find((r) => r[0] === (gold === "O" ? "none (spurious)" : gold))!;
    for (const [pred, n] of Object.entries(row)) assert.equal(tr[col(pred === "O" ? "none (missed)" : pred)], String(n), `${gold} → ${pred}`);
  }
  assert.deepEqual(errors, []);
  await page.close();

  const bad = cli("report", trainFile, "--out", path.join(dir, "x.html"));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /train\.txt:1: not a JSON object/);
});
