import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Kernels, LstmInferSequence, LstmSequence, LstmSequenceGrad } from "../src/engine/kernels.js";
import { referenceKernels as ref } from "../src/engine/reference.js";
import type { WasmKernels } from "../src/engine/wasm.js";
import { loadWasmKernels } from "../src/engine/index.js";
import { Rng } from "../src/util/random.js";
import { LstmNerError } from "../src/util/errors.js";

const isLstmNerError = (re: RegExp) => (e: unknown): boolean => e instanceof LstmNerError && re.test(e.message);

/** A random packed sequence (inputs, weights, upstream gradient) with zeroed outputs, in `k`'s memory. */
function makeSeq(k: Kernels, seed: number, inDim: number, H: number, sizes: number[], withDx = true): LstmSequenceGrad {
  const rng = new Rng(seed);
  const n = sizes.reduce((a, b) => a + b, 0);
  const b0 = sizes[0] ?? 0;
  const G = 4 * H;
  const rand = (len: number, s = 1): Float32Array => rng.fillUniform(k.alloc(len), -s, s);
  const batchSizes = k.allocInt32(sizes.length);
  batchSizes.set(sizes);
  return {
    inDim, hidden: H, batchSizes,
    x: rand(n * inDim), wIh: rand(inDim * G, 0.5), wHh: rand(H * G, 0.5), b: rand(G, 0.5),
    gates: k.alloc(n * G), c: k.alloc((b0 + n) * H), h: k.alloc(n * H), hPrev: k.alloc(n * H),
    dh: rand(n * H), dc: k.alloc(b0 * H), dGates: k.alloc(n * G), dx: withDx ? k.alloc(n * inDim) : null,
    gWih: rand(inDim * G, 0.1), gWhh: rand(H * G, 0.1), gB: rand(G, 0.1),
  };
}

const OUTPUTS = ["gates", "c", "h", "hPrev", "dh", "dc", "dGates", "dx", "gWih", "gWhh", "gB"] as const;

function close(got: LstmSequenceGrad, want: LstmSequenceGrad, tol: number, what: string): void {
  for (const f of OUTPUTS) {
    const g = got[f], w = want[f];
    if (g === null || w === null) { assert.equal(g, w, `${what}: ${f}`); continue; }
    assert.equal(g.length, w.length);
    for (let i = 0; i < w.length; i++) {
      assert.ok(Math.abs(g[i]! - w[i]!) <= tol * (1 + Math.abs(w[i]!)), `${what}: ${f}[${i}] = ${g[i]}, want ${w[i]}`);
    }
  }
}

function forwardBackward(k: Kernels, seqs: LstmSequenceGrad[]): void {
  k.lstmForward(seqs);
  k.lstmBackward(seqs);
}

const SHAPES: [number, number, number[]][] = [
  [5, 6, [5, 5, 3, 2, 1]], // narrow outputs (n < 16 micro-kernel), ragged
  [7, 20, [4, 4, 4, 4]], // full batch, odd widths
  [33, 64, [9, 7, 7, 2, 2, 2, 1, 1]], // several GEMM panels
  [3, 4, [1]], // one step, one row
];

test("lstmForward/lstmBackward: WASM matches the reference on packed sequences (every output and gradient)", async () => {
  const k = await loadWasmKernels({ threads: 1 });
  for (const [inDim, H, sizes] of SHAPES) {
    for (const withDx of [true, false]) {
      const want = makeSeq(ref, 1, inDim, H, sizes, withDx);
      const got = makeSeq(k, 1, inDim, H, sizes, withDx);
      forwardBackward(ref, [want]);
      forwardBackward(k, [got]);
      close(got, want, 2e-5, `in ${inDim} H ${H} sizes ${sizes.join(",")} dx ${withDx}`);
    }
  }
});

