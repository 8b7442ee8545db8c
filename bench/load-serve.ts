/**
 * Load and abuse on `lstm-ner serve`: starts the server as a child process on
 * a free loopback port, then for `--seconds` runs
 *   - `--clients` mixed clients, each from its own loopback address
 *     (127.0.1.k), looping one kind of request each, in turn: small texts
 *     (1–3 sentences), big texts (~19,000 tokens, under the default
 *     --max-tokens) and `{"texts": [1000 × "a"]}`; a 503 is retried after its
 *     Retry-After;
 *   - one greedy client (127.0.0.2) holding `--greedy` connections that each
 *     trickle a request body, 1 byte every 2 s, reopening any that is closed
 *     after `--greedy-retry-ms` (1000: the Retry-After of a 429);
 *   - a prober in its own thread asking `/health` every 50 ms (127.0.0.1);
 * then prints, one JSON object per line and a one-line summary: latency
 * p50/p99 per kind (answered requests) and statuses, `/health` p50/p99/max
 * and failures, what the greedy client got, tokens tagged per second (and per
 * core), and the server's RSS (peak and at the end; HTTP and tagging threads
 * together).
 *
 *   node dist/bench/load-serve.js [--model FILE] [--clients 48] [--greedy 300] [--greedy-retry-ms 1000] [--seconds 60]
 *     [-- extra serve options]
 * Without --model, a tiny model is trained on the synthetic toy corpus first.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { availableParallelism } from "node:os";
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
const count = (name: string, def: number, min: number, max: number): number => {
  const v = Number(arg(name, String(def)));
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return v;
};
const clients = count("--clients", 48, 1, 250);
const greedyConnections = count("--greedy", 300, 0, 5000);
const seconds = count("--seconds", 60, 1, 3600);
const greedyRetryMs = count("--greedy-retry-ms", 1000, 1, 60_000);
const print = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));

let model = arg("--model", "");
if (model === "") {
  const { toyModel } = await import("../test/pipeline-helpers.js");
  model = (await toyModel()).file;
}

// --- the server --------------------------------------------------------------
const serveArgs = [CLI, "serve", "--model", model, "--port", "0", "--host", "127.0.0.1", "--health-details", ...extra];
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
const port = Number(new URL(url).port);

/** Resident set of the server process (Linux /proc), peak and now, in MB. */
function rssMb(): { peak: number | null; now: number | null } {
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
    const kb = (field: string): number | null => {
      const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
      return m ? Math.round(Number(m[1]) / 1024) : null;
    };
    return { peak: kb("VmHWM"), now: kb("VmRSS") };
  } catch {
    return { peak: null, now: null };
  }
}
interface Health { model: { name: string; sizes: unknown }; queue: { tokensTagged: number } }
const health = async (): Promise<Health> => (await (await fetch(`${url}/health`)).json()) as Health;
const h0 = await health();
const idle = rssMb();
print({
  bench: "setup", url, model: h0.model.name, sizes: h0.model.sizes, serve: serveArgs.slice(2).join(" "), clients, greedy_connections: greedyConnections,
  seconds, rss_mb_idle: idle.now, cores: availableParallelism(), node: process.version,
});

// --- the mixed clients -------------------------------------------------------
const SENTENCES = [
  "John Smith lives in London and works for Microsoft.",
  "Anna Schmidt flew from Berlin to Paris on Friday to meet officials of the European Union.",
  "Reuters reported that Apple and Google shares fell in New York.",
  "The Aarhus University team beat Real Madrid 3-1 in the friendly match.",
  "Prime Minister Boris Johnson spoke with President Macron about NATO.",
];
/** About 19,000 tokens (~95 KB): under the default --max-tokens (20,000). */
const BIG = SENTENCES.join(" ").repeat(270);
const KINDS = {
  small: (i: number) => ({ text: Array.from({ length: 1 + (i % 3) }, (_, k) => SENTENCES[(i + k) % SENTENCES.length]!).join(" ") }),
  big: () => ({ text: BIG }),
  "1000 texts": () => ({ texts: Array.from({ length: 1000 }, () => "a") }),
} as const;
type Kind = keyof typeof KINDS;
/** Client k's kind: one in six sends 1000 texts, two in six big texts, the rest small ones. */
const kindOf = (k: number): Kind => (k % 6 === 0 ? "1000 texts" : k % 6 <= 2 ? "big" : "small");
const latencies: Record<Kind, number[]> = { small: [], big: [], "1000 texts": [] };
const statuses: Record<string, number> = {};
const deadline = Date.now() + seconds * 1000;

function post(body: string, from: string): Promise<{ status: number; retryAfter: number }> {
  return new Promise((resolve) => {
    const req = request({
      host: "127.0.0.1", port, localAddress: from, method: "POST", path: "/ner", agent: false, timeout: 600_000,
      headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: Number(res.headers["retry-after"] ?? 1) }));
      res.on("error", () => resolve({ status: -1, retryAfter: 1 }));
    });
    req.on("error", () => resolve({ status: -1, retryAfter: 1 }));
    req.on("timeout", () => req.destroy());
    req.end(body);
  });
}

