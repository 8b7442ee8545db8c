/**
 * Tagging through a BullMQ queue on a real redis-server (issue 13, part 2):
 * worker processes killed with -9, Redis itself killed and restarted, bad
 * jobs, a different model, no Redis at all. Every run's collected output must
 * equal single-process `predict`, each document exactly once.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { Job, Queue } from "bullmq";
import { CLI, toyModel } from "./pipeline-helpers.js";
import { saveNerModel } from "../src/model/file.js";
import { Redis } from "ioredis";
import { enqueueDocs } from "../src/queue/index.js";
import { readRuns } from "../src/queue/record.js";
import type { QueueDoc } from "../src/queue/jobs.js";
import { runCli } from "./helpers.js";

const REDIS = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => existsSync(p));
const skip = REDIS ? false : "skipped: redis-server is not installed (apt-get install redis-server; .ci/run installs it)";
const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-queue-"));
const started: ChildProcess[] = [];

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A redis-server on `port`; with `aof`, every write is fsynced to an append-only file (so a kill -9 loses nothing acknowledged). */
async function startRedis(port: number, data: string, aof: boolean): Promise<ChildProcess> {
  const p = spawn(REDIS!, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", data,
    "--appendonly", aof ? "yes" : "no", "--appendfsync", "always"], { stdio: ["ignore", "pipe", "inherit"] });
  started.push(p);
  let log = "";
  await new Promise<void>((resolve, reject) => {
    p.stdout!.on("data", (b: Buffer) => {
      log += b.toString();
      if (log.includes("Ready to accept connections")) resolve();
    });
    p.once("exit", (code) => reject(new Error(`redis-server exited (${code}): ${log}`)));
  });
  return p;
}

interface Proc {
  p: ChildProcess;
  out: string;
  err: string;
  exit: Promise<number | null>;
}
function run(args: string[], onLine?: (line: string) => void): Proc {
  const p = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  started.push(p);
  const r: Proc = { p, out: "", err: "", exit: new Promise((resolve) => p.once("exit", (code) => resolve(code))) };
  p.stdout!.on("data", (b: Buffer) => {
    const s = b.toString();
    r.out += s;
    if (onLine) for (const l of s.split("\n")) if (l) onLine(l);
  });
  p.stderr!.on("data", (b: Buffer) => { r.err += b.toString(); });
  return r;
}
const killed = (p: ChildProcess): Promise<void> => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once("exit", () => r())));

function predictOutput(model: string, input: string): string {
  const r = runCli(["predict", "--model", model, "--input", input, "--format", "jsonl", "--workers", "1"]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

const NAMES = ["Anna", "John Smith", "Peter Jones", "Clinton"];
const PLACES = ["Paris", "London", "Moscow", "Tokyo"];
function corpus(n: number, file: string): string {
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ id: `doc-${i}`, text: `${NAMES[i % 4]} lives in ${PLACES[(i >> 2) % 4]} ${i}.` }));
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

function assertExactlyOnce(collected: string, n: number): void {
  const ids = collected.trimEnd().split("\n").map((l) => (JSON.parse(l) as { id: string }).id);
  assert.equal(ids.length, n);
  assert.equal(new Set(ids).size, n);
}

let port = 0;
let url = "";
before(async () => {
  if (skip) return;
  port = await freePort();
  url = `redis://127.0.0.1:${port}`;
  await startRedis(port, mkdtempSync(path.join(dir, "redis-")), false);
});
after(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
});

