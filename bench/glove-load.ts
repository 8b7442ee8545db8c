/**
 * Time loading a word-vector file: a first parse with the cache disabled, then
 * a cache-building load and a cached load, and what the cached load spends on
 * its integrity checks (the cache's own SHA-256, and the source file's
 * SHA-256 that proves the cache is of this very file). Prints one JSON line
 * per figure.
 *
 *   node dist/bench/glove-load.js [path]   (default: $LSTM_NER_GLOVE or the shared GloVe 100d file)
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { decodeVectors, hashFile, vectorCachePath } from "../src/embeddings/cache.js";
import { readVectors } from "../src/embeddings/read.js";

const file = process.argv[2] ?? process.env["LSTM_NER_GLOVE"] ?? path.resolve("../shared/data/glove/glove.6B.100d.341k.txt.gz");
const cacheDir = await mkdtemp(path.join(os.tmpdir(), "lstm-ner-bench-"));

function report(step: string, seconds: number, extra: Record<string, number> = {}): void {
  console.log(JSON.stringify({ bench: "glove-load", step, file, ...extra, seconds: Number(seconds.toFixed(3)), loadavg: Number(os.loadavg()[0]!.toFixed(2)) }));
}

async function timed(label: string, cache: boolean): Promise<void> {
  const t0 = performance.now();
  const v = await readVectors(file, { cache, cacheDir });
  report(label, (performance.now() - t0) / 1000, { rows: v.words.length, dim: v.dim });
}

try {
  await timed("first-parse (no cache)", false);
  await timed("parse + write cache", true);
  await timed("cached load", true);
  const cacheFile = vectorCachePath(cacheDir, path.resolve(file), "auto|");
  const bytes = await readFile(cacheFile);
  let t0 = performance.now();
  const r = decodeVectors(bytes);
  if (r.status !== "ok") throw new Error(`cache unusable: ${r.reason}`);
  report("of which: decode + verify cache SHA-256", (performance.now() - t0) / 1000, { cache_bytes: bytes.length });
  t0 = performance.now();
  const src = await hashFile(file);
  report("of which: SHA-256 of the source file", (performance.now() - t0) / 1000, { source_bytes: src.size });
} finally {
  await rm(cacheDir, { recursive: true, force: true });
}
