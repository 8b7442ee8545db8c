import { test } from "node:test";
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { decodeVectors, encodeVectors, vectorCachePath, writeVectorCache } from "../src/embeddings/cache.js";
import { readVectors } from "../src/embeddings/read.js";
import type { Vectors } from "../src/embeddings/types.js";

async function setup(): Promise<{ dir: string; cache: string; src: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "lstm-ner-vcache-"));
  const src = path.join(dir, "vec.txt");
  await fs.writeFile(src, "the 1 2 3\nnaïve 4 5 6\n");
  return { dir, cache: path.join(dir, "cache"), src };
}

async function cacheFiles(cache: string): Promise<string[]> {
  try {
    return (await fs.readdir(path.join(cache, "vectors"))).filter((f) => f.endsWith(".vec"));
  } catch {
    return [];
  }
}

function plain(v: Vectors): { words: string[]; dim: number; data: number[] } {
  return { words: v.words, dim: v.dim, data: Array.from(v.data) };
}

test("encode/decode round-trips words (including non-ASCII) and floats", () => {
  const v: Vectors = { words: ["the", "naïve", "東京"], dim: 2, data: new Float32Array([1, 2, 3, 4, 5, -6.5]) };
  const bytes = Buffer.concat(encodeVectors(v)!);
  assert.deepEqual(plain(decodeVectors(bytes)!), plain(v));
  // Words holding the separator cannot be cached (and are not, rather than corrupting it).
  assert.equal(encodeVectors({ words: ["a\nb"], dim: 1, data: new Float32Array(1) }), undefined);
});

test("decode rejects truncated, padded, wrong-magic and wrong-version files", () => {
  const v: Vectors = { words: ["a", "b"], dim: 3, data: new Float32Array([1, 2, 3, 4, 5, 6]) };
  const good = Buffer.concat(encodeVectors(v)!);
  assert.equal(decodeVectors(good.subarray(0, good.length - 1)), undefined);
  assert.equal(decodeVectors(Buffer.concat([good, Buffer.alloc(4)])), undefined);
  assert.equal(decodeVectors(good.subarray(0, 10)), undefined);
  const magic = Buffer.from(good);
  magic[0] = 0;
  assert.equal(decodeVectors(magic), undefined);
  const version = Buffer.from(good);
  version.writeUInt32LE(99, 8);
  assert.equal(decodeVectors(version), undefined);
  const count = Buffer.from(good);
  count.writeUInt32LE(3, 12);
  assert.equal(decodeVectors(count), undefined);
});

test("the first read writes the cache and the second read is served from it", async () => {
  const { cache, src } = await setup();
  const first = await readVectors(src, { cacheDir: cache });
  assert.deepEqual(plain(first), { words: ["the", "naïve"], dim: 3, data: [1, 2, 3, 4, 5, 6] });
  const files = await cacheFiles(cache);
  assert.equal(files.length, 1);
  const stat = await fs.stat(src);
  assert.equal(path.basename(vectorCachePath(cache, src, stat, "auto|")), files[0]);
  // Plant different contents under the same key: a hit must return them, proving no re-parse.
  await writeVectorCache(path.join(cache, "vectors", files[0]!), { words: ["cached"], dim: 3, data: new Float32Array([7, 8, 9]) });
  assert.deepEqual(plain(await readVectors(src, { cacheDir: cache })), { words: ["cached"], dim: 3, data: [7, 8, 9] });
  // And cache: false ignores it.
  assert.deepEqual((await readVectors(src, { cacheDir: cache, cache: false })).words, ["the", "naïve"]);
});

test("editing the source invalidates the cache", async () => {
  const { cache, src } = await setup();
  await readVectors(src, { cacheDir: cache });
  await fs.writeFile(src, "the 1 2 3\nnaïve 4 5 7\n"); // same size
  const later = new Date(Date.now() + 5000);
  await fs.utimes(src, later, later);
  assert.deepEqual(Array.from((await readVectors(src, { cacheDir: cache })).data), [1, 2, 3, 4, 5, 7]);
  assert.equal((await cacheFiles(cache)).length, 2);
});

test("a corrupt or truncated cache file is rebuilt silently", async () => {
  const { cache, src } = await setup();
  await readVectors(src, { cacheDir: cache });
  const file = path.join(cache, "vectors", (await cacheFiles(cache))[0]!);
  const good = await fs.readFile(file);
  await fs.writeFile(file, good.subarray(0, good.length - 5));
  assert.deepEqual(plain(await readVectors(src, { cacheDir: cache })), { words: ["the", "naïve"], dim: 3, data: [1, 2, 3, 4, 5, 6] });
  assert.deepEqual(await fs.readFile(file), good);
  await fs.writeFile(file, "garbage that is not a cache");
  assert.deepEqual((await readVectors(src, { cacheDir: cache })).words, ["the", "naïve"]);
  assert.deepEqual(await fs.readFile(file), good);
});

test("with the cache disabled nothing is written", async () => {
  const { cache, src } = await setup();
  await readVectors(src, { cacheDir: cache, cache: false });
  assert.deepEqual(await cacheFiles(cache), []);
});

test("an unwritable cache folder does not fail the read", async () => {
  const { dir, src } = await setup();
  const blocker = path.join(dir, "file-not-dir");
  await fs.writeFile(blocker, "x");
  assert.deepEqual((await readVectors(src, { cacheDir: blocker })).words, ["the", "naïve"]);
});
