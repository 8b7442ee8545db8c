/**
 * What the character language model costs in training, variants against each
 * other in ONE run: every variant is a preset plus `--set` overrides, built
 * with the same seed and trained on the same CoNLL++ batches, and the timed
 * rounds interleave the variants (A B C A B C …), so that a busy machine
 * slows them alike. Per variant: the median over rounds of the CPU seconds
 * (all threads of this process) and the wall seconds of one training step,
 * and of tagging the dev sentences once (the trainer does that after every
 * epoch); from those an epoch's estimate (train batches × step + dev;
 * --dev 0 leaves dev out).
 * With --profile the char LM's forward and backward are split into their
 * parts (char BiLSTM, LM heads, the rest) by timing its methods.
 *
 *   node dist/bench/char-lm.js [--preset best] [--variant 'label:key=value;key=value' ...]
 *     [--batches 20] [--rounds 5] [--dev 400] [--warm-up 10] [--threads 1|2] [--profile] [--kernels wasm|reference] [--callgrind]
 *
 * Without --variant: `tagger` (the preset as is) and `charLM` (feature.charLM={}).
 * Prints one JSON object per line: setup, one `round` line per variant and
 * round, then one `variant` line each with medians and ratios to the first.
 * --callgrind instead counts each variant's instructions per training step
 * under valgrind (see countInstructions; --batches N times N and 2N steps).
 * Data: $LSTM_NER_DATA (default ../shared/data), vectors: $LSTM_NER_GLOVE or
 * the preset's.
 */
import * as path from "node:path";
import * as os from "node:os";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadDataset } from "../src/data/datasets.js";
import { loadVectors } from "../src/embeddings/registry.js";
import { disposeKernels, getKernels } from "../src/engine/index.js";
import { bucketBatches } from "../src/train/batching.js";
import { encodeAll, encodeSentences } from "../src/encode/encoder.js";
import { predictIds } from "../src/encode/run-batched.js";
import { Rng } from "../src/util/random.js";
import { applyOverrides, getPreset } from "../src/train/presets.js";
import { buildRecipe } from "../src/train/recipe.js";
import { CharLm } from "../src/nn/char-language-model.js";
import { BiLstm } from "../src/nn/bilstm.js";

const argv = process.argv;
const arg = (name: string, def: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def;
};
const all = (name: string): string[] => argv.flatMap((a, i) => (a === name && argv[i + 1] !== undefined ? [argv[i + 1]!] : []));
const presetName = arg("--preset", "best");
const nBatches = Number(arg("--batches", "20"));
const rounds = Number(arg("--rounds", "5"));
const nDev = Number(arg("--dev", "400"));
const threadsArg = arg("--threads", "1");
const profile = argv.includes("--profile");
const kind = arg("--kernels", "wasm") as "wasm" | "reference";
const dataDir = process.env.LSTM_NER_DATA ?? path.resolve("../shared/data");
const print = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));

/** `label:key=value;key=value` → a label and its overrides. */
function parseVariant(s: string): { label: string; sets: string[] } {
  const c = s.indexOf(":");
  if (c <= 0) throw new Error(`--variant ${s}: expected label:key=value;key=value (or label: for the preset as is)`);
  return { label: s.slice(0, c), sets: s.slice(c + 1).split(";").filter((x) => x !== "") };
}
const variantSpecs = all("--variant").map(parseVariant);
if (variantSpecs.length === 0) variantSpecs.push({ label: "tagger", sets: [] }, { label: "charLM", sets: ["feature.charLM={}"] });

const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};

