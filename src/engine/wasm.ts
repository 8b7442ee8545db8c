/**
 * The binding of the WebAssembly SIMD kernels: the {@link Kernels} interface
 * over the raw exports, with every argument checked (an {@link LstmNerError}
 * naming the function and field), arrays from outside the module's memory
 * copied in and out, and independent sequences dispatched to the helper
 * thread. Loading lives in wasm-load.ts (what differs between Node and
 * browsers in platform-node.ts and platform-web.ts), the helper-thread calls'
 * named arguments in wasm-ops.ts, the kernel lab's hooks in wasm-lab.ts.
 */
import type { Kernels, LstmInferSequence, LstmQuantSequence, LstmSequence, LstmSequenceGrad, QuantizedLstm } from "./kernels.js";
import { WasmAllocator } from "./allocator.js";
import { checkInferSequence, checkSequence, checkSequenceGrad, type SeqShape } from "./lstmseq.js";
import type { KernelPlatform } from "./platform.js";
import { Helper } from "./threads.js";
import type { WasmMemory, WasmModule } from "./wasm-types.js";
import { instantiateKernels, type RawExports } from "./wasm-load.js";
import { checkWeights } from "./quantized.js";
import { LSTM_BACKWARD, LSTM_FORWARD, LSTM_INFER, LSTM_INFER_Q, callOp, positional, type OpArgs, type OpDesc } from "./wasm-ops.js";
import { LstmNerError } from "../util/errors.js";

export { sharedMemoryAvailable, simdAvailable } from "./wasm-load.js";

/** The WebAssembly SIMD kernels, with the memory their buffers live in. */
export interface WasmKernels extends Kernels {
  /** The module's memory; `alloc` views point into it. */
  readonly memory: WasmMemory;
  /** True for the shared-memory (threads) build, false for the single-threaded fallback. */
  readonly shared: boolean;
  /** Threads the kernels use: 2 with a helper worker over the shared memory, else 1. */
  readonly threads: number;
  /** True when running the relaxed-SIMD build (fused multiply-add in the GEMMs). */
  readonly relaxedSimd: boolean;
  /** Stops the helper thread (if any). The kernels keep working, single-threaded. Idempotent. */
  dispose(): Promise<void>;
}

/** Options of {@link loadWasmKernels}. */
export interface LoadWasmOptions {
  /**
   * The compiled module: bytes, or a URL / path to fetch or read. Default: the
   * package's `build/kernels.wasm` (shared) or `build/kernels-st.wasm` (single-threaded).
   */
  wasm?: ArrayBufferView | ArrayBuffer | URL | string;
  /**
   * Use a shared `WebAssembly.Memory` (needs `SharedArrayBuffer`; in browsers,
   * cross-origin isolation). Default: whenever available. Without it the
   * single-threaded build runs on a fixed-size memory that cannot grow.
   */
  shared?: boolean;
  /**
   * Initial memory in MiB. Default 16 for shared memory (it grows on demand),
   * 256 for the non-shared fallback (its whole budget: it can never grow).
   */
  initialMiB?: number;
  /**
   * Threads (1 or 2): with 2, independent work in one call (the two
   * directions of a BiLSTM) runs on a helper worker thread over the shared
   * memory. Needs shared memory and a thread that may block: Node (a
   * worker_threads helper), or a browser's Web Worker in a cross-origin-isolated
   * page (a Web Worker helper, see {@link helperUrl}); otherwise 1 is used.
   * A helper that cannot start (e.g. its script is missing) is an error. Default 1.
   */
  threads?: number;
  /**
   * Browsers: the URL of the helper thread's script (build/browser/kernels-helper.js).
   * Default: `kernels-helper.js` next to the bundle that loads the kernels. Unused in Node.
   */
  helperUrl?: URL | string;
  /**
   * Use the relaxed-SIMD build (GEMMs with fused multiply-add: about twice
   * the arithmetic per instruction) where the runtime has relaxed SIMD — on by
   * default in browsers that ship it; in Node 20 it is switched on at load
   * (the --experimental-wasm-relaxed-simd flag). Falls back to the plain
   * build silently ({@link WasmKernels.relaxedSimd} tells which runs).
   * Results differ from the plain build in the last bits (one rounding per
   * multiply-add instead of two), so the same seed no longer reproduces a
   * plain-build training run exactly. Ignored with an explicit `wasm`. Default false.
   */
  relaxedSimd?: boolean;
}

