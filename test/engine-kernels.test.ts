import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/util/random.js";
import { referenceKernels as ref } from "../src/engine/reference.js";
import { labHooks, type WasmKernels } from "../src/engine/wasm.js";
import { loadWasmKernels } from "../src/engine/index.js";
import { gemmVariants } from "../src/engine/wasm-lab.js";
import { quantizeRows } from "../src/engine/quantized.js";
import { LstmNerError } from "../src/util/errors.js";
import { spawnSync } from "node:child_process";

const wasmP = loadWasmKernels();

/** A WASM-memory array and an independent plain copy with the same values. */
function pair(k: WasmKernels, n: number, fill: (i: number) => number): [Float32Array, Float32Array] {
  const w = k.alloc(n);
  for (let i = 0; i < n; i++) w[i] = fill(i);
  return [w, Float32Array.from(w)];
}

/** |got − want| ≤ rel·scale + abs elementwise, where scale defaults to |want|. */
function close(got: Float32Array, want: Float32Array, what: string, rel: number, abs: number, scale?: Float32Array, n = want.length): void {
  for (let i = 0; i < n; i++) {
    const g = got[i]!, w = want[i]!;
    const s = scale ? scale[i]! : Math.abs(w);
    if (!(Math.abs(g - w) <= rel * s + abs) && !(Number.isNaN(g) && Number.isNaN(w))) {
      assert.fail(`${what}[${i}]: got ${g}, want ${w} (tolerance ${rel * s + abs})`);
    }
  }
}

function checkGemm(k: WasmKernels, gemm: WasmKernels["gemm"], rng: Rng, ta: boolean, tb: boolean, m: number, n: number, kk: number, beta: 0 | 1, label: string): void {
  const [a, a0] = pair(k, m * kk, () => rng.uniform(-1, 1));
  const [b, b0] = pair(k, kk * n, () => rng.uniform(-1, 1));
  // With beta = 0 the old C must be ignored, even NaN.
  const [c, c0] = pair(k, m * n, () => (beta === 0 ? NaN : rng.uniform(-1, 1)));
  gemm(ta, tb, m, n, kk, a, b, c, beta);
  ref.gemm(ta, tb, m, n, kk, a0, b0, c0, beta);
  // Error scale: Σ|a||b| (+|c|): float32 accumulation in a different order.
  const scale = new Float32Array(m * n);
  ref.gemm(ta, tb, m, n, kk, a0.map(Math.abs), b0.map(Math.abs), scale, 0);
  if (beta === 1) for (let i = 0; i < m * n; i++) scale[i]! += Math.abs(c0[i]!);
  close(c, c0, `${label} ${ta ? "T" : "N"}${tb ? "T" : "N"} ${m}x${n}x${kk} beta=${beta}`, 2e-6, 1e-30, scale);
  for (const x of [a, b, c]) k.free(x);
}

const TRANS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

test("gemm matches the reference on odd and edge shapes, all trans combos, beta 0 and 1", async () => {
  const k = await wasmP;
  const rng = new Rng(1);
  const shapes = [[1, 1, 1], [1, 1, 9], [3, 5, 1], [2, 16, 4], [7, 13, 9], [5, 17, 33], [17, 31, 19], [4, 1, 37], [1, 40, 3], [9, 15, 16], [33, 64, 5]];
  for (const [m, n, kk] of shapes) {
    for (const [ta, tb] of TRANS) for (const beta of [0, 1] as const) checkGemm(k, k.gemm, rng, ta, tb, m!, n!, kk!, beta, "gemm");
  }
});

test("gemm crosses every blocking boundary (m > MC, n > NC, k > KC)", async () => {
  const k = await wasmP;
  const rng = new Rng(2);
  for (const [ta, tb] of TRANS) checkGemm(k, k.gemm, rng, ta, tb, 99, 515, 390, (ta ? 1 : 0) as 0 | 1, "gemm");
});