// --profile: CPU seconds inside the char LM's methods, per variant (the current one set before each timed block).
type Parts = Record<string, number>;
let parts: Parts | null = null;
/** Wraps method `name` of `proto` so its CPU time is added to parts[key] (outermost call only, per key). */
function timeMethod(proto: object, name: string, key: string): void {
  const p = proto as Record<string, unknown>;
  const f = p[name];
  if (typeof f !== "function") throw new Error(`--profile: no method ${name} to time`);
  let depth = 0;
  p[name] = function (this: unknown, ...a: unknown[]): unknown {
    if (parts === null || depth > 0) return (f as (...x: unknown[]) => unknown).apply(this, a);
    depth++;
    const t0 = cpuSeconds();
    try {
      return (f as (...x: unknown[]) => unknown).apply(this, a);
    } finally {
      depth--;
      parts[key] = (parts[key] ?? 0) + cpuSeconds() - t0;
    }
  };
}
if (profile) {
  timeMethod(CharLm.prototype, "forward", "charlm.forward");
  timeMethod(CharLm.prototype, "backward", "charlm.backward");
  timeMethod(CharLm.prototype, "lmForward", "charlm.heads.forward");
  timeMethod(CharLm.prototype, "lmBackward", "charlm.heads.backward");
  // BiLstm calls made while the char LM runs are its char BiLSTM's; the tagger's own are counted apart.
  let inLm = 0;
  for (const m of ["forward", "backward"] as const) {
    const p = CharLm.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
    const f = p[m]!;
    p[m] = function (this: unknown, ...a: unknown[]): unknown {
      inLm++;
      try { return f.apply(this, a); } finally { inLm--; }
    };
    const bp = BiLstm.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
    const g = bp[m]!;
    bp[m] = function (this: unknown, ...a: unknown[]): unknown {
      if (parts === null) return g.apply(this, a);
      const t0 = cpuSeconds();
      try { return g.apply(this, a); } finally { const key = `${inLm > 0 ? "charlm.bilstm" : "tagger.bilstm"}.${m}`; parts[key] = (parts[key] ?? 0) + cpuSeconds() - t0; }
    };
  }
}

/**
 * --callgrind: instructions per training step, counted by valgrind's callgrind (the same whatever the
 * machine's load). Each variant runs this script twice under valgrind, single-threaded kernels, no dev
 * tagging, with `a` and `b` timed steps; the difference of the two totals over b − a steps leaves out
 * the loading and the warm-up.
 */
function countInstructions(a: number, b: number): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lstm-ner-callgrind-"));
  const script = fileURLToPath(import.meta.url);
  const total = (label: string, sets: string[], steps: number): number => {
    const r = spawnSync("valgrind", ["--tool=callgrind", `--callgrind-out-file=${path.join(dir, "out.%p")}`, "--smc-check=all-non-file",
      process.execPath, "--single-threaded", script, "--preset", presetName, "--variant", `${label}:${sets.join(";")}`,
      "--batches", String(steps), "--rounds", "1", "--dev", "0", "--warm-up", arg("--warm-up", "3"), "--threads", "1"], { encoding: "utf8" });
    const m = /Collected : (\d+)/.exec(r.stderr ?? "");
    if (r.status !== 0 || m === null) throw new Error(`callgrind run of ${label} failed (is valgrind installed?): ${(r.stderr ?? "").slice(-500)}`);
    return Number(m[1]);
  };
  const first: number[] = [];
  for (const [i, { label, sets }] of variantSpecs.entries()) {
    const perStep = (total(label, sets, b) - total(label, sets, a)) / (b - a);
    first.push(perStep);
    print({ bench: "instructions", variant: label, steps: [a, b], per_step: Math.round(perStep), vs_first: +(perStep / first[0]!).toFixed(2),
      ...(i > 0 ? { extra_vs_first: Math.round(perStep - first[0]!) } : {}) });
  }
  rmSync(dir, { recursive: true, force: true });
}
if (argv.includes("--callgrind")) {
  countInstructions(nBatches, 2 * nBatches);
  process.exit(0);
}

const ds = await loadDataset("conllpp", { dir: path.join(dataDir, "conllpp"), offline: true });
const base = getPreset(presetName);
const vectors = await loadVectors(process.env.LSTM_NER_GLOVE ?? base.embeddings, { dataDir, offline: true });
const kernels = await getKernels(kind, { threads: Number(threadsArg) });
const threads = (kernels as { threads?: number }).threads ?? 1;
print({ bench: "setup", preset: presetName, variants: variantSpecs, kernels: kernels.name, threads, batches: nBatches, rounds, dev: nDev,
  node: process.version, loadavg: os.loadavg().map((x) => +x.toFixed(1)), cpus: os.cpus().length });

interface Variant {
  label: string;
  step: (b: number) => void;
  tagDev: () => void;
  trainBatches: number;
  train: { cpu: number[]; wall: number[] };
  dev: { cpu: number[]; wall: number[] };
  parts: Parts[];
}

