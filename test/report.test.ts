import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { chunks, score } from "../src/eval/conlleval.js";
import { epochLine, parseTrainingLog, bestEpoch } from "../src/report/log.js";
import { renderTrainingReport } from "../src/report/html.js";
import { LstmNerError } from "../src/util/errors.js";

test("chunks follow conlleval's rules (IOB2, IOB1, BIOES)", () => {
  assert.deepEqual(chunks(["B-PER", "I-PER", "O", "B-LOC"]), [{ start: 0, end: 2, type: "PER" }, { start: 3, end: 4, type: "LOC" }]);
  assert.deepEqual(chunks(["I-ORG", "I-ORG", "B-ORG", "I-LOC"]), [{ start: 0, end: 2, type: "ORG" }, { start: 2, end: 3, type: "ORG" }, { start: 3, end: 4, type: "LOC" }]);
  assert.deepEqual(chunks(["S-PER", "B-LOC", "E-LOC", "O"]), [{ start: 0, end: 1, type: "PER" }, { start: 1, end: 3, type: "LOC" }]);
});

test("the confusion table: same span → (gold, predicted type); otherwise missed and spurious; diagonal = correct", () => {
  const gold = [["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"], ["B-MISC", "O"]];
  const pred = [["B-PER", "O", "O", "B-ORG", "O", "B-ORG"], ["O", "B-PER"]];
  const s = score(gold, pred);
  const c = (): Record<string, Record<string, number>> => s.confusion;
  assert.deepEqual(c(), {
    LOC: { ORG: 1 },
    MISC: { O: 1 },
    O: { PER: 2 },
    ORG: { ORG: 1 },
    PER: { O: 1 },
  });
  for (const [t, ts] of Object.entries(s.perType)) assert.equal(c()[t]?.[t] ?? 0, ts.correct, t);
  // Rows sum to the gold chunks of the type; columns (spurious included) to the predicted ones.
  for (const [t, ts] of Object.entries(s.perType)) {
    assert.equal(Object.values(c()[t] ?? {}).reduce((a, b) => a + b, 0), ts.gold, `row ${t}`);
    assert.equal(Object.values(c()).reduce((a, row) => a + (row[t] ?? 0), 0), ts.pred, `column ${t}`);
  }
});

test("training logs: a line that is not an epoch is refused with file and line; the best epoch is the last marked best", () => {
  const rec = { epoch: 1, loss: 0.5, train_seconds: 2, train_tokens_per_s: 100, dev_f1: 50, dev_precision: 40, dev_recall: 66.666, best: true };
  const l1 = epochLine(rec, score([["B-PER"]], [["B-PER"]]));
  assert.equal(l1.dev_recall, 66.67);
  assert.deepEqual(l1.dev_per_type!.PER, { precision: 100, recall: 100, f1: 100, gold: 1, pred: 1, correct: 1 });
  const l2 = { ...l1, epoch: 2, best: false };
  const lines = parseTrainingLog(`${JSON.stringify(l1)}\n${JSON.stringify(l2)}\n`, "log");
  assert.equal(bestEpoch(lines).epoch, 1);
  assert.throws(() => parseTrainingLog(`${JSON.stringify(l1)}\n{"x": 1}\n`, "log.jsonl"), (e: Error) => e instanceof LstmNerError && e.message === "log.jsonl:2: not an epoch of a training log (needs epoch, loss and train_tokens_per_s)");
  assert.throws(() => parseTrainingLog("token O\n", "t.txt"), /t\.txt:1: not a JSON object/);
  assert.throws(() => parseTrainingLog("\n", "e"), /no epochs/);
});

test("the report escapes names and keeps the script and data inside their elements", () => {
  const line = epochLine({ epoch: 1, loss: 0.5, train_seconds: 2, train_tokens_per_s: 100, dev_f1: 50, dev_precision: 40, dev_recall: 66, best: true },
    score([["B-<b>x"]], [["B-<b>x"]]));
  const html = renderTrainingReport([line], { title: "<i>t</i>", script: "var s = '</script><b>';", css: "" });
  assert.ok(!html.includes("<i>t</i>"));
  assert.ok(html.includes("&lt;b&gt;x"), "escaped by the one function pages and reports share (displacy's escapeHtml)");
  assert.equal(html.match(/<\/script>/g)!.length, 2, "only the two script elements close");
});

test("CLI: report --out naming the log itself is refused and the log is kept", () => {
  const d = mkdtempSync(path.join(tmpdir(), "lstm-ner-report-"));
  const log = path.join(d, "log.jsonl");
  const rec = { epoch: 1, loss: 0.5, train_seconds: 2, train_tokens_per_s: 100, dev_f1: 50, dev_precision: 40, dev_recall: 66.666, best: true };
  const text = `${JSON.stringify(epochLine(rec, score([["B-PER"]], [["B-PER"]])))}\n`;
  writeFileSync(log, text);
  const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/cli/main.js");
  const r = spawnSync(process.execPath, [cli, "report", log, "--out", path.join(d, ".", "log.jsonl")], { encoding: "utf8" });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^lstm-ner: error: .*log\.jsonl: --out is the training log file, which would be overwritten; write to another file\n$/);
  assert.equal(readFileSync(log, "utf8"), text);
  const ok = spawnSync(process.execPath, [cli, "report", log, "--out", path.join(d, "r.html")], { encoding: "utf8" });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(readFileSync(path.join(d, "r.html"), "utf8"), /<html/i);
});
