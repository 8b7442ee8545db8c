/**
 * Time loading a word-vector file: a first parse with the cache disabled, then
 * a cache-building load and a cached load. Prints one JSON line per figure.
 *
 *   node dist/bench/glove-load.js [path]   (default: $LSTM_NER_GLOVE or the shared GloVe 100d file)
 */
import { mkdtemp, rm } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { readVectors } from "../src/embeddings/read.js";

const file = process.argv[2] ?? process.env["LSTM_NER_GLOVE"] ?? "/work/shared/data/glove/glove.6B.100d.341k.txt.gz";
const cacheDir = await mkdtemp(path.join(os.tmpdir(), "lstm-ner-bench-"));

async function timed(label: string, cache: boolean): Promise<void> {
  const t0 = performance.now();
  const v = await readVectors(file, { cache, cacheDir });
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ bench: "glove-load", step: label, file, rows: v.words.length, dim: v.dim, seconds: Number(seconds.toFixed(3)) }));
}

try {
  await timed("first-parse (no cache)", false);
  await timed("parse + write cache", true);
  await timed("cached load", true);
} finally {
  await rm(cacheDir, { recursive: true, force: true });
}