test("two workers tag 10,000 documents; one is killed with -9 mid-job; each comes back exactly once, equal to predict", { skip }, async () => {
  const { file } = await toyModel();
  const input = corpus(10_000, path.join(dir, "docs.jsonl"));
  const q = ["--redis", url, "--queue", "kill9"];
  const enq = run(["enqueue", ...q, input]);
  assert.equal(await enq.exit, 0, enq.err);
  assert.match(enq.err, /enqueued 10000 documents in 157 jobs/);

  let done = 0;
  let victimJob = "";
  const workerArgs = ["worker", ...q, "--model", file, "--lock-duration", "2000", "--log-jobs"];
  const a: Proc = run(workerArgs, (l) => {
    if (l.startsWith("done ")) done++;
    // Kill A while it holds a job, once the run is well under way.
    if (l.startsWith("start ") && done >= 20 && !victimJob) {
      victimJob = l.slice(6);
      a.p.kill("SIGKILL");
    }
  });
  const b = run(workerArgs, (l) => { if (l.startsWith("done ")) done++; });
  const col = run(["collect", ...q, "--out", path.join(dir, "kill9.jsonl")]);
  assert.equal(await col.exit, 0, col.err);
  assert.ok(victimJob, `worker A was never killed (done ${done}): ${a.err}`);
  assert.equal(a.p.signalCode, "SIGKILL");
  const collected = readFileSync(path.join(dir, "kill9.jsonl"), "utf8");
  assertExactlyOnce(collected, 10_000);
  assert.ok(collected === predictOutput(file, input), "queue output differs from single-process predict");
  // The job A died holding was taken again by B after its lock expired.
  const queue = new Queue("kill9", { connection: { url } });
  const job = await Job.fromId(queue, victimJob);
  assert.equal(await job!.getState(), "completed");
  assert.ok(job!.attemptsStarted >= 2 || job!.stalledCounter >= 1, `job ${victimJob}: started ${job!.attemptsStarted}, stalled ${job!.stalledCounter}`);
  await queue.close();
  // Graceful stop of the survivor.
  b.p.kill("SIGTERM");
  assert.equal(await b.exit, 0, b.err);
  assert.match(b.err, /SIGTERM: finishing the jobs in hand, then stopping\n.*worker stopped/s);
});

test("Redis killed with -9 and restarted mid-run: the worker reconnects with backoff, no job is lost", { skip }, async () => {
  const { file } = await toyModel();
  const p2 = await freePort();
  const url2 = `redis://127.0.0.1:${p2}`;
  const data = mkdtempSync(path.join(dir, "redis-aof-"));
  let redis = await startRedis(p2, data, true);
  const input = corpus(3000, path.join(dir, "docs3k.jsonl"));
  const q = ["--redis", url2, "--queue", "outage"];
  const enq = run(["enqueue", ...q, "--batch", "16", input]);
  assert.equal(await enq.exit, 0, enq.err);
  let done = 0;
  let restarted: Promise<void> | undefined;
  const w = run(["worker", ...q, "--model", file, "--lock-duration", "2000", "--log-jobs"], (l) => {
    if (!l.startsWith("done ") || ++done !== 30) return;
    redis.kill("SIGKILL");
    restarted = (async () => {
      await killed(redis);
      await new Promise((r) => setTimeout(r, 1500));
      redis = await startRedis(p2, data, true);
    })();
  });
  // collect runs through the outage: it waits for Redis to come back, then for the jobs.
  const col = run(["collect", ...q, "--out", path.join(dir, "outage.jsonl")]);
  while (!restarted) await new Promise((r) => setTimeout(r, 100));
  await restarted;
  assert.equal(await col.exit, 0, col.err);
  assert.match(col.err, /collected 3000 of 3000 documents from 188 jobs\n$/);
  assertExactlyOnce(readFileSync(path.join(dir, "outage.jsonl"), "utf8"), 3000);
  assert.ok(readFileSync(path.join(dir, "outage.jsonl"), "utf8") === predictOutput(file, input));
  assert.match(w.err, /lost the connection to Redis \(\w+\); retrying with backoff/);
  w.p.kill("SIGTERM");
  assert.equal(await w.exit, 0, w.err);
});

