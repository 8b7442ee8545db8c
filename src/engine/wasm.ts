import type { Kernels, LstmSequence, LstmSequenceGrad } from "./kernels.js";
import { WasmAllocator } from "./allocator.js";
import { checkSequence, checkSequenceGrad } from "./lstmseq.js";
import { Helper, OP_BACKWARD, OP_FORWARD } from "./threads.js";
import { LstmNerError } from "../util/errors.js";

/** The WebAssembly SIMD kernels, with the memory their buffers live in. */
export interface WasmKernels extends Kernels {
  /** The module's memory; `alloc` views point into it. */
  readonly memory: WebAssembly.Memory;
  /** True for the shared-memory (threads) build, false for the single-threaded fallback. */
  readonly shared: boolean;
  /** Threads the kernels use: 2 with a helper worker over the shared memory, else 1. */
  readonly threads: number;
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
   * memory. Needs shared memory, Node's worker_threads and a main thread that
   * may block (Node); otherwise 1 is used. Default 1.
   */
  threads?: number;
}

/** The raw exports of assembly/kernels.ts. Booleans are i32; pointers are byte offsets. */
interface Exports {
  heapBase(): number;
  gemmScratchBytes(): number;
  gemm(ta: number, tb: number, m: number, n: number, k: number, a: number, b: number, c: number, beta: number, scratch: number): void;
  gemmBlocked(kid: number, ta: number, tb: number, m: number, n: number, k: number, a: number, b: number, c: number, beta: number, scratch: number): void;
  gemmNaive(ta: number, tb: number, m: number, n: number, k: number, a: number, b: number, c: number, beta: number): void;
  gemmSimple(ta: number, tb: number, m: number, n: number, k: number, a: number, b: number, c: number, beta: number): void;
  microMR(kid: number): number;
  microNR(kid: number): number;
  microUnroll(kid: number): number;
  MICRO_COUNT: WebAssembly.Global;
  addBias(rows: number, cols: number, x: number, bias: number): void;
  sumRows(rows: number, cols: number, x: number, out: number, beta: number): void;
  lstmCellForward(batch: number, hidden: number, gates: number, cPrev: number, c: number, h: number, hStride: number): void;
  lstmCellBackward(batch: number, hidden: number, gates: number, cPrev: number, c: number, dh: number, dhStride: number, dc: number, dGates: number): void;
  logSoftmaxNll(rows: number, cols: number, logits: number, labels: number, logp: number, dlogits: number, countOut: number): number;
  adam(n: number, param: number, grad: number, m: number, v: number, lrT: number, beta1: number, beta2: number, epsT: number): void;
  lstmWorkspaceBytes(hidden: number): number;
  lstmSeqForward(inDim: number, hidden: number, steps: number, bs: number, x: number, wIh: number, wHh: number, b: number,
    gates: number, c: number, h: number, hPrev: number, work: number): void;
  lstmSeqBackward(inDim: number, hidden: number, steps: number, bs: number, x: number, wIh: number, wHh: number,
    gates: number, c: number, hPrev: number, dh: number, dc: number, dGates: number, dx: number,
    gWih: number, gWhh: number, gB: number, work: number): void;
}

const PAGE = 65536;
const MAX_PAGES = 65536;
const BUILD_HINT = "run `npm run build` (or `npm run build:wasm`) to compile the WebAssembly kernels";

type Buf = Float32Array | Int32Array;

/** A GEMM implementation as the kernel lab sees it (same signature as {@link Kernels.gemm}). */
export interface GemmVariant {
  readonly name: string;
  run: Kernels["gemm"];
}

type RawGemm = (ta: number, tb: number, m: number, n: number, k: number, a: number, b: number, c: number, beta: number, scratch: number) => void;

/** What the lab needs beyond the Kernels interface: the raw exports and the checked call wrapper. */
const internals = new WeakMap<WasmKernels, {
  exports: Exports;
  wrapGemm: (f: RawGemm) => Kernels["gemm"];
  startHelper: (module: WebAssembly.Module) => Promise<void>;
}>();

/**
 * Loads the WebAssembly SIMD kernels. In Node the .wasm is read from the
 * package's `build/` folder; in a browser it is fetched from the same place
 * relative to this module. A missing or corrupt file is an {@link LstmNerError}.
 */
