// f32x4 helpers that compile to relaxed-SIMD instructions in the relaxed
// builds (build/kernels-relaxed*.wasm, `--enable relaxed-simd`) and to plain
// SIMD128 otherwise. ASC_FEATURE_RELAXED_SIMD is a compile-time constant, so
// each build contains only one of the two bodies.

/**
 * c + a·b. Plain builds: a rounded product, then a rounded sum (the exact
 * arithmetic of `f32x4.add(c, f32x4.mul(a, b))`). Relaxed builds:
 * `f32x4.relaxed_madd`, a fused multiply-add where the hardware has one (one
 * rounding: results differ in the last bits, within the reference tolerance).
 */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}