test("gemm on the realistic LSTM shapes", async () => {
  const k = await wasmP;
  const rng = new Rng(3);
  checkGemm(k, k.gemm, rng, false, false, 32, 1024, 306, 0, "recurrent/input step");
  checkGemm(k, k.gemm, rng, false, true, 32, 256, 1024, 1, "backward A·Bᵀ");
  checkGemm(k, k.gemm, rng, true, false, 256, 1024, 60, 1, "weight gradient Aᵀ·B");
  checkGemm(k, k.gemm, rng, false, false, 200, 10, 512, 0, "output layer");
});

test("gemm with k = 0 sets C to beta·C", async () => {
  const k = await wasmP;
  const c = k.alloc(6).fill(5);
  k.gemm(false, false, 2, 3, 0, k.alloc(0), k.alloc(0), c, 1);
  assert.deepEqual([...c], [5, 5, 5, 5, 5, 5]);
  k.gemm(false, false, 2, 3, 0, k.alloc(0), k.alloc(0), c, 0);
  assert.deepEqual([...c], [0, 0, 0, 0, 0, 0]);
});

test("every lab GEMM variant matches the reference", async () => {
  const k = await wasmP;
  const rng = new Rng(4);
  for (const v of gemmVariants(k)) {
    for (const [ta, tb] of TRANS) {
      checkGemm(k, v.run, rng, ta, tb, 13, 37, 21, 1, v.name);
      checkGemm(k, v.run, rng, ta, tb, 3, 5, 2, 0, v.name);
    }
  }
});

test("addBias and sumRows match the reference (column tails, beta 0 and 1)", async () => {
  const k = await wasmP;
  const rng = new Rng(5);
  for (const [rows, cols] of [[1, 1], [3, 7], [5, 37], [33, 1024]]) {
    const [x, x0] = pair(k, rows! * cols!, () => rng.uniform(-2, 2));
    const [bias, bias0] = pair(k, cols!, () => rng.uniform(-2, 2));
    k.addBias(rows!, cols!, x, bias);
    ref.addBias(rows!, cols!, x0, bias0);
    close(x, x0, "addBias", 0, 0);
    for (const beta of [0, 1] as const) {
      const [out, out0] = pair(k, cols!, () => rng.uniform(-1, 1));
      k.sumRows(rows!, cols!, x, out, beta);
      ref.sumRows(rows!, cols!, x0, out0, beta);
      close(out, out0, `sumRows beta=${beta}`, 1e-6, 1e-6);
    }
  }
});

/** Pre-activations: mostly moderate, with extremes that break naive exp formulas. */
function preact(rng: Rng, i: number): number {
  const special = [0, -0, 1e-6, -1e-6, 0.6, -0.65, 20, -20, 90, -90, 1e4, -1e4];
  return i % 7 === 3 ? special[rng.int(special.length)]! : rng.normal() * 3;
}

test("lstmCellForward matches the reference (activations, c, strided h)", async () => {
  const k = await wasmP;
  const rng = new Rng(6);
  for (const [batch, H, stride] of [[1, 1, 1], [3, 7, 7], [4, 13, 30], [32, 256, 512]]) {
    const [gates, gates0] = pair(k, batch! * 4 * H!, (i) => preact(rng, i));
    const [cPrev, cPrev0] = pair(k, batch! * H!, () => rng.normal());
    const [c, c0] = pair(k, batch! * H!, () => 0);
    const hLen = (batch! - 1) * stride! + H!;
    const [h, h0] = pair(k, hLen, () => 7); // 7 marks the gaps a strided write must not touch
    k.lstmCellForward(batch!, H!, gates, cPrev, c, h, stride!);
    ref.lstmCellForward(batch!, H!, gates0, cPrev0, c0, h0, stride!);
    const what = `lstmCellForward ${batch}x${H}/${stride}`;
    close(gates, gates0, `${what} gates`, 2e-6, 1e-7);
    // c = f·cPrev + i·g may cancel: the error scale is the size of its terms.
    const cScale = new Float32Array(batch! * H!), hScale = new Float32Array(hLen);
    for (let r = 0; r < batch!; r++) {
      for (let j = 0; j < H!; j++) {
        const g0 = r * 4 * H!;
        const s = Math.abs(gates0[g0 + H! + j]! * cPrev0[r * H! + j]!) + Math.abs(gates0[g0 + j]! * gates0[g0 + 2 * H! + j]!);
        cScale[r * H! + j] = s;
        hScale[r * stride! + j] = Math.abs(h0[r * stride! + j]!) + s;
      }
    }
    close(c, c0, `${what} c`, 2e-6, 1e-7, cScale);
    close(h, h0, `${what} h`, 2e-6, 1e-7, hScale);
    for (let i = 0; i < hLen; i++) if (i % stride! >= H!) assert.equal(h[i], 7, `h gap ${i} untouched`);
  }
});

