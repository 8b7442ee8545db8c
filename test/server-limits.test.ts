/**
 * The service under load and abuse, with real servers (tagging thread and
 * all) over real HTTP: token limits, the bounded queue, dropped work for
 * closed connections, /health while big requests run, connection limits
 * and option checks. No test asserts a timing; waits are liveness bounds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { startServer, type RunningServer } from "../src/server/server.js";
import { toyModel, TOY_TEXT } from "./pipeline-helpers.js";

const JSON_TYPE = { "Content-Type": "application/json" };
/** English-like text: 15 tokens (13 whitespace-separated words) per sentence, about 5 characters per token. */
const SENTENCE = "John Smith lives in London and works for Microsoft, said Reuters on Friday. ";
const textOf = (tokens: number): string => SENTENCE.repeat(Math.ceil(tokens / 15));

async function post(base: string, body: unknown): Promise<{ status: number; json: { error?: string; docs?: unknown[] }; headers: Headers }> {
  const r = await fetch(`${base}/ner`, { method: "POST", headers: JSON_TYPE, body: JSON.stringify(body), signal: AbortSignal.timeout(120_000) });
  return { status: r.status, json: (await r.json()) as { error?: string }, headers: r.headers };
}

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  const stop = Date.now() + 60_000;
  while (!(await cond())) {
    if (Date.now() > stop) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Send a POST over a raw socket and leave it open (the caller destroys it). */
function sendRaw(url: string, body: string): Promise<Socket> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), "127.0.0.1", () => {
      sock.write(`POST /ner HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
      sock.write(body, () => resolve(sock));
    });
    sock.on("error", reject);
  });
}

test("token limits: 413 naming maxTokens, at once from a cheap bound or after counting a slice; within the limit, tagged", async () => {
  const srv = await startServer((await toyModel()).file, { port: 0, maxTokens: 500, maxBodyBytes: 2 << 20, kernels: "reference" });
  try {
    const words = await post(srv.url, { text: textOf(1000) });
    assert.equal(words.status, 413);
    assert.match(words.json.error!, /too many tokens: more than 500 \(the limit per request is maxTokens=500\)/);
    const commas = await post(srv.url, { text: ",".repeat(1_500_000) });
    assert.equal(commas.status, 413);
    assert.match(commas.json.error!, /too many tokens: more than 500 \(the limit per request is maxTokens=500\)/);
    // 468 words, so past the cheap bound, but 540 tokens: counted in the tagging thread.
    const split = await post(srv.url, { texts: [textOf(270), textOf(270)] });
    assert.equal(split.status, 413);
    assert.match(split.json.error!, /too many tokens: more than 500/);
    const ok = await post(srv.url, { texts: [textOf(200), textOf(200)] });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.docs!.length, 2);
    assert.equal((await srv.stats()).refused, 2, "the first text was refused before it reached the tagging thread");
  } finally {
    await srv.close();
  }
});

test("a full queue gets 503 with Retry-After; a closed connection's work is dropped; the server goes on", async () => {
  const srv = await startServer((await toyModel()).file, { port: 0, maxQueue: 1, maxTokens: 200_000, maxBodyBytes: 4 << 20, batchTokens: 256, kernels: "reference" });
  try {
    const big = textOf(150_000);
    const total = Math.ceil(150_000 / 15) * 15;
    const sock = await sendRaw(srv.url, JSON.stringify({ text: big }));
    await until("the big request to be queued", async () => (await srv.stats()).queued === 1);
    const full = await post(srv.url, { text: TOY_TEXT });
    assert.equal(full.status, 503);
    assert.equal(full.headers.get("retry-after"), "1");
    assert.match(full.json.error!, /tagging queue is full \(1 requests; the limit is maxQueue=1\)/);
    sock.destroy();
    await until("the big request to be dropped", async () => (await srv.stats()).cancelled === 1);
    const s = await srv.stats();
    assert.equal(s.queued, 0);
    assert.ok(s.tokensTagged < total, `tagged ${s.tokensTagged} of ${total} tokens before dropping`);
    const after = await post(srv.url, { text: TOY_TEXT });
    assert.equal(after.status, 200);
  } finally {
    await srv.close();
  }
});

/** Ask /health again and again until `work` settles; every answer must be 200 (each within a liveness bound). */
async function healthWhile<T>(url: string, work: Promise<T>): Promise<{ result: T; during: number }> {
  let settled = false;
  const result = work.finally(() => { settled = true; });
  let during = 0;
  while (!settled) {
    const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(30_000) });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { status: string }).status, "ok");
    if (!settled) during++;
    await new Promise((res) => setTimeout(res, 10));
  }
  return { result: await result, during };
}

test("16 concurrent 1 MB texts are refused with 413 (default limits) while /health keeps answering", async () => {
  const srv = await startServer((await toyModel()).file, { port: 0 });
  try {
    const mb = textOf(210_000).slice(0, (1 << 20) - 100);
    const { result, during } = await healthWhile(srv.url, Promise.all(Array.from({ length: 16 }, () => post(srv.url, { text: mb }))));
    for (const r of result) {
      assert.equal(r.status, 413);
      assert.match(r.json.error!, /too many tokens: more than 20000 \(the limit per request is maxTokens=20000\)/);
    }
    assert.ok(during >= 1, "/health answered while the big requests were in flight");
  } finally {
    await srv.close();
  }
});

test("a big text that is accepted is tagged in the worker while /health keeps answering", async () => {
  const srv = await startServer((await toyModel()).file, { port: 0, maxTokens: 100_000, kernels: "reference" });
  try {
    const text = textOf(60_000);
    const { result, during } = await healthWhile(srv.url, post(srv.url, { text }));
    assert.equal(result.status, 200);
    assert.equal((result.json as { text: string }).text, text);
    assert.ok(during >= 1, `/health answered ${during} times while the big text was tagged`);
  } finally {
    await srv.close();
  }
});

test("maxConnections: connections beyond it are closed at once; freed slots serve again", async () => {
  const srv = await startServer((await toyModel()).file, { port: 0, maxConnections: 2 });
  const { port } = new URL(srv.url);
  const open = (): Promise<Socket> => new Promise((resolve, reject) => {
    const s = connect(Number(port), "127.0.0.1", () => resolve(s));
    s.on("error", reject);
  });
  try {
    const held = [await open(), await open()];
    await until("both connections to be counted", async () => new Promise((res) => srv.server.getConnections((_e, n) => res(n === 2))));
    const third = await open().catch(() => null);
    const reply = third === null ? "" : await new Promise<string>((resolve) => {
      let data = "";
      third.on("data", (c) => { data += String(c); });
      third.on("error", () => undefined);
      third.on("close", () => resolve(data));
      third.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    });
    assert.equal(reply, "", "the third connection got no answer");
    held.forEach((s) => s.destroy());
    await until("a slot to free up", async () => (await fetch(`${srv.url}/health`).then((r) => r.status, () => 0)) === 200);
  } finally {
    await srv.close();
  }
});

test("every limit is checked: a bad value is an error naming it, never a silent 0 = unlimited", async () => {
  const { file } = await toyModel();
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ requestTimeoutMs: 0 }, /requestTimeoutMs must be from 1 to 3600000 ms \(0 would disable it\), got 0/],
    [{ headersTimeoutMs: 0 }, /headersTimeoutMs must be from 1/],
    [{ requestTimeoutMs: 1000, headersTimeoutMs: 5000 }, /headersTimeoutMs \(5000\) must not exceed requestTimeoutMs \(1000\)/],
    [{ keepAliveTimeoutMs: Number.NaN }, /keepAliveTimeoutMs must be from 1/],
    [{ maxBodyBytes: -1 }, /maxBodyBytes must be an integer from 1 to 1073741824, got -1/],
    [{ maxTokens: 0 }, /maxTokens must be an integer from 1/],
    [{ batchTokens: 1.5 }, /batchTokens must be an integer from 1/],
    [{ maxQueue: 0 }, /maxQueue must be an integer from 1/],
    [{ maxConnections: -5 }, /maxConnections must be an integer from 1/],
    [{ maxConnectionsPerClient: 0 }, /maxConnectionsPerClient must be an integer from 1/],
    [{ port: 99999 }, /port must be an integer from 0 to 65535, got 99999/],
    [{ threads: 3 }, /threads must be 1 or 2, got 3/],
    [{ allowedHosts: ["a b"] }, /allowed host "a b" is not a host name/],
  ];
  for (const [o, message] of cases) {
    await assert.rejects(startServer(file, { port: 0, ...o }), (e: Error) => e.name === "LstmNerError" && message.test(e.message), JSON.stringify(o));
  }
});

test("a tagging thread that dies (here: over its heap limit) fails only its requests; a new one takes over", async () => {
  const srv = await startServer((await toyModel()).file, { port: 0, tagHeapMb: 16, maxTokens: 10_000_000, maxBodyBytes: 8 << 20, kernels: "reference" });
  try {
    const before = await post(srv.url, { text: TOY_TEXT });
    assert.equal(before.status, 200);
    // Millions of token objects: far over 16 MB of heap.
    const huge = await post(srv.url, { text: "a ".repeat(3_000_000) });
    assert.equal(huge.status, 500);
    assert.match(huge.json.error!, /the tagging thread stopped/);
    await until("a new tagging thread", async () => (await fetch(`${srv.url}/health`)).status === 200);
    const after = await post(srv.url, { text: TOY_TEXT });
    assert.equal(after.status, 200);
    assert.deepEqual(after.json, before.json);
  } finally {
    await srv.close();
  }
});