type Buf = Float32Array | Int32Array;

/** A raw GEMM export as the binding calls it (booleans as 0/1, pointers as byte offsets). */
export type RawGemm = (ta: number, tb: number, m: number, n: number, k: number, a: number, b: number, c: number, beta: number, scratch: number) => void;

/** What the kernel lab needs beyond the Kernels interface: the raw exports and the checked call wrapper. */
export interface LabHooks {
  exports: RawExports;
  wrapGemm: (f: RawGemm) => Kernels["gemm"];
}

type StartHelper = (module: WasmModule, platform: KernelPlatform, helperUrl?: URL | string) => Promise<void>;
const internals = new WeakMap<WasmKernels, LabHooks & { startHelper: StartHelper }>();

/** The lab hooks of a kernels object from {@link loadWasmKernels} (for wasm-lab.ts). */
export function labHooks(kernels: WasmKernels): LabHooks {
  const r = internals.get(kernels);
  if (r === undefined) throw new LstmNerError("not a kernels object from loadWasmKernels");
  return r;
}

/**
 * Loads the WebAssembly SIMD kernels on a runtime's {@link KernelPlatform}:
 * the .wasm is `opts.wasm` or the platform's packaged file (in Node the
 * package's `build/` folder, in a browser beside the bundle). A missing or
 * corrupt file is an {@link LstmNerError} naming it.
 */
export async function linkWasmKernels(platform: KernelPlatform, opts: LoadWasmOptions = {}): Promise<WasmKernels> {
  const threads = opts.threads ?? 1;
  if (threads !== 1 && threads !== 2) throw new LstmNerError(`loadWasmKernels: threads must be 1 or 2, got ${threads}`);
  const { module, memory, exports, shared, relaxedSimd } = await instantiateKernels(platform, opts);
  const kernels = makeKernels(exports, memory, shared, relaxedSimd);
  if (threads === 2 && shared) await internals.get(kernels)!.startHelper(module, platform, opts.helperUrl);
  return kernels;
}

