import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect } from "node:net";
import { createNlp } from "../src/pipeline/nlp.js";
import { Doc } from "../src/pipeline/doc.js";
import { startServer, type RunningServer } from "../src/server/server.js";
import { toyModel, TOY_TEXT } from "./pipeline-helpers.js";
import { VERSION } from "../src/version.js";

let srv: RunningServer;
let base: string;

before(async () => {
  const { model } = await toyModel();
  srv = await startServer(model, { port: 0, maxBodyBytes: 4096, maxTexts: 50, batchTokens: 64, requestTimeoutMs: 600, modelName: "toy", maxQueue: 128, maxConnectionsPerClient: 64 });
  base = srv.url;
});
after(() => srv.close());

async function post(body: string, headers: Record<string, string> = { "Content-Type": "application/json" }): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const r = await fetch(`${base}/ner`, { method: "POST", body, headers });
  return { status: r.status, json: (await r.json()) as Record<string, unknown>, headers: r.headers };
}

/** A raw request over node:http, to send a body without Content-Length (chunked). */
function rawPost(path: string, chunks: Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: "POST", headers: { "Content-Type": "application/json" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => { body += c; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

const ents = (d: { ents: { text: string; label: string }[] }): string[] => d.ents.map((e) => `${e.text}/${e.label}`);

test("GET /health reports name, version, labels and sizes only: no paths, no recipe", async () => {
  const r = await fetch(`${base}/health`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type")!, /^application\/json/);
  const h = (await r.json()) as { status: string; version: string; model: Record<string, unknown> & { labels: string[]; sizes: Record<string, number> } };
  assert.equal(h.status, "ok");
  assert.equal(h.version, VERSION);
  assert.deepEqual(Object.keys(h).sort(), ["model", "status", "version"]);
  assert.deepEqual(Object.keys(h.model).sort(), ["labels", "name", "sizes", "version"]);
  assert.equal(h.model.name, "toy");
  assert.deepEqual(h.model.labels.slice(0, 3), ["O", "B-PER", "I-PER"]);
  assert.deepEqual(h.model.sizes, { vocabulary: 70, embedding: 12, hidden: 16, outputs: 10, parameters: 4042 });
  // The model file records its training recipe ({preset: "toy"}) and its path: neither is shown.
  const text = JSON.stringify(h);
  assert.doesNotMatch(text, /toy\.safetensors|preset|tmp/);
});

test("POST /ner: one text → Doc JSON; texts → {docs}", async () => {
  const one = await post(JSON.stringify({ text: TOY_TEXT }));
  assert.equal(one.status, 200);
  const doc = Doc.fromJSON(one.json);
  assert.deepEqual(ents(doc), ["John Smith/PER", "London/LOC", "Microsoft/ORG"]);
  assert.equal(doc.ents[0]!.startChar, 0);
  assert.ok(doc.ents[0]!.confidence! > 0.5);
  const many = await post(JSON.stringify({ texts: [TOY_TEXT, "Anna lives in Paris."] }));
  assert.equal(many.status, 200);
  const docs = (many.json.docs as unknown[]).map((d) => Doc.fromJSON(d));
  assert.deepEqual(docs.map((d) => d.text), [TOY_TEXT, "Anna lives in Paris."]);
  assert.deepEqual(ents(docs[1]!), ["Anna/PER", "Paris/LOC"]);
});

test("bad requests get a 4xx with a clear JSON error, and the server keeps serving", async () => {
  const cases: [string, number, RegExp][] = [
    ["{not json", 400, /not valid JSON/],
    ["", 400, /not valid JSON/],
    ["[1,2]", 400, /must be a JSON object/],
    ["null", 400, /must be a JSON object/],
    ["{}", 400, /missing field "text"/],
    ['{"txt": "a"}', 400, /missing field "text"/],
    ['{"text": 5}', 400, /"text" must be a string, got number/],
    ['{"text": null}', 400, /"text" must be a string, got null/],
    ['{"text": ["a"]}', 400, /"text" must be a string, got an array/],
    ['{"text": ""}', 400, /"text" is empty/],
    ['{"text": " \\n\\t "}', 400, /"text" is empty/],
    ['{"texts": "a"}', 400, /"texts" must be an array of strings, got string/],
    ['{"texts": []}', 400, /"texts" is empty/],
    ['{"texts": ["ok", 3]}', 400, /"texts\[1\]" must be a string, got number/],
    ['{"texts": ["ok", ""]}', 400, /"texts\[1\]" is empty/],
    ['{"text": "a", "texts": ["b"]}', 400, /either "text" or "texts", not both/],
    [JSON.stringify({ texts: Array.from({ length: 51 }, () => "a") }), 413, /too many texts: 51 \(the limit per request is maxTexts=50\)/],
    [JSON.stringify({ text: "x".repeat(5000) }), 413, /request body too large: \d+ bytes \(the limit is maxBodyBytes=4096\)/],
  ];
  for (const [body, status, message] of cases) {
    const r = await post(body);
    assert.equal(r.status, status, body.slice(0, 40));
    assert.match(String(r.json.error), message, body.slice(0, 40));
    assert.match(r.headers.get("content-type")!, /^application\/json/);
  }
  // Without Content-Length the limit is enforced while reading.
  const chunked = await rawPost("/ner", Array.from({ length: 10 }, () => Buffer.from(" ".repeat(1000))));
  assert.equal(chunked.status, 413);
  assert.match(chunked.body, /request body too large \(the limit is maxBodyBytes=4096\)/);
  const badUtf8 = await rawPost("/ner", [Buffer.from('{"text": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
  assert.equal(badUtf8.status, 400);
  assert.match(badUtf8.body, /not valid UTF-8/);

  const notFound = await fetch(`${base}/nope`);
  assert.equal(notFound.status, 404);
  assert.match(((await notFound.json()) as { error: string }).error, /no such route: \/nope/);
  const getNer = await fetch(`${base}/ner`);
  assert.equal(getNer.status, 405);
  assert.equal(getNer.headers.get("allow"), "POST");
  await getNer.body?.cancel();
  const postHealth = await fetch(`${base}/health`, { method: "POST", body: "{}" });
  assert.equal(postHealth.status, 405);
  assert.equal(postHealth.headers.get("allow"), "GET, HEAD");
  await postHealth.body?.cancel();

  const still = await post(JSON.stringify({ text: TOY_TEXT }));
  assert.equal(still.status, 200);
  assert.deepEqual(ents(still.json as never), ["John Smith/PER", "London/LOC", "Microsoft/ORG"]);
});

test("a request whose body never completes times out with 408; others are unaffected", async () => {
  const { port } = new URL(base);
  const reply = await new Promise<string>((resolve, reject) => {
    const sock = connect(Number(port), "127.0.0.1", () => {
      sock.write("POST /ner HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"text\": ");
    });
    let data = "";
    sock.setEncoding("utf8");
    sock.on("data", (c: string) => { data += c; });
    sock.on("close", () => resolve(data));
    sock.on("error", reject);
  });
  assert.match(reply, /^HTTP\/1\.1 408/);
  const ok = await post(JSON.stringify({ text: "Anna lives in Paris." }));
  assert.equal(ok.status, 200);
});

// 42 requests at once from one address: the queue and the per-client limit (64 here) must hold them all
// (the queue bound itself is tested in server-limits, the per-client limit in server-fair).
test("concurrent requests, small and large, all get their own right answers", async () => {
  const nlp = createNlp((await toyModel()).model);
  const texts = Array.from({ length: 40 }, (_, i) => (i % 2 ? `Anna lives in Paris ${i}.` : `Reuters hired Peter Jones ${i}.`));
  const expected = nlp.batch(texts).map((d) => JSON.stringify(d));
  const big = post(JSON.stringify({ texts }));
  const singles = texts.map((t) => post(JSON.stringify({ text: t })));
  const bad = post('{"text": 1}');
  const [bigR, badR, ...singleR] = await Promise.all([big, bad, ...singles]);
  assert.equal(bigR.status, 200);
  assert.deepEqual((bigR.json.docs as unknown[]).map((d) => JSON.stringify(d)), expected);
  assert.deepEqual(singleR.map((r) => JSON.stringify(r.json)), expected);
  assert.equal(badR.status, 400);
});

/** A request over node:http with any headers (fetch may not set Host). */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => { text += c; });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("POST needs Content-Type: application/json (415 otherwise), so a page on another site cannot post a simple request", async () => {
  const body = JSON.stringify({ text: TOY_TEXT });
  for (const type of [undefined, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=latin1", "application/jsonx"]) {
    const r = await raw("POST", "/ner", type === undefined ? {} : { "Content-Type": type }, body);
    assert.equal(r.status, 415, String(type));
    assert.match(JSON.parse(r.body).error, /Content-Type must be application\/json/);
  }
  for (const type of ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=\"UTF-8\""]) {
    const r = await raw("POST", "/ner", { "Content-Type": type }, body);
    assert.equal(r.status, 200, type);
  }
});

test("the Host header must name this server (DNS rebinding): 403 for other names, on every route", async () => {
  const { port } = new URL(base);
  for (const host of ["evil.example", `evil.example:${port}`, "127.0.0.1.evil.example", "localhost.evil.example"]) {
    for (const [method, path] of [["GET", "/health"], ["GET", "/"], ["POST", "/ner"]] as const) {
      const r = await raw(method, path, { Host: host, "Content-Type": "application/json" }, method === "POST" ? JSON.stringify({ text: TOY_TEXT }) : undefined);
      assert.equal(r.status, 403, `${host} ${path}`);
      assert.match(JSON.parse(r.body).error, /host ".*" is not allowed \(this server answers to: 127\.0\.0\.1, localhost, ::1\)/);
    }
  }
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, "LOCALHOST", `[::1]:${port}`, "localhost."]) {
    const r = await raw("GET", "/health", { Host: host });
    assert.equal(r.status, 200, host);
  }
});
