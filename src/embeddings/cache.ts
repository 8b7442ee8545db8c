import { createHash } from "node:crypto";
import { promises as fs, type Stats } from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../util/atomic.js";
import type { Vectors } from "./types.js";

/**
 * Binary cache of parsed vectors, little-endian:
 *
 * | bytes | content |
 * |---|---|
 * | 8 | magic `LNERVEC\0` |
 * | 4 | u32 version (1) |
 * | 4 | u32 count |
 * | 4 | u32 dim |
 * | 4 | u32 byte length of the word blob |
 * | n | words, UTF-8, each followed by `\n` |
 * | 0-3 | zero padding to a multiple of 4 |
 * | count×dim×4 | float32 rows |
 *
 * Loading is one read: the floats are a view on the file's buffer and the
 * words are one decode and one split.
 */
const MAGIC = new TextEncoder().encode("LNERVEC\0");
const VERSION = 1;
const HEADER_BYTES = 24;
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Where the cache of `source` lives; changes whenever the source's path, size or mtime do. */
export function vectorCachePath(root: string, source: string, stat: Pick<Stats, "size" | "mtimeMs">, variant = ""): string {
  const key = createHash("sha256").update(JSON.stringify([path.resolve(source), stat.size, stat.mtimeMs, variant])).digest("hex").slice(0, 32);
  return path.join(root, "vectors", `${key}.vec`);
}

/** Serialise vectors as the chunks of a cache file, or undefined when they cannot be cached. */
export function encodeVectors(v: Vectors): Uint8Array[] | undefined {
  if (!HOST_LITTLE_ENDIAN || v.words.some((w) => w.includes("\n"))) return undefined;
  const blob = new TextEncoder().encode(v.words.length === 0 ? "" : v.words.join("\n") + "\n");
  const pad = (4 - ((HEADER_BYTES + blob.length) % 4)) % 4;
  const head = new Uint8Array(HEADER_BYTES + blob.length + pad);
  head.set(MAGIC, 0);
  const dv = new DataView(head.buffer);
  dv.setUint32(8, VERSION, true);
  dv.setUint32(12, v.words.length, true);
  dv.setUint32(16, v.dim, true);
  dv.setUint32(20, blob.length, true);
  head.set(blob, HEADER_BYTES);
  const floats = new Uint8Array(v.data.buffer, v.data.byteOffset, v.words.length * v.dim * 4);
  return [head, floats];
}

/** Parse a cache file's bytes; undefined when they are not a complete, valid cache. */
export function decodeVectors(buf: Uint8Array): Vectors | undefined {
  if (!HOST_LITTLE_ENDIAN || buf.length < HEADER_BYTES) return undefined;
  for (let i = 0; i < MAGIC.length; i++) if (buf[i] !== MAGIC[i]) return undefined;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(8, true) !== VERSION) return undefined;
  const count = dv.getUint32(12, true);
  const dim = dv.getUint32(16, true);
  const blobBytes = dv.getUint32(20, true);
  const dataStart = HEADER_BYTES + blobBytes + ((4 - ((HEADER_BYTES + blobBytes) % 4)) % 4);
  if (dim === 0 || buf.length !== dataStart + count * dim * 4) return undefined;
  const text = new TextDecoder().decode(buf.subarray(HEADER_BYTES, HEADER_BYTES + blobBytes));
  if (!text.endsWith("\n")) return undefined;
  const words = text.slice(0, -1).split("\n");
  if (words.length !== count) return undefined;
  const byteOffset = buf.byteOffset + dataStart;
  const data = byteOffset % 4 === 0
    ? new Float32Array(buf.buffer, byteOffset, count * dim)
    : new Float32Array(buf.slice(dataStart).buffer);
  return { words, dim, data };
}

/** Load a cache file; undefined when it is missing, truncated or corrupt. */
export async function readVectorCache(file: string): Promise<Vectors | undefined> {
  let buf: Uint8Array;
  try {
    buf = await fs.readFile(file);
  } catch {
    return undefined;
  }
  return decodeVectors(buf);
}

/**
 * Write the cache atomically. Failures (read-only or full disk) are swallowed:
 * the cache only saves time. Returns whether the file was written.
 */
export async function writeVectorCache(file: string, v: Vectors): Promise<boolean> {
  const chunks = encodeVectors(v);
  if (chunks === undefined) return false;
  try {
    await writeFileAtomic(file, chunks);
    return true;
  } catch {
    return false;
  }
}
