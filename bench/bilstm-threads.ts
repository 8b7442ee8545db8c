/**
 * A/B of the BiLSTM step on one and two threads, interleaved in one process
 * so that machine load hits both alike: forward + backward of a BiLSTM
 * (in 100, hidden 256) on batches of 32 sentences with CoNLL-like lengths,
 * and forward only (inference). Prints one JSON object per line.
 *
 *   node dist/bench/bilstm-threads.js [--rounds N] [--in D] [--hidden H]
 */
import * as os from "node:os";
import { loadWasmKernels, type WasmKernels } from "../src/engine/index.js";
import { BiLstm } from "../src/nn/bilstm.js";
import { Rng } from "../src/util/random.js";

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const rounds = arg("--rounds", 6);
const IN = arg("--in", 100);
const H = arg("--hidden", 256);
const B = 32;
const print = (o: Record<string, unknown>): void => console.log(JSON.stringify(o));

// Lengths like CoNLL training sentences (mean ≈ 14.5, long tail to ~110).
const rng = new Rng(7);
const batches = Array.from({ length: 20 }, () => Int32Array.from({ length: B }, () => Math.max(1, Math.round(-Math.log(1 - rng.uniform(0, 0.999)) * 14))));

interface Side { k: WasmKernels; net: BiLstm; ms: number; msInfer: number; tokens: number; cpuUs: number }
const sides: Side[] = [];
for (const threads of [1, 2]) {
  const k = await loadWasmKernels({ threads });
  sides.push({ k, net: new BiLstm(k, IN, H, new Rng(1), "bi"), ms: 0, msInfer: 0, tokens: 0, cpuUs: 0 });
}
const run = (s: Side, lengths: Int32Array, backward: boolean): number => {
  const T = Math.max(...lengths);
  const x = s.k.alloc(T * B * IN).fill(0.1);
  const t0 = performance.now();
  const out = s.net.forward(x, T, B, lengths);
  if (backward) s.net.backward(out, false);
  const ms = performance.now() - t0;
  s.k.free(x);
  return ms;
};
for (const s of sides) for (const l of batches.slice(0, 3)) run(s, l, true); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const lengths of batches) {
    const tokens = lengths.reduce((a, b) => a + b, 0);
    for (const s of r % 2 === 0 ? sides : [...sides].reverse()) {
      const cpu0 = process.cpuUsage(); // the whole process: main thread + helper
      s.ms += run(s, lengths, true);
      s.msInfer += run(s, lengths, false);
      s.cpuUs += process.cpuUsage(cpu0).user;
      s.tokens += tokens;
    }
  }
}
for (const s of sides) {
  print({ bench: "bilstm", threads: s.k.threads, in: IN, hidden: H, batch: B, tokens: s.tokens,
    train_tokens_per_s: Math.round(s.tokens / (s.ms / 1000)), forward_tokens_per_s: Math.round(s.tokens / (s.msInfer / 1000)),
    // CPU seconds per wall second: ~2 when the helper gets a core of its own, ~1 when the machine has none to spare.
    cpu_per_wall: +(s.cpuUs / 1000 / (s.ms + s.msInfer)).toFixed(2) });
}
const [one, two] = sides as [Side, Side];
print({ bench: "bilstm", load_avg: os.loadavg().map((x) => +x.toFixed(2)), speedup_train: +(one.ms / two.ms).toFixed(2), speedup_forward: +(one.msInfer / two.msInfer).toFixed(2) });
for (const s of sides) await s.k.dispose();
