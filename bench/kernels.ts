/**
 * Kernel lab (in the spirit of llm.c's dev/cuda): every variant of each hot
 * kernel, checked against the TypeScript reference and timed on the shapes an
 * LSTM tagger runs. Single thread.
 *
 *   node dist/bench/kernels.js            # table
 *   node dist/bench/kernels.js --json     # one JSON object per line
 *   node dist/bench/kernels.js --quick    # fewer repetitions
 *   node dist/bench/kernels.js --no-python  # skip the OpenBLAS column
 *   node dist/bench/kernels.js --only recurrent  # GEMM / qgemm shapes whose use or shape contains the text (case-insensitive); skips the other kernels
 *   node dist/bench/kernels.js --variants 2x16,best  # only variants whose name contains one of these
 *   node dist/bench/kernels.js --wall-time   # time by the clock instead of CPU time
 *
 * Times are the best of several runs (the least disturbed by other processes),
 * in CPU time of this (single-threaded) process: on an idle machine the same as
 * wall time, and on a busy one not inflated by waiting for a core (best-of
 * wall times there swing by 2×, CPU times by a few %). --wall-time times by the clock.
 * After the GEMM table, each shape's best WASM variant is set against the
 * machine's OpenBLAS GEMM on one core (torch.matmul with 1 thread, measured by
 * bench/pytorch_batches.py --gemm in a /usr/bin/python3 — or $PYTHON — subprocess).
 */
import { spawnSync } from "node:child_process";
import * as v8 from "node:v8";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Rng } from "../src/util/random.js";
import { referenceKernels as ref } from "../src/engine/reference.js";
import type { Kernels, LstmSequenceGrad } from "../src/engine/kernels.js";
import { lstmBackwardWith, lstmForwardWith } from "../src/engine/lstmseq.js";
import { loadWasmKernels } from "../src/engine/index.js";
import { gemmVariants, type GemmVariant } from "../src/engine/wasm-lab.js";
import { labHooks } from "../src/engine/wasm.js";

const json = process.argv.includes("--json");
const budgetMs = process.argv.includes("--quick") ? 60 : 250;
const withPython = !process.argv.includes("--no-python");
const argValue = (name: string): string | undefined => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : undefined; };
const only = argValue("--only")?.toLowerCase();
const variantFilter = argValue("--variants")?.toLowerCase().split(",").filter((x) => x !== "");
/** Whether a GEMM shape (its use and its "NN m×n×k" name) is selected by --only. */
const shapeSelected = (use: string, shape: string): boolean => only === undefined || `${use} ${shape}`.toLowerCase().includes(only);
const variantSelected = (name: string): boolean => variantFilter === undefined || variantFilter.some((f) => name.toLowerCase().includes(f));

interface Row { kernel: string; shape: string; variant: string; maxRelErr: number; us: number; rate: number; unit: string }

function emit(r: Row): void {
  if (json) { console.log(JSON.stringify(r)); return; }
  const err = r.maxRelErr.toExponential(1);
  console.log(`${r.kernel.padEnd(16)} ${r.shape.padEnd(22)} ${r.variant.padEnd(26)} ${err.padStart(8)} ${r.us.toFixed(1).padStart(10)} µs ${r.rate.toFixed(1).padStart(7)} ${r.unit}`);
}

const wallTime = process.argv.includes("--wall-time");

