import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CLI, toyModel, TOY_TEXT } from "./pipeline-helpers.js";
import { runCli } from "./helpers.js";

const dir = mkdtempSync(path.join(tmpdir(), "lstm-ner-serve-"));

/** `lstm-ner serve ARGS` on a free port: the process and the URL it announces. */
function serve(args: string[]): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const url = new Promise<string>((resolve, reject) => {
    let err = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (c: string) => {
      err += c;
      const m = /at (http:\/\/127\.0\.0\.1:\d+)\//.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return { child, url };
}

test("lstm-ner serve: starts, announces its URL, serves, stops on SIGTERM", async () => {
  const { file } = await toyModel();
  const { child, url: started } = serve(["--model", file, "--kernels", "reference"]);
  try {
    const url = await started;
    const h = (await (await fetch(`${url}/health`)).json()) as { status: string; model: { name: string } };
    assert.deepEqual([h.status, h.model.name], ["ok", path.basename(file)]);
    const r = await fetch(`${url}/ner`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: TOY_TEXT }) });
    const doc = (await r.json()) as { ents: { label: string }[] };
    assert.deepEqual(doc.ents.map((e) => e.label), ["PER", "LOC", "ORG"]);
    const page = await fetch(`${url}/`);
    assert.match(await page.text(), /<button id="tag"/);
    const js = await fetch(`${url}/displacy.js`);
    assert.match(js.headers.get("content-type")!, /^text\/javascript/);
    assert.match(await js.text(), /export function render/);
  } finally {
    child.kill("SIGTERM");
  }
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  assert.equal(code, 0);
});