// Every variant: its model as `lstm-ner train --preset P --set …` builds it (seed 1), the same bucketed batches (seed 1).
const variants: Variant[] = variantSpecs.map(({ label, sets }) => {
  const preset = applyOverrides(getPreset(presetName), sets);
  const { model, optimizer } = buildRecipe(kernels, preset, {
    vectors, labels: ds.labels, scheme: "IOB2", trainTokens: ds.train.map((s) => s.tokens), seed: 1,
  });
  const enc = model.encoder();
  const items = encodeSentences(ds.train, enc);
  const batches = bucketBatches(items, preset.batchSize, new Rng(1), (s) => s.ids.length);
  const dev = encodeAll(ds.validation.slice(0, nDev).map((s) => s.tokens), enc, ds.validation.slice(0, nDev).map((s) => s.doc));
  model.setTraining(true);
  return {
    label, trainBatches: batches.length, train: { cpu: [], wall: [] }, dev: { cpu: [], wall: [] }, parts: [],
    step: (i: number): void => {
      model.lossAndGrad(enc.collate(batches[i % batches.length]!));
      optimizer.step();
      optimizer.zeroGrad();
    },
    tagDev: (): void => {
      if (dev.length === 0) return;
      model.setTraining(false);
      predictIds(model, dev, enc, 64);
      model.setTraining(true);
    },
  };
});

// Warm-up: sizes the buffers and lets the JIT settle (the first batches run slower for a while).
const warmUp = Number(arg("--warm-up", "10"));
for (const v of variants) {
  for (let i = 0; i < warmUp; i++) v.step(i);
  v.tagDev();
}
let next = warmUp;
for (let r = 0; r < rounds; r++) {
  for (const v of variants) {
    if (profile) parts = {};
    let c0 = cpuSeconds(), w0 = performance.now();
    for (let i = 0; i < nBatches; i++) v.step(next + i);
    const train = { cpu: (cpuSeconds() - c0) / nBatches, wall: (performance.now() - w0) / 1000 / nBatches };
    if (profile) {
      v.parts.push(Object.fromEntries(Object.entries(parts!).map(([k, x]) => [k, x / nBatches])));
      parts = null;
    }
    c0 = cpuSeconds();
    w0 = performance.now();
    v.tagDev();
    const dev = { cpu: cpuSeconds() - c0, wall: (performance.now() - w0) / 1000 };
    v.train.cpu.push(train.cpu);
    v.train.wall.push(train.wall);
    v.dev.cpu.push(dev.cpu);
    v.dev.wall.push(dev.wall);
    print({ bench: "round", round: r + 1, variant: v.label, step_cpu_ms: +(1000 * train.cpu).toFixed(1), step_wall_ms: +(1000 * train.wall).toFixed(1),
      dev_cpu_s: +dev.cpu.toFixed(2), dev_wall_s: +dev.wall.toFixed(2), loadavg: +os.loadavg()[0]!.toFixed(1) });
  }
  next += nBatches;
}

// An epoch: every train batch once, then tagging all of dev (the timed part was nDev of its sentences).
const devScale = nDev > 0 ? ds.validation.length / Math.min(nDev, ds.validation.length) : 0;
const epochOf = (v: Variant, what: "cpu" | "wall"): number => v.trainBatches * median(v.train[what]) + devScale * median(v.dev[what]);
const first = variants[0]!;
for (const v of variants) {
  const out: Record<string, unknown> = {
    bench: "variant", variant: v.label,
    step_cpu_ms: +(1000 * median(v.train.cpu)).toFixed(1), step_wall_ms: +(1000 * median(v.train.wall)).toFixed(1),
    dev_cpu_s: +median(v.dev.cpu).toFixed(2), dev_wall_s: +median(v.dev.wall).toFixed(2),
    epoch_cpu_s: +epochOf(v, "cpu").toFixed(0), epoch_wall_s: +epochOf(v, "wall").toFixed(0),
    // Ratios of the medians of per-round ratios (each round's variants ran back to back, so a round's ratio is the fairer one).
    step_cpu_vs_first: +median(v.train.cpu.map((x, i) => x / first.train.cpu[i]!)).toFixed(2),
    step_wall_vs_first: +median(v.train.wall.map((x, i) => x / first.train.wall[i]!)).toFixed(2),
    ...(nDev > 0 ? { dev_cpu_vs_first: +median(v.dev.cpu.map((x, i) => x / first.dev.cpu[i]!)).toFixed(2) } : {}),
  };
  if (profile && v.parts.some((p) => Object.keys(p).length > 0)) {
    const keys = [...new Set(v.parts.flatMap((p) => Object.keys(p)))].sort();
    out.parts_cpu_ms = Object.fromEntries(keys.map((k) => [k, +(1000 * median(v.parts.map((p) => p[k] ?? 0))).toFixed(1)]));
  }
  print(out);
}
print({ bench: "end", loadavg: os.loadavg().map((x) => +x.toFixed(1)) });
await disposeKernels();