test("SIMD sigmoid and tanh are accurate to ~1e-6 relative over a dense sweep", async () => {
  const k = await wasmP;
  // One row whose four gate blocks each hold the same sweep of [-30, 30] (plus tiny values).
  const H = 6001;
  const xs = Array.from({ length: H }, (_, j) => (j % 10 === 0 ? (j - 3000) * 1e-7 : (j - 3000) / 100));
  const [gates, gates0] = pair(k, 4 * H, (i) => xs[i % H]!);
  const zeros = k.alloc(H);
  k.lstmCellForward(1, H, gates, zeros, k.alloc(H), k.alloc(H), H);
  ref.lstmCellForward(1, H, gates0, new Float32Array(H), new Float32Array(H), new Float32Array(H), H);
  close(gates, gates0, "σ/tanh sweep", 1.5e-6, 1e-30);
});

test("SIMD sigmoid and tanh past their clamps and on non-finite inputs: NaN stays NaN, ±Inf and huge values saturate", async () => {
  const k = await wasmP;
  // The clamps are pmin/pmax and 2^n is built from a rounding constant (mathx4.ts): a NaN
  // must still pass through, and every extreme must give the reference's saturated value.
  const xs = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 88.3, 88.4, -88.4, 89, -89, 7.9, 8.1, -8.1, 1e30, -1e30, 3.4e38, -3.4e38, 0.5, -3];
  const H = xs.length;
  for (let rot = 0; rot < 4; rot++) {
    // Each gate block gets the values in another order, so every value meets every gate.
    const [gates, gates0] = pair(k, 4 * H, (i) => xs[(i + rot * 5) % H]!);
    const [cPrev, cPrev0] = pair(k, H, (j) => (j % 3) - 1);
    const [c, c0] = pair(k, H, () => 0);
    const [h, h0] = pair(k, H, () => 0);
    k.lstmCellForward(1, H, gates, cPrev, c, h, H);
    ref.lstmCellForward(1, H, gates0, cPrev0, c0, h0, H);
    close(gates, gates0, `σ/tanh extremes (rotation ${rot})`, 1.5e-6, 1e-30);
    // c = f·cPrev + i·g can cancel to ~1e-7 from terms of order 1: absolute tolerance.
    close(c, c0, `c extremes (rotation ${rot})`, 1.5e-6, 2e-6);
    close(h, h0, `h extremes (rotation ${rot})`, 1.5e-6, 2e-6);
    for (let j = 0; j < 4 * H; j++) if (Number.isNaN(gates0[j]!)) assert.ok(Number.isNaN(gates[j]!), `gate ${j}: NaN in, NaN out`);
  }
});

