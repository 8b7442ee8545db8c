/**
 * The WebAssembly objects that lstm-ner's declarations name, as the members it
 * uses. TypeScript declares WebAssembly only in lib "dom", which Node projects
 * leave out, so the package's types must not need it; the real objects fit
 * these shapes, and the few calls into the WebAssembly API cast back.
 */

/** A WebAssembly.Memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
}

/** A compiled WebAssembly.Module: handed on (to a helper thread), never looked into. */
export type WasmModule = object;

/** A WebAssembly.Global. */
export interface WasmGlobal {
  value: unknown;
}
