import { getKernels, type Kernels } from "../engine/index.js";

/** The kernel options every command shares. */
export interface KernelCliOptions {
  kernels: "auto" | "wasm" | "reference";
  threads?: number;
}

/** The kernels a command asked for (`--kernels`, `--threads`). */
export function cliKernels(o: KernelCliOptions): Promise<Kernels> {
  return getKernels(o.kernels, o.threads === undefined ? {} : { threads: o.threads });
}
