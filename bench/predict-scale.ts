/**
 * `lstm-ner predict --workers N` at scale: tags the CoNLL++ dev set repeated
 * to a number of sentences (one text per line, fed through stdin so no huge
 * file is written) and prints, per run, tokens/s, the CPU cores the predict
 * process used (CPU seconds / wall seconds; its main thread's share apart)
 * and its peak RSS (main thread + workers). One JSON object per line.
 *
 *   node dist/bench/predict-scale.js --model M.safetensors [--sentences 1000000]
 *     [--scaling-sentences S] [--workers N] [--data conllpp_dev.txt]
 *
 * Runs, in this order:
 * 1. scaling, on `--scaling-sentences` (default: a tenth of --sentences):
 *    1 worker × 1 thread, 1 worker × its default threads (the cores, at most
 *    2), then 2..N workers × 1 thread (N: --workers, default the cores);
 *    then the ratios of N workers to 1 worker × 1 thread (per-worker scaling)
 *    and to 1 worker with its default threads (what a user gains);
 * 2. flat memory: N workers (default threads) on --sentences, with its peak
 *    RSS against the same run on --sentences / 10.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseConll } from "../src/data/conll.js";

const arg = (name: string, def?: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
};
const model = arg("--model");
if (!model) {
  console.error("usage: node dist/bench/predict-scale.js --model M.safetensors [--sentences N] [--scaling-sentences S] [--workers N]");
  process.exit(2);
}
const count = (name: string, def: number): number => {
  const v = Number(arg(name, String(def)));
  if (!Number.isInteger(v) || v < 1) {
    console.error(`${name} must be a positive integer, got ${arg(name)}`);
    process.exit(2);
  }
  return v;
};
const cores = availableParallelism();
const total = count("--sentences", 1_000_000);
const tenth = Math.max(1, Math.round(total / 10));
const scaling = count("--scaling-sentences", tenth);
const maxWorkers = count("--workers", cores);
const dataFile = arg("--data", path.join(process.env.LSTM_NER_DATA ?? "/work/shared/data", "conllpp/conllpp_dev.txt"))!;
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/cli/main.js");

const sentences = parseConll(readFileSync(dataFile, "utf8")).map((s) => s.tokens.join(" "));
const print = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;

/** Peak resident set (VmHWM) of a live process, in MB; 0 when /proc is not there. */
function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) from a /proc stat file: the whole process, or one thread (task); 0 when absent. */
function cpuSeconds(statFile: string): number {
  try {
    const fields = readFileSync(statFile, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

interface Run {
  label: string;
  workers: number;
  threads: number | undefined;
  sentences: number;
  tokens: number;
  seconds: number;
  tokensPerS: number;
  cpuSeconds: number;
  peakRssMb: number;
}

async function run(label: string, workers: number, threads: number | undefined, n: number): Promise<Run> {
  const args = [CLI, "predict", "--model", model!, "--workers", String(workers), "--format", "conll", "--no-progress"];
  if (threads !== undefined) args.push("--threads", String(threads));
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"] });
  const pid = child.pid!;
  let peak = 0;
  let cpu = 0;
  let mainCpu = 0;
  const sample = (): void => {
    peak = Math.max(peak, peakRssMb(pid));
    cpu = Math.max(cpu, cpuSeconds(`/proc/${pid}/stat`));
    mainCpu = Math.max(mainCpu, cpuSeconds(`/proc/${pid}/task/${pid}/stat`)); // the main thread's id is the process id
  };
  const poll = setInterval(sample, 100);
  let outLines = 0;
  child.stdout.on("data", (b: Buffer) => {
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) outLines++;
  });
  const t0 = performance.now();
  // "exit" comes before the process is reaped: /proc still has its final figures.
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => { sample(); resolve(code); }));
  for (let i = 0; i < n; i++) {
    const s = sentences[i % sentences.length]!;
    if (!child.stdin.write(s + "\n")) await new Promise((r) => child.stdin.once("drain", r));
  }
  child.stdin.end();
  const code = await exited;
  clearInterval(poll);
  const seconds = (performance.now() - t0) / 1000;
  // CoNLL output: one line per token plus a blank line per sentence.
  const tokens = outLines - n;
  const r: Run = { label, workers, threads, sentences: n, tokens, seconds, tokensPerS: tokens / seconds, cpuSeconds: cpu, peakRssMb: peak };
  print({
    bench: "predict-scale", run: label, workers, threads: threads ?? "default", sentences: n, tokens, exit: code,
    seconds: r1(seconds), tokens_per_s: Math.round(r.tokensPerS),
    // Cores used: CPU seconds of all threads over wall seconds (2.0 = both cores of this machine busy all along).
    cpu_seconds: r1(cpu), cores_used: r2(cpu / seconds), main_thread_cpu_seconds: r1(mainCpu),
    tokens_per_cpu_s: cpu > 0 ? Math.round(tokens / cpu) : null, peak_rss_mb: Math.round(peak),
  });
  return r;
}

print({ bench: "predict-scale", model, data: dataFile, cores, node: process.version, sentences: total, scaling_sentences: scaling });
const one = await run("1 worker × 1 thread", 1, 1, scaling);
const oneDefault = await run("1 worker × default threads", 1, undefined, scaling);
const byWorkers = new Map<number, Run>([[1, one]]);
for (let w = 2; w <= maxWorkers; w++) byWorkers.set(w, await run(`${w} workers × 1 thread`, w, 1, scaling));
for (const [w, r] of byWorkers) {
  if (w === 1) continue;
  print({
    bench: "predict-scale", ratio: `${w} workers × 1 thread`, sentences: scaling,
    vs_1_worker_1_thread: r2(r.tokensPerS / one.tokensPerS), vs_1_worker_default_threads: r2(r.tokensPerS / oneDefault.tokensPerS),
  });
}
// Flat memory: the same run on ten times the input.
// predict's default threads per worker; a scaling run with the same settings on a tenth is reused.
const defaultThreads = Math.max(1, Math.min(2, Math.floor(cores / maxWorkers)));
const same = scaling !== tenth ? undefined : defaultThreads === 1 ? byWorkers.get(maxWorkers) : maxWorkers === 1 ? oneDefault : undefined;
const small = same ?? await run(`${maxWorkers} workers × default threads`, maxWorkers, undefined, tenth);
const big = await run(`${maxWorkers} workers × default threads`, maxWorkers, undefined, total);
print({
  bench: "predict-scale", memory: `${maxWorkers} workers`, sentences: [tenth, total], peak_rss_mb: [Math.round(small.peakRssMb), Math.round(big.peakRssMb)],
  growth: r2(big.peakRssMb / small.peakRssMb),
});