test("int16 quantizeRows gives the reference's integers and scales exactly (ties, ±0, zero, NaN and ±Inf rows, column tail)", async () => {
  const k = await wasmP;
  const { exports: e } = labHooks(k);
  const cols = 37, kp = 38;
  const rng = new Rng(11);
  const rows: number[][] = [
    // max 2047 → inv = 1: every .5 is a tie, rounded half to even
    [2047, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 1000.5, -1000.5, -0, 0, 3.5, -3.5, 2046.5],
    Array.from({ length: cols }, () => 0),
    Array.from({ length: cols }, (_, j) => (j === 9 ? NaN : rng.uniform(-3, 3))),
    Array.from({ length: cols }, (_, j) => (j === 35 ? NaN : rng.uniform(-3, 3))), // NaN in the scalar tail
    Array.from({ length: cols }, (_, j) => (j === 4 ? Infinity : rng.uniform(-3, 3))),
    Array.from({ length: cols }, (_, j) => (j === 20 ? -Infinity : rng.uniform(-3, 3))),
    Array.from({ length: cols }, (_, j) => (j === 2 ? 1e-45 : -1e-45)), // 2047/max overflows: all 0, scale 0
    Array.from({ length: cols }, (_, j) => (j === 3 ? 2e-37 : -1e-37)), // 2047/max overflows, denormal scale
    Array.from({ length: cols }, () => rng.uniform(-1e30, 1e30)),
    ...Array.from({ length: 8 }, () => Array.from({ length: cols }, () => rng.normal())),
  ].map((r) => Array.from({ length: cols }, (_, j) => r[j % r.length]!));
  const n = rows.length;
  const src = k.alloc(n * cols);
  rows.forEach((r, i) => src.set(r, i * cols));
  const dst = k.allocInt32((n * kp) / 2), scales = k.alloc(n);
  dst.fill(0x5a5a5a5a); // the padding column must be written
  e.quantizeRows(n, cols, src.byteOffset, dst.byteOffset, scales.byteOffset);
  const want = quantizeRows(n, cols, Float32Array.from(src));
  const got = new Int16Array(dst.buffer, dst.byteOffset, n * kp);
  for (let r = 0; r < n; r++) {
    assert.ok(Object.is(scales[r], want.scales[r]), `row ${r} scale: got ${scales[r]}, want ${want.scales[r]}`);
    for (let j = 0; j < cols; j++) assert.equal(got[r * kp + j], want.q[r * cols + j], `row ${r} column ${j} (x = ${src[r * cols + j]})`);
    assert.equal(got[r * kp + cols], 0, `row ${r}: padding column is 0`);
  }
  assert.ok(Number.isNaN(scales[2]!) && Number.isNaN(scales[3]!), "a NaN in a row makes its scale NaN");
  assert.deepEqual([...got.subarray(0, 14)], [2047, 0, 2, 2, 0, -2, -2, 1000, -1000, 0, 0, 4, -4, 2046]);
});

test("lstmCellBackward matches the reference (strided dh, dc in place)", async () => {
  const k = await wasmP;
  const rng = new Rng(7);
  for (const [batch, H, stride] of [[1, 1, 1], [3, 7, 9], [32, 256, 512]]) {
    // Realistic activations: run a forward step first.
    const g = ref.alloc(batch! * 4 * H!).map((_, i) => preact(rng, i));
    const cp = ref.alloc(batch! * H!).map(() => rng.normal());
    const cc = ref.alloc(batch! * H!);
    ref.lstmCellForward(batch!, H!, g, cp, cc, ref.alloc(batch! * H!), H!);
    const [gates, gates0] = pair(k, g.length, (i) => g[i]!);
    const [cPrev, cPrev0] = pair(k, cp.length, (i) => cp[i]!);
    const [c, c0] = pair(k, cc.length, (i) => cc[i]!);
    const [dh, dh0] = pair(k, (batch! - 1) * stride! + H!, () => rng.normal());
    const [dc, dc0] = pair(k, batch! * H!, () => rng.normal());
    const [dG, dG0] = pair(k, batch! * 4 * H!, () => NaN);
    k.lstmCellBackward(batch!, H!, gates, cPrev, c, dh, stride!, dc, dG);
    ref.lstmCellBackward(batch!, H!, gates0, cPrev0, c0, dh0, stride!, dc0, dG0);
    const what = `lstmCellBackward ${batch}x${H}/${stride}`;
    close(dG, dG0, `${what} dGates`, 1e-5, 1e-7);
    close(dc, dc0, `${what} dc`, 1e-5, 1e-7);
  }
});

