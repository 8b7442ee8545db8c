/**
 * lstm-ner and the PyTorch reference side by side, on the same batches:
 * training tokens/s (the exercise's plain shuffled batches, which is what
 * PyTorch's notebook does, and length buckets, lstm-ner's default for new
 * presets), inference tokens/s on dev (sorted by length and in input order,
 * batch 32 and 256), peak RSS after training, and useful GFLOP/s against the
 * machine's GEMM figure. lstm-ner runs first, then bench/pytorch_batches.py
 * (run with /usr/bin/python3, or $PYTHON) gets the very same batch shapes and
 * token ids through a temporary JSON file. Prints one JSON object per line,
 * ratios last.
 *
 *   node dist/bench/vs-pytorch.js [--batches N] [--threads 1|2] [--torch-threads N] [--torch-infer-reps N] [--no-python]
 * PyTorch runs with 2 threads as pytorch_seed.py does; on a busy 2-core machine
 * its OpenBLAS threads fight for the cores and it runs many times slower than
 * with --torch-threads 1, so report both. --torch-infer-reps 1 saves minutes.
 * Data: $LSTM_NER_DATA (default ../shared/data).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { loadDataset } from "../src/data/datasets.js";
import { loadVectors } from "../src/embeddings/registry.js";
import { disposeKernels, getKernels } from "../src/engine/index.js";
import { batch, bucketBatches, shuffled } from "../src/train/batching.js";
import { encodeSentences } from "../src/infer/encoder.js";
import { Rng } from "../src/util/random.js";
import { getPreset } from "../src/train/presets.js";
import { buildRecipe } from "../src/train/recipe.js";

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
};
const nBatches = Number(arg("--batches", "100"));
const threadsArg = arg("--threads", "");
const withPython = !process.argv.includes("--no-python");
const torchThreads = Number(arg("--torch-threads", "2"));
const torchInferReps = Number(arg("--torch-infer-reps", "3"));
const dataDir = process.env.LSTM_NER_DATA ?? path.resolve("../shared/data");
const python = process.env.PYTHON ?? "/usr/bin/python3";
const print = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));
// The classroom recipe, as pytorch_seed.py trains it: BiLSTM 256, labels + 1 outputs, Adam 1e-3, batch 32.
const preset = getPreset("seed");
const H = preset.hidden;
const B = preset.batchSize;

const ds = await loadDataset("conllpp", { dir: path.join(dataDir, "conllpp"), offline: true });
const vectors = await loadVectors(process.env.LSTM_NER_GLOVE ?? preset.embeddings, { dataDir, offline: true });
const kernels = await getKernels("wasm", threadsArg === "" ? {} : { threads: Number(threadsArg) });
const threads = (kernels as { threads?: number }).threads ?? 1;
const { model, optimizer: opt } = buildRecipe(kernels, preset, {
  vectors, labels: ds.labels, scheme: "IOB2", trainTokens: ds.train.map((s) => s.tokens), seed: 1,
});
const enc = model.encoder();
const dim = vectors.dim;
const vocab = vectors.words.length + 2; // + UNK + PAD
const outputs = ds.labels.length + preset.extraOutputs;
print({ side: "lstm-ner", kernels: kernels.name, threads, vocab, dim, hidden: H, load_avg: os.loadavg().map((x) => +x.toFixed(2)) });

type Item = (ReturnType<typeof encodeSentences>)[number];
const items = encodeSentences(ds.train, enc);
const trainSets: Record<string, Item[][]> = {
  plain: batch(shuffled(items, new Rng(1)), B).slice(0, nBatches),
  bucket: bucketBatches(items, B, new Rng(1), (s) => s.ids.length).slice(0, nBatches),
};

/** Useful FLOPs per real token of one training step: both directions forward + backward (no dx: frozen input), output layer. */
const trainFlopsPerToken = 2 * (2 * 4 * H * (dim + H) + 2 * 4 * H * (dim + 2 * H)) + 3 * 2 * 2 * H * outputs;
const inferFlopsPerToken = 2 * (2 * 4 * H * (dim + H)) + 2 * 2 * H * outputs;

const ours: Record<string, number> = {};
for (const [name, batches] of Object.entries(trainSets)) {
  for (const b of batches.slice(0, 3)) { // warm-up: sizes the buffers, lets the JIT settle
    model.lossAndGrad(enc.collate(b));
    opt.zeroGrad();
  }
  let tokens = 0, padded = 0;
  const t0 = performance.now();
  for (const b of batches) {
    const pb = enc.collate(b);
    model.lossAndGrad(pb);
    opt.step();
    opt.zeroGrad();
    tokens += pb.tokens;
    padded += pb.size * pb.maxLen;
  }
  const s = (performance.now() - t0) / 1000;
  ours[`train_${name}`] = tokens / s;
  print({ side: "lstm-ner", bench: "train", batching: name, batches: batches.length, tokens, padded_positions: padded,
    padding_waste: +(padded / tokens - 1).toFixed(3), seconds: +s.toFixed(2), tokens_per_s: Math.round(tokens / s),
    useful_gflops: +((tokens * trainFlopsPerToken) / s / 1e9).toFixed(1) });
}
const rssTrain = Math.round(process.resourceUsage().maxRSS / 1024);
print({ side: "lstm-ner", bench: "memory", after: "training", peak_rss_mb: rssTrain });

