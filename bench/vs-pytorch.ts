/**
 * lstm-ner and the PyTorch reference side by side, on the same batches, in
 * one run: training tokens/s (the exercise's plain shuffled batches, which is
 * what PyTorch's notebook does, and length buckets, lstm-ner's default for new
 * presets), inference tokens/s on dev (sorted by length and in input order,
 * batch 32 and 256), each with lstm-ner on 1 and on 2 kernel threads and
 * PyTorch on 1 and on 2 threads (plus its quantize_dynamic qint8 model for
 * inference), then the ratios issue 11 sets targets for:
 *   - per core: lstm-ner --threads 1 against PyTorch with 1 thread;
 *   - two cores: lstm-ner with 2 threads against PyTorch at whichever of 1 or
 *     2 threads is faster for that row;
 *   - what the second thread adds to each row (lstm-ner 2 threads / 1 thread);
 *   - lstm-ner's int16 weights (NerModel.quantize; rows "int16_infer_…")
 *     against PyTorch's fp32 model (targets 1.5 per core, 3 on two cores) and
 *     against its quantize_dynamic qint8 model.
 * lstm-ner runs first, then bench/pytorch_batches.py (run with /usr/bin/python3,
 * or $PYTHON) gets the very same batch shapes and token ids through a temporary
 * JSON file. Prints one JSON object per line, ratios last. Memory while
 * tagging is measured by bench/infer.ts (its own process).
 *
 *   node dist/bench/vs-pytorch.js [--batches N] [--threads 1,2] [--torch-threads 1,2] [--torch-infer-reps N]
 *                                 [--no-quantized] [--no-python] [--dev-sentences N] [--relaxed-simd]
 * Data: $LSTM_NER_DATA (default ../shared/data).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { loadDataset } from "../src/data/datasets.js";
import { loadVectors } from "../src/embeddings/registry.js";
import { disposeKernels, getKernels, type Kernels } from "../src/engine/index.js";
import { batch, bucketBatches, shuffled } from "../src/train/batching.js";
import { encodeSentences } from "../src/encode/encoder.js";
import { timeTraining } from "./timing.js";
import { Rng } from "../src/util/random.js";
import { getPreset } from "../src/train/presets.js";
import { buildRecipe, type Recipe } from "../src/train/recipe.js";

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
};
const list = (s: string): number[] => s.split(",").filter((x) => x !== "").map(Number);
const nBatches = Number(arg("--batches", "100"));
const ourThreads = list(arg("--threads", "1,2"));
const withPython = !process.argv.includes("--no-python");
const torchThreads = list(arg("--torch-threads", "1,2"));
const torchInferReps = Number(arg("--torch-infer-reps", "3"));
const quantized = !process.argv.includes("--no-quantized");
/** lstm-ner on the relaxed-SIMD build (fused multiply-add), where the runtime has it. */
const relaxedSimd = process.argv.includes("--relaxed-simd");
/** Tag only the first N dev sentences (a quick check of the script; the figures want all). */
const devSentences = Number(arg("--dev-sentences", "0"));
const dataDir = process.env.LSTM_NER_DATA ?? path.resolve("../shared/data");
const python = process.env.PYTHON ?? "/usr/bin/python3";
const print = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));
// The classroom recipe, as pytorch_seed.py trains it: BiLSTM 256, labels + 1 outputs, Adam 1e-3, batch 32.
const preset = getPreset("seed");
const H = preset.hidden;
const B = preset.batchSize;

const ds = await loadDataset("conllpp", { dir: path.join(dataDir, "conllpp"), offline: true });
const vectors = await loadVectors(process.env.LSTM_NER_GLOVE ?? preset.embeddings, { dataDir, offline: true });
/** The seed preset's model and optimiser on `kernels`, untrained: speed does not depend on the weights. */
const makeRecipe = (kernels: Kernels): Recipe => buildRecipe(kernels, preset, {
  vectors, labels: ds.labels, scheme: "IOB2", trainTokens: ds.train.map((s) => s.tokens), seed: 1,
});
const enc = makeRecipe(await getKernels("reference")).model.encoder();
const dim = vectors.dim;
const vocab = vectors.words.length + 2; // + UNK + PAD
const outputs = ds.labels.length + preset.extraOutputs;
print({ side: "lstm-ner", vocab, dim, hidden: H, cpus: os.availableParallelism(), load_avg: os.loadavg().map((x) => +x.toFixed(2)) });

type Item = (ReturnType<typeof encodeSentences>)[number];
const items = encodeSentences(ds.train, enc);
const trainSets: Record<string, Item[][]> = {
  plain: batch(shuffled(items, new Rng(1)), B).slice(0, nBatches),
  bucket: bucketBatches(items, B, new Rng(1), (s) => s.ids.length).slice(0, nBatches),
};
const dev = encodeSentences(devSentences > 0 ? ds.validation.slice(0, devSentences) : ds.validation, enc).filter((s) => s.ids.length > 0);
const devTokens = dev.reduce((n, s) => n + s.ids.length, 0);
const sorted = [...dev].sort((a, b) => a.ids.length - b.ids.length);
const inferSets: Record<string, Item[][]> = {
  sorted32: batch(sorted, 32), sorted256: batch(sorted, 256), input32: batch(dev, 32), input256: batch(dev, 256),
};

