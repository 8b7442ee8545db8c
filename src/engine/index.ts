/**
 * The compute kernels in Node: {@link getKernels} (the process-wide kernels
 * of a kind) and {@link loadWasmKernels} (a new WebAssembly instance), both
 * reading the package's .wasm files (platform-node.ts). Browsers load theirs
 * through the browser entry (pipeline/browser.ts, platform-web.ts).
 */
import type { Kernels } from "./kernels.js";
import { availableThreads, nodePlatform } from "./platform-node.js";
import { referenceKernels } from "./reference.js";
import { linkWasmKernels, type LoadWasmOptions, type WasmKernels } from "./wasm.js";
import { simdAvailable } from "./wasm-load.js";

export type { Kernels, LstmInferSequence, LstmSequence, LstmSequenceGrad } from "./kernels.js";
export { referenceKernels } from "./reference.js";
export { sharedMemoryAvailable, simdAvailable } from "./wasm.js";
export { availableThreads } from "./platform-node.js";
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
  /**
   * Prefer the relaxed-SIMD WASM build where the runtime has it (see {@link LoadWasmOptions.relaxedSimd}). Default
   * false.
   */
  relaxedSimd?: boolean;
}

/**
 * Loads the WebAssembly SIMD kernels (a new instance each call), by default
 * from the package's `build/kernels.wasm` (shared memory) or
 * `build/kernels-st.wasm`. A missing or corrupt file is an LstmNerError naming it.
 */
export function loadWasmKernels(opts: LoadWasmOptions = {}): Promise<WasmKernels> {
  return linkWasmKernels(nodePlatform, opts);
}

/** True where relaxed SIMD validates, after switching it on (Node 20 has it behind a V8 flag). */
export function relaxedSimdAvailable(): Promise<boolean> {
  return nodePlatform.relaxedSimd();
}

const wasmLoads = new Map<string, Promise<WasmKernels>>();

/**
 * The process-wide kernels of a kind: "wasm" (an error if the module cannot
 * load), "reference" (plain TypeScript), or "auto" (WASM wherever the runtime
 * has WebAssembly SIMD, else reference; a missing or broken kernels file is an
 * error, not a reason to run slowly). Loaded once per thread count and
 * shared, so every layer allocates from the same memory. Call
 * {@link disposeKernels} to stop helper threads.
 */
export async function getKernels(kind: "wasm" | "reference" | "auto" = "auto", opts: GetKernelsOptions = {}): Promise<Kernels> {
  if (kind === "reference" || (kind === "auto" && !simdAvailable())) return referenceKernels;
  const threads = Math.max(1, Math.min(2, Math.floor(opts.threads ?? availableThreads())));
  const key = `${threads}/${opts.relaxedSimd === true}`;
  let p = wasmLoads.get(key);
  if (p === undefined) {
    p = loadWasmKernels({ threads, relaxedSimd: opts.relaxedSimd === true });
    wasmLoads.set(key, p);
    // A failed load may be fixed by building or reinstalling: don't cache the failure.
    p.catch(() => wasmLoads.delete(key));
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
