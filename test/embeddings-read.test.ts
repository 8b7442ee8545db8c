import { test } from "node:test";
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { deflateRawSync, gzipSync } from "node:zlib";
import { fixture } from "./helpers.js";
import { BinaryVectorParser } from "../src/embeddings/binary.js";
import { VectorBuilder } from "../src/embeddings/builder.js";
import { parseVectorFile, readVectors } from "../src/embeddings/read.js";
import { TextVectorParser } from "../src/embeddings/text.js";
import type { Vectors } from "../src/embeddings/types.js";
import { LstmNerError } from "../src/util/errors.js";

const GLOVE = fixture("vectors/tiny.glove.txt");
const W2V = fixture("vectors/tiny.w2v.txt");

/** What both text fixtures hold: 4 words (the repeated `the` keeps its first row). */
const EXPECTED: Vectors = {
  words: ["the", ",", "paris", "café"],
  dim: 4,
  data: new Float32Array([0.418, 0.24968, -0.41242, 0.1217, 0.013441, 0.23682, -0.16899, 0.40951, -1.5e-3, 0.5, 2, -0.75, 0.1, 0.2, 0.3, 0.4]),
};

function assertVectors(actual: Vectors, expected: Vectors): void {
  assert.deepEqual(actual.words, expected.words);
  assert.equal(actual.dim, expected.dim);
  assert.deepEqual(Array.from(actual.data), Array.from(expected.data));
}

async function tmpDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), "lstm-ner-emb-"));
}

/** word2vec binary: header, then word, space, float32 LE row, newline. */
function word2vecBinary(rows: [string, number[]][], dim: number, count = rows.length, newline = true): Uint8Array {
  const parts: Buffer[] = [Buffer.from(`${count} ${dim}\n`)];
  for (const [w, vals] of rows) {
    const floats = Buffer.alloc(dim * 4);
    vals.forEach((v, k) => floats.writeFloatLE(v, k * 4));
    parts.push(Buffer.from(`${w} `), floats);
    if (newline) parts.push(Buffer.from("\n"));
  }
  return Buffer.concat(parts);
}

