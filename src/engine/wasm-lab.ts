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
  // The recurrent step as the sequence kernels run it: B (the weights) packed
  // once, outside the timed calls; packed again for another B array or shape
  // (the lab and the tests never change a B's values between calls).
  for (const kid of [3, 0]) {
    let packed: { b: unknown; key: string; buf: Float32Array } | null = null;
    let repack = false;
    const raw = wrapGemm((ta, tb, m, n, k, a, b, c, beta, s) => {
      if (repack) e.packBAll(kid, tb, k, n, b, packed!.buf.byteOffset);
      repack = false;
      e.gemmDriver(kid, ta, tb, m, n, k, a, 0, packed!.buf.byteOffset, c, beta, s);
    });
    out.push({
      name: `wasm-prepacked-${e.microMR(kid)}x${e.microNR(kid)}`,
      run: (ta, tb, m, n, k, a, b, c, beta) => {
        const key = `${tb}/${k}/${n}`;
        if (packed === null || packed.b !== b || packed.key !== key) {
          if (packed !== null) kernels.free(packed.buf);
          packed = { b, key, buf: kernels.alloc(Math.max(1, e.packedBFloats(kid, n, k))) };
          repack = true;
        }
        raw(ta, tb, m, n, k, a, b, c, beta);
      },
    });
  }
  return out;
}
