import { createHash } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { writeFileAtomic } from "../util/atomic.js";
import type { Vectors } from "./types.js";

/**
 * Binary cache of parsed vectors, little-endian:
 *
 * | bytes | content |
 * |---|---|
 * | 8 | magic `LNERVEC\0` |
 * | 4 | u32 version (2) |
 * | 4 | u32 count |
 * | 4 | u32 dim |
 * | 4 | u32 byte length of the word blob |
 * | 8 | f64 size of the source file in bytes |
 * | 32 | SHA-256 of the source file's bytes |
 * | 32 | SHA-256 of every other byte of this file (its checksum) |
 * | n | words, UTF-8, each followed by `\n` |
 * | 0-3 | zero padding to a multiple of 4 |
 * | count×dim×4 | float32 rows |
 *
 * Loading is one read and one hash: the floats are a view on the file's
 * buffer and the words are one decode and one split. The checksum catches a
 * damaged cache (a flipped bit, a NaN written in, a renamed word); the
 * source hash catches a source file that changed, even when its size and
 * mtime did not.
 */
const MAGIC = new TextEncoder().encode("LNERVEC\0");
const VERSION = 2;
const SOURCE_SIZE_AT = 24;
const SOURCE_HASH_AT = 32;
const CHECKSUM_AT = 64;
const HEADER_BYTES = 96;
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** What a cache file says about the file it was parsed from. */
export interface VectorSource {
  /** Size in bytes. */
  size: number;
  /** SHA-256 of the file's bytes, hex. */
  sha256: string;
}

/** A cache file's contents, or why they cannot be used. */
export type CacheRead =
  | { status: "ok"; vectors: Vectors; source: VectorSource }
  | { status: "missing" }
  | { status: "damaged"; reason: string };

/**
 * Where the cache of `source` (read as `variant`: format and zip entry) lives.
 * One file per source: a changed source replaces its cache rather than
 * leaving the old one behind.
 */
export function vectorCachePath(root: string, source: string, variant = ""): string {
  const key = createHash("sha256").update(JSON.stringify([path.resolve(source), variant])).digest("hex").slice(0, 32);
  return path.join(root, "vectors", `${key}.vec`);
}

/** SHA-256 of a file's bytes and their count, streamed. */
export async function hashFile(file: string): Promise<VectorSource> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest("hex") };
}

/**
 * {@link hashFile} in a worker thread, so that a cached load hashes the source
 * while the main thread reads and verifies the cache. `cancel` stops it when
 * the hash is not needed after all.
 */
export function hashFileInBackground(file: string): { result: Promise<VectorSource>; cancel: () => void } {
  const worker = new Worker(new URL("./hash-worker.js", import.meta.url), { workerData: file });
  const result = new Promise<VectorSource>((resolve, reject) => {
    worker.once("message", (m: VectorSource | { error: string }) => ("error" in m ? reject(new Error(m.error)) : resolve(m)));
    worker.once("error", reject);
    worker.once("exit", () => reject(new Error("hashing stopped")));
  });
  result.catch(() => undefined); // a cancelled or failed hash is only a cache miss
  return { result, cancel: () => void worker.terminate() };
}

function checksum(head: Uint8Array, rest: readonly Uint8Array[]): Buffer {
  const h = createHash("sha256").update(head.subarray(0, CHECKSUM_AT)).update(head.subarray(HEADER_BYTES));
  for (const r of rest) h.update(r);
  return h.digest();
}

/** Serialise vectors parsed from `source` as the chunks of a cache file, or undefined when they cannot be cached. */
export function encodeVectors(v: Vectors, source: VectorSource): Uint8Array[] | undefined {
  if (!HOST_LITTLE_ENDIAN || v.words.some((w) => w.includes("\n")) || !/^[0-9a-f]{64}$/.test(source.sha256)) return undefined;
  const blob = new TextEncoder().encode(v.words.length === 0 ? "" : v.words.join("\n") + "\n");
  const pad = (4 - ((HEADER_BYTES + blob.length) % 4)) % 4;
  const head = new Uint8Array(HEADER_BYTES + blob.length + pad);
  head.set(MAGIC, 0);
  const dv = new DataView(head.buffer);
  dv.setUint32(8, VERSION, true);
  dv.setUint32(12, v.words.length, true);
  dv.setUint32(16, v.dim, true);
  dv.setUint32(20, blob.length, true);
  dv.setFloat64(SOURCE_SIZE_AT, source.size, true);
  head.set(Buffer.from(source.sha256, "hex"), SOURCE_HASH_AT);
  head.set(blob, HEADER_BYTES);
  const floats = new Uint8Array(v.data.buffer, v.data.byteOffset, v.words.length * v.dim * 4);
  head.set(checksum(head, [floats]), CHECKSUM_AT);
  return [head, floats];
}

/** Parse a cache file's bytes, verifying its checksum. */
export function decodeVectors(buf: Uint8Array): Exclude<CacheRead, { status: "missing" }> {
  const damaged = (reason: string): { status: "damaged"; reason: string } => ({ status: "damaged", reason });
  if (!HOST_LITTLE_ENDIAN) return damaged("this machine is big-endian");
  if (buf.length < 12) return damaged("truncated header");
  for (let i = 0; i < MAGIC.length; i++) if (buf[i] !== MAGIC[i]) return damaged("not a vector cache file");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== VERSION) return damaged(`format version ${version}, expected ${VERSION}`);
  if (buf.length < HEADER_BYTES) return damaged("truncated header");
  const count = dv.getUint32(12, true);
  const dim = dv.getUint32(16, true);
  const blobBytes = dv.getUint32(20, true);
  const dataStart = HEADER_BYTES + blobBytes + ((4 - ((HEADER_BYTES + blobBytes) % 4)) % 4);
  if (dim === 0 || buf.length !== dataStart + count * dim * 4) return damaged(`size ${buf.length} bytes does not match its header`);
  const stored = buf.subarray(CHECKSUM_AT, HEADER_BYTES);
  const actual = checksum(buf.subarray(0, dataStart), [buf.subarray(dataStart)]);
  if (!actual.equals(stored)) return damaged("checksum mismatch");
  const text = new TextDecoder().decode(buf.subarray(HEADER_BYTES, HEADER_BYTES + blobBytes));
  const words = text === "" ? [] : text.slice(0, -1).split("\n");
  if (words.length !== count) return damaged("word count does not match its header");
  const byteOffset = buf.byteOffset + dataStart;
  const data = byteOffset % 4 === 0
    ? new Float32Array(buf.buffer, byteOffset, count * dim)
    : new Float32Array(buf.slice(dataStart).buffer);
  const source = { size: dv.getFloat64(SOURCE_SIZE_AT, true), sha256: Buffer.from(buf.subarray(SOURCE_HASH_AT, CHECKSUM_AT)).toString("hex") };
  return { status: "ok", vectors: { words, dim, data }, source };
}

/** Load and verify a cache file. */
export async function readVectorCache(file: string): Promise<CacheRead> {
  let buf: Uint8Array;
  try {
    buf = await fs.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { status: "missing" };
    return { status: "damaged", reason: `cannot be read (${(err as Error).message})` };
  }
  return decodeVectors(buf);
}

/**
 * Write the cache atomically. Failures (read-only or full disk) are swallowed:
 * the cache only saves time. Returns whether the file was written.
 */
export async function writeVectorCache(file: string, v: Vectors, source: VectorSource): Promise<boolean> {
  const chunks = encodeVectors(v, source);
  if (chunks === undefined) return false;
  try {
    await writeFileAtomic(file, chunks);
    return true;
  } catch {
    return false;
  }
}