test("logSoftmaxNll matches the reference, with ignored (-1) labels", async () => {
  const k = await wasmP;
  const rng = new Rng(8);
  for (const [rows, cols] of [[1, 1], [5, 10], [97, 10], [6, 3]]) {
    const [z, z0] = pair(k, rows! * cols!, () => rng.normal() * 5);
    const labels = k.allocInt32(rows!);
    for (let r = 0; r < rows!; r++) labels[r] = r % 4 === 1 ? -1 : rng.int(cols!);
    const labels0 = Int32Array.from(labels);
    const [lp, lp0] = pair(k, rows! * cols!, () => 0);
    const [d, d0] = pair(k, rows! * cols!, () => NaN);
    const got = k.logSoftmaxNll(rows!, cols!, z, labels, lp, d);
    const want = ref.logSoftmaxNll(rows!, cols!, z0, labels0, lp0, d0);
    assert.equal(got.count, want.count);
    assert.ok(Math.abs(got.loss - want.loss) <= 1e-6 * Math.abs(want.loss) + 1e-6, `loss ${got.loss} vs ${want.loss}`);
    close(lp, lp0, "logp", 1e-6, 1e-6);
    close(d, d0, "dlogits", 1e-6, 1e-7);
    // Without dlogits: same loss, logp only.
    const again = k.logSoftmaxNll(rows!, cols!, z, labels, lp, null);
    assert.deepEqual(again, got);
  }
  // All rows ignored: nothing counts, gradient is zero.
  const z = k.alloc(6).fill(1);
  const d = k.alloc(6).fill(NaN);
  const r = k.logSoftmaxNll(2, 3, z, Int32Array.from([-1, -1]), k.alloc(6), d);
  assert.deepEqual(r, { loss: 0, count: 0 });
  assert.deepEqual([...d], [0, 0, 0, 0, 0, 0]);
});

test("adam matches the reference over several steps", async () => {
  const k = await wasmP;
  const rng = new Rng(9);
  const n = 1003;
  const [p, p0] = pair(k, n, () => rng.normal());
  const [m, m0] = pair(k, n, () => 0);
  const [v, v0] = pair(k, n, () => 0);
  const [g, g0] = pair(k, n, () => 0);
  const lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  // m and v are running averages whose terms may cancel: scale errors by the gradients seen.
  const gMax = new Float32Array(n), g2Max = new Float32Array(n);
  for (let t = 1; t <= 6; t++) {
    for (let i = 0; i < n; i++) {
      g[i] = g0[i] = rng.normal() * (i % 5 === 0 ? 1e-4 : 1);
      gMax[i] = Math.max(gMax[i]!, Math.abs(g0[i]!));
      g2Max[i] = gMax[i]! ** 2;
    }
    const lrT = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    const epsT = eps * Math.sqrt(1 - b2 ** t);
    k.adam(n, p, g, m, v, lrT, b1, b2, epsT);
    ref.adam(n, p0, g0, m0, v0, lrT, b1, b2, epsT);
  }
  close(m, m0, "adam m", 1e-6, 0, gMax);
  close(v, v0, "adam v", 1e-6, 0, g2Max);
  // A parameter moves by ~lr per step: compare the update, not just the (large) value.
  close(p, p0, "adam param", 1e-6, 1e-8);
});

test("bad shapes and labels are LstmNerErrors naming the field", async () => {
  const k = await wasmP;
  assert.throws(() => k.gemm(false, false, 2, 2, 2, k.alloc(3), k.alloc(4), k.alloc(4), 0), (e: unknown) => e instanceof LstmNerError && /gemm: a has 3 elements, needs at least 4/.test(e.message));
  assert.throws(() => k.gemm(false, false, 2, 2, 1.5, k.alloc(4), k.alloc(4), k.alloc(4), 0), (e: unknown) => e instanceof LstmNerError && /k must be/.test(e.message));
  assert.throws(() => k.lstmCellForward(2, 4, k.alloc(32), k.alloc(8), k.alloc(8), k.alloc(8), 3), /hStride/);
  assert.throws(() => k.logSoftmaxNll(2, 3, k.alloc(6), Int32Array.from([0, 3]), k.alloc(6), null), /labels\[1\] = 3/);
});

