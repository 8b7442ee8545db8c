/**
 * `lstm-ner serve` against greedy and slow clients, as real processes over
 * real sockets: fair turns between requests and between clients, a limit on
 * connections per client, and draining on SIGTERM. Clients are told apart by
 * address (Linux routes all of 127.0.0.0/8 to loopback, so a test can be
 * 127.0.0.2 and 127.0.0.3). No test asserts a timing: they assert which
 * request finishes first, and waits are liveness bounds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { CLI, toyModel } from "./pipeline-helpers.js";

/** English-like text: 15 tokens per sentence, so with --batch-tokens 64 four sentences per network pass. */
const SENTENCE = "John Smith lives in London and works for Microsoft, said Reuters on Friday. ";
const textOf = (tokens: number): string => SENTENCE.repeat(Math.ceil(tokens / 15));

/** `lstm-ner serve ARGS` on a free port: the process, the URL it announces, and its stderr so far. */
function serve(args: string[]): { child: ChildProcess; url: Promise<string>; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  const exit = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (c: string) => {
      err += c;
      const m = /at (http:\/\/127\.0\.0\.1:\d+)\//.exec(err);
      if (m) resolve(m[1]!);
    });
    void exit.then((code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return { child, url, stderr: () => err, exit };
}

/** A POST /ner from `from` (a loopback address) on a connection of its own: status and body. */
function post(url: string, body: unknown, from = "127.0.0.1"): Promise<{ status: number; body: string }> {
  const { port } = new URL(url);
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1", port: Number(port), localAddress: from, method: "POST", path: "/ner", agent: false,
      headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => { text += c; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(data);
  });
}

async function until(what: string, cond: () => Promise<boolean> | boolean): Promise<void> {
  const stop = Date.now() + 120_000;
  while (!(await cond())) {
    if (Date.now() > stop) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Requests in the tagging thread (needs --health-details). */
async function queued(url: string): Promise<number> {
  const h = (await (await fetch(`${url}/health`)).json()) as { queue: { queued: number } };
  return h.queue.queued;
}

test("serve: a request of 1000 short texts is not starved by clients looping big texts: it finishes before a big one sent just before it", async () => {
  const { file } = await toyModel();
  const srv = serve(["--model", file, "--batch-tokens", "64"]);
  const url = await srv.url;
  const order: string[] = [];
  let stop = false;
  const sent: { before?: Promise<unknown>; small?: Promise<{ status: number; body: string }> } = {};
  const bigText = textOf(4000); // 67 network passes of 4 sentences
  const client = async (k: number): Promise<void> => {
    for (let i = 0; !stop; i++) {
      const name = `big ${k}.${i}`;
      const r = post(url, { text: bigText }).then((res) => {
        assert.equal(res.status, 200, res.body);
        order.push(name);
      });
      // Client 0's third request goes out just before the small one: tagged fairly, the small one
      // (one turn of tokenising and 16 passes) is done long before it (one turn and 67 passes).
      if (k === 0 && i === 2) {
        sent.before = r.then(() => order.push("sent before"));
        sent.small = post(url, { texts: Array.from({ length: 1000 }, () => "a") });
        void sent.small.then(() => order.push("small"));
      }
      await r;
    }
  };
  try {
    const clients = Array.from({ length: 6 }, (_, k) => client(k));
    await until("the small request to be sent", () => sent.small !== undefined);
    const s = await sent.small!;
    assert.equal(s.status, 200);
    const docs = (JSON.parse(s.body) as { docs: { tokens: unknown[] }[] }).docs;
    assert.equal(docs.length, 1000);
    assert.ok(docs.every((d) => d.tokens.length === 1));
    await sent.before;
    stop = true;
    await Promise.all(clients);
    assert.ok(order.indexOf("small") < order.indexOf("sent before"), `finishing order: ${order.join(", ")}`);
  } finally {
    stop = true;
    srv.child.kill("SIGKILL");
  }
});

test("serve: turns go round clients: one request from 127.0.0.3 finishes before any of six as big sent earlier from 127.0.0.2", async () => {
  const { file } = await toyModel();
  const srv = serve(["--model", file, "--batch-tokens", "64", "--health-details"]);
  const url = await srv.url;
  const order: string[] = [];
  const text = textOf(12_000); // 200 passes each
  try {
    const greedy = Array.from({ length: 6 }, (_, i) => post(url, { text }, "127.0.0.2").then((r) => {
      assert.equal(r.status, 200);
      order.push(`greedy ${i}`);
    }));
    await until("the six requests to reach the tagging thread", async () => (await queued(url)) === 6);
    const other = post(url, { text }, "127.0.0.3").then((r) => {
      assert.equal(r.status, 200);
      order.push("other");
    });
    await Promise.all([...greedy, other]);
    // Round-robin over requests alone would finish the six first: they started earlier and are as big.
    assert.equal(order[0], "other", `finishing order: ${order.join(", ")}`);
  } finally {
    srv.child.kill("SIGKILL");
  }
});

/** Open a connection from `from` and start a POST whose body then comes 1 byte every 2 s. */
function trickle(url: string, from: string): Promise<{ socket: Socket; reply: () => string; closed: Promise<void> }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    let reply = "";
    const socket = connect({ host: "127.0.0.1", port: Number(port), localAddress: from }, () => {
      socket.write("POST /ner HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n");
      const timer = setInterval(() => socket.write("{"), 2000);
      socket.once("close", () => clearInterval(timer));
      resolve({ socket, reply: () => reply, closed });
    });
    const closed = new Promise<void>((res) => socket.once("close", () => res()));
    socket.setEncoding("utf8");
    socket.on("data", (c: string) => { reply += c; });
    socket.on("error", (e) => (socket.connecting ? reject(e) : undefined));
  });
}

