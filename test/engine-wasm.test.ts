import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { Rng } from "../src/util/random.js";
import { referenceKernels as ref } from "../src/engine/reference.js";
import { loadWasmKernels } from "../src/engine/index.js";
import { getKernels } from "../src/engine/index.js";
import { sizeClass } from "../src/engine/allocator.js";
import { LstmNerError } from "../src/util/errors.js";

const isLstmNerError = (re: RegExp) => (e: unknown): boolean => e instanceof LstmNerError && re.test(e.message);

function gemmAgrees(got: Float32Array, want: Float32Array): void {
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * (1 + Math.abs(want[i]!)), `c[${i}]: ${got[i]} vs ${want[i]}`);
}

test("size classes cover the request with little slack and 16-byte granularity", () => {
  for (const bytes of [0, 1, 16, 17, 255, 256, 257, 1000, 4096, 4097, 123457, 5e6]) {
    const c = sizeClass(bytes);
    assert.ok(c >= bytes && c % 16 === 0, `${bytes} → ${c}`);
    assert.ok(c <= Math.max(16, bytes * 1.25 + 16), `${bytes} → ${c} wastes too much`);
  }
  assert.equal(sizeClass(4000), sizeClass(4090)); // nearby sizes share a free list
});

test("alloc is 16-byte aligned and zero-filled; free then alloc reuses the block, zeroed", async () => {
  const k = await loadWasmKernels({ initialMiB: 2 });
  const a = k.alloc(100);
  assert.equal(a.byteOffset % 16, 0);
  assert.ok(a.every((x) => x === 0));
  a.fill(3.5);
  const off = a.byteOffset;
  k.free(a);
  const b = k.alloc(97); // same size class
  assert.equal(b.byteOffset, off);
  assert.ok(b.every((x) => x === 0));
  const ints = k.allocInt32(5);
  assert.ok(ints instanceof Int32Array && ints.buffer === b.buffer && ints.byteOffset % 16 === 0);
  assert.throws(() => k.free(new Float32Array(4)), isLstmNerError(/not allocated/));
  k.free(ints);
  assert.throws(() => k.free(ints), isLstmNerError(/already freed/));
});

test("views stay valid (and are used without copying) after memory growth", async () => {
  const k = await loadWasmKernels({ initialMiB: 2 });
  assert.ok(k.shared);
  const a = k.alloc(6).fill(1); // 2×3 of ones
  const b = k.alloc(12);
  for (let i = 0; i < 12; i++) b[i] = i; // 3×4
  const before = k.memory.buffer.byteLength;
  const big = k.alloc(4 << 20); // 16 MiB: forces memory.grow
  assert.ok(k.memory.buffer.byteLength > before, "memory grew");
  assert.equal(a.length, 6);
  assert.deepEqual([...a], [1, 1, 1, 1, 1, 1]);
  const c = k.alloc(8); // a view on the grown buffer
  k.gemm(false, false, 2, 4, 3, a, b, c, 0); // old views (pre-growth buffer) as inputs
  assert.deepEqual([...c], [12, 15, 18, 21, 12, 15, 18, 21]);
  k.gemm(false, false, 2, 4, 3, a, b, big, 0); // and an output beyond the old end
  assert.deepEqual([...big.subarray(0, 8)], [12, 15, 18, 21, 12, 15, 18, 21]);
  // The old view aliases the same memory: kernels see writes through it.
  a.fill(2);
  k.gemm(false, false, 2, 4, 3, a, b, c, 0);
  assert.equal(c[0], 24);
});

test("arrays not from WASM memory work through copies, outputs copied back", async () => {
  const k = await getKernels("wasm");
  const rng = new Rng(11);
  const m = 7, n = 19, kk = 5;
  const a = rng.fillUniform(new Float32Array(m * kk), -1, 1);
  const b = rng.fillUniform(new Float32Array(kk * n), -1, 1);
  const c = rng.fillUniform(new Float32Array(m * n), -1, 1);
  const a0 = a.slice(), b0 = b.slice(), c0 = c.slice();
  k.gemm(true, false, m, n, kk, a, b, c, 1); // a read as k×m
  ref.gemm(true, false, m, n, kk, a0, b0, c0, 1);
  gemmAgrees(c, c0);
  assert.deepEqual(a, a0, "inputs untouched");
  // A foreign subarray view: only its own range is read and written.
  const host = new Float32Array(20).fill(9);
  const x = host.subarray(4, 10);
  x.fill(1);
  k.addBias(2, 3, x, Float32Array.from([1, 2, 3]));
  assert.deepEqual([...host], [9, 9, 9, 9, 2, 3, 4, 2, 3, 4, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]);
  // Int32 labels from outside too.
  const r = k.logSoftmaxNll(2, 2, Float32Array.from([0, 0, 0, 0]), Int32Array.from([1, -1]), new Float32Array(4), null);
  assert.equal(r.count, 1);
  assert.ok(Math.abs(r.loss - Math.LN2) < 1e-6);
});