test("bad jobs fail clearly and are not retried; the good ones are collected; collect exits 1 naming them", { skip }, async () => {
  const { file } = await toyModel();
  const opts = { redis: url, queue: "bad", batchSize: 1 };
  const docs = [
    { id: 1, text: "Anna lives in Paris." },
    { id: 2 },
    { id: 3, text: 42 },
    { id: 4, text: Array.from({ length: 30 }, () => "Paris").join(" ") },
    { id: 5, text: "John Smith lives in London." },
  ] as unknown as QueueDoc[];
  assert.deepEqual(await enqueueDocs(docs, opts), { docs: 5, jobs: 5, run: 1 });
  const w = run(["worker", "--redis", url, "--queue", "bad", "--model", file, "--max-tokens", "20"]);
  const out = path.join(dir, "bad.jsonl");
  const col = run(["collect", "--redis", url, "--queue", "bad", "--out", out]);
  assert.equal(await col.exit, 1);
  assert.match(col.err, /collected 2 of 5 documents from 2 jobs\nlstm-ner: error: incomplete: 3 jobs failed \(first: job batch-2: docs\[0\] \(id 2\): field "text" must be a string, got undefined\)\n$/);
  const queue = new Queue("bad", { connection: { url } });
  const reasons = await Promise.all([2, 3, 4].map(async (i) => {
    const job = (await Job.fromId(queue, `batch-${i}`))!;
    assert.equal(job.attemptsMade, 1, `job ${i} was retried`);
    return job.failedReason;
  }));
  await queue.close();
  assert.deepEqual(reasons, [
    'job batch-2: docs[0] (id 2): field "text" must be a string, got undefined',
    'job batch-3: docs[0] (id 3): field "text" must be a string, got number',
    "job batch-4: docs[0] (id 4): 30 tokens, over the limit of 20",
  ]);
  // Nothing written when incomplete? No: the good documents are there, and the exit status says it is incomplete.
  assert.deepEqual(readFileSync(out, "utf8").trimEnd().split("\n").map((l) => (JSON.parse(l) as { id: number }).id), [1, 5]);
  w.p.kill("SIGTERM");
  assert.equal(await w.exit, 0);
  assert.match(w.err, /job batch-3: docs\[0\] \(id 3\): field "text" must be a string, got number/);
});

test("enqueue checks the whole file first: a bad line 3 enqueues nothing", { skip }, async () => {
  const f = path.join(dir, "bad-line.jsonl");
  writeFileSync(f, `{"id":1,"text":"Anna"}\n{"id":2,"text":"Paris"}\n{"id":3}\n{"id":4,"text":"Tokyo"}\n`);
  const q = ["--redis", url, "--queue", "badline"];
  const enq = run(["enqueue", ...q, "--batch", "1", f]);
  assert.equal(await enq.exit, 1);
  assert.equal(enq.err, `lstm-ner: error: ${f}:3: field "text" must be a string, got undefined\n`);
  const col = run(["collect", ...q, "--no-wait"]);
  assert.equal(await col.exit, 1);
  assert.equal(col.out, "");
  assert.equal(col.err, `lstm-ner: error: queue "badline" on ${url} has nothing enqueued (is --queue mistyped, or was the queue emptied?)\n`);
});