test("the reference sequence kernel is the per-step cell recurrence: h rows equal a hand-run LSTM per sentence", () => {
  // Sentences of lengths 3, 2, 1 packed as steps [3, 2, 1]; row (t, i) is sentence i's step t.
  const inDim = 3, H = 2, G = 8;
  const s = makeSeq(ref, 5, inDim, H, [3, 2, 1]);
  ref.lstmForward([s]);
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  const offsets = [0, 3, 5];
  for (let i = 0; i < 3; i++) {
    let h = [0, 0], c = [0, 0];
    for (let t = 0; t < 3 - i; t++) {
      const row = offsets[t]! + i;
      const z = Array.from({ length: G }, (_, j) => {
        let v = s.b[j]!;
        for (let p = 0; p < inDim; p++) v += s.x[row * inDim + p]! * s.wIh[p * G + j]!;
        for (let p = 0; p < H; p++) v += h[p]! * s.wHh[p * G + j]!;
        return v;
      });
      c = c.map((cv, j) => sig(z[H + j]!) * cv + sig(z[j]!) * Math.tanh(z[2 * H + j]!));
      h = c.map((cv, j) => sig(z[3 * H + j]!) * Math.tanh(cv));
      for (let j = 0; j < H; j++) assert.ok(Math.abs(s.h[row * H + j]! - h[j]!) < 1e-5, `sentence ${i} step ${t}`);
    }
  }
});

test("two threads give the single-threaded results (two directions at once, in pairs, and an odd one out)", async () => {
  const k1 = await loadWasmKernels({ threads: 1 });
  const k2 = await loadWasmKernels({ threads: 2 });
  assert.equal(k1.threads, 1);
  assert.equal(k2.threads, 2, "a helper thread runs (Node, shared memory)");
  const sizes = [[32, 30, 30, 17, 9, 3, 1], [32, 30, 30, 17, 9, 3, 1], [6, 2], [4, 4, 4]];
  for (const count of [2, 3, 4]) {
    const one = sizes.slice(0, count).map((s, i) => makeSeq(k1, 10 + i, 50, 32, s));
    const two = sizes.slice(0, count).map((s, i) => makeSeq(k2, 10 + i, 50, 32, s));
    forwardBackward(k1, one);
    forwardBackward(k2, two);
    one.forEach((s, i) => close(two[i]!, s, 1e-6, `${count} sequences, #${i}`));
  }
  await k2.dispose();
  assert.equal(k2.threads, 1, "after dispose the kernels run single-threaded");
  const again = makeSeq(k2, 10, 50, 32, sizes[0]!), want = makeSeq(k1, 10, 50, 32, sizes[0]!);
  forwardBackward(k2, [again, makeSeq(k2, 11, 50, 32, sizes[1]!)]);
  forwardBackward(k1, [want]);
  close(again, want, 1e-6, "after dispose");
  await k2.dispose(); // idempotent
});

/** The inference view of a training sequence: its inputs, weights and a fresh h. */
function inferOf(k: Kernels, s: LstmSequenceGrad): LstmInferSequence {
  return { inDim: s.inDim, hidden: s.hidden, batchSizes: s.batchSizes, x: s.x, wIh: s.wIh, wHh: s.wHh, b: s.b, h: k.alloc(s.h.length).fill(NaN) };
}

// Ragged sequences longer than one projection chunk (256 rows), and a first step wider than a chunk.
const INFER_SHAPES: [number, number, number[]][] = [
  ...SHAPES,
  [5, 8, Array.from({ length: 45 }, (_, t) => Math.max(1, 20 - Math.floor(t / 3)))],
  [3, 12, [300, 300, 280, 7, 1]],
];