test("single-threaded fallback: non-shared fixed memory, same results, clear error instead of growing", async () => {
  const k = await loadWasmKernels({ shared: false, initialMiB: 4 });
  assert.equal(k.shared, false);
  assert.ok(k.memory.buffer instanceof ArrayBuffer && !(k.memory.buffer instanceof SharedArrayBuffer));
  const rng = new Rng(12);
  const m = 9, n = 33, kk = 17;
  const a = k.alloc(m * kk), b = k.alloc(kk * n), c = k.alloc(m * n);
  rng.fillUniform(a, -1, 1); rng.fillUniform(b, -1, 1);
  const c0 = new Float32Array(m * n);
  k.gemm(false, true, m, n, kk, a, b, c, 0);
  ref.gemm(false, true, m, n, kk, a.slice(), b.slice(), c0, 0);
  gemmAgrees(c, c0);
  const buf = k.memory.buffer;
  assert.throws(() => k.alloc(2 << 20), isLstmNerError(/cannot grow.*initialMiB/s));
  assert.equal(k.memory.buffer, buf, "memory was not grown (views not detached)");
  assert.equal(c.length, m * n);
});

test("a missing or corrupt .wasm is an LstmNerError naming it and telling to reinstall (or build)", async () => {
  await assert.rejects(loadWasmKernels({ wasm: "/nonexistent/kernels.wasm" }), isLstmNerError(/^\/nonexistent\/kernels\.wasm: cannot read .*reinstall lstm-ner.*npm run build:wasm/s));
  await assert.rejects(loadWasmKernels({ wasm: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 99]) }), isLstmNerError(/not a valid WebAssembly.*npm run build:wasm/s));
  await assert.rejects(loadWasmKernels({ wasm: new Uint8Array([1, 2, 3]) }), isLstmNerError(/npm run build:wasm/));
});

test("loads from bytes and URLs; a build/memory mismatch is explained", async () => {
  const url = new URL("../../../build/kernels-st.wasm", new URL("../src/engine/wasm.js", import.meta.url));
  const bytes = await readFile(url);
  const k = await loadWasmKernels({ wasm: bytes, shared: false, initialMiB: 2 });
  assert.equal(k.name, "wasm-simd");
  await assert.rejects(loadWasmKernels({ wasm: url, shared: true, initialMiB: 2 }), isLstmNerError(/shared build/));
});

test("getKernels: reference, wasm, and auto picks wasm when it loads", async () => {
  assert.equal(await getKernels("reference"), ref);
  const w = await getKernels("wasm");
  assert.equal(w.name, "wasm-simd");
  assert.equal(await getKernels("auto"), w);
  assert.equal(await getKernels("wasm"), w, "loaded once");
});

test("each helper-thread op names as many arguments as its export takes, and the opcodes are distinct", async () => {
  const { HELPER_OPS } = await import("../src/engine/wasm-ops.js");
  const { instantiateKernels } = await import("../src/engine/wasm-load.js");
  const { nodePlatform } = await import("../src/engine/platform-node.js");
  const { exports } = await instantiateKernels(nodePlatform, {});
  const raw = exports as unknown as Record<string, (...a: number[]) => unknown>;
  for (const d of HELPER_OPS) {
    assert.equal(typeof raw[d.fn], "function", d.fn);
    assert.equal(raw[d.fn]!.length, d.fields.length, `${d.fn}: ${d.fields.join(", ")}`);
    assert.equal(new Set(d.fields).size, d.fields.length, `${d.fn}: field names are unique`);
  }
  assert.equal(new Set(HELPER_OPS.map((d) => d.op)).size, HELPER_OPS.length);
});