test("a worker with a different model file refuses to start on the queue", { skip }, async () => {
  const { file, model } = await toyModel();
  const other = path.join(dir, "other.safetensors");
  await saveNerModel(other, model, { preset: "another run" });
  const q = ["--redis", url, "--queue", "pinned"];
  const first = run(["worker", ...q, "--model", file]);
  while (!first.err.includes("worker: queue")) {
    assert.equal(first.p.exitCode, null, first.err);
    await new Promise((r) => setTimeout(r, 100));
  }
  const second = run(["worker", ...q, "--model", other]);
  assert.equal(await second.exit, 1);
  assert.match(second.err, /^lstm-ner: error: the model differs from the one this queue's jobs are tagged with \(sha256 [0-9a-f]{12}… here, [0-9a-f]{12}… recorded on queue "pinned"\); use the same model file, or another queue\n$/);
  first.p.kill("SIGTERM");
  assert.equal(await first.exit, 0);
});

test("no Redis at the URL: one clear line and exit 1, for worker, enqueue and collect", { skip }, async () => {
  const { file } = await toyModel();
  const nobody = `redis://127.0.0.1:${await freePort()}`;
  const input = corpus(10, path.join(dir, "ten.jsonl"));
  const runs = [["worker", "--model", file], ["enqueue", input], ["collect"]].map((args) => run([...args, "--redis", nobody, "--queue", "q", "--connect-timeout", "1"]));
  for (const r of runs) {
    assert.equal(await r.exit, 1);
    assert.equal(r.err, `lstm-ner: error: cannot reach Redis at ${nobody} (ECONNREFUSED)\n`);
  }
  const bad = run(["collect", "--redis", "http://x", "--queue", "q"]);
  assert.equal(await bad.exit, 1);
  assert.match(bad.err, /--redis must be a redis:\/\/ or rediss:\/\/ URL/);
});

test("--connect-timeout out of range is one clear line and exit 1, before any connection (no Redis needed)", () => {
  for (const [args, v] of [[["collect"], "-1"], [["enqueue", "-"], "0"], [["collect", "--no-wait"], "1e9"]] as const) {
    const r = runCli([...args, "--redis", "redis://127.0.0.1:1", "--queue", "q", "--connect-timeout", v], { input: "" });
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(r.stderr, `lstm-ner: error: --connect-timeout must be a number of seconds above 0 and at most 3600, got ${Number(v)}\n`);
  }
});

/** Lines of a JSON-lines output, parsed. */
const records = (s: string): { id: string | number }[] => s.trimEnd().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id: string | number });
const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

test("collect knows what was enqueued: Redis restarted without its data fails loudly (no file), an unknown queue is an error", { skip }, async () => {
  const p = await freePort();
  const u = `redis://127.0.0.1:${p}`;
  const data = mkdtempSync(path.join(dir, "redis-volatile-"));
  let redis = await startRedis(p, data, false);
  const input = corpus(20_000, path.join(dir, "docs20k.jsonl"));
  const q = ["--redis", u, "--queue", "volatile"];
  const enq = run(["enqueue", ...q, input]);
  assert.equal(await enq.exit, 0, enq.err);
  const out = path.join(dir, "volatile.jsonl");
  // No worker: collect waits; Redis dies and comes back empty.
  const col = run(["collect", ...q, "--out", out]);
  await until("collect waits", () => col.err.includes("to go; waiting"));
  redis.kill("SIGKILL");
  await killed(redis);
  redis = await startRedis(p, data, false);
  assert.equal(await col.exit, 1);
  assert.match(col.err, /lost the connection to Redis .*\n.*connected to Redis again/s);
  assert.match(col.err, /lstm-ner: error: queue "volatile" lost its record while collecting \(20000 documents had been enqueued\): Redis restarted without its data \(no persistence\), or the queue was deleted; enqueue the documents again\n$/);
  assert.ok(!existsSync(out), "no output file");
  const typo = run(["collect", "--redis", u, "--queue", "volatle", "--out", out]);
  assert.equal(await typo.exit, 1);
  assert.equal(typo.err, `lstm-ner: error: queue "volatle" on ${u} has nothing enqueued (is --queue mistyped, or was the queue emptied?)\n`);
  assert.ok(!existsSync(out));
  redis.kill("SIGKILL");
});

