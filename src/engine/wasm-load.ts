/**
 * Loading the WebAssembly kernels: reading the .wasm (through the runtime's
 * {@link KernelPlatform}), compiling it, creating the (shared or fixed) memory
 * and linking the instance, with an {@link LstmNerError} naming the file for
 * each way that can fail; plus the runtime probes (SIMD, relaxed SIMD, shared
 * memory). Runs alike in Node and browsers.
 */
import type { KernelPlatform } from "./platform.js";
import type { WasmGlobal, WasmMemory, WasmModule } from "./wasm-types.js";
import { LstmNerError } from "../util/errors.js";

/** The raw exports of assembly/kernels.ts. Booleans are i32; pointers are byte offsets. */
export interface RawExports {
  heapBase(): number;
  gemmScratchBytes(): number;
  gemm(ta: number, tb: number, m: number, n: number, k: number, a: number, b: number, c: number, beta: number, scratch: number): void;
  gemmBlocked(kid: number, ta: number, tb: number, m: number, n: number, k: number, a: number, b: number, c: number, beta: number, scratch: number): void;
  gemmNaive(ta: number, tb: number, m: number, n: number, k: number, a: number, b: number, c: number, beta: number): void;
  gemmSimple(ta: number, tb: number, m: number, n: number, k: number, a: number, b: number, c: number, beta: number): void;
  /** Lab: the driver over a B packed once by packBAll (bPre ≠ 0), as the sequence kernels run the recurrent step. */
  gemmDriver(kid: number, ta: number, tb: number, m: number, n: number, k: number, a: number, b: number, bPre: number, c: number, beta: number, scratch: number): void;
  packBAll(kid: number, tb: number, k: number, n: number, b: number, dst: number): void;
  packedBFloats(kid: number, n: number, k: number): number;
  microMR(kid: number): number;
  microNR(kid: number): number;
  microUnroll(kid: number): number;
  MICRO_COUNT: WasmGlobal;
  addBias(rows: number, cols: number, x: number, bias: number): void;
  sumRows(rows: number, cols: number, x: number, out: number, beta: number): void;
  lstmCellForward(batch: number, hidden: number, gates: number, cPrev: number, c: number, h: number, hStride: number): void;
  lstmCellBackward(batch: number, hidden: number, gates: number, cPrev: number, c: number, dh: number, dhStride: number, dc: number, dGates: number): void;
  logSoftmaxNll(rows: number, cols: number, logits: number, labels: number, logp: number, dlogits: number, countOut: number): number;
  adam(n: number, param: number, grad: number, m: number, v: number, lrT: number, beta1: number, beta2: number, epsT: number): void;
  lstmWorkspaceBytes(hidden: number): number;
  lstmInferWorkspaceBytes(hidden: number, b0: number): number;
  lstmInferQWorkspaceBytes(inDim: number, hidden: number, b0: number): number;
  qPackedBytes(k: number, n: number): number;
  packQ(k: number, n: number, b: number, dst: number, scales: number): void;
  /** Lab: the int16 GEMM's two steps (per-row quantization of A, then the product), timed on their own. */
  quantizeRows(rows: number, cols: number, src: number, dst: number, scales: number): void;
  qgemm(m: number, n: number, k: number, aq: number, sa: number, bq: number, sb: number, c: number, beta: number, tmp: number): void;
  // lstmSeqForward / lstmSeqBackward / lstmSeqInfer / lstmSeqInferQ are called by name through wasm-ops.ts.
}

/** Where and how to load the module (see LoadWasmOptions). */
export interface ModuleSource {
  wasm?: ArrayBufferView | ArrayBuffer | URL | string;
  shared?: boolean;
  initialMiB?: number;
  relaxedSimd?: boolean;
}

/** A linked kernels instance. */
export interface LoadedKernels {
  module: WasmModule;
  memory: WasmMemory;
  exports: RawExports;
  shared: boolean;
  /** True when the relaxed-SIMD build was loaded (asked for, and the runtime has it). */
  relaxedSimd: boolean;
}

const PAGE = 65536;
const MAX_PAGES = 65536;
/** Why the kernels cannot load where {@link simdAvailable} is false. */
export const NO_SIMD = "this runtime has no WebAssembly SIMD (an old browser, or a CPU without SSE4.1), which lstm-ner's WebAssembly kernels need";

