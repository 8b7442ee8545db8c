/**
 * Throughput of a preset's model on CoNLL++ — `seed` (BiLSTM 256 over frozen
 * GloVe, batch 32) by default, or `accurate` (BiLSTM-CNN-CRF): training
 * tokens/s (real, non-pad tokens) with plain shuffled batches and with length
 * buckets, inference tokens/s on dev, and peak RSS. Prints one JSON object
 * per line.
 *
 *   node dist/bench/train.js [--preset seed|accurate] [--set key=value ...] [--batches N] [--kernels wasm|reference] [--threads 1|2] [--relaxed-simd]
 * Data: $LSTM_NER_DATA (default ../shared/data), vectors: $LSTM_NER_GLOVE or
 * the GloVe file found there.
 */
import * as path from "node:path";
import { loadDataset } from "../src/data/datasets.js";
import { loadVectors } from "../src/embeddings/registry.js";
import { disposeKernels, getKernels } from "../src/engine/index.js";
import { batch, bucketBatches, shuffled } from "../src/train/batching.js";
import { encodeAll, encodeSentences } from "../src/encode/encoder.js";
import { predictIds } from "../src/encode/run-batched.js";
import { timeTraining } from "./timing.js";
import { Rng } from "../src/util/random.js";
import { applyOverrides, getPreset } from "../src/train/presets.js";
import { buildRecipe } from "../src/train/recipe.js";

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
};
// --set key=value (repeatable), as `lstm-ner train --set` takes them.
const sets = process.argv.flatMap((a, i) => (a === "--set" && process.argv[i + 1] !== undefined ? [process.argv[i + 1]!] : []));
const preset = applyOverrides(getPreset(arg("--preset", "seed")), sets);
const nBatches = Number(arg("--batches", "150"));
const kind = arg("--kernels", "wasm") as "wasm" | "reference";
const threadsArg = arg("--threads", "");
const dataDir = process.env.LSTM_NER_DATA ?? path.resolve("../shared/data");
const print = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));

const ds = await loadDataset("conllpp", { dir: path.join(dataDir, "conllpp"), offline: true });
const vectors = await loadVectors(process.env.LSTM_NER_GLOVE ?? preset.embeddings, { dataDir, offline: true });
// --relaxed-simd: the relaxed-SIMD build (fused multiply-add; results differ in the last bits).
const kernels = await getKernels(kind, { ...(threadsArg === "" ? {} : { threads: Number(threadsArg) }), relaxedSimd: process.argv.includes("--relaxed-simd") });
const threads = (kernels as { threads?: number }).threads ?? 1;
print({ bench: "setup", preset: preset.name, set: sets, kernels: kernels.name, threads, vectors: vectors.source, rows: vectors.words.length, dim: vectors.dim, node: process.version });

// The model as `lstm-ner train --preset NAME` builds it.
const { model, optimizer: opt } = buildRecipe(kernels, preset, {
  vectors, labels: ds.labels, scheme: "IOB2", trainTokens: ds.train.map((s) => s.tokens), seed: 1,
});
const enc = model.encoder();
const items = encodeSentences(ds.train, enc);
model.setTraining(true);

for (const batching of ["plain", "bucket"] as const) {
  const rng = new Rng(1);
  const batches = (batching === "plain" ? batch(shuffled(items, rng), preset.batchSize) : bucketBatches(items, preset.batchSize, rng, (s) => s.ids.length)).slice(0, nBatches);
  const { tokens, padded, seconds: s } = timeTraining(model, opt, (b: typeof batches[number]) => enc.collate(b), batches, 5);
  print({ bench: "train", batching, default_batching: batching === preset.batching, batches: batches.length, tokens, padded_positions: padded, seconds: +s.toFixed(2), tokens_per_s: Math.round(tokens / s) });
}

// Peak RSS up to here covers loading + training only (inference at batch 256 needs more).
print({ bench: "memory", after: "training", peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) });
model.setTraining(false);
const dev = encodeAll(ds.validation.map((s) => s.tokens), enc, ds.validation.map((s) => s.doc));
const devTokens = dev.reduce((n, s) => n + s.ids.length, 0);
for (const bs of [32, 256]) {
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    predictIds(model, dev, enc, bs);
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  print({ bench: "inference", batch: bs, sorted_by_length: true, tokens: devTokens, seconds: +times[1]!.toFixed(3), tokens_per_s: Math.round(devTokens / times[1]!) });
}
print({ bench: "memory", after: "inference", peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) });
await disposeKernels();