test("ids are unique per queue: a second id-less file and a file using an id twice are refused at enqueue, naming the line; nothing is dropped", { skip }, async () => {
  const { file } = await toyModel();
  const q = ["--redis", url, "--queue", "unique"];
  const noIds = (n: number, name: string): string => {
    const f = path.join(dir, name);
    writeFileSync(f, Array.from({ length: n }, (_, i) => JSON.stringify({ text: `${NAMES[i % 4]} was in ${PLACES[i % 4]} on day ${i}.` })).join("\n") + "\n");
    return f;
  };
  const a = noIds(300, "no-ids-a.jsonl");
  const b = noIds(300, "no-ids-b.jsonl");
  assert.equal(await run(["enqueue", ...q, a]).exit, 0);
  const second = run(["enqueue", ...q, b]);
  assert.equal(await second.exit, 1);
  assert.equal(second.err, `lstm-ner: error: ${b}:1: id 1 is already on queue "unique" (enqueued from ${a}); ids must be unique per queue: give each document its own "id", or use another queue\n`);
  const twice = path.join(dir, "twice.jsonl");
  writeFileSync(twice, [...Array.from({ length: 50 }, (_, i) => ({ id: `t${i}`, text: "Anna" })), ...Array.from({ length: 50 }, (_, i) => ({ id: `t${i}`, text: "Paris" }))]
    .map((d) => JSON.stringify(d)).join("\n") + "\n");
  const dup = run(["enqueue", ...q, twice]);
  assert.equal(await dup.exit, 1);
  assert.equal(dup.err, `lstm-ner: error: ${twice}:51: id "t0" is used again (first on line 1); ids must be unique per queue\n`);
  // Standard input is checked as it streams: the duplicate is refused before its batch is added.
  const piped = spawnSync(process.execPath, [CLI, "enqueue", ...q, "--batch", "10", "-"], { input: readFileSync(twice), encoding: "utf8" });
  assert.equal(piped.status, 1);
  assert.match(piped.stderr, /^lstm-ner: error: document id "t0" appears twice in the input \(document 51\); ids must be unique per queue; the documents enqueued so far stay on the queue as an unfinished enqueue: finish it with `lstm-ner enqueue --resume` and the same input, or use another queue\n$/);
  // The library refuses an id another run holds.
  await assert.rejects(enqueueDocs([{ id: 5, text: "x" }], { redis: url, queue: "unique" }), /document id 5 is already on queue "unique" \(enqueued from .*no-ids-a\.jsonl\)/);
  const w = run(["worker", ...q, "--model", file]);
  const col = run(["collect", ...q, "--out", path.join(dir, "unique.jsonl")]);
  assert.equal(await col.exit, 1, col.err);
  // The first file whole; the stdin run stopped at its duplicate and says so (its 50 documents are not collected).
  assert.match(col.err, /collected 300 of 300 documents from 5 jobs\nlstm-ner: error: incomplete: the enqueue from <stdin> \(started [^)]+\) stopped after 50 documents in 5 jobs and never finished/);
  assert.deepEqual(records(readFileSync(path.join(dir, "unique.jsonl"), "utf8")).map((r) => r.id), Array.from({ length: 300 }, (_, i) => i + 1));
  w.p.kill("SIGTERM");
  assert.equal(await w.exit, 0);
});