/** Useful FLOPs per real token of one training step: both directions forward + backward (no dx: frozen input), output layer. */
const trainFlopsPerToken = 2 * (2 * 4 * H * (dim + H) + 2 * 4 * H * (dim + 2 * H)) + 3 * 2 * 2 * H * outputs;
const inferFlopsPerToken = 2 * (2 * 4 * H * (dim + H)) + 2 * 2 * H * outputs;

/** tokens/s by row ("train_plain", "infer_sorted32", …), per lstm-ner thread count. */
const ours = new Map<number, Record<string, number>>();
let ourGemm = 0;
for (const want of ourThreads) {
  const kernels = await getKernels("wasm", { threads: want, relaxedSimd });
  const threads = (kernels as { threads?: number }).threads ?? 1;
  const row: Record<string, number> = {};
  ours.set(want, row);
  const tag = { side: "lstm-ner", kernels: kernels.name, threads };
  const { model, optimizer: opt } = makeRecipe(kernels);
  model.setTraining(true);
  for (const [name, batches] of Object.entries(trainSets)) {
    const { tokens, padded, seconds: s } = timeTraining(model, opt, (b: Item[]) => enc.collate(b), batches, 3);
    row[`train_${name}`] = tokens / s;
    print({ ...tag, bench: "train", batching: name, batches: batches.length, tokens, padded_positions: padded,
      padding_waste: +(padded / tokens - 1).toFixed(3), seconds: +s.toFixed(2), tokens_per_s: Math.round(tokens / s),
      useful_gflops: +((tokens * trainFlopsPerToken) / s / 1e9).toFixed(1) });
  }
  print({ ...tag, bench: "memory", after: "training", peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) });
  model.setTraining(false);
  // fp32, then the int16 weights (NerModel.quantize) on the same batches: rows "infer_…" and "int16_infer_…".
  for (const [weights, prefix] of [["fp32", ""], ["int16", "int16_"]] as const) {
    if (weights === "int16") model.quantize();
    for (const [name, batches] of Object.entries(inferSets)) {
      const collated = batches.map((b) => enc.collate(b));
      model.predict(collated[collated.length - 1]!); // warm-up on the largest shape
      const times: number[] = [];
      for (let r = 0; r < 3; r++) {
        const t0 = performance.now();
        for (const b of collated) model.predict(b);
        times.push((performance.now() - t0) / 1000);
      }
      const s = times.sort((a, b) => a - b)[1]!;
      row[`${prefix}infer_${name}`] = devTokens / s;
      print({ ...tag, bench: "inference", weights, order: name, tokens: devTokens, seconds: +s.toFixed(3),
        tokens_per_s: Math.round(devTokens / s), useful_gflops: +((devTokens * inferFlopsPerToken) / s / 1e9).toFixed(1) });
    }
  }
  if (ourGemm === 0) {
    // Our GEMM figure: the same 32×306 by 306×1024 product on one WASM core.
    const a = kernels.alloc(32 * 306).fill(0.5), b = kernels.alloc(306 * 1024).fill(0.25), c = kernels.alloc(32 * 1024);
    for (let i = 0; i < 50; i++) kernels.gemm(false, false, 32, 1024, 306, a, b, c, 0);
    const reps = 1000, t0 = performance.now();
    for (let i = 0; i < reps; i++) kernels.gemm(false, false, 32, 1024, 306, a, b, c, 0);
    ourGemm = (2 * 32 * 306 * 1024 * reps) / ((performance.now() - t0) / 1000) / 1e9;
    print({ side: "lstm-ner", bench: "gemm", shape: "32x306x1024", threads: 1, gflops: +ourGemm.toFixed(1) });
    for (const x of [a, b, c]) kernels.free(x);
  }
}
await disposeKernels();

const INFER = ["infer_sorted32", "infer_sorted256", "infer_input32", "infer_input256"];
const ROWS = ["train_plain", "train_bucket", ...INFER, ...INFER.map((r) => `int16_${r}`)];
/** PyTorch's row to compare with: its fp32 model for every row (lstm-ner's int16 rows included). */
const torchRow = (row: string): string => row.replace(/^int16_/, "");
/** Issue 11's targets per row kind. */
const target = (row: string, mode: "per-core" | "two-core"): number | null => {
  if (row.startsWith("train_")) return mode === "per-core" ? 0.8 : 1.5;
  if (row === "infer_sorted32" || row === "infer_sorted256") return mode === "per-core" ? 0.8 : 1.5;
  if (row.startsWith("int16_")) return mode === "per-core" ? 1.5 : 3;
  return null;
};
const ratio = (a: number | undefined, b: number | undefined): number | null => (a && b ? +(a / b).toFixed(2) : null);
const one = ours.get(1), two = ours.get(2);
for (const row of ROWS) {
  if (one && two) print({ bench: "second-thread", row, lstm_ner_1t: Math.round(one[row]!), lstm_ner_2t: Math.round(two[row]!), gain: ratio(two[row], one[row]), target: 1.7 });
}