test("lstmInfer gives lstmForward's h: bit-identical on WASM (1 and 2 threads), equal to the reference, across chunk boundaries", async () => {
  const k1 = await loadWasmKernels({ threads: 1 });
  const k2 = await loadWasmKernels({ threads: 2 });
  for (const [inDim, H, sizes] of INFER_SHAPES) {
    const what = `in ${inDim} H ${H} steps ${sizes.length} rows ${sizes.reduce((a, b) => a + b, 0)}`;
    const want = makeSeq(ref, 7, inDim, H, sizes);
    ref.lstmForward([want]);
    const refInfer = inferOf(ref, want);
    ref.lstmInfer([refInfer]);
    assert.deepEqual(refInfer.h, want.h, `${what}: reference lstmInfer = reference lstmForward`);
    for (const k of [k1, k2]) {
      const train = [makeSeq(k, 7, inDim, H, sizes), makeSeq(k, 8, inDim, H, sizes)];
      k.lstmForward(train);
      const infer = train.map((s) => inferOf(k, s));
      k.lstmInfer(infer);
      infer.forEach((s, i) => assert.deepEqual(s.h, train[i]!.h, `${what}, threads ${k.threads}, #${i}: bit-identical to lstmForward`));
      for (let i = 0; i < want.h.length; i++) {
        assert.ok(Math.abs(infer[0]!.h[i]! - want.h[i]!) <= 2e-5 * (1 + Math.abs(want.h[i]!)), `${what}: h[${i}] = ${infer[0]!.h[i]}, want ${want.h[i]}`);
      }
    }
  }
  // Foreign buffers (copied in and out) and the errors.
  const foreign = inferOf(ref, makeSeq(ref, 9, 4, 6, [3, 2, 1]));
  const wantF = makeSeq(ref, 9, 4, 6, [3, 2, 1]);
  ref.lstmForward([wantF]);
  k2.lstmInfer([foreign, inferOf(ref, makeSeq(ref, 9, 4, 6, [3, 2, 1]))]);
  for (let i = 0; i < wantF.h.length; i++) assert.ok(Math.abs(foreign.h[i]! - wantF.h[i]!) <= 2e-5, `foreign h[${i}]`);
  for (const k of [ref, k1, k2] as Kernels[]) {
    const s = inferOf(k, makeSeq(k, 1, 3, 4, [2, 2]));
    assert.throws(() => k.lstmInfer([{ ...s, h: k.alloc(7) }]), isLstmNerError(/lstmInfer: h has 7 values, needs at least 16/));
    const rising = inferOf(k, makeSeq(k, 1, 3, 4, [2, 2]));
    rising.batchSizes[1] = 3;
    assert.throws(() => k.lstmInfer([rising]), isLstmNerError(/lstmInfer: batchSizes\[1\] = 3/));
    k.lstmInfer([inferOf(k, makeSeq(k, 1, 3, 4, []))]); // nothing to do
  }
  await k2.dispose();
});

test("with two threads, buffers from outside the WASM memory still work (copied, single-threaded)", async () => {
  const k2 = await loadWasmKernels({ threads: 2 });
  const want = [makeSeq(ref, 3, 9, 16, [3, 2, 2]), makeSeq(ref, 4, 9, 16, [3, 2, 2])];
  const got = [makeSeq(ref, 3, 9, 16, [3, 2, 2]), makeSeq(ref, 4, 9, 16, [3, 2, 2])];
  forwardBackward(ref, want);
  forwardBackward(k2, got);
  got.forEach((s, i) => close(s, want[i]!, 2e-5, `foreign #${i}`));
  await k2.dispose();
});

test("bad sequences are LstmNerErrors naming the field, on every implementation", async () => {
  const ks: Kernels[] = [ref, await loadWasmKernels({ threads: 1 }), await loadWasmKernels({ threads: 2 })];
  for (const k of ks) {
    const rising = makeSeq(k, 1, 3, 4, [2, 2]);
    rising.batchSizes[1] = 3;
    assert.throws(() => k.lstmForward([rising]), isLstmNerError(/lstmForward: batchSizes\[1\] = 3/));
    const zero = makeSeq(k, 1, 3, 4, [2, 2]);
    zero.batchSizes[1] = 0;
    assert.throws(() => k.lstmForward([zero]), isLstmNerError(/batchSizes\[1\] = 0/));
    const short: LstmSequence = { ...makeSeq(k, 1, 3, 4, [2, 2]), gates: k.alloc(5) };
    assert.throws(() => k.lstmForward([short]), isLstmNerError(/lstmForward: gates has 5 values, needs at least 64/));
    const noDc: LstmSequenceGrad = { ...makeSeq(k, 1, 3, 4, [2, 2]), dc: k.alloc(1) };
    assert.throws(() => k.lstmBackward([makeSeq(k, 2, 3, 4, [2, 2]), noDc]), isLstmNerError(/lstmBackward: dc/));
    assert.throws(() => k.lstmForward([{ ...makeSeq(k, 1, 3, 4, [1]), hidden: 0 }]), isLstmNerError(/hidden must be a positive integer/));
    // An empty sequence is nothing to do.
    k.lstmForward([makeSeq(k, 1, 3, 4, [])]);
  }
  for (const k of ks) if ("dispose" in k) await (k as WasmKernels).dispose();
  await assert.rejects(loadWasmKernels({ threads: 3 }), isLstmNerError(/threads must be 1 or 2/));
});

