import type { Kernels } from "./kernels.js";
import { referenceKernels } from "./reference.js";
import { loadWasmKernels } from "./wasm.js";

export type { Kernels } from "./kernels.js";
export { referenceKernels } from "./reference.js";
export { loadWasmKernels, sharedMemoryAvailable, gemmVariants } from "./wasm.js";
export type { WasmKernels, LoadWasmOptions, GemmVariant } from "./wasm.js";
export { WasmAllocator, sizeClass } from "./allocator.js";

const cache = new Map<string, Promise<Kernels>>();

/**
 * The process-wide kernels of a kind: "wasm" (fails if the module cannot load),
 * "reference" (plain TypeScript), or "auto" (WASM if it loads, else reference).
 * Loaded once and shared, so every layer allocates from the same memory.
 */
export function getKernels(kind: "wasm" | "reference" | "auto" = "auto"): Promise<Kernels> {
  let p = cache.get(kind);
  if (p === undefined) {
    if (kind === "reference") p = Promise.resolve(referenceKernels);
    else if (kind === "wasm") p = wasmOnce();
    else p = wasmOnce().catch((): Kernels => referenceKernels);
    cache.set(kind, p);
  }
  return p;
}

let wasmPromise: Promise<Kernels> | undefined;

function wasmOnce(): Promise<Kernels> {
  if (wasmPromise === undefined) {
    wasmPromise = loadWasmKernels();
    // A failed load may be fixed by building; don't cache the failure for "wasm".
    wasmPromise.catch(() => { wasmPromise = undefined; cache.delete("wasm"); });
  }
  return wasmPromise;
}