/** Now in µs: CPU time (user + system) of this process, or wall time with --wall-time. */
function clock(): number {
  if (wallTime) return performance.now() * 1000;
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Best time of `fn` in µs over repetitions filling the time budget (at least 2). */
function time(fn: () => void): number {
  fn(); // warm-up (and tier-up of the WASM code)
  let best = Infinity;
  const end = performance.now() + budgetMs;
  for (let i = 0; i < 2 || performance.now() < end; i++) {
    const t0 = clock();
    fn();
    best = Math.min(best, clock() - t0);
  }
  return best;
}

function maxRelErr(got: Float32Array, want: Float32Array): number {
  let maxErr = 0, maxAbs = 0;
  for (let i = 0; i < want.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
    maxAbs = Math.max(maxAbs, Math.abs(want[i]!));
  }
  return maxErr / (maxAbs || 1);
}

// Every WASM function straight to the optimizing compiler: with the default
// dynamic tiering, a variant timed soon after its first call (the rarely used
// micro-kernels, --quick) could still run its baseline (Liftoff) code, 3-5×
// slower. Must precede the first module compilation.
v8.setFlagsFromString("--no-liftoff");

const rng = new Rng(42);
const k = await loadWasmKernels();

function filled(kern: Kernels, n: number, f: () => number): Float32Array {
  const x = kern.alloc(n);
  for (let i = 0; i < n; i++) x[i] = f();
  return x;
}

// ---- GEMM ---------------------------------------------------------------
const gemmShapes: { name: string; ta: boolean; tb: boolean; m: number; n: number; k: number }[] = [
  { name: "LSTM step (in+H)", ta: false, tb: false, m: 32, n: 1024, k: 306 },
  { name: "LSTM step (in+H)", ta: true, tb: false, m: 32, n: 1024, k: 306 },
  { name: "LSTM step (in+H)", ta: false, tb: true, m: 32, n: 1024, k: 306 },
  { name: "LSTM step (in+H)", ta: true, tb: true, m: 32, n: 1024, k: 306 },
  { name: "input projection", ta: false, tb: false, m: 1000, n: 1024, k: 306 },
  { name: "recurrent step", ta: false, tb: false, m: 32, n: 1024, k: 256 },
  { name: "backward dH A·Bᵀ", ta: false, tb: true, m: 32, n: 256, k: 1024 },
  { name: "weight grad Aᵀ·B", ta: true, tb: false, m: 256, n: 1024, k: 1000 },
  { name: "output layer", ta: false, tb: false, m: 1000, n: 10, k: 512 },
  // The presets' own shapes: seed (GloVe 100d in, H 256, batch 32: ~450 tokens a batch), accurate (H 200, batch 10).
  { name: "seed input proj.", ta: false, tb: false, m: 450, n: 1024, k: 100 },
  { name: "seed weight grad", ta: true, tb: false, m: 256, n: 1024, k: 450 },
  { name: "seed dx", ta: false, tb: true, m: 450, n: 100, k: 1024 },
  { name: "accurate recurrent", ta: false, tb: false, m: 10, n: 800, k: 200 },
  { name: "accurate dH", ta: false, tb: true, m: 10, n: 200, k: 800 },
  { name: "accurate weight grad", ta: true, tb: false, m: 200, n: 800, k: 150 },
];

// The relaxed-SIMD build (fused multiply-add), where the runtime has it; its buffers live in its own memory.
const kr = await loadWasmKernels({ relaxedSimd: true });
const refVariant: GemmVariant = { name: "ts-reference", run: ref.gemm };
const variants: (GemmVariant & { kern: Kernels })[] = [{ ...refVariant, kern: k }, ...gemmVariants(k).map((v) => ({ ...v, kern: k })),
  { name: "Kernels.gemm (best)", run: k.gemm, kern: k },
  ...(kr.relaxedSimd ? [...gemmVariants(kr).filter((v) => v.name.startsWith("wasm-packed") || v.name.startsWith("wasm-prepacked")).map((v) => ({ name: `relaxed-${v.name.slice(5)}`, run: v.run, kern: kr })),
    { name: "relaxed Kernels.gemm", run: kr.gemm, kern: kr }] : [])];
if (!json) console.log(kr.relaxedSimd ? "relaxed SIMD: available (relaxed-* rows: the relaxed build, fused multiply-add)" : "relaxed SIMD: not available in this runtime");
const bigFlops = 2e8;
/** Best WASM variant per GEMM shape, for the OpenBLAS comparison. */
const bestWasm: { shape: string; name: string; ta: boolean; tb: boolean; m: number; n: number; k: number; variant: string; gflops: number; plain: number }[] = [];

if (!json) console.log(`${"kernel".padEnd(16)} ${"shape".padEnd(22)} ${"variant".padEnd(26)} ${"rel.err".padStart(8)} ${"best time".padStart(13)} ${"rate".padStart(7)}`);
for (const s of gemmShapes) {
  if (!shapeSelected(s.name, `${s.ta ? "T" : "N"}${s.tb ? "T" : "N"} ${s.m}x${s.n}x${s.k}`)) continue;
  const a = filled(k, s.m * s.k, () => rng.uniform(-1, 1));
  const b = filled(k, s.k * s.n, () => rng.uniform(-1, 1));
  const c = k.alloc(s.m * s.n);
  const ar = kr.alloc(a.length), br = kr.alloc(b.length), cr = kr.alloc(c.length);
  ar.set(a); br.set(b);
  const want = new Float32Array(s.m * s.n);
  ref.gemm(s.ta, s.tb, s.m, s.n, s.k, a, b, want, 0);
  const flops = 2 * s.m * s.n * s.k;
  const shape = `${s.ta ? "T" : "N"}${s.tb ? "T" : "N"} ${s.m}x${s.n}x${s.k}`;
  for (const v of variants) {
    // The scalar loops take seconds on the big shapes; they are measured on the small ones.
    if ((v.name === "ts-reference" || v.name === "wasm-naive") && flops > bigFlops) continue;
    if (!variantSelected(v.name)) continue;
    const [va, vb, vc] = v.kern === kr ? [ar, br, cr] : [a, b, c];
    vc.fill(NaN);
    v.run(s.ta, s.tb, s.m, s.n, s.k, va, vb, vc, 0);
    const err = maxRelErr(vc, want);
    const us = time(() => v.run(s.ta, s.tb, s.m, s.n, s.k, va, vb, vc, 0));
    emit({ kernel: "gemm", shape: `${shape}`, variant: v.name, maxRelErr: err, us, rate: flops / us / 1e3, unit: "GFLOP/s" });
    const rate = flops / us / 1e3;
    const best = bestWasm.find((r) => r.shape === shape);
    if ((v.name.startsWith("wasm") || v.name.startsWith("relaxed")) && (best === undefined || rate > best.gflops)) {
      if (best !== undefined) bestWasm.splice(bestWasm.indexOf(best), 1);
      bestWasm.push({ shape, name: s.name, ta: s.ta, tb: s.tb, m: s.m, n: s.n, k: s.k, variant: v.name, gflops: rate, plain: Math.max(best?.plain ?? 0, v.name.startsWith("wasm") ? rate : 0) });
    } else if (best !== undefined && v.name.startsWith("wasm")) {
      best.plain = Math.max(best.plain, rate);
    }
  }
  for (const x of [a, b, c]) k.free(x);
  for (const x of [ar, br, cr]) kr.free(x);
  if (!json) console.log(`${"".padEnd(16)} (${s.name})`);
}

// ---- element-wise kernels: reference vs WASM --------------------------------
/** Runs `run(kernels, bufs)` on both implementations over copies of the same inputs; reports GB/s of `bytes`. */
function lab(kernel: string, shape: string, bytes: number, sizes: number[], init: (i: number, j: number) => number,
  run: (kern: Kernels, bufs: Float32Array[]) => void, outputs: number[]): void {
  if (only !== undefined && !kernel.toLowerCase().includes(only)) return;
  const inputs = sizes.map((n, i) => Float32Array.from({ length: n }, (_, j) => init(i, j)));
  const results: Float32Array[][] = [];
  for (const kern of [ref, k] as Kernels[]) {
    const bufs = inputs.map((x) => { const y = kern.alloc(x.length); y.set(x); return y; });
    run(kern, bufs);
    results.push(outputs.map((o) => Float32Array.from(bufs[o]!)));
    // Timed runs start from the same inputs each time would need a copy; these kernels
    // are shape-stable on their own outputs, so repeated calls measure the steady state.
    const us = time(() => run(kern, bufs));
    const err = kern === ref ? 0 : Math.max(...outputs.map((_, i) => maxRelErr(results[1]![i]!, results[0]![i]!)));
    emit({ kernel, shape, variant: kern === ref ? "ts-reference" : "wasm-simd", maxRelErr: err, us, rate: bytes / us / 1e3, unit: "GB/s" });
    for (const y of bufs) kern.free(y);
  }
}

const B = 32, H = 256;
lab("lstmCellForward", `${B}x${H}`, 4 * B * H * 4 * 2 + 4 * B * H * 3, [B * 4 * H, B * H, B * H, B * H],
  (i) => (i === 0 ? rng.normal() * 2 : rng.normal()),
  // Re-running on activations is fine for timing: the math is the same per element.
  (kern, [g, cp, c, h]) => kern.lstmCellForward(B, H, g!, cp!, c!, h!, H), [0, 2, 3]);
lab("lstmCellBackward", `${B}x${H}`, 4 * B * H * 4 * 2 + 4 * B * H * 5, [B * 4 * H, B * H, B * H, B * H, B * H, B * 4 * H],
  (i) => (i === 0 ? rng.uniform(0.01, 0.99) : rng.normal()),
  (kern, [g, cp, c, dh, dc, dg]) => { dc!.fill(0.5); kern.lstmCellBackward(B, H, g!, cp!, c!, dh!, H, dc!, dg!); }, [4, 5]);
lab("addBias", "1000x1024", 1000 * 1024 * 8, [1000 * 1024, 1024], () => rng.uniform(-1e-3, 1e-3),
  (kern, [x, b]) => kern.addBias(1000, 1024, x!, b!), [0]);
lab("sumRows", "1000x1024", 1000 * 1024 * 4, [1000 * 1024, 1024], () => rng.uniform(-1, 1),
  (kern, [x, o]) => kern.sumRows(1000, 1024, x!, o!, 0), [1]);
lab("adam", "575488 params", 575488 * 4 * 6, [575488, 575488, 575488, 575488], (i) => (i === 1 ? rng.normal() : i === 3 ? 1e-3 : 0),
  (kern, [p, g, m, v]) => kern.adam(575488, p!, g!, m!, v!, 1e-3, 0.9, 0.999, 1e-8), [0, 2, 3]);

// logSoftmaxNll needs Int32 labels: its own small lab.
if (only === undefined || "logsoftmaxnll".includes(only)) {
  const rows = 1000, cols = 10;
  const z = Float32Array.from({ length: rows * cols }, () => rng.normal() * 3);
  const labels = Int32Array.from({ length: rows }, (_, r) => (r % 9 === 0 ? -1 : rng.int(cols)));
  const want = { logp: new Float32Array(rows * cols), d: new Float32Array(rows * cols) };
  ref.logSoftmaxNll(rows, cols, z, labels, want.logp, want.d);
  for (const kern of [ref, k] as Kernels[]) {
    const zz = kern.alloc(rows * cols); zz.set(z);
    const ll = kern.allocInt32(rows); ll.set(labels);
    const lp = kern.alloc(rows * cols), d = kern.alloc(rows * cols);
    kern.logSoftmaxNll(rows, cols, zz, ll, lp, d);
    const err = Math.max(maxRelErr(lp, want.logp), maxRelErr(d, want.d));
    const us = time(() => kern.logSoftmaxNll(rows, cols, zz, ll, lp, d));
    emit({ kernel: "logSoftmaxNll", shape: `${rows}x${cols}`, variant: kern === ref ? "ts-reference" : "wasm-simd", maxRelErr: err, us, rate: (rows * cols * 12) / us / 1e3, unit: "GB/s" });
  }
}

// A whole LSTM direction (in 100, H 256, 20 steps of a 32-sentence packed batch):
// the time loop in JavaScript over the basic kernels (W_hh packed again every
// step) vs one call of the sequence kernel (loop in WASM, W_hh packed once).
if (only === undefined || "lstmforward lstmbackward lstminfer".includes(only)) {
  const inDim = 100, Hs = 256, steps = 20, n = 32 * steps;
  const mk = (): LstmSequenceGrad => {
    const r = new Rng(3);
    const f = (len: number, s: number): Float32Array => filled(k, len, () => r.uniform(-s, s));
    const bs = k.allocInt32(steps); bs.fill(32);
    return { inDim, hidden: Hs, batchSizes: bs, x: f(n * inDim, 1), wIh: f(inDim * 4 * Hs, 0.06), wHh: f(Hs * 4 * Hs, 0.06), b: f(4 * Hs, 0.06),
      gates: k.alloc(n * 4 * Hs), c: k.alloc((32 + n) * Hs), h: k.alloc(n * Hs), hPrev: k.alloc(n * Hs),
      dh: f(n * Hs, 1), dc: k.alloc(32 * Hs), dGates: k.alloc(n * 4 * Hs), dx: null, gWih: k.alloc(inDim * 4 * Hs), gWhh: k.alloc(Hs * 4 * Hs), gB: k.alloc(4 * Hs) };
  };
  const want = mk(), got = mk();
  lstmForwardWith(k, want); lstmBackwardWith(k, want);
  k.lstmForward([got]); k.lstmBackward([got]);
  const err = Math.max(maxRelErr(got.h, want.h), maxRelErr(got.gWhh, want.gWhh));
  const fwdFlops = 2 * n * 4 * Hs * (inDim + Hs), bwdFlops = 2 * n * 4 * Hs * (inDim + 2 * Hs);
  const shape = `in${inDim} H${Hs} 20x32`;
  for (const [variant, fwd, bwd] of [
    ["js-loop-basic-kernels", () => lstmForwardWith(k, want), () => lstmBackwardWith(k, want)],
    ["wasm-sequence", () => k.lstmForward([got]), () => k.lstmBackward([got])],
  ] as const) {
    const us = time(fwd);
    emit({ kernel: "lstmForward", shape, variant, maxRelErr: err, us, rate: fwdFlops / us / 1e3, unit: "GFLOP/s" });
    const ub = time(() => { fwd(); bwd(); }) - us;
    emit({ kernel: "lstmBackward", shape, variant, maxRelErr: err, us: ub, rate: bwdFlops / ub / 1e3, unit: "GFLOP/s" });
  }
  // Inference only: same h, nothing kept for backward.
  const inf = { inDim, hidden: Hs, batchSizes: got.batchSizes, x: got.x, wIh: got.wIh, wHh: got.wHh, b: got.b, h: k.alloc(n * Hs) };
  k.lstmInfer([inf]);
  const us = time(() => k.lstmInfer([inf]));
  emit({ kernel: "lstmForward", shape, variant: "wasm-infer (no backward state)", maxRelErr: maxRelErr(inf.h, want.h), us, rate: fwdFlops / us / 1e3, unit: "GFLOP/s" });
  // Inference on int16 weights (error: quantization, against the fp32 h).
  const q = k.quantizeLstm(inDim, Hs, got.wIh, got.wHh, got.b);
  const qs = { batchSizes: got.batchSizes, x: got.x, weights: q, h: k.alloc(n * Hs) };
  k.lstmInferQuantized([qs]);
  const uq = time(() => k.lstmInferQuantized([qs]));
  emit({ kernel: "lstmForward", shape, variant: "wasm-infer-int16", maxRelErr: maxRelErr(qs.h, want.h), us: uq, rate: fwdFlops / uq / 1e3, unit: "GFLOP/s" });
  // Both in the relaxed build.
  if (kr.relaxedSimd) {
    const copy = (a: Float32Array): Float32Array => { const b = kr.alloc(a.length); b.set(a); return b; };
    const bs = kr.allocInt32(steps); bs.set(got.batchSizes);
    const ri = { inDim, hidden: Hs, batchSizes: bs, x: copy(got.x), wIh: copy(got.wIh), wHh: copy(got.wHh), b: copy(got.b), h: kr.alloc(n * Hs) };
    kr.lstmInfer([ri]);
    const ur = time(() => kr.lstmInfer([ri]));
    emit({ kernel: "lstmForward", shape, variant: "relaxed-infer", maxRelErr: maxRelErr(ri.h, want.h), us: ur, rate: fwdFlops / ur / 1e3, unit: "GFLOP/s" });
  }
}

// ---- int16 GEMM (quantized inference): per-row activation quantization + qgemm --
// GOP/s counts 2·m·n·k integer operations (comparable with the fp32 GFLOP/s);
// the error is the dequantized result against the fp32 product.
const qShapes: { name: string; m: number; n: number; k: number }[] = [
  { name: "int16 recurrent step", m: 32, n: 1024, k: 256 },
  { name: "int16 recurrent step", m: 10, n: 800, k: 200 },
  { name: "int16 input proj.", m: 256, n: 1024, k: 100 },
];
{
  const { exports: e } = labHooks(k);
  for (const s of qShapes) {
    const shape = `NN ${s.m}x${s.n}x${s.k}`;
    if (!shapeSelected(s.name, shape)) continue;
    const kp = (s.k + 1) & ~1;
    const a = filled(k, s.m * s.k, () => rng.uniform(-1, 1));
    const b = filled(k, s.k * s.n, () => rng.uniform(-0.1, 0.1));
    const c = k.alloc(s.m * s.n);
    const want = new Float32Array(s.m * s.n);
    ref.gemm(false, false, s.m, s.n, s.k, a, b, want, 0);
    const aq = k.allocInt32(Math.ceil((s.m * kp) / 2) + 4), sa = k.alloc(s.m + 4);
    const bq = k.allocInt32(Math.ceil(e.qPackedBytes(s.k, s.n) / 4)), sb = k.alloc(s.n + 16), tmp = k.alloc(64);
    e.packQ(s.k, s.n, b.byteOffset, bq.byteOffset, sb.byteOffset);
    const run = (): void => {
      e.quantizeRows(s.m, s.k, a.byteOffset, aq.byteOffset, sa.byteOffset);
      e.qgemm(s.m, s.n, s.k, aq.byteOffset, sa.byteOffset, bq.byteOffset, sb.byteOffset, c.byteOffset, 0, tmp.byteOffset);
    };
    run();
    const err = maxRelErr(c, want);
    const us = time(run);
    const rate = (2 * s.m * s.n * s.k) / us / 1e3;
    emit({ kernel: "qgemm", shape, variant: "wasm-int16 (quantize A + qgemm)", maxRelErr: err, us, rate, unit: "GOP/s" });
    bestWasm.push({ shape, name: s.name, ta: false, tb: false, m: s.m, n: s.n, k: s.k, variant: "wasm-int16", gflops: rate, plain: rate });
    for (const x of [a, b, c, sa, sb, tmp]) k.free(x);
    for (const x of [aq, bq]) k.free(x);
  }
}

// ---- each GEMM shape against the machine's OpenBLAS on one core -------------
{
  const blas = new Map<string, number>();
  if (withPython) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "lstm-ner-kernels-"));
    const spec = path.join(dir, "shapes.json");
    writeFileSync(spec, JSON.stringify(bestWasm.map(({ ta, tb, m, n, k }) => ({ ta, tb, m, n, k }))));
    const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bench/pytorch_batches.py");
    const python = process.env.PYTHON ?? "/usr/bin/python3";
    const r = spawnSync(python, [script, "--gemm", spec], { encoding: "utf8" });
    rmSync(dir, { recursive: true, force: true });
    if (r.status !== 0) console.log(JSON.stringify({ bench: "openblas", error: `${python} ${script} --gemm failed`, stderr: (r.stderr ?? "").slice(-500) }));
    for (const line of (r.stdout ?? "").split("\n").filter((l) => l.startsWith("{"))) {
      const o = JSON.parse(line) as { ta: boolean; tb: boolean; m: number; n: number; k: number; gflops: number };
      blas.set(`${o.ta ? "T" : "N"}${o.tb ? "T" : "N"} ${o.m}x${o.n}x${o.k}`, o.gflops);
    }
  }
  if (!json) console.log(`\n${"gemm shape".padEnd(22)} ${"(use)".padEnd(20)} ${"best WASM variant".padEnd(26)} ${"GFLOP/s".padStart(8)} ${"best plain".padStart(10)} ${"OpenBLAS 1 thread".padStart(18)} ${"share".padStart(6)} ${"plain share".padStart(11)}`);
  for (const b of bestWasm) {
    const o = blas.get(b.shape);
    const row = { kernel: "gemm-vs-openblas", shape: b.shape, use: b.name, variant: b.variant, wasm_gflops: +b.gflops.toFixed(1),
      best_plain_simd_gflops: +b.plain.toFixed(1), openblas_1thread_gflops: o ?? null, share_pct: o ? +((100 * b.gflops) / o).toFixed(1) : null,
      plain_share_pct: o ? +((100 * b.plain) / o).toFixed(1) : null };
    if (json) console.log(JSON.stringify(row));
    else console.log(`${b.shape.padEnd(22)} ${b.name.padEnd(20)} ${b.variant.padEnd(26)} ${b.gflops.toFixed(1).padStart(8)} ${b.plain.toFixed(1).padStart(10)} ${(o?.toFixed(1) ?? "-").padStart(18)} ${(row.share_pct === null ? "-" : `${row.share_pct}%`).padStart(6)} ${(row.plain_share_pct === null ? "-" : `${row.plain_share_pct}%`).padStart(11)}`);
  }
}