async function client(k: number): Promise<void> {
  const kind = kindOf(k);
  const from = `127.0.1.${k + 1}`;
  for (let i = 0; Date.now() < deadline; i++) {
    const body = JSON.stringify(KINDS[kind](i));
    const t0 = performance.now();
    const { status, retryAfter } = await post(body, from);
    const key = `${kind} ${status === -1 ? "network error" : status}`;
    statuses[key] = (statuses[key] ?? 0) + 1;
    if (status === 200) latencies[kind].push(performance.now() - t0);
    else await new Promise((r) => setTimeout(r, retryAfter * 1000));
  }
}

// --- the greedy client -------------------------------------------------------
const greedy = { opened: 0, refused429: 0, closed: {} as Record<string, number> };
const greedySockets = new Set<Socket>();
function trickle(): void {
  if (Date.now() >= deadline) return;
  greedy.opened++;
  let reply = "";
  const s = connect({ host: "127.0.0.1", port, localAddress: "127.0.0.2" }, () => {
    s.write("POST /ner HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n");
  });
  greedySockets.add(s);
  const timer = setInterval(() => s.write("{"), 2000);
  s.setEncoding("utf8");
  s.on("data", (c: string) => { reply += c; });
  s.on("error", () => undefined);
  s.on("close", () => {
    clearInterval(timer);
    greedySockets.delete(s);
    const status = /^HTTP\/1\.1 (\d+)/.exec(reply)?.[1] ?? "no answer";
    if (status === "429") greedy.refused429++;
    else greedy.closed[status] = (greedy.closed[status] ?? 0) + 1;
    setTimeout(trickle, greedyRetryMs);
  });
}
for (let i = 0; i < greedyConnections; i++) trickle();

// --- the prober, in its own thread so its figures are the server's ------------
const PROBER = `
const { parentPort, workerData } = require("node:worker_threads");
let running = true;
parentPort.once("message", () => { running = false; });
(async () => {
  const ms = [];
  let failed = 0;
  while (running) {
    const t0 = performance.now();
    try {
      const r = await fetch(workerData + "/health", { signal: AbortSignal.timeout(30000) });
      await r.arrayBuffer();
      if (r.status !== 200) failed++;
    } catch {
      failed++;
    }
    ms.push(performance.now() - t0);
    await new Promise((res) => setTimeout(res, 50));
  }
  parentPort.postMessage({ ms, failed });
})();
`;
const prober = new Worker(PROBER, { eval: true, workerData: url });
const probed = new Promise<{ ms: number[]; failed: number }>((resolve) => prober.once("message", resolve));

const start = performance.now();
await Promise.all(Array.from({ length: clients }, (_, k) => client(k)));
const elapsed = (performance.now() - start) / 1000;
prober.postMessage("stop");
const { ms: healthMs, failed: healthFailed } = await probed;
await prober.terminate();
const tagged = (await health()).queue.tokensTagged - h0.queue.tokensTagged;
const rss = rssMb();
for (const s of greedySockets) s.destroy();
child.kill("SIGTERM");
await new Promise((res) => child.once("exit", res));

// --- report ------------------------------------------------------------------
const pct = (xs: number[], p: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!);
};
for (const kind of Object.keys(KINDS) as Kind[]) {
  const byStatus = Object.fromEntries(Object.entries(statuses).filter(([k]) => k.startsWith(`${kind} `)).map(([k, v]) => [k.slice(kind.length + 1), v]));
  print({ bench: "latency", kind, clients: Array.from({ length: clients }, (_, k) => kindOf(k)).filter((x) => x === kind).length,
    answered: latencies[kind].length, by_status: byStatus, p50_ms: pct(latencies[kind], 50), p99_ms: pct(latencies[kind], 99), max_ms: pct(latencies[kind], 100) });
}
print({ bench: "health", probes: healthMs.length, failed: healthFailed, p50_ms: pct(healthMs, 50), p99_ms: pct(healthMs, 99), max_ms: pct(healthMs, 100) });
print({ bench: "greedy", connections: greedyConnections, opened: greedy.opened, refused_429: greedy.refused429, other_ends: greedy.closed });
const perS = Math.round(tagged / elapsed);
print({ bench: "throughput", seconds: Math.round(elapsed * 10) / 10, tokens_tagged: tagged, tokens_per_s: perS, tokens_per_s_per_core: Math.round(perS / availableParallelism()) });
print({ bench: "memory", rss_mb_peak: rss.peak, rss_mb_end: rss.now, rss_mb_idle: idle.now });
console.log(`\n${clients} mixed clients + 1 greedy client (${greedyConnections} trickling connections), ${elapsed.toFixed(0)} s: ` +
  `/health p99 ${pct(healthMs, 99)} ms (max ${pct(healthMs, 100)} ms, ${healthFailed} of ${healthMs.length} failed); ` +
  `1000-text requests p99 ${pct(latencies["1000 texts"], 99)} ms (${latencies["1000 texts"].length} answered); ` +
  `small p99 ${pct(latencies.small, 99)} ms; big p99 ${pct(latencies.big, 99)} ms; ${perS} tokens/s (${Math.round(perS / availableParallelism())} per core); ` +
  `server RSS peak ${rss.peak} MB, end ${rss.now} MB (idle ${idle.now} MB); greedy: ${greedy.refused429} connections refused with 429`);