const BIN_ROWS: [string, number[]][] = [
  ["the", [0.418, 0.24968, -0.41242, 0.1217]],
  [",", [0.013441, 0.23682, -0.16899, 0.40951]],
  ["paris", [-1.5e-3, 0.5, 2, -0.75]],
  ["café", [0.1, 0.2, 0.3, 0.4]],
  ["the", [9, 9, 9, 9]],
];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A minimal zip writer (deflate or stored), enough for yauzl. */
function makeZip(entries: { name: string; data: Uint8Array; deflate?: boolean }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const body = e.deflate === true ? deflateRawSync(e.data) : Buffer.from(e.data);
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.deflate === true ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(e.deflate === true ? 8 : 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

test("reads GloVe text and word2vec text; a repeated word keeps its first vector", async () => {
  assertVectors(await parseVectorFile(GLOVE), EXPECTED);
  assertVectors(await parseVectorFile(W2V), EXPECTED);
});

test("reads word2vec binary, with and without newlines after rows", async () => {
  const dir = await tmpDir();
  const a = path.join(dir, "a.bin");
  const b = path.join(dir, "b.bin");
  await fs.writeFile(a, word2vecBinary(BIN_ROWS, 4));
  await fs.writeFile(b, word2vecBinary(BIN_ROWS, 4, 5, false));
  assertVectors(await parseVectorFile(a), EXPECTED);
  assertVectors(await parseVectorFile(b), EXPECTED);
});

test("detects gzip by its magic bytes, whatever the file is called", async () => {
  const dir = await tmpDir();
  const files = {
    "glove.dat": gzipSync(await fs.readFile(GLOVE)),
    "w2v.txt": gzipSync(await fs.readFile(W2V)),
    "bin.gz": gzipSync(word2vecBinary(BIN_ROWS, 4)),
  };
  for (const [name, data] of Object.entries(files)) {
    await fs.writeFile(path.join(dir, name), data);
    assertVectors(await parseVectorFile(path.join(dir, name)), EXPECTED);
  }
});

test("reads one entry out of a zip archive (deflated or stored)", async () => {
  const dir = await tmpDir();
  const zip = path.join(dir, "glove.6B.zip");
  const glove = await fs.readFile(GLOVE);
  await fs.writeFile(zip, makeZip([
    { name: "glove.6B.50d.txt", data: Buffer.from("x 1 2\ny 3 4\n"), deflate: true },
    { name: "glove.6B.100d.txt", data: glove, deflate: true },
    { name: "sub/stored.txt", data: glove },
  ]));
  assertVectors(await parseVectorFile(zip, { zipEntry: "glove.6B.100d.txt" }), EXPECTED);
  assertVectors(await parseVectorFile(zip, { zipEntry: "stored.txt" }), EXPECTED);
  const small = await parseVectorFile(zip, { zipEntry: "glove.6B.50d.txt" });
  assert.deepEqual(small.words, ["x", "y"]);
  await assert.rejects(parseVectorFile(zip), /holds 3 files; choose one with zipEntry: glove\.6B\.50d\.txt, glove\.6B\.100d\.txt, sub\/stored\.txt/);
  await assert.rejects(parseVectorFile(zip, { zipEntry: "glove.6B.300d.txt" }), /no entry "glove\.6B\.300d\.txt"/);
  const single = path.join(dir, "one.zip");
  await fs.writeFile(single, makeZip([{ name: "v.txt", data: glove, deflate: true }]));
  assertVectors(await parseVectorFile(single), EXPECTED);
});

test("reads the wink-embeddings JSON layout, dropping the norm and index", async () => {
  const dir = await tmpDir();
  const file = path.join(dir, "wink.json");
  const rows = EXPECTED.words.map((w, i) => [...Array.from(EXPECTED.data.subarray(i * 4, i * 4 + 4), (x) => Number(x.toPrecision(7))), 1.2345, i]);
  // The vectors object is deliberately not in `words` order: rows follow `words`.
  const vectors: Record<string, number[]> = {};
  for (const i of [2, 0, 3, 1]) vectors[EXPECTED.words[i]!] = rows[i]!;
  const json = { precision: 8, l2NormIndex: 4, wordIndex: 5, size: 4, dimensions: 4, words: EXPECTED.words, vectors, unkVector: [0, 0, 0, 0, 0, -1] };
  await fs.writeFile(file, JSON.stringify(json, null, 1));
  assertVectors(await parseVectorFile(file), EXPECTED);

  const broken = { ...json, vectors: { ...vectors, paris: [1, 2, 3, 2] } };
  await fs.writeFile(file, JSON.stringify(broken));
  await assert.rejects(parseVectorFile(file), /vectors\["paris"\]: expected 6 values \(4 \+ norm \+ index\), found 4/);
  const missing = { ...json, vectors: { the: rows[0] } };
  await fs.writeFile(file, JSON.stringify(missing));
  await assert.rejects(parseVectorFile(file), /word "," \(words\[1\]\) has no vector/);
  await fs.writeFile(file, JSON.stringify(json).slice(0, 150));
  await assert.rejects(parseVectorFile(file), /truncated JSON/);
});

test("text parsing does not depend on where chunks are cut", async () => {
  const bytes = new Uint8Array(await fs.readFile(W2V));
  for (const size of [1, 2, 3, 7, 64]) {
    const p = new TextVectorParser("t", true);
    for (let i = 0; i < bytes.length; i += size) p.push(bytes.subarray(i, i + size));
    assertVectors(p.finish(), EXPECTED);
  }
  // No trailing newline and CRLF line ends.
  const crlf = new TextEncoder().encode("a 1 2\r\nb 3 4");
  const p = new TextVectorParser("t", false);
  p.push(crlf);
  assertVectors(p.finish(), { words: ["a", "b"], dim: 2, data: new Float32Array([1, 2, 3, 4]) });
});

test("binary parsing does not depend on where chunks are cut", () => {
  const bytes = word2vecBinary(BIN_ROWS, 4);
  for (const size of [1, 5, 13, 100]) {
    const p = new BinaryVectorParser("b");
    for (let i = 0; i < bytes.length; i += size) p.push(bytes.subarray(i, i + size));
    assertVectors(p.finish(), EXPECTED);
  }
});

test("the row buffer grows geometrically past its first guess", () => {
  const b = new VectorBuilder(3, 1);
  for (let r = 0; r < 1000; r++) {
    const off = b.rowOffset();
    b.data.set([r, r + 0.5, -r], off);
    b.commit(`w${r}`);
  }
  const v = b.finish();
  assert.equal(v.words.length, 1000);
  assert.equal(v.data.length, 3000);
  assert.deepEqual(Array.from(v.data.subarray(2997)), [999, 999.5, -999]);
});

async function rejectsAt(content: string | Uint8Array, pattern: RegExp, line?: number, name = "bad.txt"): Promise<void> {
  const dir = await tmpDir();
  const file = path.join(dir, name);
  await fs.writeFile(file, content);
  await assert.rejects(parseVectorFile(file), (err: unknown) => {
    assert.ok(err instanceof LstmNerError, String(err));
    assert.match(err.message, pattern);
    assert.equal(err.file, file);
    if (line !== undefined) assert.equal(err.line, line);
    return true;
  });
}

test("a row with the wrong number of values names the line", async () => {
  await rejectsAt("a 1 2 3\nb 1 2 3\nc 1 2\n", /bad\.txt:3: expected 3 values \(as on line 1\), found 2$/, 3);
  await rejectsAt("a 1 2 3\nb 1 2 3 4\n", /expected 3 values \(as on line 1\), found 4/, 2);
  // The width comes from the first row: when that row is the short one, the message says so.
  await rejectsAt("\na 1 2\nb 1 2 3\nc 1 2 3\n", /bad\.txt:3: expected 2 values \(as on line 2\), found 3$/, 3);
  await rejectsAt("a\n", /found no values/, 1);
});

test("a value that is not a number names the line and the value", async () => {
  await rejectsAt("a 1 2\nb 1 x2\n", /:2: value "x2" is not a number/, 2);
  await rejectsAt("a 1 2\nb 1 2.5.1\n", /value "2\.5\.1" is not a number/, 2);
  await rejectsAt("a 1 2\nb nan 1\n", /value "nan" is not a number/, 2);
});

test("a word that is not valid UTF-8 is refused with file and line (text) or row (binary)", async () => {
  await rejectsAt(Buffer.concat([Buffer.from("a 1 2\ncaf"), Uint8Array.of(0xe9), Buffer.from(" 3 4\n")]), /bad\.txt:2: the word is not valid UTF-8/, 2);
  const bin = Buffer.from(word2vecBinary([["a", [1, 2]], ["caf\u00e9", [3, 4]]], 2));
  bin[bin.indexOf(0xc3)] = 0xe9; // é as Latin-1, then a stray continuation byte
  await rejectsAt(bin, /bad\.bin: row 2: the word is not valid UTF-8/, undefined, "bad.bin");
});

test("values beyond float32 (1e40), inf and NaN are refused at read time with file and line", async () => {
  // 1e40 is a finite double; stored as float32 it would be Infinity and poison training later.
  await rejectsAt("a 1 2\nb 0.5 1e40\n", /bad\.txt:2: value "1e40" is too large for float32 \(it would become Infinity\)/, 2);
  await rejectsAt("a 1 2\nb -3.5e38 1\n", /:2: value "-3\.5e38" is too large for float32/, 2);
  await rejectsAt("2 2\na 1 2\nb 1e999 1\n", /:3: value "1e999" is not a finite number/, 3);
  await rejectsAt("a 1 2\nb inf 1\n", /:2: value "inf" is not a number/, 2);
  await rejectsAt("a 1 2\nb Infinity 1\n", /:2: value "Infinity" is not a number/, 2);
  await rejectsAt("a 1 2\nb NaN 1\n", /:2: value "NaN" is not a number/, 2);
  // The largest float32 itself (and values that round to it) is fine.
  const dir = await tmpDir();
  const ok = path.join(dir, "max.txt");
  await fs.writeFile(ok, "a 3.4028234e38 -3.4028235e38\n");
  assert.deepEqual(Array.from((await parseVectorFile(ok)).data), [3.4028234663852886e38, -3.4028234663852886e38]);
  // word2vec binary holds raw float32: NaN and ±Infinity are refused, naming the row and word.
  await rejectsAt(word2vecBinary([["a", [1, 2]], ["b", [3, NaN]]], 2), /bad\.bin: row 2 \(word "b"\): value 2 is NaN, not a finite number/, undefined, "bad.bin");
  await rejectsAt(word2vecBinary([["a", [-Infinity, 2]]], 2), /row 1 \(word "a"\): value 1 is -Infinity/, undefined, "bad.bin");
  // wink JSON: a value beyond float32.
  const wink = path.join(dir, "wink.json");
  await fs.writeFile(wink, JSON.stringify({ dimensions: 2, words: ["a"], vectors: { a: [1, 1e40, 1, 0] } }).replace("1e+40", "1e40"));
  await assert.rejects(parseVectorFile(wink), /wink\.json: vectors\["a"\]: value 2 \(1e\+40\) is too large for float32/);
});

test("a word2vec header that disagrees with the rows is an error", async () => {
  await rejectsAt("3 2\na 1 2\nb 3 4\n", /header says 3 rows of 2 values, but the file has 2 rows/, 1);
  await rejectsAt("2 3\na 1 2\nb 3 4\n", /expected 3 values \(as the word2vec header says\), found 2/, 2);
  await rejectsAt(word2vecBinary(BIN_ROWS, 4, 3), /header says 3 rows, but the file has more data/, 1, "bad.bin");
});

test("truncated gzip and truncated binary files are errors", async () => {
  const gz = gzipSync(await fs.readFile(GLOVE));
  await rejectsAt(gz.subarray(0, gz.length - 12), /truncated or corrupt gzip data/, undefined, "cut.gz");
  const bin = word2vecBinary(BIN_ROWS, 4);
  await rejectsAt(bin.subarray(0, bin.length - 7), /truncated word2vec binary file: header says 5 rows, found 4 complete rows/, undefined, "cut.bin");
});

test("empty files and missing files are errors", async () => {
  await rejectsAt("", /empty file/);
  await rejectsAt("\n\n", /empty file/);
  await rejectsAt(gzipSync(Buffer.alloc(0)), /empty file/, undefined, "empty.gz");
  await rejectsAt("0 50\n", /empty file/);
  await assert.rejects(readVectors("/nonexistent/vectors.txt", { cache: false }), /vectors\.txt: vector file not found/);
});
