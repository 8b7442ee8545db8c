import { test } from "node:test";
import assert from "node:assert/strict";
import type { Kernels } from "../src/engine/kernels.js";
import { referenceKernels as k } from "../src/engine/reference.js";
import { Rng } from "../src/util/random.js";
import { DocMemoryAttention, MemoryStore, type BatchMemory } from "../src/nn/memory-attention.js";
import { collateMemory, memoryAddresses } from "../src/features/memory-addresses.js";
import { padBatch } from "../src/encode/pad-batch.js";
import { assertGradClose, dot, numericGrad, randomArray, wasmKernels } from "./nn-helpers.js";

const D = 6;

/**
 * Six rows reading 0, 1 (one written slot), 4, 1 (slot 6 is never written, so it is left out),
 * 6 and 0 (its only slot unwritten) memory rows; slots 0..5 hold random values.
 */
function setup(kern: Kernels, seed: number) {
  const rng = new Rng(seed);
  const store = new MemoryStore(D);
  for (let s = 0; s < 6; s++) store.write(s, randomArray(rng, D));
  const lists = [[], [2], [0, 1, 3, 4], [5, 6], [0, 1, 2, 3, 4, 5], [6]];
  const offsets = new Int32Array(lists.length + 1);
  lists.forEach((l, r) => (offsets[r + 1] = offsets[r]! + l.length));
  const mem: BatchMemory = { slots: new Int32Array(lists.length).fill(-1), offsets, refs: Int32Array.from(lists.flat()) };
  const layer = new DocMemoryAttention(kern, D, "memory");
  // Away from the identity it starts as, so W's role in the scores is checked in general.
  layer.w.value.set(randomArray(rng, D * D, 0.8));
  const h = kern.alloc(lists.length * D);
  h.set(randomArray(rng, h.length));
  const r = randomArray(rng, lists.length * 2 * D);
  return { store, mem, layer, h, r, rows: lists.length };
}

test("DocMemoryAttention: gradients w.r.t. h and W match finite differences (rows reading 0, 1 and several memory rows, unwritten slots left out); the memory gets none", () => {
  const { store, mem, layer, h, r, rows } = setup(k, 1);
  const before = Array.from({ length: 6 }, (_, s) => store.row(s).slice());
  const y = layer.forward(h, rows, mem, store, true).slice();
  // y = [h ; g]: h passes through; g = 0 where nothing written is read (rows 0 and 5).
  for (let i = 0; i < rows; i++) assert.deepEqual(y.subarray(i * 2 * D, i * 2 * D + D), h.subarray(i * D, (i + 1) * D));
  for (const i of [0, 5]) assert.ok(y.subarray(i * 2 * D + D, (i + 1) * 2 * D).every((v) => v === 0), `row ${i} reads nothing`);
  // One readable row (rows 1 and 3): g is that row exactly, whatever the score.
  assert.deepEqual(Array.from(y.subarray(1 * 2 * D + D, 2 * 2 * D)), Array.from(store.row(2)));
  assert.deepEqual(Array.from(y.subarray(3 * 2 * D + D, 4 * 2 * D)), Array.from(store.row(5)));
  layer.w.grad.fill(0);
  const dh = layer.backward(r).slice();
  const dw = layer.w.grad.slice();
  const loss = (): number => dot(r, layer.forward(h, rows, mem, store, false));
  assertGradClose(dh, numericGrad(loss, h), "DocMemoryAttention dL/dh");
  assertGradClose(dw, numericGrad(loss, layer.w.value), "DocMemoryAttention dL/dW");
  // Rows reading nothing pass the gradient straight through.
  for (const i of [0, 5]) assert.deepEqual(Array.from(dh.subarray(i * D, (i + 1) * D)), Array.from(r.subarray(i * 2 * D, i * 2 * D + D)));
  before.forEach((v, s) => assert.deepEqual(store.row(s), v, "the memory is read only"));
  layer.dispose();
});