test("lstm-ner serve: a missing or corrupt model is one clear error line and exit 1", () => {
  const missing = runCli(["serve", "--model", path.join(dir, "none.safetensors"), "--port", "0"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^lstm-ner: error: .*none\.safetensors/);
  assert.equal(missing.stderr.trim().split("\n").length, 1);
  const corrupt = path.join(dir, "corrupt.safetensors");
  writeFileSync(corrupt, "this is not a model file at all");
  const bad = runCli(["serve", "--model", corrupt, "--port", "0"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^lstm-ner: error: .*corrupt\.safetensors/);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
});

test("lstm-ner serve: every bad option value is one line naming the flag and exit 1 (--threads on every command)", async () => {
  const { file } = await toyModel();
  const cases: [string[], RegExp][] = [
    [["--max-body", "-1"], /--max-body must be a number of bytes from 1 to 1073741824, got -1/],
    [["--max-body", "1.5"], /--max-body must be an integer, got "1.5"/],
    [["--timeout", "0"], /--timeout must be a number of seconds above 0 and at most 3600 \(0 would switch the timeout off\), got 0/],
    [["--timeout", "-3"], /--timeout must be a number of seconds above 0/],
    [["--timeout", "soon"], /--timeout must be a number, got "soon"/],
    [["--port", "99999"], /--port must be a port number from 0 to 65535, got 99999/],
    [["--port", "-1"], /--port must be a port number from 0 to 65535, got -1/],
    [["--threads", "0"], /--threads must be 1 or 2, got 0/],
    [["--threads", "3"], /--threads must be 1 or 2, got 3/],
    [["--threads", "-1"], /--threads must be 1 or 2, got -1/],
    [["--max-tokens", "0"], /--max-tokens must be a number of tokens from 1/],
    [["--batch-tokens", "0"], /--batch-tokens must be a number of tokens from 1/],
    [["--queue", "0"], /--queue must be a number of requests from 1/],
    [["--max-connections", "0"], /--max-connections must be a number of connections from 1/],
    [["--max-connections-per-client", "0"], /--max-connections-per-client must be a number of connections from 1/],
    [["--drain-timeout", "-1"], /--drain-timeout must be a number of seconds from 0 to 3600, got -1/],
    [["--allow-host", "evil.example/x"], /--allow-host "evil.example\/x" is not a host name/],
    [["--host", " "], /--host is empty/],
  ];
  for (const [args, message] of cases) {
    const r = runCli(["serve", "--model", file, ...args], { timeout: 60_000 });
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.stderr, message, args.join(" "));
    assert.match(r.stderr, /^lstm-ner: error: /);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  for (const command of [["predict", "--model", file, "x"], ["evaluate", "--model", file, "--data", file], ["train", "--epochs", "1"]]) {
    const r = runCli([...command, "--threads", "3"], { timeout: 60_000 });
    assert.equal(r.code, 1, command[0]);
    assert.equal(r.stderr, "lstm-ner: error: --threads must be 1 or 2, got 3\n", command[0]);
  }
});

/** GET over node:http with a chosen Host header. */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(`${url}/health`, { headers: { Host: host } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => { body += c; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject).end();
  });
}

test("lstm-ner serve: --health-details, --allow-host, 415 without JSON, and a 1 MB text refused while /health answers", async () => {
  const { file } = await toyModel();
  const { child, url: started } = serve(["--model", file, "--health-details", "--allow-host", "ner.example", "--max-tokens", "5000"]);
  try {
    const url = await started;
    const h = (await (await fetch(`${url}/health`)).json()) as { model: { file: string; quantized: boolean; training: { preset: string } }; limits: { maxTokens: number }; queue: { queued: number } };
    assert.equal(h.model.file, path.resolve(file));
    assert.equal(h.model.training.preset, "toy");
    assert.equal(h.model.quantized, false);
    assert.equal(h.limits.maxTokens, 5000);
    assert.equal(h.queue.queued, 0);
    assert.equal((await getWithHost(url, "ner.example:8080")).status, 200);
    const evil = await getWithHost(url, "evil.example");
    assert.equal(evil.status, 403);
    assert.match(evil.body, /host \\"evil.example\\" is not allowed \(this server answers to: 127\.0\.0\.1, localhost, ::1, ner\.example\)/);
    const plain = await fetch(`${url}/ner`, { method: "POST", body: JSON.stringify({ text: TOY_TEXT }) });
    assert.equal(plain.status, 415);
    assert.match(((await plain.json()) as { error: string }).error, /Content-Type must be application\/json/);

    const mb = "John Smith lives in London and works for Microsoft. ".repeat(20_000).slice(0, 1_000_000);
    let done = false;
    const big = fetch(`${url}/ner`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: mb }) })
      .then(async (r) => ({ status: r.status, error: ((await r.json()) as { error: string }).error }))
      .finally(() => { done = true; });
    let answered = 0;
    while (!done) {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(30_000) });
      assert.equal(r.status, 200);
      await r.body?.cancel();
      answered++;
    }
    const b = await big;
    assert.equal(b.status, 413);
    assert.match(b.error, /too many tokens: more than 5000 \(the limit per request is maxTokens=5000\)/);
    assert.ok(answered >= 1);
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal(await new Promise<number | null>((resolve) => child.on("exit", resolve)), 0);
});

test("lstm-ner serve --quantize: the tagging thread tags with the quantized model over HTTP, and /health details say so", async () => {
  const { file } = await toyModel();
  const { child, url: started } = serve(["--model", file, "--kernels", "wasm", "--quantize", "--health-details"]);
  try {
    const url = await started;
    const h = (await (await fetch(`${url}/health`)).json()) as { status: string; model: { quantized: boolean; kernels: string } };
    assert.deepEqual([h.status, h.model.quantized], ["ok", true]);
    assert.match(h.model.kernels, /^wasm/);
    const r = await fetch(`${url}/ner`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ texts: [TOY_TEXT, TOY_TEXT] }) });
    assert.equal(r.status, 200);
    const { docs } = (await r.json()) as { docs: { ents: { label: string }[] }[] };
    assert.equal(docs.length, 2);
    for (const d of docs) assert.deepEqual(d.ents.map((e) => e.label), ["PER", "LOC", "ORG"]);
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal(await new Promise<number | null>((resolve) => child.on("exit", resolve)), 0);
});