function makeKernels(e: RawExports, memory: WasmMemory, shared: boolean, relaxedSimd: boolean): WasmKernels {
  const heap = new WasmAllocator(memory, e.heapBase(), shared);
  const scratch = heap.allocBytes(e.gemmScratchBytes());
  const countOut = heap.allocBytes(16);
  /** Arrays not from this memory, copied in for one call. */
  let temps: { off: number; src: Buf; n: number; out: boolean }[] = [];

  function ptr(arr: Buf, need: number, what: string, out: boolean): number {
    if (!(arr instanceof Float32Array || arr instanceof Int32Array)) {
      throw new LstmNerError(`${what} must be a Float32Array or Int32Array`);
    }
    if (arr.length < need) throw new LstmNerError(`${what} has ${arr.length} elements, needs at least ${need}`);
    if (heap.owns(arr)) return arr.byteOffset;
    // Foreign array: run on a copy in WASM memory (slow but correct).
    const off = heap.allocBytes(need * 4);
    const view = arr instanceof Float32Array ? new Float32Array(memory.buffer, off, need) : new Int32Array(memory.buffer, off, need);
    view.set(arr.subarray(0, need));
    temps.push({ off, src: arr, n: need, out });
    return off;
  }

  function finish(): void {
    if (temps.length === 0) return;
    const done = temps;
    temps = [];
    for (const t of done) {
      if (t.out) {
        const view = t.src instanceof Float32Array ? new Float32Array(memory.buffer, t.off, t.n) : new Int32Array(memory.buffer, t.off, t.n);
        t.src.set(view);
      }
      heap.freeBytes(t.off);
    }
  }

  /** Runs `body`, always releasing copies (and copying outputs back only on success). */
  function call<T>(body: () => T): T {
    try {
      const r = body();
      finish();
      return r;
    } catch (err) {
      for (const t of temps) heap.freeBytes(t.off);
      temps = [];
      throw err;
    }
  }

  const gemmWith = (f: RawGemm): Kernels["gemm"] => (transA, transB, m, n, k, a, b, c, beta) => call(() => {
    dim("gemm", "m", m); dim("gemm", "n", n); dim("gemm", "k", k); betaOk("gemm", beta);
    const pa = ptr(a, m * k, "gemm: a", false);
    const pb = ptr(b, k * n, "gemm: b", false);
    const pc = ptr(c, m * n, "gemm: c", true);
    f(transA ? 1 : 0, transB ? 1 : 0, m, n, k, pa, pb, pc, beta, scratch);
  });

  /** Per-thread LSTM workspace (GEMM scratch, packed W_hh, the inference chunk), grown to the largest request. */
  const work = [{ off: 0, bytes: 0 }, { off: 0, bytes: 0 }];
  function workspace(thread: 0 | 1, need: number): number {
    const w = work[thread]!;
    if (w.bytes < need) {
      if (w.bytes > 0) heap.freeBytes(w.off);
      w.off = heap.allocBytes(need);
      w.bytes = need;
    }
    return w.off;
  }
  let helper: Helper | null = null;
  const inferOwned = (s: LstmInferSequence): boolean => [s.batchSizes, s.x, s.wIh, s.wHh, s.b, s.h].every((a) => heap.owns(a));
  const owned = (s: LstmSequence | LstmSequenceGrad): boolean =>
    inferOwned(s) && [s.gates, s.c, s.hPrev].every((a) => heap.owns(a)) &&
    (!("dh" in s) || [s.dh, s.dc, s.dGates, s.gWih, s.gWhh, s.gB, ...(s.dx === null ? [] : [s.dx])].every((a) => heap.owns(a)));

  /**
   * Checks a sequence with `check` and returns its shape with the arguments
   * every LSTM sequence kernel takes first: sizes, the packed input and the
   * two weight matrices.
   */
  function sequenceArgs<S extends LstmInferSequence>(s: S, fn: string, check: (s: S, fn: string) => SeqShape) {
    const { steps, n, b0 } = check(s, fn);
    const H = s.hidden, G = 4 * H;
    const p = (a: Buf, len: number, field: string, out: boolean): number => ptr(a, len, `${fn}: ${field}`, out);
    const args = {
      inDim: s.inDim, hidden: H, steps, batchSizes: p(s.batchSizes, steps, "batchSizes", false),
      x: p(s.x, n * s.inDim, "x", false), wIh: p(s.wIh, s.inDim * G, "wIh", false), wHh: p(s.wHh, H * G, "wHh", false),
    };
    return { n, b0, H, G, p, args };
  }

  function forwardArgs(s: LstmSequence, thread: 0 | 1): OpArgs<typeof LSTM_FORWARD> {
    const { n, b0, H, G, p, args } = sequenceArgs(s, "lstmForward", checkSequence);
    return {
      ...args, b: p(s.b, G, "b", false), gates: p(s.gates, n * G, "gates", true), c: p(s.c, (b0 + n) * H, "c", true),
      h: p(s.h, n * H, "h", true), hPrev: p(s.hPrev, n * H, "hPrev", true), work: workspace(thread, e.lstmWorkspaceBytes(H)),
    };
  }

  function backwardArgs(s: LstmSequenceGrad, thread: 0 | 1): OpArgs<typeof LSTM_BACKWARD> {
    const { n, b0, H, G, p, args } = sequenceArgs(s, "lstmBackward", checkSequenceGrad);
    return {
      ...args, gates: p(s.gates, n * G, "gates", false), c: p(s.c, (b0 + n) * H, "c", false), hPrev: p(s.hPrev, n * H, "hPrev", false),
      dh: p(s.dh, n * H, "dh", true), dc: p(s.dc, b0 * H, "dc", true), dGates: p(s.dGates, n * G, "dGates", true),
      dx: s.dx === null ? 0 : p(s.dx, n * s.inDim, "dx", true),
      gWih: p(s.gWih, s.inDim * G, "gWih", true), gWhh: p(s.gWhh, H * G, "gWhh", true), gB: p(s.gB, G, "gB", true),
      work: workspace(thread, e.lstmWorkspaceBytes(H)),
    };
  }

  function inferArgs(s: LstmInferSequence, thread: 0 | 1): OpArgs<typeof LSTM_INFER> {
    const { n, b0, H, G, p, args } = sequenceArgs(s, "lstmInfer", checkInferSequence);
    return { ...args, b: p(s.b, G, "b", false), h: p(s.h, n * H, "h", true), work: workspace(thread, e.lstmInferWorkspaceBytes(H, b0)) };
  }

  /** Byte offsets of each live quantized LSTM made here (its packed weights, scales and bias copy). */
  const quantized = new WeakMap<QuantizedLstm, { wIhQ: number; sIh: number; wHhQ: number; sHh: number; b: number }>();
  const quantizeLstm = (inDim: number, hidden: number, wIh: Float32Array, wHh: Float32Array, b: Float32Array): QuantizedLstm => call(() => {
    checkWeights("quantizeLstm", inDim, hidden, wIh, wHh, b);
    const G = 4 * hidden, scaleBytes = (Math.ceil(G / 16) * 16) * 4;
    const blocks = {
      wIhQ: heap.allocBytes(e.qPackedBytes(inDim, G)), sIh: heap.allocBytes(scaleBytes),
      wHhQ: heap.allocBytes(e.qPackedBytes(hidden, G)), sHh: heap.allocBytes(scaleBytes), b: heap.allocBytes(G * 4),
    };
    e.packQ(inDim, G, ptr(wIh, inDim * G, "quantizeLstm: wIh", false), blocks.wIhQ, blocks.sIh);
    e.packQ(hidden, G, ptr(wHh, hidden * G, "quantizeLstm: wHh", false), blocks.wHhQ, blocks.sHh);
    new Float32Array(memory.buffer, blocks.b, G).set(b.subarray(0, G));
    const q: QuantizedLstm = { kernels: relaxedSimd ? "wasm-simd-relaxed" : "wasm-simd", inDim, hidden };
    quantized.set(q, blocks);
    return q;
  });
  const quantBlocks = (q: QuantizedLstm, fn: string): { wIhQ: number; sIh: number; wHhQ: number; sHh: number; b: number } => {
    const blocks = quantized.get(q);
    if (blocks === undefined) throw new LstmNerError(`${fn}: weights were not quantized by these kernels, or were freed`);
    return blocks;
  };

  function inferQArgs(s: LstmQuantSequence, thread: 0 | 1): OpArgs<typeof LSTM_INFER_Q> {
    const fn = "lstmInferQuantized";
    const q = quantBlocks(s.weights, fn);
    const { inDim, hidden: H } = s.weights;
    const { steps, n, b0 } = checkInferSequence({ ...s, inDim, hidden: H, wIh: s.x, wHh: s.x, b: s.x }, fn, false);
    return {
      inDim, hidden: H, steps, batchSizes: ptr(s.batchSizes, steps, `${fn}: batchSizes`, false),
      x: ptr(s.x, n * inDim, `${fn}: x`, false), wIhQ: q.wIhQ, sIh: q.sIh, wHhQ: q.wHhQ, sHh: q.sHh, b: q.b,
      h: ptr(s.h, n * H, `${fn}: h`, true), work: workspace(thread, e.lstmInferQWorkspaceBytes(inDim, H, b0)),
    };
  }
  const quantOwned = (s: LstmQuantSequence): boolean => [s.batchSizes, s.x, s.h].every((a) => heap.owns(a));

  /**
   * Runs op `d` on each sequence, two at a time on two threads when a helper runs and every buffer is in this memory.
   */
  function runSequences<S, D extends OpDesc>(seqs: readonly S[], d: D, ownedBy: (s: S) => boolean,
    args: (s: S, thread: 0 | 1) => OpArgs<D>): void {
    let i = 0;
    if (helper !== null && seqs.length >= 2 && seqs.every(ownedBy)) {
      for (; i + 1 < seqs.length; i += 2) {
        const mine = args(seqs[i]!, 0);
        const theirs = args(seqs[i + 1]!, 1);
        helper.run(d.op, positional(d, theirs), () => callOp(e, d, mine));
      }
    }
    for (; i < seqs.length; i++) call(() => callOp(e, d, args(seqs[i]!, 0)));
  }

  const kernels: WasmKernels = {
    name: relaxedSimd ? "wasm-simd-relaxed" : "wasm-simd",
    memory,
    shared,
    relaxedSimd,
    get threads() { return helper === null ? 1 : 2; },
    dispose: async () => {
      const h = helper;
      helper = null;
      if (h !== null) await h.stop();
    },
    lstmForward: (seqs) => runSequences(seqs, LSTM_FORWARD, owned, forwardArgs),
    lstmBackward: (seqs) => runSequences(seqs, LSTM_BACKWARD, owned, backwardArgs),
    lstmInfer: (seqs) => runSequences(seqs, LSTM_INFER, inferOwned, inferArgs),
    quantizeLstm,
    freeQuantizedLstm: (q) => {
      const blocks = quantBlocks(q, "freeQuantizedLstm");
      quantized.delete(q);
      for (const off of Object.values(blocks)) heap.freeBytes(off);
    },
    lstmInferQuantized: (seqs) => runSequences(seqs, LSTM_INFER_Q, quantOwned, inferQArgs),
    alloc: (n) => heap.float32(n),
    allocInt32: (n) => heap.int32(n),
    free: (buf) => heap.free(buf),
    gemm: gemmWith(e.gemm),
    addBias: (rows, cols, x, bias) => call(() => {
      dim("addBias", "rows", rows); dim("addBias", "cols", cols);
      const px = ptr(x, rows * cols, "addBias: x", true);
      const pb = ptr(bias, cols, "addBias: bias", false);
      e.addBias(rows, cols, px, pb);
    }),
    sumRows: (rows, cols, x, out, beta) => call(() => {
      dim("sumRows", "rows", rows); dim("sumRows", "cols", cols); betaOk("sumRows", beta);
      const px = ptr(x, rows * cols, "sumRows: x", false);
      const po = ptr(out, cols, "sumRows: out", true);
      e.sumRows(rows, cols, px, po, beta);
    }),
    lstmCellForward: (batch, hidden, gates, cPrev, c, h, hStride) => call(() => {
      dim("lstmCellForward", "batch", batch); dim("lstmCellForward", "hidden", hidden);
      stride("lstmCellForward", "hStride", hStride, hidden);
      const pg = ptr(gates, batch * 4 * hidden, "lstmCellForward: gates", true);
      const pp = ptr(cPrev, batch * hidden, "lstmCellForward: cPrev", false);
      const pc = ptr(c, batch * hidden, "lstmCellForward: c", true);
      const ph = ptr(h, batch === 0 ? 0 : (batch - 1) * hStride + hidden, "lstmCellForward: h", true);
      e.lstmCellForward(batch, hidden, pg, pp, pc, ph, hStride);
    }),
    lstmCellBackward: (batch, hidden, gates, cPrev, c, dh, dhStride, dc, dGates) => call(() => {
      dim("lstmCellBackward", "batch", batch); dim("lstmCellBackward", "hidden", hidden);
      stride("lstmCellBackward", "dhStride", dhStride, hidden);
      const bh = batch * hidden;
      const pg = ptr(gates, 4 * bh, "lstmCellBackward: gates", false);
      const pp = ptr(cPrev, bh, "lstmCellBackward: cPrev", false);
      const pc = ptr(c, bh, "lstmCellBackward: c", false);
      const pdh = ptr(dh, batch === 0 ? 0 : (batch - 1) * dhStride + hidden, "lstmCellBackward: dh", false);
      const pdc = ptr(dc, bh, "lstmCellBackward: dc", true);
      const pdg = ptr(dGates, 4 * bh, "lstmCellBackward: dGates", true);
      e.lstmCellBackward(batch, hidden, pg, pp, pc, pdh, dhStride, pdc, pdg);
    }),
    logSoftmaxNll: (rows, cols, logits, labels, logp, dlogits) => call(() => {
      dim("logSoftmaxNll", "rows", rows); dim("logSoftmaxNll", "cols", cols);
      if (labels.length < rows) throw new LstmNerError(`logSoftmaxNll: labels has ${labels.length} elements, needs at least ${rows}`);
      for (let r = 0; r < rows; r++) {
        if (labels[r]! >= cols) throw new LstmNerError(`logSoftmaxNll: labels[${r}] = ${labels[r]} is not a class id in 0..${cols - 1} (or negative to ignore)`);
      }
      const pz = ptr(logits, rows * cols, "logSoftmaxNll: logits", false);
      const pl = ptr(labels, rows, "logSoftmaxNll: labels", false);
      const pp = ptr(logp, rows * cols, "logSoftmaxNll: logp", true);
      const pd = dlogits === null ? 0 : ptr(dlogits, rows * cols, "logSoftmaxNll: dlogits", true);
      const loss = e.logSoftmaxNll(rows, cols, pz, pl, pp, pd, countOut);
      return { loss, count: new Int32Array(memory.buffer, countOut, 1)[0]! };
    }),
    adam: (n, param, grad, m, v, lrT, beta1, beta2, epsT) => call(() => {
      dim("adam", "n", n);
      const pp = ptr(param, n, "adam: param", true);
      const pg = ptr(grad, n, "adam: grad", false);
      const pm = ptr(m, n, "adam: m", true);
      const pv = ptr(v, n, "adam: v", true);
      e.adam(n, pp, pg, pm, pv, lrT, beta1, beta2, epsT);
    }),
  };
  const startHelper: StartHelper = async (module, platform, helperUrl) => {
    if (helper !== null) return;
    const spawn = platform.spawner(helperUrl);
    if (spawn === null) return; // no threads here (or this thread may not block): stay single-threaded
    const ctl = heap.allocBytes(Helper.CONTROL_BYTES);
    try {
      helper = await Helper.start(spawn, module, memory, ctl);
    } catch (e) {
      heap.freeBytes(ctl);
      throw new LstmNerError(`${(e as Error).message}; ${platform.fixHint}`, { cause: e });
    }
  };
  internals.set(kernels, { exports: e, wrapGemm: gemmWith, startHelper });
  return kernels;
}

function dim(fn: string, field: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new LstmNerError(`${fn}: ${field} must be a non-negative integer, got ${v}`);
}

function stride(fn: string, field: string, v: number, hidden: number): void {
  if (!Number.isInteger(v) || v < hidden || v > 0x7fffffff) throw new LstmNerError(`${fn}: ${field} must be an integer ≥ hidden (${hidden}), got ${v}`);
}

function betaOk(fn: string, beta: number): void {
  if (beta !== 0 && beta !== 1) throw new LstmNerError(`${fn}: beta must be 0 or 1, got ${beta}`);
}