test("DocMemoryAttention on the WASM kernels matches the reference: output, dL/dh, dL/dW (training and tagging forwards)", async (t) => {
  const wasm = await wasmKernels();
  if (typeof wasm === "string") {
    t.skip(wasm);
    return;
  }
  const ref = setup(k, 2);
  const fast = setup(wasm, 2);
  const close = (a: Float32Array, b: Float32Array, what: string): void => {
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-5 * (1 + Math.abs(a[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  };
  close(fast.layer.forward(fast.h, fast.rows, fast.mem, fast.store, false).slice(), ref.layer.forward(ref.h, ref.rows, ref.mem, ref.store, false).slice(), "y (tagging)");
  const yr = ref.layer.forward(ref.h, ref.rows, ref.mem, ref.store, true).slice();
  close(fast.layer.forward(fast.h, fast.rows, fast.mem, fast.store, true).slice(), yr, "y");
  ref.layer.w.grad.fill(0);
  fast.layer.w.grad.fill(0);
  close(fast.layer.backward(fast.r).slice(), ref.layer.backward(ref.r).slice(), "dh");
  close(fast.layer.w.grad.slice(), ref.layer.w.grad.slice(), "dW");
  assert.ok(yr.some((v, i) => i % (2 * D) >= D && v !== 0), "some row read the memory");
  fast.layer.dispose();
});

test("memory addresses: the first `cap` other occurrences of the word in its document, never itself, never UNK/pad; slots only for occurrences someone reads", () => {
  const UNK = 9, PAD = 10;
  // Documents 0 and 1; word 1 five times in doc 0, word 2 once there and once in doc 1, word 3 twice in doc 1.
  const sents = [[1, 2, 1, UNK], [1, 3], [2, 3, 3, UNK, UNK], [1, 1, 5]];
  const docs = [0, 1, 1, 0];
  const a = memoryAddresses(sents, docs, { skip: [UNK, PAD], cap: 3 });
  const refsOf = (s: number, t: number): number[] => Array.from(a[s]!.refs.subarray(a[s]!.offsets[t]!, a[s]!.offsets[t + 1]!));
  // Word 1 in doc 0: occurrences (0,0) (0,2) (3,0) (3,1) → slots 0..3 (cap + 1 = 4 stored).
  const w1 = [a[0]!.slots[0]!, a[0]!.slots[2]!, a[3]!.slots[0]!, a[3]!.slots[1]!];
  assert.equal(new Set(w1).size, 4);
  assert.deepEqual(refsOf(0, 0), [w1[1], w1[2], w1[3]]);
  assert.deepEqual(refsOf(3, 1), [w1[0], w1[1], w1[2]], "the first cap others");
  // Word 2 occurs once per document: nothing to read, no slot.
  assert.deepEqual(refsOf(0, 1), []);
  assert.equal(a[0]!.slots[1], -1);
  assert.deepEqual(refsOf(1, 0), [], "word 1 in doc 1 occurs once: doc 0's occurrences are not read");
  // Word 3 in doc 1: three occurrences, each reads the other two.
  const w3 = [a[1]!.slots[1]!, a[2]!.slots[1]!, a[2]!.slots[2]!];
  assert.deepEqual(refsOf(2, 1), [w3[0], w3[2]]);
  // UNK never matches, though it repeats.
  assert.deepEqual(refsOf(2, 3), []);
  assert.equal(a[2]!.slots[3], -1);
  // Every slot is distinct across the call.
  const all = a.flatMap((x) => Array.from(x.slots).filter((s) => s >= 0));
  assert.equal(new Set(all).size, all.length);
  // A fifth occurrence beyond cap + 1 reads but gets no slot.
  const b = memoryAddresses([[1, 1, 1, 1, 1]], undefined, { skip: [], cap: 3 });
  assert.equal(b[0]!.slots[4], -1);
  assert.equal(b[0]!.offsets[5]! - b[0]!.offsets[4]!, 3);

  // Collated time-major, −1 and nothing to read at pads.
  const batch = padBatch([{ ids: [1, 3] }, { ids: [1, 1, 5] }], 0);
  const m = collateMemory([a[1]!, a[3]!], batch.lengths, batch.maxLen);
  assert.equal(m.slots.length, 3 * 2);
  assert.deepEqual(Array.from(m.slots), [a[1]!.slots[0], a[3]!.slots[0], a[1]!.slots[1], a[3]!.slots[1], -1, a[3]!.slots[2]]);
  assert.deepEqual(Array.from(m.refs.subarray(m.offsets[2]!, m.offsets[3]!)), refsOf(1, 1));
  assert.equal(m.offsets[5], m.offsets[4], "a pad reads nothing");
  assert.deepEqual(Array.from(m.refs.subarray(m.offsets[3]!, m.offsets[4]!)), refsOf(3, 1));
  assert.throws(() => collateMemory([a[0]!], [1], 1), /batch item 0: document memory addresses for 4 tokens, it has 1/);
});