export async function loadWasmKernels(opts: LoadWasmOptions = {}): Promise<WasmKernels> {
  const wantShared = opts.shared ?? sharedMemoryAvailable();
  const initialMiB = opts.initialMiB ?? (wantShared ? 16 : 256);
  if (!(initialMiB > 0 && initialMiB <= 4095)) {
    throw new LstmNerError(`loadWasmKernels: initialMiB must be in (0, 4095], got ${initialMiB}`);
  }
  const source = opts.wasm ?? new URL(wantShared ? "../../../build/kernels.wasm" : "../../../build/kernels-st.wasm", import.meta.url);
  const where = describe(source);
  const bytes = await readWasm(source, where);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as BufferSource);
  } catch (e) {
    throw new LstmNerError(`not a valid WebAssembly kernels module (${(e as Error).message}); ${BUILD_HINT}`, { file: where, cause: e });
  }
  const pages = Math.ceil((initialMiB * 1048576) / PAGE);
  let memory: WebAssembly.Memory;
  try {
    memory = wantShared
      ? new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true })
      : new WebAssembly.Memory({ initial: pages, maximum: pages });
  } catch (e) {
    throw new LstmNerError(`cannot create ${initialMiB} MiB of ${wantShared ? "shared " : ""}WebAssembly memory`, { cause: e });
  }
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, { env: { memory } });
  } catch (e) {
    throw new LstmNerError(
      `cannot link the WebAssembly kernels with a ${wantShared ? "shared" : "non-shared"} memory (${(e as Error).message}); ` +
      `build/kernels.wasm is the shared build, build/kernels-st.wasm the single-threaded one; ${BUILD_HINT}`,
      { file: where, cause: e },
    );
  }
  const exports = instance.exports as unknown as Exports;
  if (typeof exports.gemm !== "function" || typeof exports.heapBase !== "function") {
    throw new LstmNerError(`the module does not export the lstm-ner kernels; ${BUILD_HINT}`, { file: where });
  }
  const threads = opts.threads ?? 1;
  if (threads !== 1 && threads !== 2) throw new LstmNerError(`loadWasmKernels: threads must be 1 or 2, got ${threads}`);
  const kernels = makeKernels(exports, memory, wantShared);
  if (threads === 2 && wantShared) await internals.get(kernels)!.startHelper(module);
  return kernels;
}

/** Node's worker_threads when running in Node (a dynamic import: the browser bundle never loads it). */
async function nodeWorkerThreads(): Promise<typeof import("node:worker_threads") | null> {
  const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";
  if (!isNode) return null;
  try {
    return await import("node:worker_threads");
  } catch {
    return null;
  }
}

/** os.availableParallelism() in Node, 1 elsewhere (browsers keep the single-threaded path: their main thread may not block). */
export async function availableThreads(): Promise<number> {
  const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";
  if (!isNode) return 1;
  const os = await import("node:os");
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

/** True where a shared WebAssembly.Memory can be created (Node; cross-origin-isolated pages). */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer !== "function") return false;
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
}

/**
 * Every GEMM variant compiled into `kernels`, for the kernel lab
 * (bench/kernels.ts): naive, simple SIMD, and the packed driver with each
 * micro-kernel. All share gemm's argument checks and foreign-array copying.
 */
export function gemmVariants(kernels: WasmKernels): GemmVariant[] {
  const r = internals.get(kernels);
  if (r === undefined) throw new LstmNerError("gemmVariants: not a kernels object from loadWasmKernels");
  const { exports: e, wrapGemm } = r;
  const out: GemmVariant[] = [
    { name: "wasm-naive", run: wrapGemm((ta, tb, m, n, k, a, b, c, beta) => e.gemmNaive(ta, tb, m, n, k, a, b, c, beta)) },
    { name: "wasm-simple-simd", run: wrapGemm((ta, tb, m, n, k, a, b, c, beta) => e.gemmSimple(ta, tb, m, n, k, a, b, c, beta)) },
  ];
  const count = Number(e.MICRO_COUNT.value);
  for (let kid = 0; kid < count; kid++) {
    out.push({
      name: `wasm-packed-${e.microMR(kid)}x${e.microNR(kid)}${e.microUnroll(kid) > 1 ? `-unroll${e.microUnroll(kid)}` : ""}`,
      run: wrapGemm((ta, tb, m, n, k, a, b, c, beta, s) => e.gemmBlocked(kid, ta, tb, m, n, k, a, b, c, beta, s)),
    });
  }
  return out;
}

