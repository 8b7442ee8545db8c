/**
 * Load on `lstm-ner serve`: starts the server as a child process on a free
 * loopback port, runs a bounded load — N clients sending M requests, mostly
 * small texts with some big ones (~40 KB), plus 16 concurrent 1 MB texts at
 * the start — while a prober in its own thread asks `/health` every 50 ms,
 * then prints requests and errors by status, latency p50/p99 per kind, the
 * server's peak RSS (VmHWM: HTTP and tagging threads together) and `/health`
 * latency under load. One JSON object per line, then a one-line summary.
 *
 *   node dist/bench/load-serve.js [--model FILE] [--clients 32] [--requests 2000]
 *     [--big-every 20] [--max-seconds 120] [--threads 1|2] [-- extra serve options]
 * Without --model, a tiny model is trained on the synthetic toy corpus first.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(here, "../src/cli/main.js");
const argv = process.argv.slice(2);
const dashdash = argv.indexOf("--");
const own = dashdash < 0 ? argv : argv.slice(0, dashdash);
const extra = dashdash < 0 ? [] : argv.slice(dashdash + 1);
const arg = (name: string, def: string): string => {
  const i = own.indexOf(name);
  return i >= 0 && own[i + 1] !== undefined ? own[i + 1]! : def;
};
const count = (name: string, def: number, max: number): number => {
  const v = Number(arg(name, String(def)));
  if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`${name} must be an integer from 1 to ${max}`);
  return v;
};
const clients = count("--clients", 32, 200);
const requests = count("--requests", 2000, 100_000);
const bigEvery = count("--big-every", 20, 1_000_000);
const maxSeconds = count("--max-seconds", 120, 3600);
const threads = arg("--threads", "");
const print = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));

let model = arg("--model", "");
if (model === "") {
  const { toyModel } = await import("../test/pipeline-helpers.js");
  model = (await toyModel()).file;
}

// --- the server --------------------------------------------------------------
const serveArgs = [CLI, "serve", "--model", model, "--port", "0", "--host", "127.0.0.1", ...(threads ? ["--threads", threads] : []), ...extra];
const child = spawn(process.execPath, serveArgs, { stdio: ["ignore", "ignore", "pipe"] });
const url = await new Promise<string>((resolve, reject) => {
  let err = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (c: string) => {
    err += c;
    const m = /at (http:\/\/127\.0\.0\.1:\d+)\//.exec(err);
    if (m) resolve(m[1]!);
  });
  child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${err.trim()}`)));
  setTimeout(() => reject(new Error("serve did not start within 300 s")), 300_000).unref();
});

/** Peak resident set of the server process (Linux /proc), in MB. */
function peakRssMb(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}
const rssIdle = peakRssMb();
const health = (await (await fetch(`${url}/health`)).json()) as { model: { name: string; sizes: unknown } };
print({ bench: "setup", url, model: health.model.name, sizes: health.model.sizes, serve: serveArgs.slice(2).join(" "), clients, requests, peak_rss_mb_idle: rssIdle, node: process.version });

// --- texts -------------------------------------------------------------------
const SENTENCES = [
  "John Smith lives in London and works for Microsoft.",
  "Anna Schmidt flew from Berlin to Paris on Friday to meet officials of the European Union.",
  "Reuters reported that Apple and Google shares fell in New York.",
  "The Aarhus University team beat Real Madrid 3-1 in the friendly match.",
  "Prime Minister Boris Johnson spoke with President Macron about NATO.",
];
/** One to three sentences. */
const small = (i: number): string => Array.from({ length: 1 + (i % 3) }, (_, k) => SENTENCES[(i + k) % SENTENCES.length]!).join(" ");
/** About 40 KB, ~8,000 tokens: under the default --max-tokens (20,000). */
const BIG = SENTENCES.join(" ").repeat(120);
/** 1 MB, ~200,000 tokens: over the default limit. */
const MB = SENTENCES.join(" ").repeat(3000).slice(0, 1 << 20);

