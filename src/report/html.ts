/**
 * The self-contained HTML training report: curves of loss and dev F1 per
 * epoch (drawn by the bundled chart script), the per-epoch table with
 * tokens/s, and for the best epoch the per-type P/R/F1 table and the
 * entity-type confusion table on dev. No Node imports.
 */
import { bestEpoch, type EpochLine } from "./log.js";
import { html, trustedHtml, type SafeHtml } from "./markup.js";

/** What {@link renderTrainingReport} needs besides the log. */
export interface ReportAssets {
  /** Heading, e.g. the log's file name. */
  title: string;
  /** The chart script (build/browser/report.js: uPlot and ./report-page.ts), inlined. */
  script: string;
  /** uPlot's stylesheet, inlined. */
  css: string;
}

/** A figure with `digits` decimals; "–" when absent. Anything else (from a crafted log) is shown as text, escaped. */
const fixed = (x: unknown, digits: number): unknown => (typeof x === "number" ? x.toFixed(digits) : x ?? "–");
const pct = (x: unknown): unknown => fixed(x, 2);
/** Text that may sit inside a <script> element (which HTML escaping does not reach). */
const scriptSafe = (s: string): SafeHtml => trustedHtml(s.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--"));

/** The report page for a parsed training log. */
export function renderTrainingReport(lines: readonly EpochLine[], a: ReportAssets): string {
  const best = bestEpoch(lines);
  const hasDev = lines.some((l) => l.dev_f1 !== null);
  const seconds = lines.reduce((s, l) => s + (l.train_seconds ?? 0), 0);
  const tokens = lines.reduce((s, l) => s + l.train_tokens_per_s * (l.train_seconds ?? 0), 0);
  const summary = [
    html`${lines.length} epoch${lines.length === 1 ? "" : "s"}, ${(seconds / 60).toFixed(1)} min of training`,
    html`${Math.round(seconds > 0 ? tokens / seconds : 0)} tokens/s on average`,
    hasDev ? html`best epoch <b id="best-epoch">${best.epoch}</b>: dev F1 <b id="best-f1">${pct(best.dev_f1)}</b> (precision ${pct(best.dev_precision)}, recall ${pct(best.dev_recall)})`
      : html`last epoch <b id="best-epoch">${best.epoch}</b> (no dev set)`,
  ];
  const epochRows = lines.map((l) => html`<tr${l.epoch === best.epoch ? trustedHtml(' class="best"') : ""}><td>${l.epoch}</td><td>${fixed(l.loss, 5)}</td>\
<td>${pct(l.dev_precision)}</td><td>${pct(l.dev_recall)}</td><td>${pct(l.dev_f1)}</td><td>${l.train_tokens_per_s}</td>\
<td>${fixed(l.train_seconds ?? 0, 1)}</td><td>${l.best ? "★" : ""}</td></tr>\n`);
  const data = lines.map((l) => ({ epoch: l.epoch, loss: l.loss, dev_f1: l.dev_f1, dev_precision: l.dev_precision, dev_recall: l.dev_recall }));
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${a.title} · lstm-ner training report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${trustedHtml(a.css)}
body{font:15px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:1500px;padding:0 1em;color:#212529}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
.charts{display:flex;flex-wrap:wrap;gap:1em}.charts>div{min-width:340px}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ced4da;padding:.2em .6em;text-align:right}
th{background:#f1f3f5}tr.best td{background:#e7f5ff;font-weight:600}td.diag{background:#d3f9d8}td.off{background:#fff3bf}
.note{color:#495057;font-size:.9em}</style></head>
<body>
<h1>Training report: ${a.title}</h1>
<ul id="summary">${summary.map((s) => html`<li>${s}</li>`)}</ul>
<div class="charts"><div id="loss-chart"></div><div id="dev-chart"></div></div>
<h2>Epochs</h2>
<table id="epochs"><thead><tr><th>epoch</th><th>loss</th><th>dev P</th><th>dev R</th><th>dev F1</th><th>tokens/s</th><th>seconds</th><th>best</th></tr></thead>
<tbody>
${epochRows}</tbody></table>
${perTypeTable(best)}
${confusionTable(best)}
<script type="application/json" id="report-data">${scriptSafe(JSON.stringify(data))}</script>
<script>${scriptSafe(a.script)}</script>
</body></html>
`.value;
}

function perTypeTable(best: EpochLine): SafeHtml | "" {
  const types = best.dev_per_type;
  if (!types) return "";
  const rows = Object.entries(types).map(([t, s]) => html`<tr><th>${t}</th><td>${pct(s.precision)}</td><td>${pct(s.recall)}</td><td>${pct(s.f1)}</td>\
<td>${s.gold}</td><td>${s.pred}</td><td>${s.correct}</td></tr>\n`);
  return html`<h2>Per entity type on dev (epoch ${best.epoch})</h2>
<table id="per-type"><thead><tr><th>type</th><th>precision</th><th>recall</th><th>F1</th><th>gold</th><th>predicted</th><th>correct</th></tr></thead>
<tbody>
${rows}<tr class="best"><th>all</th><td>${pct(best.dev_precision)}</td><td>${pct(best.dev_recall)}</td><td>${pct(best.dev_f1)}</td><td></td><td></td><td></td></tr>
</tbody></table>`;
}

function confusionTable(best: EpochLine): SafeHtml | "" {
  const c = best.dev_confusion;
  if (!c) return "";
  const types = [...new Set([...Object.keys(c), ...Object.values(c).flatMap((r) => Object.keys(r))])].filter((t) => t !== "O").sort();
  const keys = [...types, "O"];
  const name = (t: string, none: string): string => (t === "O" ? none : t);
  const head = keys.map((p) => html`<th>${name(p, "none (missed)")}</th>`);
  // Own properties only: a type named like an Object.prototype member ("constructor") is a type, not a method.
  const own = <T>(o: Record<string, T> | undefined, k: string): T | undefined => (o !== undefined && Object.hasOwn(o, k) ? o[k] : undefined);
  const rows = keys.filter((g) => own(c, g)).map((g) => html`<tr><th>${name(g, "none (spurious)")}</th>${keys.map((p) => {
    const n = own(own(c, g), p) ?? 0;
    const cls = g === p && g !== "O" ? "diag" : n !== 0 ? "off" : "";
    return html`<td${cls ? trustedHtml(` class="${cls}"`) : ""}>${g === "O" && p === "O" ? "" : n}</td>`;
  })}</tr>\n`);
  return html`<h2>Entity-type confusion on dev (epoch ${best.epoch})</h2>
<p class="note">Rows: gold type; columns: predicted type. A gold entity whose exact span the model did not predict is <i>missed</i>; \
a predicted entity with no gold entity of that exact span is <i>spurious</i> (a boundary error counts as both).</p>
<table id="confusion"><thead><tr><th>gold \\ predicted</th>${head}</tr></thead>
<tbody>
${rows}</tbody></table>`;
}
