/**
 * `lstm-ner predict --workers N` at scale: tags the CoNLL++ dev set repeated
 * to `--sentences` sentences (one text per line, fed through stdin so no
 * huge file is written), once per worker count 1..N, and prints tokens/s and
 * the peak RSS of the predict process (main thread + workers); then the same
 * run at N workers on a tenth of the sentences, to compare RSS at 100k vs 1M.
 * Prints one JSON object per line.
 *
 *   node dist/bench/predict-scale.js --model M.safetensors [--sentences 1000000] [--workers N]
 *     [--data /work/shared/data/conllpp/conllpp_dev.txt] [--scaling-sentences S]
 *
 * `--scaling-sentences` (default: --sentences) sizes the 1..N-1 worker runs, to
 * keep the bench short on a busy machine; the N-worker runs use --sentences
 * and --sentences / 10.
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
  console.error("usage: node dist/bench/predict-scale.js --model M.safetensors [--sentences N] [--workers N]");
  process.exit(2);
}
const total = Number(arg("--sentences", "1000000"));
const scaling = Number(arg("--scaling-sentences", String(total)));
const maxWorkers = Number(arg("--workers", String(availableParallelism())));
const dataFile = arg("--data", path.join(process.env.LSTM_NER_DATA ?? "/work/shared/data", "conllpp/conllpp_dev.txt"))!;
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/cli/main.js");

const sentences = parseConll(readFileSync(dataFile, "utf8")).map((s) => s.tokens.join(" "));
const print = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));

/** Peak resident set (VmHWM) of a live process, in MB; 0 when /proc is not there. */
function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system, all threads) a live process has used; 0 when /proc is not there. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

async function run(workers: number, n: number): Promise<void> {
  const child = spawn(process.execPath, [CLI, "predict", "--model", model!, "--workers", String(workers), "--format", "conll", "--no-progress"],
    { stdio: ["pipe", "pipe", "inherit"] });
  let peak = 0;
  let cpu = 0;
  const poll = setInterval(() => {
    peak = Math.max(peak, peakRssMb(child.pid!));
    cpu = Math.max(cpu, cpuSeconds(child.pid!));
  }, 100);
  let outLines = 0;
  child.stdout.on("data", (b: Buffer) => {
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) outLines++;
  });
  const t0 = performance.now();
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => { peak = Math.max(peak, peakRssMb(child.pid!)); resolve(code); }));
  let words = 0;
  for (let i = 0; i < n; i++) {
    const s = sentences[i % sentences.length]!;
    words += s.split(" ").length;
    if (!child.stdin.write(s + "\n")) await new Promise((r) => child.stdin.once("drain", r));
  }
  child.stdin.end();
  const code = await exited;
  clearInterval(poll);
  const seconds = (performance.now() - t0) / 1000;
  // CoNLL output: one line per token plus a blank line per sentence (the tokenizer may split a little differently).
  const tokens = outLines - n;
  print({ bench: "predict-scale", workers, sentences: n, input_words: words, tokens, exit: code, seconds: Math.round(seconds * 10) / 10,
    tokens_per_s: Math.round(tokens / seconds),
    // On a busy machine wall time says little; CPU time per token shows whether workers add overhead.
    cpu_seconds: Math.round(cpu * 10) / 10, tokens_per_cpu_s: cpu > 0 ? Math.round(tokens / cpu) : null, sentences_per_s: Math.round(n / seconds), peak_rss_mb: Math.round(peak) });
}

print({ bench: "predict-scale", model, data: dataFile, cores: availableParallelism(), node: process.version });
for (let w = 1; w < maxWorkers; w++) await run(w, scaling);
await run(maxWorkers, total);
await run(maxWorkers, Math.round(total / 10));