test("serve: 300 trickling connections from one client take 16 slots; the rest get 429, and /health from another address always answers", async () => {
  const { file } = await toyModel();
  const srv = serve(["--model", file]);
  const url = await srv.url;
  const greedy: Awaited<ReturnType<typeof trickle>>[] = [];
  try {
    for (let i = 0; i < 300; i++) greedy.push(await trickle(url, "127.0.0.2"));
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(30_000) });
      assert.equal(r.status, 200);
      assert.equal(((await r.json()) as { status: string }).status, "ok");
    }
    await until("every refused connection to be answered", () => greedy.filter((g) => g.reply() !== "").length >= 284);
    const refused = greedy.filter((g) => g.reply() !== "");
    assert.equal(refused.length, 284, "16 kept");
    for (const g of refused) {
      assert.match(g.reply(), /^HTTP\/1\.1 429 Too Many Requests\r\n/);
      assert.match(g.reply(), /too many connections from 127\.0\.0\.2: 16 are open \(the limit per client is maxConnectionsPerClient=16\)/);
    }
    await Promise.all(refused.map((g) => g.closed));
    // A freed slot serves the client again.
    greedy[0]!.socket.destroy();
    await until("a slot of 127.0.0.2 to free up", async () => (await post(url, { text: "John lives in London." }, "127.0.0.2").catch(() => ({ status: 0 }))).status === 200);
  } finally {
    for (const g of greedy) g.socket.destroy();
    srv.child.kill("SIGKILL");
  }
});

test("serve: SIGTERM finishes the requests in progress, refuses new connections, and exits 0", async () => {
  const { file } = await toyModel();
  const srv = serve(["--model", file, "--batch-tokens", "64", "--health-details"]);
  const url = await srv.url;
  const text = textOf(15_000);
  const inFlight = Array.from({ length: 3 }, () => post(url, { text }));
  await until("the requests to reach the tagging thread", async () => (await queued(url)) === 3);
  srv.child.kill("SIGTERM");
  await Promise.race([until("the server to start draining", () => srv.stderr().includes("stopping: finishing the requests in progress")), srv.exit]);
  const fresh = post(url, { text: "John lives in London." }).then((r) => new Error(`answered ${r.status}`), (e: Error) => e);
  for (const r of await Promise.allSettled(inFlight)) {
    assert.equal(r.status, "fulfilled", `a request in progress was cut off: ${r.status === "rejected" ? String(r.reason) : ""}`);
    assert.equal(r.value.status, 200);
    assert.equal((JSON.parse(r.value.body) as { text: string }).text, text);
  }
  assert.match(String(await fresh), /ECONNREFUSED/, "a connection made while draining is refused");
  assert.equal(await srv.exit, 0);
  assert.match(srv.stderr(), /lstm-ner: stopped\n$/);
});

test("serve: a request that never finishes is cut off after --drain-timeout, and the server still exits 0 saying so", async () => {
  const { file } = await toyModel();
  const srv = serve(["--model", file, "--drain-timeout", "1"]);
  const url = await srv.url;
  const slow = await trickle(url, "127.0.0.1");
  try {
    await until("the slow request to be open", async () => (await fetch(`${url}/health`)).status === 200);
    srv.child.kill("SIGTERM");
    assert.equal(await srv.exit, 0);
    assert.match(srv.stderr(), /stopped; 1 requests were still in progress after --drain-timeout \(1 s\)/);
    await slow.closed;
  } finally {
    slow.socket.destroy();
  }
});

test("serve: a second SIGTERM stops at once, without waiting for the requests in progress", async () => {
  const { file } = await toyModel();
  const srv = serve(["--model", file]);
  const url = await srv.url;
  const slow = await trickle(url, "127.0.0.1");
  try {
    await until("the slow request to be open", async () => (await fetch(`${url}/health`)).status === 200);
    srv.child.kill("SIGTERM");
    await until("the server to start draining", () => srv.stderr().includes("stopping: finishing"));
    srv.child.kill("SIGTERM");
    assert.equal(await srv.exit, 0);
    assert.match(srv.stderr(), /stopping at once\n$/);
  } finally {
    slow.socket.destroy();
  }
});
