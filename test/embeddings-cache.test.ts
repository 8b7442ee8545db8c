import { test } from "node:test";
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { decodeVectors, encodeVectors, hashFile, readVectorCache, vectorCachePath, writeVectorCache, type VectorSource } from "../src/embeddings/cache.js";
import { readVectors } from "../src/embeddings/read.js";
import { loadVectors } from "../src/embeddings/registry.js";
import type { Vectors } from "../src/embeddings/types.js";

const SOURCE: VectorSource = { size: 22, sha256: "ab".repeat(32) };

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

/** readVectors, collecting its notices. */
async function read(src: string, cache: string): Promise<{ v: ReturnType<typeof plain>; notices: string[] }> {
  const notices: string[] = [];
  const v = await readVectors(src, { cacheDir: cache, onNotice: (m) => notices.push(m) });
  return { v: plain(v), notices };
}

const PARSED = { words: ["the", "naïve"], dim: 3, data: [1, 2, 3, 4, 5, 6] };

test("encode/decode round-trips words (including non-ASCII), floats and the source identity", () => {
  const v: Vectors = { words: ["the", "naïve", "東京"], dim: 2, data: new Float32Array([1, 2, 3, 4, 5, -6.5]) };
  const r = decodeVectors(Buffer.concat(encodeVectors(v, SOURCE)!));
  assert.equal(r.status, "ok");
  if (r.status !== "ok") return;
  assert.deepEqual(plain(r.vectors), plain(v));
  assert.deepEqual(r.source, SOURCE);
  // Words holding the separator cannot be cached (and are not, rather than corrupting it).
  assert.equal(encodeVectors({ words: ["a\nb"], dim: 1, data: new Float32Array(1) }, SOURCE), undefined);
});

test("decode says why a file is unusable: truncated, padded, wrong magic or version, any changed byte", () => {
  const v: Vectors = { words: ["a", "b"], dim: 3, data: new Float32Array([1, 2, 3, 4, 5, 6]) };
  const good = Buffer.concat(encodeVectors(v, SOURCE)!);
  const reason = (buf: Uint8Array): string => {
    const r = decodeVectors(buf);
    return r.status === "damaged" ? r.reason : "ok";
  };
  assert.equal(reason(good), "ok");
  assert.match(reason(good.subarray(0, good.length - 1)), /does not match its header/);
  assert.match(reason(Buffer.concat([good, Buffer.alloc(4)])), /does not match its header/);
  assert.match(reason(good.subarray(0, 10)), /truncated header/);
  const magic = Buffer.from(good);
  magic[0] = 0;
  assert.equal(reason(magic), "not a vector cache file");
  const version = Buffer.from(good);
  version.writeUInt32LE(1, 8);
  assert.equal(reason(version), "format version 1, expected 2");
  // Every single-bit flip after the version field is caught, header and body alike.
  for (let i = 12; i < good.length; i++) {
    const bad = Buffer.from(good);
    bad[i]! ^= 1 << (i % 8);
    assert.notEqual(reason(bad), "ok", `bit flip at byte ${i}`);
  }
});

test("the first read writes the cache; the second is served from it while the source is the same", async () => {
  const { cache, src } = await setup();
  assert.deepEqual(await read(src, cache), { v: PARSED, notices: [] });
  const files = await cacheFiles(cache);
  assert.deepEqual(files, [path.basename(vectorCachePath(cache, src, "auto|"))]);
  const file = path.join(cache, "vectors", files[0]!);
  const cached = await readVectorCache(file);
  assert.equal(cached.status, "ok");
  if (cached.status === "ok") assert.deepEqual(cached.source, await hashFile(src));
  // Plant other contents recorded against the real source: a hit must return them, proving no re-parse.
  await writeVectorCache(file, { words: ["cached"], dim: 3, data: new Float32Array([7, 8, 9]) }, await hashFile(src));
  assert.deepEqual(await read(src, cache), { v: { words: ["cached"], dim: 3, data: [7, 8, 9] }, notices: [] });
  // And cache: false ignores it.
  assert.deepEqual((await readVectors(src, { cacheDir: cache, cache: false })).words, ["the", "naïve"]);
});

test("a source changed without changing its size or mtime is parsed again, and the caller is told", async () => {
  const { cache, src } = await setup();
  const when = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  await fs.utimes(src, when, when);
  await read(src, cache);
  const before = await fs.stat(src);
  await fs.writeFile(src, "the 1 2 3\nnaïve 4 5 7\n"); // same size
  await fs.utimes(src, when, when);
  const after = await fs.stat(src);
  assert.equal(after.size, before.size);
  assert.equal(after.mtimeMs, before.mtimeMs);
  const r = await read(src, cache);
  assert.deepEqual(r.v.data, [1, 2, 3, 4, 5, 7]);
  assert.equal(r.notices.length, 1);
  assert.match(r.notices[0]!, /vec\.txt changed since it was cached \(its SHA-256 differs from the cached copy's\); parsing it again$/);
  // The cache was replaced, not duplicated, and now serves the new contents quietly.
  assert.equal((await cacheFiles(cache)).length, 1);
  assert.deepEqual(await read(src, cache), { v: { ...PARSED, data: [1, 2, 3, 4, 5, 7] }, notices: [] });
});

test("a damaged cache file (NaN written in, a word renamed, a flipped bit, truncated, garbage) is parsed again and rewritten", async () => {
  const { cache, src } = await setup();
  await read(src, cache);
  const file = path.join(cache, "vectors", (await cacheFiles(cache))[0]!);
  const good = await fs.readFile(file);
  const floatsAt = good.length - 6 * 4;
  const nan = Buffer.from(good);
  nan.writeFloatLE(NaN, floatsAt + 4);
  const renamed = Buffer.from(good);
  renamed.write("thx", renamed.indexOf("the\n"), "latin1");
  const flipped = Buffer.from(good);
  flipped[floatsAt + 22]! ^= 0x40; // the exponent of the last value
  const damages: [string, Buffer, RegExp][] = [
    ["NaN", nan, /checksum mismatch/],
    ["renamed word", renamed, /checksum mismatch/],
    ["flipped exponent bit", flipped, /checksum mismatch/],
    ["truncated", good.subarray(0, good.length - 5), /does not match its header/],
    ["garbage", Buffer.from("garbage that is not a cache"), /not a vector cache file/],
  ];
  for (const [what, bytes, reason] of damages) {
    await fs.writeFile(file, bytes);
    const r = await read(src, cache);
    assert.deepEqual(r.v, PARSED, what);
    assert.equal(r.notices.length, 1, what);
    assert.ok(r.notices[0]!.startsWith(`the cached copy of ${src} (${file}) is unusable (`), r.notices[0]);
    assert.match(r.notices[0]!, reason, what);
    assert.match(r.notices[0]!, /; parsing the file again$/);
    assert.deepEqual(await fs.readFile(file), good, `${what}: the cache is rewritten`);
  }
});

test("loadVectors passes the re-parse notice on as LoadedVectors.notice", async () => {
  const { cache, src } = await setup();
  const first = await loadVectors(src, { cacheDir: cache });
  assert.equal(first.notice, undefined);
  const file = path.join(cache, "vectors", (await cacheFiles(cache))[0]!);
  const bytes = await fs.readFile(file);
  bytes.writeFloatLE(NaN, bytes.length - 4);
  await fs.writeFile(file, bytes);
  const second = await loadVectors(src, { cacheDir: cache });
  assert.match(second.notice ?? "", /is unusable \(checksum mismatch\); parsing the file again/);
  assert.deepEqual(Array.from(second.data), PARSED.data);
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