// --- the load ----------------------------------------------------------------
type Kind = "small" | "big" | "1MB";
const latencies: Record<Kind, number[]> = { small: [], big: [], "1MB": [] };
const statuses: Record<string, number> = {};
const deadline = Date.now() + maxSeconds * 1000;

async function one(kind: Kind, text: string): Promise<void> {
  const t0 = performance.now();
  let status: string;
  try {
    const r = await fetch(`${url}/ner`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text }), signal: AbortSignal.timeout(maxSeconds * 1000) });
    await r.arrayBuffer();
    status = String(r.status);
  } catch (e) {
    status = `network:${(e as Error).name}`;
  }
  latencies[kind].push(performance.now() - t0);
  const key = `${kind} ${status}`;
  statuses[key] = (statuses[key] ?? 0) + 1;
}

let issued = 0;
async function client(): Promise<void> {
  while (issued < requests && Date.now() < deadline) {
    const i = issued++;
    if (i % bigEvery === bigEvery - 1) await one("big", BIG);
    else await one("small", small(i));
  }
}

// The prober runs in its own thread, so its figures are the server's, not this busy client's.
const PROBER = `
const { parentPort, workerData } = require("node:worker_threads");
let loading = true;
parentPort.once("message", () => { loading = false; });
(async () => {
  const ms = [];
  let errors = 0;
  while (loading) {
    const t0 = performance.now();
    try {
      const r = await fetch(workerData + "/health", { signal: AbortSignal.timeout(60000) });
      await r.arrayBuffer();
      if (r.status !== 200) errors++;
    } catch {
      errors++;
    }
    ms.push(performance.now() - t0);
    await new Promise((res) => setTimeout(res, 50));
  }
  parentPort.postMessage({ ms, errors });
})();
`;
const prober = new Worker(PROBER, { eval: true, workerData: url });
const probed = new Promise<{ ms: number[]; errors: number }>((resolve) => prober.once("message", resolve));

const start = performance.now();
await Promise.all([
  ...Array.from({ length: 16 }, () => one("1MB", MB)),
  ...Array.from({ length: clients }, () => client()),
]);
const seconds = (performance.now() - start) / 1000;
prober.postMessage("stop");
const { ms: healthMs, errors: healthErrors } = await probed;
await prober.terminate();
const peak = peakRssMb();
child.kill("SIGTERM");
await new Promise((res) => child.once("exit", res));

// --- report ------------------------------------------------------------------
const pct = (xs: number[], p: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
};
const all = [...latencies.small, ...latencies.big, ...latencies["1MB"]];
const errors = Object.entries(statuses).filter(([k]) => !k.endsWith(" 200")).reduce((n, [, v]) => n + v, 0);
for (const kind of ["small", "big", "1MB"] as const) {
  print({ bench: "latency", kind, requests: latencies[kind].length, p50_ms: pct(latencies[kind], 50), p99_ms: pct(latencies[kind], 99), max_ms: pct(latencies[kind], 100) });
}
print({ bench: "load", clients, requests: all.length, seconds: Math.round(seconds * 10) / 10, requests_per_s: Math.round(all.length / seconds), by_status: statuses, errors, p50_ms: pct(all, 50), p99_ms: pct(all, 99) });
print({ bench: "health", probes: healthMs.length, errors: healthErrors, p50_ms: pct(healthMs, 50), p99_ms: pct(healthMs, 99), max_ms: pct(healthMs, 100) });
print({ bench: "memory", peak_rss_mb: peak, peak_rss_mb_idle: rssIdle });
console.log(`\n${clients} clients + 16 x 1 MB: ${all.length} requests in ${seconds.toFixed(1)} s, non-200 ${errors} ${JSON.stringify(statuses)}; ` +
  `p50 ${pct(all, 50)} ms, p99 ${pct(all, 99)} ms; server peak RSS ${peak} MB (idle ${rssIdle}); ` +
  `/health p50 ${pct(healthMs, 50)} ms, p99 ${pct(healthMs, 99)} ms, max ${pct(healthMs, 100)} ms over ${healthMs.length} probes`);