const dev = encodeSentences(ds.validation, enc).filter((s) => s.ids.length > 0);
const devTokens = dev.reduce((n, s) => n + s.ids.length, 0);
const sorted = [...dev].sort((a, b) => a.ids.length - b.ids.length);
const inferSets: Record<string, Item[][]> = {
  sorted32: batch(sorted, 32), sorted256: batch(sorted, 256), input32: batch(dev, 32), input256: batch(dev, 256),
};
for (const [name, batches] of Object.entries(inferSets)) {
  const collated = batches.map((b) => enc.collate(b));
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (const b of collated) model.predict(b);
    times.push((performance.now() - t0) / 1000);
  }
  const s = times.sort((a, b) => a - b)[1]!;
  ours[`infer_${name}`] = devTokens / s;
  print({ side: "lstm-ner", bench: "inference", order: name, tokens: devTokens, seconds: +s.toFixed(3),
    tokens_per_s: Math.round(devTokens / s), useful_gflops: +((devTokens * inferFlopsPerToken) / s / 1e9).toFixed(1) });
}

// Our GEMM figure: the same 32×306 by 306×1024 product on one WASM core.
{
  const a = kernels.alloc(32 * 306).fill(0.5), b = kernels.alloc(306 * 1024).fill(0.25), c = kernels.alloc(32 * 1024);
  for (let i = 0; i < 50; i++) kernels.gemm(false, false, 32, 1024, 306, a, b, c, 0);
  const reps = 1000, t0 = performance.now();
  for (let i = 0; i < reps; i++) kernels.gemm(false, false, 32, 1024, 306, a, b, c, 0);
  const gflops = (2 * 32 * 306 * 1024 * reps) / ((performance.now() - t0) / 1000) / 1e9;
  ours.gemm = gflops;
  print({ side: "lstm-ner", bench: "gemm", shape: "32x306x1024", threads: 1, gflops: +gflops.toFixed(1) });
}
await disposeKernels();

if (withPython) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lstm-ner-vs-pytorch-"));
  const spec = path.join(dir, "batches.json");
  const ids = (b: Item[]): number[][] => b.map((s) => Array.from(s.ids));
  writeFileSync(spec, JSON.stringify({
    vocab, dim, hidden: H, outputs, threads: torchThreads, infer_reps: torchInferReps,
    train: Object.fromEntries(Object.entries(trainSets).map(([k, bs]) => [k, bs.map((b) => ({ ids: ids(b), labels: b.map((s) => Array.from(s.labels ?? [])) }))])),
    infer: Object.fromEntries(Object.entries(inferSets).map(([k, bs]) => [k, bs.map(ids)])),
  }));
  const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bench/pytorch_batches.py");
  const r = spawnSync(python, [script, spec], { encoding: "utf8", maxBuffer: 1 << 26 });
  rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) {
    print({ side: "pytorch", error: `${python} ${script} failed`, status: r.status, stderr: (r.stderr ?? "").slice(-2000) });
  } else {
    const theirs: Record<string, number> = {};
    let rssTorch = 0;
    for (const line of r.stdout.split("\n").filter((l) => l.startsWith("{"))) {
      console.log(line);
      const o = JSON.parse(line) as { bench?: string; batching?: string; order?: string; tokens_per_s?: number; gflops?: number; peak_rss_mb?: number };
      if (o.bench === "train") theirs[`train_${o.batching}`] = o.tokens_per_s!;
      if (o.bench === "inference") theirs[`infer_${o.order}`] = o.tokens_per_s!;
      if (o.bench === "gemm") theirs.gemm = o.gflops!;
      if (o.bench === "memory") rssTorch = o.peak_rss_mb!;
    }
    const ratio = (a: number | undefined, b: number | undefined): number | null => (a && b ? +(a / b).toFixed(2) : null);
    print({ bench: "ratio", what: "train, identical batch shapes (plain)", lstm_ner_over_pytorch: ratio(ours.train_plain, theirs.train_plain) });
    print({ bench: "ratio", what: "train, identical batch shapes (bucket)", lstm_ner_over_pytorch: ratio(ours.train_bucket, theirs.train_bucket) });
    print({ bench: "ratio", what: "train, each with its default batching (lstm-ner bucket vs PyTorch plain)", lstm_ner_over_pytorch: ratio(ours.train_bucket, theirs.train_plain) });
    for (const k of ["sorted32", "sorted256", "input32", "input256"]) {
      print({ bench: "ratio", what: `inference ${k}`, lstm_ner_over_pytorch: ratio(ours[`infer_${k}`], theirs[`infer_${k}`]) });
    }
    print({ bench: "ratio", what: "inference, each as it ships (lstm-ner sorted by length, batch 32; pytorch_seed.py input order, batch 256)", lstm_ner_over_pytorch: ratio(ours.infer_sorted32, theirs.infer_input256) });
    print({ bench: "ratio", what: "peak RSS after training (PyTorch side does not parse GloVe text)", lstm_ner_mb: rssTrain, pytorch_mb: rssTorch });
    const gemmBest = theirs.gemm ?? 0;
    print({ bench: "gflops", machine_gemm_openblas_2threads: gemmBest, wasm_gemm_1thread: +ours.gemm!.toFixed(1),
      lstm_ner_train_useful_gflops: +((ours.train_bucket! * trainFlopsPerToken) / 1e9).toFixed(1),
      pytorch_train_useful_gflops: +(((theirs.train_plain ?? 0) * trainFlopsPerToken) / 1e9).toFixed(1),
      lstm_ner_pct_of_machine_gemm: gemmBest ? +((100 * ours.train_bucket! * trainFlopsPerToken) / 1e9 / gemmBest).toFixed(1) : null });
  }
}
