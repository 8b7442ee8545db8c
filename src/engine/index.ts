import type { Kernels } from "./kernels.js";
import { referenceKernels } from "./reference.js";
import { availableThreads, loadWasmKernels, type WasmKernels } from "./wasm.js";

export type { Kernels, LstmInferSequence, LstmSequence, LstmSequenceGrad } from "./kernels.js";
export { referenceKernels } from "./reference.js";
export { loadWasmKernels, sharedMemoryAvailable, availableThreads, relaxedSimdAvailable, simdAvailable } from "./wasm.js";
export type { WasmKernels, LoadWasmOptions } from "./wasm.js";
export { gemmVariants, type GemmVariant } from "./wasm-lab.js";
export { WasmAllocator, sizeClass } from "./allocator.js";

/** Options of {@link getKernels}. */
export interface GetKernelsOptions {
  /**
   * Threads for the WASM kernels (1 or 2). Default: `os.availableParallelism()`
   * capped at 2 in Node; 1 in browsers (pass 2 from a Web Worker of a
   * cross-origin-isolated page) and wherever shared memory or threads are
   * missing (the single-threaded fallback).
   */
  threads?: number;
  /** Prefer the relaxed-SIMD WASM build where the runtime has it (see {@link LoadWasmOptions.relaxedSimd}). Default false. */
  relaxedSimd?: boolean;
}

const cache = new Map<string, Promise<Kernels>>();
const wasmLoads = new Map<string, Promise<WasmKernels>>();

/**
 * The process-wide kernels of a kind: "wasm" (fails if the module cannot load),
 * "reference" (plain TypeScript), or "auto" (WASM if it loads, else reference).
 * Loaded once per thread count and shared, so every layer allocates from the
 * same memory. Call {@link disposeKernels} to stop helper threads.
 */
export async function getKernels(kind: "wasm" | "reference" | "auto" = "auto", opts: GetKernelsOptions = {}): Promise<Kernels> {
  if (kind === "reference") return referenceKernels;
  const threads = Math.max(1, Math.min(2, Math.floor(opts.threads ?? await availableThreads())));
  const relaxed = opts.relaxedSimd === true;
  const key = `${kind}/${threads}/${relaxed}`;
  let p = cache.get(key);
  if (p === undefined) {
    p = kind === "wasm" ? wasmOnce(threads, relaxed) : wasmOnce(threads, relaxed).catch((): Kernels => referenceKernels);
    cache.set(key, p);
  }
  return p;
}

function wasmOnce(threads: number, relaxedSimd: boolean): Promise<WasmKernels> {
  const key = `${threads}/${relaxedSimd}`;
  let p = wasmLoads.get(key);
  if (p === undefined) {
    p = loadWasmKernels({ threads, relaxedSimd });
    wasmLoads.set(key, p);
    // A failed load may be fixed by building; don't cache the failure for "wasm".
    p.catch(() => {
      wasmLoads.delete(key);
      cache.delete(`wasm/${key}`);
    });
  }
  return p;
}

/**
 * Stops the helper threads of every kernels object {@link getKernels} loaded
 * (they keep working single-threaded). A CLI calls this before it returns;
 * an idle helper never keeps the process alive anyway.
 */
export async function disposeKernels(): Promise<void> {
  const loads = [...wasmLoads.values()];
  await Promise.all(loads.map((p) => p.then((k) => k.dispose(), () => undefined)));
}
