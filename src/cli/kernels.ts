import { getKernels, type Kernels } from "../engine/index.js";

/** The kernel options every command shares. */
export interface KernelCliOptions {
  kernels: "auto" | "wasm" | "reference";
  threads?: number;
  /** `--relaxed-simd`: prefer the relaxed-SIMD WASM build where the runtime has it. */
  relaxedSimd?: boolean;
  /** `--quantize`: tag with int16 LSTM weights and an int8 word embedding (commands that only tag). */
  quantize?: boolean;
}

/** The kernels a command asked for (`--kernels`, `--threads`, `--relaxed-simd`). */
export function cliKernels(o: KernelCliOptions): Promise<Kernels> {
  return getKernels(o.kernels, { ...(o.threads === undefined ? {} : { threads: o.threads }), relaxedSimd: o.relaxedSimd === true });
}

