/**
 * What the kernels' main thread and its helper thread agree on: the
 * control block in shared memory (Int32 slots) through which one call at a
 * time is handed over, the exit opcode, and what the helper is started with.
 * Both sides import it; neither imports the other.
 */
import type { WasmMemory, WasmModule } from "./wasm-types.js";

/** The opcode that stops the helper; the others are the calls in wasm-ops.ts. */
export const OP_EXIT = 9;

/** Control-block slot indices. */
export const CONTROL = {
  /** Bumped by the main thread for each request. */
  REQ: 0,
  /** Set by the helper to the request number it finished. */
  DONE: 1,
  /** 0 ok, 1 the call threw. */
  STATUS: 2,
  OP: 3,
  /** First argument slot. */
  ARGS: 4,
  /** Slots in the block. */
  SLOTS: 32,
} as const;

/** What the main thread hands the helper when it starts it. */
export interface HelperInit {
  module: WasmModule;
  memory: WasmMemory;
  ctlOffset: number;
}
