import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceKernels as k } from "../src/engine/reference.js";
import { Rng } from "../src/util/random.js";
import { BiLstm } from "../src/nn/bilstm.js";
import { Lstm } from "../src/nn/lstm.js";
import { randomArray } from "./nn-helpers.js";

const T = 5, B = 3, IN = 3, H = 4;
const lengths = Int32Array.from([2, 5, 3]);
const isReal = (t: number, b: number): boolean => t < lengths[b]!;

function realRows(out: Float32Array, width: number): number[][] {
  const rows: number[][] = [];
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) if (isReal(t, b)) rows.push(Array.from(out.subarray((t * B + b) * width, (t * B + b + 1) * width)));
  return rows;
}

test("BiLstm: changing the padding content does not change any real output", () => {
  const rng = new Rng(11);
  const bi = new BiLstm(k, IN, H, rng, "bi");
  const x = randomArray(rng, T * B * IN);
  const before = realRows(bi.forward(x, T, B, lengths), 2 * H);
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) if (!isReal(t, b)) x.fill(37, (t * B + b) * IN, (t * B + b + 1) * IN);
  const out = bi.forward(x, T, B, lengths);
  assert.deepEqual(realRows(out, 2 * H), before);
  for (const v of out) assert.ok(Number.isFinite(v));
});

test("BiLstm on a ragged batch equals each sentence run alone: forward half in order, backward half from its last real token", () => {
  const seed = 12;
  const bi = new BiLstm(k, IN, H, new Rng(seed), "bi");
  const x = randomArray(new Rng(99), T * B * IN);
  const out = bi.forward(x, T, B, lengths).slice();
  // The same two directions as standalone LSTMs (same seed ⇒ same weights).
  const rng = new Rng(seed);
  const fwd = new Lstm(k, IN, H, rng, "f");
  const bwd = new Lstm(k, IN, H, rng, "b");
  for (let b = 0; b < B; b++) {
    const len = lengths[b]!;
    const xs = new Float32Array(len * IN);
    const xr = new Float32Array(len * IN);
    for (let t = 0; t < len; t++) {
      xs.set(x.subarray((t * B + b) * IN, (t * B + b + 1) * IN), t * IN);
      xr.set(x.subarray((t * B + b) * IN, (t * B + b + 1) * IN), (len - 1 - t) * IN);
    }
    const hf = fwd.forward(xs, len, 1).slice();
    const hb = bwd.forward(xr, len, 1).slice();
    for (let t = 0; t < len; t++) {
      const row = out.subarray((t * B + b) * 2 * H, (t * B + b + 1) * 2 * H);
      for (let j = 0; j < H; j++) {
        assert.ok(Math.abs(row[j]! - hf[t * H + j]!) < 1e-6, `forward half, sentence ${b} step ${t}`);
        assert.ok(Math.abs(row[H + j]! - hb[(len - 1 - t) * H + j]!) < 1e-6, `backward half, sentence ${b} step ${t}`);
      }
    }
  }
});

test("Lstm/BiLstm reuse their buffers: a smaller batch after a larger one gives the same result as a fresh layer", () => {
  const big = randomArray(new Rng(1), 6 * 4 * IN);
  const small = randomArray(new Rng(2), 3 * 2 * IN);
  const smallLengths = Int32Array.from([3, 2]);
  const used = new BiLstm(k, IN, H, new Rng(5), "bi");
  used.forward(big, 6, 4, Int32Array.from([6, 6, 4, 1]));
  const fresh = new BiLstm(k, IN, H, new Rng(5), "bi");
  assert.deepEqual(used.forward(small, 3, 2, smallLengths), fresh.forward(small, 3, 2, smallLengths));
});

test("BiLstm rejects lengths outside 0..T", () => {
  const bi = new BiLstm(k, IN, H, new Rng(1), "bi");
  const x = new Float32Array(T * B * IN);
  assert.throws(() => bi.forward(x, T, B, Int32Array.from([2, 6, 3])), /lengths\[1\] = 6 is outside 0\.\.5/);
  assert.throws(() => bi.forward(x, T, B, Int32Array.from([2, 3])), /expected 3 values/);
  assert.throws(() => bi.forward(x.subarray(1), T, B, lengths), /BiLSTM input/);
});

test("BiLstm on WASM kernels with two threads equals the reference: outputs, dx and every gradient (ragged, an empty sentence, zero pads)", async () => {
  const { loadWasmKernels } = await import("../src/engine/index.js");
  const w = await loadWasmKernels({ threads: 2 });
  const T2 = 6, B2 = 5, IN2 = 7, H2 = 20;
  const lens = Int32Array.from([3, 6, 0, 5, 6]);
  const a = new BiLstm(w, IN2, H2, new Rng(3), "bi");
  const b = new BiLstm(k, IN2, H2, new Rng(3), "bi");
  const x = randomArray(new Rng(4), T2 * B2 * IN2);
  const ya = a.forward(w.alloc(x.length).fill(0).map((_, i) => x[i]!), T2, B2, lens).slice();
  const yb = b.forward(x, T2, B2, lens);
  const near = (p: Float32Array, q: Float32Array, what: string): void => {
    assert.equal(p.length, q.length);
    for (let i = 0; i < p.length; i++) assert.ok(Math.abs(p[i]! - q[i]!) <= 2e-5 * (1 + Math.abs(q[i]!)), `${what}[${i}]: ${p[i]} vs ${q[i]}`);
  };
  near(ya, yb, "output");
  for (let t = 0; t < T2; t++) for (let s = 0; s < B2; s++) {
    if (t >= lens[s]!) assert.ok(ya.subarray((t * B2 + s) * 2 * H2, (t * B2 + s + 1) * 2 * H2).every((v) => v === 0), "pads are zero");
  }
  const d = randomArray(new Rng(5), T2 * B2 * 2 * H2);
  const dxa = a.backward(d).slice();
  const dxb = b.backward(d);
  near(dxa, dxb, "dx");
  a.params().forEach((p, i) => near(p.grad, b.params()[i]!.grad, p.name));
  await w.dispose();
});

test("Lstm.forwardPacked on sentences sorted longest first equals each sentence run alone", () => {
  const lstm = new Lstm(k, IN, H, new Rng(8), "l");
  // Lengths 3, 2, 2, 1 → steps of 4, 3, 1 rows.
  const lens = [3, 2, 2, 1];
  const sizes = Int32Array.from([4, 3, 1]);
  const x = randomArray(new Rng(9), 8 * IN);
  const h = lstm.forwardPacked(x, sizes).slice();
  const offsets = [0, 4, 7];
  lens.forEach((len, i) => {
    const xs = new Float32Array(len * IN);
    for (let t = 0; t < len; t++) xs.set(x.subarray((offsets[t]! + i) * IN, (offsets[t]! + i + 1) * IN), t * IN);
    const alone = lstm.forward(xs, len, 1);
    for (let t = 0; t < len; t++) {
      for (let j = 0; j < H; j++) assert.ok(Math.abs(h[(offsets[t]! + i) * H + j]! - alone[t * H + j]!) < 1e-6, `sentence ${i} step ${t}`);
    }
  });
});