test("an idle helper thread does not keep a process alive", () => {
  const wasm = new URL("../src/engine/index.js", import.meta.url).href;
  const code = `const { loadWasmKernels } = await import(${JSON.stringify(wasm)});
    const k = await loadWasmKernels({ threads: 2 });
    console.log(k.threads);`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8", timeout: 20000, cwd: fileURLToPath(new URL(".", import.meta.url)) });
  assert.equal(r.error, undefined, "exited by itself");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "2");
});

test("quantized inference: WASM (1 and 2 threads, plain and relaxed builds) matches the int16 reference, and stays within the quantization error of fp32", async () => {
  const kernels: Kernels[] = [ref, await loadWasmKernels({ threads: 1 }), await loadWasmKernels({ threads: 2 }), await loadWasmKernels({ threads: 2, relaxedSimd: true })];
  // Narrow and odd shapes (k odd: padded pairs; 4H not a multiple of 16: edge panels), chunk boundaries, a wide first step.
  const shapes: [number, number, number[]][] = [[5, 6, [5, 5, 3, 2, 1]], [33, 20, [9, 7, 7, 2, 2, 2, 1, 1]], [3, 4, [1]],
    [7, 8, Array.from({ length: 45 }, (_, t) => Math.max(1, 20 - Math.floor(t / 3)))], [3, 12, [300, 300, 280, 7, 1]]];
  for (const [inDim, H, sizes] of shapes) {
    const what = `in ${inDim} H ${H} rows ${sizes.reduce((a, b) => a + b, 0)}`;
    const base = makeSeq(ref, 21, inDim, H, sizes);
    ref.lstmForward([base]); // fp32 h
    const results: Float32Array[] = [];
    for (const k of kernels) {
      const s = makeSeq(k, 21, inDim, H, sizes);
      const q = k.quantizeLstm(inDim, H, s.wIh, s.wHh, s.b);
      s.wIh.fill(0); // a snapshot: later changes to the f32 weights do not matter
      const seqs = [0, 1].map(() => ({ batchSizes: s.batchSizes, x: s.x, weights: q, h: k.alloc(s.h.length).fill(NaN) }));
      k.lstmInferQuantized(seqs);
      assert.deepEqual(seqs[1]!.h, seqs[0]!.h, `${what} ${k.name}: two sequences at once agree`);
      results.push(Float32Array.from(seqs[0]!.h));
      k.freeQuantizedLstm(q);
      if (k !== ref) assert.throws(() => k.lstmInferQuantized(seqs), isLstmNerError(/not quantized by these kernels, or were freed/));
    }
    const [want, ...got] = results;
    for (let i = 0; i < base.h.length; i++) {
      // Against fp32: 12-bit inputs and weights, errors carried through the steps.
      assert.ok(Math.abs(want![i]! - base.h[i]!) < 5e-3, `${what}: quantized h[${i}] = ${want![i]}, fp32 ${base.h[i]}`);
      // WASM against the int16 reference: the same integers; the cell's activations round differently,
      // which can move an h_{t−1} by one quantum in the next step.
      for (const [j, g] of got.entries()) {
        assert.ok(Math.abs(g[i]! - want![i]!) <= 1e-3, `${what} ${kernels[j + 1]!.name}: h[${i}] = ${g[i]}, reference ${want![i]}`);
      }
    }
  }
  // Weights made by one kernels object are refused by another, and bad shapes are named.
  const [r, k1] = kernels as [Kernels, Kernels];
  const s = makeSeq(r, 1, 3, 4, [2, 1]);
  const qr = r.quantizeLstm(3, 4, s.wIh, s.wHh, s.b);
  assert.throws(() => k1.lstmInferQuantized([{ batchSizes: s.batchSizes, x: s.x, weights: qr, h: s.h }]), isLstmNerError(/lstmInferQuantized: weights were not quantized by these kernels/));
  for (const k of kernels) {
    assert.throws(() => k.quantizeLstm(3, 4, s.wIh.subarray(0, 5), s.wHh, s.b), isLstmNerError(/quantizeLstm: wIh has 5 values, needs at least 48/));
    const q = k.quantizeLstm(3, 4, s.wIh, s.wHh, s.b);
    assert.throws(() => k.lstmInferQuantized([{ batchSizes: s.batchSizes, x: s.x, weights: q, h: new Float32Array(3) }]), isLstmNerError(/lstmInferQuantized: h has 3 values, needs at least 12/));
  }
  for (const k of kernels) if ("dispose" in k) await (k as WasmKernels).dispose();
});