/**
 * Reads, compiles and links the kernels module over a new memory: shared
 * (growable to 4 GiB) when asked or available, else fixed at `initialMiB`.
 * The module is `opts.wasm`, else the platform's packaged file for the build.
 * @throws LstmNerError naming the file for a missing, corrupt or mismatched module, or memory that cannot be created.
 */
export async function instantiateKernels(platform: KernelPlatform, opts: ModuleSource): Promise<LoadedKernels> {
  const shared = opts.shared ?? sharedMemoryAvailable();
  const initialMiB = opts.initialMiB ?? (shared ? 16 : 256);
  if (!(initialMiB > 0 && initialMiB <= 4095)) {
    throw new LstmNerError(`loadWasmKernels: initialMiB must be in (0, 4095], got ${initialMiB}`);
  }
  const relaxedSimd = opts.wasm === undefined && opts.relaxedSimd === true && await platform.relaxedSimd();
  const source = opts.wasm ?? platform.wasmUrl({ shared, relaxedSimd });
  const where = describe(source);
  const hint = platform.fixHint;
  let bytes: ArrayBuffer | ArrayBufferView;
  try {
    bytes = source instanceof ArrayBuffer || ArrayBuffer.isView(source) ? source : await platform.read(source);
  } catch (e) {
    throw new LstmNerError(`cannot read the WebAssembly kernels (${(e as Error).message}); ${hint}`, { file: where, cause: e });
  }
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as BufferSource);
  } catch (e) {
    if (!simdAvailable()) throw new LstmNerError(`${NO_SIMD} (${(e as Error).message})`, { file: where, cause: e });
    throw new LstmNerError(`not a valid WebAssembly kernels module (${(e as Error).message}); ${hint}`, { file: where, cause: e });
  }
  const pages = Math.ceil((initialMiB * 1048576) / PAGE);
  let memory: WebAssembly.Memory;
  try {
    memory = shared
      ? new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true })
      : new WebAssembly.Memory({ initial: pages, maximum: pages });
  } catch (e) {
    throw new LstmNerError(`cannot create ${initialMiB} MiB of ${shared ? "shared " : ""}WebAssembly memory`, { cause: e });
  }
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, { env: { memory } });
  } catch (e) {
    throw new LstmNerError(
      `cannot link the WebAssembly kernels with a ${shared ? "shared" : "non-shared"} memory (${(e as Error).message}); ` +
      `kernels.wasm is the shared build, kernels-st.wasm the single-threaded one; ${hint}`,
      { file: where, cause: e },
    );
  }
  const exports = instance.exports as unknown as RawExports;
  for (const fn of ["gemm", "heapBase", "lstmSeqForward", "lstmSeqBackward", "lstmSeqInfer", "lstmInferWorkspaceBytes", "lstmSeqInferQ", "packQ"]) {
    if (typeof (exports as unknown as Record<string, unknown>)[fn] !== "function") {
      throw new LstmNerError(`the module does not export the lstm-ner kernels (no ${fn}); ${hint}`, { file: where });
    }
  }
  return { module, memory, exports, shared, relaxedSimd };
}

/** A module whose one function returns a v128 constant: it validates only where WebAssembly SIMD is on. */
const SIMD_PROBE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00, 0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, ...new Array<number>(16).fill(0), 0x0b]);

/**
 * True where WebAssembly exists and has SIMD, which every build of the
 * kernels needs (old browsers, and CPUs without SSE4.1, lack it).
 */
export function simdAvailable(): boolean {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/** A 42-byte module whose one function uses f32x4.relaxed_madd: it validates only where relaxed SIMD is on. */
const RELAXED_PROBE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60, 0x01, 0x7b, 0x01,
  0x7b, 0x03, 0x02, 0x01, 0x00, 0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x00,
  0x20, 0x00, 0xfd, 0x85, 0x02, 0x0b]);

/** True where WebAssembly relaxed SIMD validates as the runtime stands (see KernelPlatform.relaxedSimd). */
export function relaxedSimdValidates(): boolean {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

/** True where a shared WebAssembly.Memory can be created (Node; cross-origin-isolated pages). */
export function sharedMemoryAvailable(): boolean {
  if (typeof SharedArrayBuffer !== "function") return false;
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
}

function describe(src: NonNullable<ModuleSource["wasm"]>): string {
  if (src instanceof URL) return src.protocol === "file:" ? decodeURIComponent(src.pathname) : src.href;
  if (typeof src === "string") return src;
  return "<wasm bytes>";
}