test("relaxed-SIMD build: detected at load (switched on in Node 20), every GEMM variant and the sequence kernels match the reference", async () => {
  const k = await loadWasmKernels({ relaxedSimd: true, threads: 2 });
  assert.equal(k.relaxedSimd, true, "V8 in Node ≥ 20 has relaxed SIMD (behind a flag the loader sets)");
  assert.equal(k.name, "wasm-simd-relaxed");
  const rng = new Rng(7);
  for (const v of gemmVariants(k)) {
    for (const [ta, tb] of TRANS) for (const beta of [0, 1] as const) checkGemm(k, v.run, rng, ta, tb, 17, 37, 45, beta, v.name);
  }
  for (const [ta, tb] of TRANS) checkGemm(k, k.gemm, rng, ta, tb, 99, 515, 390, 1, "relaxed gemm");
  // Whole LSTM directions (forward, backward, inference) against the reference.
  const inDim = 7, H = 12, sizes = [5, 5, 4, 2, 1], n = 17, G = 4 * H;
  const mk = (kk: typeof ref | WasmKernels, seed: number): import("../src/engine/kernels.js").LstmSequenceGrad => {
    const r = new Rng(seed);
    const f = (len: number, s: number): Float32Array => r.fillUniform(kk.alloc(len), -s, s);
    const bs = kk.allocInt32(sizes.length); bs.set(sizes);
    return { inDim, hidden: H, batchSizes: bs, x: f(n * inDim, 1), wIh: f(inDim * G, 0.5), wHh: f(H * G, 0.5), b: f(G, 0.5),
      gates: kk.alloc(n * G), c: kk.alloc((5 + n) * H), h: kk.alloc(n * H), hPrev: kk.alloc(n * H),
      dh: f(n * H, 1), dc: kk.alloc(5 * H), dGates: kk.alloc(n * G), dx: kk.alloc(n * inDim), gWih: kk.alloc(inDim * G), gWhh: kk.alloc(H * G), gB: kk.alloc(G) };
  };
  const want = mk(ref, 3), got = [mk(k, 3), mk(k, 3)];
  ref.lstmForward([want]); ref.lstmBackward([want]);
  k.lstmForward(got); k.lstmBackward(got);
  const inf = { ...got[0]!, h: k.alloc(n * H) };
  k.lstmInfer([inf]);
  for (const [name, g, w] of [["h", got[1]!.h, want.h], ["infer h", inf.h, want.h], ["dx", got[1]!.dx!, want.dx!], ["gWhh", got[1]!.gWhh, want.gWhh], ["gWih", got[1]!.gWih, want.gWih]] as const) {
    close(g, w, `relaxed ${name}`, 2e-5, 2e-5);
  }
  assert.deepEqual(inf.h, got[0]!.h, "relaxed lstmInfer gives relaxed lstmForward's h exactly");
  await k.dispose();
  // Not asked for, or an explicit module: the plain build.
  assert.equal((await loadWasmKernels()).relaxedSimd, false);
});

test("relaxed SIMD falls back to the plain build where the runtime lacks it", () => {
  const wasm = new URL("../src/engine/index.js", import.meta.url).href;
  // A runtime without relaxed SIMD: every module using it fails validation.
  const code = `const validate = WebAssembly.validate;
    WebAssembly.validate = (b) => b.byteLength > 64 && validate(b);
    const { loadWasmKernels } = await import(${JSON.stringify(wasm)});
    const k = await loadWasmKernels({ relaxedSimd: true });
    const a = k.alloc(4).fill(2), c = k.alloc(4);
    k.gemm(false, false, 2, 2, 1, a, a, c, 0);
    console.log(JSON.stringify({ relaxed: k.relaxedSimd, name: k.name, c: Array.from(c) }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8", timeout: 20000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { relaxed: false, name: "wasm-simd", c: [4, 4, 4, 4] });
});
