import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { datasetNames, labelsFound, loadDataset, registerDataset } from "../src/data/datasets.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { LstmNerError } from "../src/util/errors.js";
import { fixture } from "./helpers.js";

/** Serves files of test/fixtures/conll under /data/<name>, counting requests. */
async function serve(files: Record<string, string>): Promise<{ base: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? "");
    const name = (req.url ?? "").replace(/^\/data\//, "");
    const source = files[name];
    if (source === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    fs.readFile(fixture(source)).then((body) => {
      res.writeHead(200, { "content-length": body.length });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/data/`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const CONLLPP_FILES = { "conllpp_train.txt": "conll/four-col.txt", "conllpp_dev.txt": "conll/two-col.txt", "conllpp_test.txt": "conll/conll2003-sample.txt" };

let tmp = "";
let savedEnv: string | undefined;
beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), "lstm-ner-ds-"));
  savedEnv = process.env["LSTM_NER_DATA"];
  delete process.env["LSTM_NER_DATA"];
});
afterEach(async () => {
  if (savedEnv === undefined) delete process.env["LSTM_NER_DATA"];
  else process.env["LSTM_NER_DATA"] = savedEnv;
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Copy fixture files into dir under the given names. */
async function place(dir: string, files: Record<string, string>): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const [name, source] of Object.entries(files)) await fs.copyFile(fixture(source), path.join(dir, name));
}

test("conllpp from a local folder: test split may be missing, nothing is downloaded", async () => {
  const srv = await serve(CONLLPP_FILES);
  try {
    const dir = path.join(tmp, "local");
    await place(dir, { "conllpp_train.txt": "conll/four-col.txt", "conllpp_dev.txt": "conll/two-col.txt" });
    const ds = await loadDataset("conllpp", { dir, cacheDir: path.join(tmp, "cache"), baseUrl: srv.base });
    assert.equal(ds.name, "conllpp");
    assert.deepEqual(ds.labels, [...CONLL_LABELS]);
    assert.equal(ds.train.length, 3);
    assert.equal(ds.validation.length, 2);
    assert.equal(ds.test, null);
    assert.deepEqual(ds.files, { train: path.join(dir, "conllpp_train.txt"), validation: path.join(dir, "conllpp_dev.txt"), test: null });
    assert.deepEqual(srv.hits, []);
  } finally {
    await srv.close();
  }
});

test("conllpp from LSTM_NER_DATA=DIR containing conllpp/", async () => {
  const root = path.join(tmp, "data");
  await place(path.join(root, "conllpp"), { "conllpp_train.txt": "conll/four-col.txt", "conllpp_dev.txt": "conll/two-col.txt", "conllpp_test.txt": "conll/two-col.txt" });
  process.env["LSTM_NER_DATA"] = root;
  const ds = await loadDataset("conllpp", { cacheDir: path.join(tmp, "cache"), offline: true });
  assert.equal(ds.files.train, path.join(root, "conllpp", "conllpp_train.txt"));
  assert.equal(ds.test?.length, 2);
});

test("conllpp: train/dev from the cache, test downloaded into the cache once (no known checksum)", async () => {
  const srv = await serve(CONLLPP_FILES);
  try {
    const cacheDir = path.join(tmp, "cache");
    const cached = path.join(cacheDir, "datasets", "conllpp");
    await place(cached, { "conllpp_train.txt": "conll/four-col.txt", "conllpp_dev.txt": "conll/two-col.txt" });
    const ds = await loadDataset("conllpp", { cacheDir, baseUrl: srv.base.slice(0, -1) });
    assert.deepEqual(srv.hits, ["/data/conllpp_test.txt"]);
    assert.equal(ds.test?.length, 3);
    assert.equal(ds.files.test, path.join(cached, "conllpp_test.txt"));
    const again = await loadDataset("conllpp", { cacheDir, baseUrl: srv.base });
    assert.equal(srv.hits.length, 1);
    assert.deepEqual(again.test, ds.test);
  } finally {
    await srv.close();
  }
});

test("conllpp: a download whose checksum does not match the known one is refused and not cached", async () => {
  const srv = await serve(CONLLPP_FILES);
  try {
    const cacheDir = path.join(tmp, "cache");
    await assert.rejects(loadDataset("conllpp", { cacheDir, baseUrl: srv.base }), (err: unknown) => {
      assert.ok(err instanceof LstmNerError);
      assert.match(err.message, /^conllpp: could not download http:\/\/127\.0\.0\.1:\d+\/data\/conllpp_train\.txt \(checksum mismatch: expected sha256 213953b5/);
      return true;
    });
    assert.deepEqual(await fs.readdir(path.join(cacheDir, "datasets", "conllpp")), []);
  } finally {
    await srv.close();
  }
});

test("unreachable source: the error says how to work offline", async () => {
  const srv = await serve({});
  await srv.close();
  await assert.rejects(loadDataset("conllpp", { cacheDir: path.join(tmp, "cache"), baseUrl: srv.base }), (err: unknown) => {
    assert.ok(err instanceof LstmNerError);
    assert.match(err.message, /^conllpp: could not download http:\/\/127\.0\.0\.1:\d+\/data\/conllpp_train\.txt \(.*ECONNREFUSED.*\)\./);
    assert.match(err.message, /Without internet, point at a local copy: --data DIR \(a folder with conllpp_train\.txt, conllpp_dev\.txt\[, conllpp_test\.txt\]\) or set LSTM_NER_DATA=DIR \(a folder containing conllpp\/\)/);
    return true;
  });
});

test("offline with nothing local: no request, clear error", async () => {
  const srv = await serve(CONLLPP_FILES);
  try {
    await assert.rejects(loadDataset("conllpp", { cacheDir: path.join(tmp, "cache"), baseUrl: srv.base, offline: true }), /conllpp: conllpp_train\.txt not found and offline mode is on\. Without internet, point at a local copy/);
    assert.deepEqual(srv.hits, []);
  } finally {
    await srv.close();
  }
});

test("a registered dataset downloads all splits with progress, verified, then loads offline from the cache", async () => {
  const sha = async (name: string): Promise<string> => createHash("sha256").update(await fs.readFile(fixture(name))).digest("hex");
  registerDataset({
    name: "mini-remote",
    files: { train: "train.txt", validation: "dev.txt", test: "test.txt" },
    baseUrl: "http://127.0.0.1:9/unused/",
    sha256: { train: await sha("conll/mini/mini_train.txt"), validation: await sha("conll/mini/mini_dev.txt") },
    labels: ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"],
  });
  assert.ok(datasetNames().includes("mini-remote"));
  const srv = await serve({ "train.txt": "conll/mini/mini_train.txt", "dev.txt": "conll/mini/mini_dev.txt", "test.txt": "conll/mini/mini_test.txt" });
  try {
    const cacheDir = path.join(tmp, "cache");
    const seen = new Set<string>();
    const ds = await loadDataset("mini-remote", { cacheDir, baseUrl: srv.base, onProgress: (_r, _t, file) => seen.add(file) });
    assert.deepEqual([...seen], ["train.txt", "dev.txt", "test.txt"]);
    assert.deepEqual(ds.train[1], { tokens: ["Acme", "Corp", "hired", "Bob"], tags: ["B-ORG", "I-ORG", "O", "B-PER"], doc: 0 });
    const offline = await loadDataset("mini-remote", { cacheDir, offline: true });
    assert.deepEqual(offline.test, ds.test);
    assert.equal(srv.hits.length, 3);
  } finally {
    await srv.close();
  }
});

test("a folder of train/dev/test files; labels are the train tags, O first, types sorted, B before I", async () => {
  const ds = await loadDataset(fixture("conll/mini"));
  assert.equal(ds.name, "mini");
  assert.deepEqual(ds.labels, ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER"]);
  assert.equal(ds.train.length, 2);
  assert.equal(ds.validation.length, 1);
  assert.equal(ds.test?.length, 1);
  assert.equal(ds.files.validation, fixture("conll/mini/mini_dev.txt"));
});

test("folder errors: unknown dev tag, no dev file, two train files", async () => {
  const a = path.join(tmp, "a");
  await place(a, { "train.txt": "conll/mini/mini_train.txt" });
  // MISC never occurs in train, so the model could not predict it.
  await fs.writeFile(path.join(a, "valid.txt"), "x B-MISC\n");
  await assert.rejects(loadDataset(a), { message: `${path.join(a, "valid.txt")}:1: unknown tag 'B-MISC' (known: O, B-LOC, I-LOC, B-ORG, I-ORG, B-PER)` });

  const b = path.join(tmp, "b");
  await place(b, { "train.txt": "conll/mini/mini_train.txt" });
  await assert.rejects(loadDataset(b), /no validation file \(expected a file name containing 'dev' or 'valid'\)/);

  const c = path.join(tmp, "c");
  await place(c, { "train.txt": "conll/mini/mini_train.txt", "train2.txt": "conll/mini/mini_train.txt", "dev.txt": "conll/mini/mini_dev.txt" });
  await assert.rejects(loadDataset(c), /several train files \(train\.txt, train2\.txt\)/);
});

test("unknown names and missing --data folders are clear errors", async () => {
  await assert.rejects(loadDataset("conll2099"), (err: unknown) => err instanceof LstmNerError && /unknown dataset 'conll2099' \(known: conllpp/.test(err.message));
  await assert.rejects(loadDataset("conllpp", { dir: path.join(tmp, "nope") }), /conllpp: data folder not found/);
});

test("labelsFound orders BIOES tags and is independent of sentence order", () => {
  const s1 = { tokens: ["a", "b", "c"], tags: ["S-PER", "E-LOC", "O"] };
  const s2 = { tokens: ["d", "e"], tags: ["B-LOC", "I-LOC"] };
  assert.deepEqual(labelsFound([s1, s2]), ["O", "B-LOC", "I-LOC", "E-LOC", "S-PER"]);
  assert.deepEqual(labelsFound([s2, s1]), labelsFound([s1, s2]));
});
