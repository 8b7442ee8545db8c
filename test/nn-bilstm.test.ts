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
