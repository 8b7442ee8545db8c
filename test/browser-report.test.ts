import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { Browser } from "playwright-core";
import { launchChromium, skipWithoutChromium } from "./pipeline-helpers.js";
import { writeToyData } from "./toy-corpus.js";
import type { EpochLine } from "../src/report/log.js";
import { renderTrainingReport } from "../src/report/html.js";
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

test("a crafted log cannot run script in the report: type names, counts and confusion cells are escaped (Chromium)", { skip: skipWithoutChromium }, async () => {
  const evil = (tag: string): string => `<img src=x onerror="window.__pwned='${tag}'">`;
  const line = {
    epoch: 1, loss: 0.5, train_seconds: 2, train_tokens_per_s: 100, dev_f1: 50, dev_precision: 50, dev_recall: 50, best: true,
    dev_per_type: { [evil("type")]: { precision: 50, recall: 50, f1: 50, gold: 2, pred: 2, correct: 1 } },
    dev_confusion: { [evil("gold")]: { [evil("pred")]: 1, O: 1 }, O: { [evil("pred")]: 1 } },
  };
  const log = path.join(dir, "crafted.jsonl");
  writeFileSync(log, JSON.stringify(line) + "\n");
  const out = path.join(dir, "crafted.html");
  const r = cli("report", log, "--out", out);
  assert.equal(r.code, 0, r.stderr);
  // Values where the report prints numbers are checked when the log is read: one line naming the file, line and field.
  for (const [field, value, msg] of [
    ["gold", evil("gold"), `dev_per_type["PER"].gold must be a whole number ≥ 0`],
    ["correct", "1", `dev_per_type["PER"].correct must be a whole number ≥ 0`],
  ] as const) {
    const bad = path.join(dir, `crafted-${field}.jsonl`);
    writeFileSync(bad, JSON.stringify({ ...line, dev_per_type: { PER: { ...line.dev_per_type[evil("type")], [field]: value } } }) + "\n");
    const b = cli("report", bad, "--out", path.join(dir, "never.html"));
    assert.equal(b.code, 1);
    assert.equal(b.stderr, `lstm-ner: error: ${bad}:1: ${msg}\n`);
  }
  const confused = path.join(dir, "crafted-cell.jsonl");
  writeFileSync(confused, JSON.stringify({ ...line, dev_confusion: { PER: { LOC: evil("cell") } } }) + "\n");
  assert.match(cli("report", confused, "--out", path.join(dir, "never.html")).stderr, /crafted-cell\.jsonl:1: dev_confusion\["PER"\]\["LOC"\] must be a whole number ≥ 0\n$/);

  // And a library caller who renders unchecked lines: every value is escaped all the same.
  const unchecked = renderTrainingReport([{
    ...line, dev_f1: evil("f1") as unknown as number, loss: evil("loss") as unknown as number,
    dev_per_type: { PER: { precision: 1, recall: 1, f1: 1, gold: evil("gold") as unknown as number, pred: evil("pred") as unknown as number, correct: 1 } },
    dev_confusion: { PER: { LOC: evil("cell") as unknown as number } },
  }], { title: evil("title"), script: "", css: "" });

  const page = await browser!.newPage();
  for (const [what, load] of [["lstm-ner report", () => page.goto(`file://${out}`)], ["renderTrainingReport", () => page.setContent(unchecked)]] as const) {
    await load();
    await page.waitForLoadState("load");
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned), undefined, `${what}: a crafted value ran script`);
    assert.equal(await page.locator("img").count(), 0, `${what}: markup from the log became an element`);
  }
  await page.goto(`file://${out}`);
  assert.equal(await page.textContent("#per-type tbody tr th"), evil("type"), "the type name is shown as text");
  assert.deepEqual(await page.$$eval("#confusion thead th", (ths) => ths.map((t) => t.textContent)), ["gold \\ predicted", evil("gold"), evil("pred"), "none (missed)"]);
  await page.setContent(unchecked);
  assert.deepEqual(await page.$$eval("#per-type tbody tr:first-child td", (tds) => tds.map((t) => t.textContent)), ["1.00", "1.00", "1.00", evil("gold"), evil("pred"), "1"]);
  await page.close();
});
