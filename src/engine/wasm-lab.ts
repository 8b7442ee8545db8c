/**
 * Kernel-lab hooks (bench/kernels.ts): every GEMM variant compiled into the
 * module, behind the same argument checks as the public `gemm`.
 */
import type { Kernels } from "./kernels.js";
import { labHooks, type WasmKernels } from "./wasm.js";

/** A GEMM implementation as the kernel lab sees it (same signature as {@link Kernels.gemm}). */
export interface GemmVariant {
  readonly name: string;
  run: Kernels["gemm"];
}

/**
 * Every GEMM variant compiled into `kernels`: naive, simple SIMD, and the
 * packed driver with each micro-kernel. All share gemm's argument checks and
 * foreign-array copying.
 */
export function gemmVariants(kernels: WasmKernels): GemmVariant[] {
  const { exports: e, wrapGemm } = labHooks(kernels);
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