function makeKernels(e: Exports, memory: WebAssembly.Memory, shared: boolean): WasmKernels {
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

  /** Per-thread LSTM workspace (GEMM scratch + packed W_hh), grown with the hidden size. */
  const work = [{ off: 0, bytes: 0 }, { off: 0, bytes: 0 }];
  function workspace(thread: 0 | 1, hidden: number): number {
    const need = e.lstmWorkspaceBytes(hidden);
    const w = work[thread]!;
    if (w.bytes < need) {
      if (w.bytes > 0) heap.freeBytes(w.off);
      w.off = heap.allocBytes(need);
      w.bytes = need;
    }
    return w.off;
  }
  let helper: Helper | null = null;
  const owned = (s: LstmSequence | LstmSequenceGrad): boolean =>
    [s.batchSizes, s.x, s.wIh, s.wHh, s.b, s.gates, s.c, s.h, s.hPrev].every((a) => heap.owns(a)) &&
    (!("dh" in s) || [s.dh, s.dc, s.dGates, s.gWih, s.gWhh, s.gB, ...(s.dx === null ? [] : [s.dx])].every((a) => heap.owns(a)));

  function forwardArgs(s: LstmSequence, thread: 0 | 1): number[] {
    const { steps, n, b0 } = checkSequence(s, "lstmForward");
    const H = s.hidden, G = 4 * H;
    return [s.inDim, H, steps, ptr(s.batchSizes, steps, "lstmForward: batchSizes", false),
      ptr(s.x, n * s.inDim, "lstmForward: x", false), ptr(s.wIh, s.inDim * G, "lstmForward: wIh", false),
      ptr(s.wHh, H * G, "lstmForward: wHh", false), ptr(s.b, G, "lstmForward: b", false),
      ptr(s.gates, n * G, "lstmForward: gates", true), ptr(s.c, (b0 + n) * H, "lstmForward: c", true),
      ptr(s.h, n * H, "lstmForward: h", true), ptr(s.hPrev, n * H, "lstmForward: hPrev", true), workspace(thread, H)];
  }

  function backwardArgs(s: LstmSequenceGrad, thread: 0 | 1): number[] {
    const { steps, n, b0 } = checkSequenceGrad(s, "lstmBackward");
    const H = s.hidden, G = 4 * H;
    return [s.inDim, H, steps, ptr(s.batchSizes, steps, "lstmBackward: batchSizes", false),
      ptr(s.x, n * s.inDim, "lstmBackward: x", false), ptr(s.wIh, s.inDim * G, "lstmBackward: wIh", false),
      ptr(s.wHh, H * G, "lstmBackward: wHh", false), ptr(s.gates, n * G, "lstmBackward: gates", false),
      ptr(s.c, (b0 + n) * H, "lstmBackward: c", false), ptr(s.hPrev, n * H, "lstmBackward: hPrev", false),
      ptr(s.dh, n * H, "lstmBackward: dh", true), ptr(s.dc, b0 * H, "lstmBackward: dc", true),
      ptr(s.dGates, n * G, "lstmBackward: dGates", true), s.dx === null ? 0 : ptr(s.dx, n * s.inDim, "lstmBackward: dx", true),
      ptr(s.gWih, s.inDim * G, "lstmBackward: gWih", true), ptr(s.gWhh, H * G, "lstmBackward: gWhh", true),
      ptr(s.gB, G, "lstmBackward: gB", true), workspace(thread, H)];
  }

  /** Runs the sequences, two at a time on two threads when a helper runs and every buffer is in this memory. */
  function runSequences<S extends LstmSequence>(seqs: readonly S[], op: number, args: (s: S, thread: 0 | 1) => number[],
    run: (a: number[]) => void): void {
    let i = 0;
    if (helper !== null && seqs.length >= 2 && seqs.every(owned)) {
      for (; i + 1 < seqs.length; i += 2) {
        const mine = args(seqs[i]!, 0);
        const theirs = args(seqs[i + 1]!, 1);
        helper.run(op, theirs, () => run(mine));
      }
    }
    for (; i < seqs.length; i++) call(() => run(args(seqs[i]!, 0)));
  }

  const kernels: WasmKernels = {
    name: "wasm-simd",
    memory,
    shared,
    get threads() { return helper === null ? 1 : 2; },
    dispose: async () => {
      const h = helper;
      helper = null;
      if (h !== null) await h.stop();
    },
    lstmForward: (seqs) => runSequences(seqs, OP_FORWARD, forwardArgs,
      (a) => e.lstmSeqForward(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, a[9]!, a[10]!, a[11]!, a[12]!)),
    lstmBackward: (seqs) => runSequences(seqs, OP_BACKWARD, backwardArgs,
      (a) => e.lstmSeqBackward(a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!, a[8]!, a[9]!, a[10]!, a[11]!, a[12]!, a[13]!,
        a[14]!, a[15]!, a[16]!, a[17]!)),
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
  const startHelper = async (module: WebAssembly.Module): Promise<void> => {
    if (helper !== null) return;
    const wt = await nodeWorkerThreads();
    if (wt === null) return; // no worker_threads: stay single-threaded
    const ctl = heap.allocBytes(Helper.CONTROL_BYTES);
    try {
      helper = await Helper.start(wt.Worker, module, memory, ctl);
    } catch {
      heap.freeBytes(ctl); // the worker could not start here: stay single-threaded (kernels.threads tells)
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

function describe(src: NonNullable<LoadWasmOptions["wasm"]>): string {
  if (src instanceof URL) return src.protocol === "file:" ? decodeURIComponent(src.pathname) : src.href;
  if (typeof src === "string") return src;
  return "<wasm bytes>";
}

/** A string with a scheme (`https:`, `file:`, `data:`) is a URL; anything else is a file path. */
function isUrlString(s: string): boolean {
  return /^[a-z][a-z0-9+.-]+:/i.test(s);
}

async function readWasm(src: NonNullable<LoadWasmOptions["wasm"]>, where: string): Promise<ArrayBuffer | ArrayBufferView> {
  if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) return src;
  const url = src instanceof URL ? src : isUrlString(src) ? new URL(src) : null;
  const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";
  try {
    if (isNode && (url === null || url.protocol === "file:")) {
      const fs = await import("node:fs/promises");
      return await fs.readFile(url ?? (src as string));
    }
    const res = await fetch(url ?? new URL(src as string, (globalThis as { location?: { href: string } }).location?.href));
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    return await res.arrayBuffer();
  } catch (e) {
    throw new LstmNerError(`cannot read the WebAssembly kernels (${(e as Error).message}); ${BUILD_HINT}`, { file: where, cause: e });
  }
}
