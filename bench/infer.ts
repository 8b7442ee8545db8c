/**
 * Tagging throughput and memory of a model file (or, without --model, the
 * seed preset's model with untrained weights: same shapes, same speed) on the
 * CoNLL++ dev set, sorted by length as `predict` batches it: tokens/s at each
 * batch size with 1 and 2 kernel threads (the second thread's gain), and the
 * resident memory after loading against its peak while tagging at each batch
 * size (target: peak at batch 256 ≤ after loading + 100 MB).
 * Then the same quantized (NerModel.quantize: int16 LSTM weights, int8 word
 * embedding; the resident memory after quantizing shows what the smaller
 * table saves), and, for a model file, the dev F1 of both (the quantized
 * path's F1 change).
 * Each inference row also gives the process's CPU seconds per rep and per wall
 * second (how busy the helper thread kept the second core).
 * Prints one JSON object per line. Run each thread setting in its own process
 * (--threads) for memory figures that do not mix the two.
 *
 *   node --expose-gc dist/bench/infer.js [--model FILE] [--threads 1|2] [--batches 32,256] [--reps 3] [--relaxed-simd] [--no-quantized | --quantized-only]
 * Data: $LSTM_NER_DATA (default ../shared/data).
 */
import * as path from "node:path";
import { loadDataset } from "../src/data/datasets.js";
import { loadVectors } from "../src/embeddings/registry.js";
import { disposeKernels, getKernels } from "../src/engine/index.js";
import { loadNerModel } from "../src/model/file.js";
import { getPreset } from "../src/train/presets.js";
import { buildRecipe } from "../src/train/recipe.js";
import { predictBatched } from "../src/encode/run-batched.js";
import { evaluate } from "../src/eval/evaluate.js";

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
};
const modelFile = arg("--model", "");
const threadsArg = arg("--threads", "");
const batchSizes = arg("--batches", "32,256").split(",").map(Number);
const reps = Number(arg("--reps", "3"));
const relaxedSimd = process.argv.includes("--relaxed-simd");
const variants = process.argv.includes("--no-quantized") ? ["fp32"] : process.argv.includes("--quantized-only") ? ["int16"] : ["fp32", "int16"];
const dataDir = process.env.LSTM_NER_DATA ?? path.resolve("../shared/data");
const print = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));
const mb = (bytes: number): number => Math.round(bytes / 1048576);

const ds = await loadDataset("conllpp", { dir: path.join(dataDir, "conllpp"), offline: true });
const kernels = await getKernels("wasm", { ...(threadsArg === "" ? {} : { threads: Number(threadsArg) }), relaxedSimd });
const threads = (kernels as { threads?: number }).threads ?? 1;
const preset = getPreset("seed");
const model = modelFile !== "" ? await loadNerModel(modelFile, kernels) : buildRecipe(kernels, preset, {
  vectors: await loadVectors(process.env.LSTM_NER_GLOVE ?? preset.embeddings, { dataDir, offline: true }),
  labels: ds.labels, scheme: "IOB2", trainTokens: ds.train.map((s) => s.tokens), seed: 1,
}).model;
model.setTraining(false);
const enc = model.encoder();
const dev = ds.validation.map((s) => enc.encode(s.tokens));
const devTokens = dev.reduce((n, s) => n + s.ids.length, 0);
// Let the loader's garbage go (file bytes, parse buffers) before taking the baseline.
const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) {
    globalThis.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};
await settle();
let afterLoad = process.memoryUsage.rss();
print({ bench: "setup", model: modelFile || "seed preset, untrained", kernels: kernels.name, threads, dev_tokens: devTokens, node: process.version });
print({ bench: "memory", after: "loading", rss_mb: mb(afterLoad), peak_rss_mb_so_far: Math.round(process.resourceUsage().maxRSS / 1024) });

for (const weights of variants) {
if (weights === "int16") {
  model.quantize({ embedding: true });
  await settle(); // the float32 word table is garbage now
  afterLoad = process.memoryUsage.rss();
  print({ bench: "memory", after: "quantizing (int16 LSTM, int8 embedding)", rss_mb: mb(afterLoad) });
}
for (const bs of batchSizes) {
  let peak = 0;
  const run = (b: Parameters<typeof model.predict>[0]): { pred: Int32Array } => {
    const pred = model.predict(b);
    peak = Math.max(peak, process.memoryUsage.rss());
    return { pred };
  };
  const times: number[] = [];
  // CPU seconds of the whole process (main thread + helper) over all reps: per wall second, how busy the threads kept the cores.
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    predictBatched(dev, enc, bs, run);
    times.push((performance.now() - t0) / 1000);
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const wallSeconds = times.reduce((a, b) => a + b, 0);
  times.sort((a, b) => a - b);
  const s = times[Math.floor(times.length / 2)]!;
  print({ bench: "inference", weights, ...(weights === "int16" ? { embedding: "int8" } : {}), batch: bs, sorted_by_length: true, threads, tokens: devTokens, seconds: +s.toFixed(3), tokens_per_s: Math.round(devTokens / s),
    best_tokens_per_s: Math.round(devTokens / times[0]!), cpu_seconds_per_rep: +(cpuSeconds / reps).toFixed(3), cpu_per_wall: +(cpuSeconds / wallSeconds).toFixed(2) });
  print({ bench: "memory", weights, while: `tagging at batch ${bs}`, rss_after_loading_mb: mb(afterLoad), peak_rss_mb: mb(peak), growth_mb: mb(peak - afterLoad),
    target_growth_mb: 100, wasm_memory_mb: mb((kernels as { memory?: WebAssembly.Memory }).memory?.buffer.byteLength ?? 0) });
}
// Last, so that its garbage does not count in the memory figures above.
if (modelFile !== "") print({ bench: "dev-f1", weights, kernels: kernels.name, f1: +evaluate(model, ds.validation, enc).f1.toFixed(2) });
}
await disposeKernels();