test("an enqueue killed with -9 leaves the queue marked incomplete; collect names the way out; enqueue --resume finishes it, each document once", { skip }, async () => {
  const { file } = await toyModel();
  const input = corpus(20_000, path.join(dir, "docs20k-b.jsonl"));
  const q = ["--redis", url, "--queue", "killed-enqueue"];
  const queue = new Queue("killed-enqueue", { connection: { url } });
  const enq = run(["enqueue", ...q, "--batch", "16", input]);
  // Killed once it has put a few hundred jobs on the queue.
  await until("enqueue adds jobs", async () => (await queue.getJobCounts("waiting")).waiting! >= 300);
  enq.p.kill("SIGKILL");
  await killed(enq.p);
  // Its lease runs out: the run reads as interrupted.
  const client = new Redis(url);
  await until("the killed run's lease expires", async () => (await readRuns(client, "killed-enqueue"))[0]?.state === "interrupted", 30_000);
  client.disconnect();
  const early = run(["collect", ...q, "--no-wait"]);
  assert.equal(await early.exit, 1);
  assert.match(early.err, new RegExp(`incomplete: the enqueue from ${input.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(started [^)]+\\) stopped after \\d+ documents in \\d+ jobs and never finished, so its documents are left out: ` +
    `finish it with \`lstm-ner enqueue --resume --redis … --queue killed-enqueue .*docs20k-b\\.jsonl\` \\(the same input\\), then collect again\\n$`));
  // Another input is not taken for the killed run's.
  const other = corpus(20_000, path.join(dir, "docs20k-c.jsonl"));
  writeFileSync(other, readFileSync(other, "utf8").replace('"doc-0"', '"other-0"'));
  const wrong = run(["enqueue", ...q, "--resume", other]);
  assert.equal(await wrong.exit, 1);
  assert.match(wrong.err, /the documents differ from the interrupted enqueue's at job 1 \(documents 1–16\); resume with the same input, or enqueue on another queue/);
  const resumed = run(["enqueue", ...q, "--resume", input]);
  assert.equal(await resumed.exit, 0, resumed.err);
  assert.match(resumed.err, /resuming the interrupted enqueue of .*docs20k-b\.jsonl/);
  assert.match(resumed.err, /enqueued 20000 documents in 1250 jobs on queue "killed-enqueue" \(\d+ of the jobs were there from the interrupted run; the enqueue is now complete\)\n$/);
  await queue.close();
  const w = run(["worker", ...q, "--model", file, "--concurrency", "2"]);
  const out = path.join(dir, "killed-enqueue.jsonl");
  const col = run(["collect", ...q, "--out", out]);
  assert.equal(await col.exit, 0, col.err);
  assert.match(col.err, /collected 20000 of 20000 documents from 1250 jobs\n$/);
  assert.ok(readFileSync(out, "utf8") === predictOutput(file, input), "queue output differs from single-process predict");
  w.p.kill("SIGTERM");
  assert.equal(await w.exit, 0);
});

test("--connect-timeout covers a refused connection: enqueue, worker and collect started before Redis connect once it is up", { skip }, async () => {
  const { file } = await toyModel();
  const p = await freePort();
  const u = `redis://127.0.0.1:${p}`;
  const input = corpus(40, path.join(dir, "forty.jsonl"));
  const q = ["--redis", u, "--queue", "late", "--connect-timeout", "30"];
  const enq = run(["enqueue", ...q, input]);
  const w = run(["worker", ...q, "--model", file]);
  const col = run(["collect", ...q, "--out", path.join(dir, "late.jsonl")]);
  await new Promise((r) => setTimeout(r, 1500));
  for (const r of [enq, w, col]) assert.equal(r.p.exitCode, null, `gave up while Redis was refusing connections: ${r.err}`);
  const redis = await startRedis(p, mkdtempSync(path.join(dir, "redis-late-")), false);
  assert.equal(await enq.exit, 0, enq.err);
  // collect may have connected before the enqueue did: then it found nothing enqueued. Either way, once more:
  if ((await col.exit) !== 0) assert.match(col.err, /has nothing enqueued/);
  const again = run(["collect", ...q, "--out", path.join(dir, "late.jsonl")]);
  assert.equal(await again.exit, 0, again.err);
  assert.equal(records(readFileSync(path.join(dir, "late.jsonl"), "utf8")).length, 40);
  w.p.kill("SIGTERM");
  assert.equal(await w.exit, 0, w.err);
  redis.kill("SIGKILL");
});

test("an idle worker stops on SIGTERM while Redis is down", { skip }, async () => {
  const { file } = await toyModel();
  const p = await freePort();
  const redis = await startRedis(p, mkdtempSync(path.join(dir, "redis-down-")), false);
  const w = run(["worker", "--redis", `redis://127.0.0.1:${p}`, "--queue", "idle", "--model", file]);
  await until("the worker is up", () => w.err.includes("worker: queue"));
  redis.kill("SIGKILL");
  await killed(redis);
  await until("the worker notices", () => w.err.includes("lost the connection to Redis"));
  w.p.kill("SIGTERM");
  const code = await Promise.race([w.exit, new Promise<string>((r) => setTimeout(() => r("still running 30 s after SIGTERM"), 30_000))]);
  assert.equal(code, 0, w.err);
  assert.match(w.err, /SIGTERM: finishing the jobs in hand, then stopping\n.*worker stopped\n$/s);
});