if (withPython) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lstm-ner-vs-pytorch-"));
  const spec = path.join(dir, "batches.json");
  const ids = (b: Item[]): number[][] => b.map((s) => Array.from(s.ids));
  writeFileSync(spec, JSON.stringify({
    vocab, dim, hidden: H, outputs, threads: torchThreads, infer_reps: torchInferReps, quantized,
    train: Object.fromEntries(Object.entries(trainSets).map(([k, bs]) => [k, bs.map((b) => ({ ids: ids(b), labels: b.map((s) => Array.from(s.labels ?? [])) }))])),
    infer: Object.fromEntries(Object.entries(inferSets).map(([k, bs]) => [k, bs.map(ids)])),
  }));
  const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bench/pytorch_batches.py");
  const r = spawnSync(python, [script, spec], { encoding: "utf8", maxBuffer: 1 << 26 });
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) {
    print({ side: "pytorch", error: `${python} ${script} failed`, status: r.status, stderr: (r.stderr ?? "").slice(-2000) });
  } else {
    /** tokens/s by row, per PyTorch thread count; "qint8_infer_…" for the quantize_dynamic model. */
    const theirs = new Map<number, Record<string, number>>();
    const gemm = new Map<number, number>();
    for (const line of r.stdout.split("\n").filter((l) => l.startsWith("{"))) {
      console.log(line);
      const o = JSON.parse(line) as { threads: number; bench?: string; batching?: string; order?: string; model?: string; tokens_per_s?: number; gflops?: number };
      const row = theirs.get(o.threads) ?? {};
      theirs.set(o.threads, row);
      if (o.bench === "train") row[`train_${o.batching}`] = o.tokens_per_s!;
      if (o.bench === "inference") row[`${o.model === "qint8" ? "qint8_" : ""}infer_${o.order}`] = o.tokens_per_s!;
      if (o.bench === "gemm") gemm.set(o.threads, o.gflops!);
    }
    const t1 = theirs.get(1);
    for (const row of ROWS) {
      if (one && t1) print({ bench: "ratio", mode: "per-core", row, lstm_ner_1t: Math.round(one[row]!), pytorch_1t: t1[torchRow(row)], lstm_ner_over_pytorch: ratio(one[row], t1[torchRow(row)]), target: target(row, "per-core") });
    }
    for (const row of ROWS) {
      const tr = torchRow(row);
      const best = [...theirs.entries()].filter(([, r]) => r[tr]).sort((a, b) => b[1][tr]! - a[1][tr]!)[0];
      if (two && best) print({ bench: "ratio", mode: "two-core", row, lstm_ner_2t: Math.round(two[row]!), pytorch_best: best[1][tr], pytorch_best_threads: best[0], lstm_ner_over_pytorch: ratio(two[row], best[1][tr]), target: target(row, "two-core") });
    }
    // lstm-ner's int16 weights against PyTorch's quantize_dynamic (qint8) model, at the same thread count.
    for (const row of INFER) {
      for (const [threads, r] of theirs) {
        const mine = threads === 1 ? one : two;
        if (mine && r[`qint8_${row}`]) print({ bench: "ratio", mode: "vs quantize_dynamic", row: `int16_${row}`, threads, lstm_ner_int16: Math.round(mine[`int16_${row}`]!), pytorch_qint8: r[`qint8_${row}`], lstm_ner_over_pytorch: ratio(mine[`int16_${row}`], r[`qint8_${row}`]) });
      }
    }
    const gemmBest = Math.max(0, ...gemm.values());
    const bestTrain = Math.max(two?.train_bucket ?? 0, one?.train_bucket ?? 0);
    print({ bench: "gflops", machine_gemm_openblas_1thread: gemm.get(1) ?? null, machine_gemm_openblas_2threads: gemm.get(2) ?? null,
      wasm_gemm_1thread: +ourGemm.toFixed(1), lstm_ner_train_useful_gflops: +((bestTrain * trainFlopsPerToken) / 1e9).toFixed(1),
      pytorch_train_useful_gflops: +((Math.max(0, ...[...theirs.values()].map((r) => r.train_plain ?? 0)) * trainFlopsPerToken) / 1e9).toFixed(1),
      lstm_ner_pct_of_machine_gemm: gemmBest ? +((100 * bestTrain * trainFlopsPerToken) / 1e9 / gemmBest).toFixed(1) : null });
  }
}
