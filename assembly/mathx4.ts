// f32x4 exp / sigmoid / tanh, accurate to a few ulp and safe for any input
// (arguments are clamped before the exponent is built, NaN propagates).
//
// Written for what V8 emits on x64: the clamps use pmin/pmax (one minps/maxps
// each) rather than f32x4.min/max (about eight instructions each, for NaN and
// ±0 ordering), and 2^n is built with the 1.5·2^23 rounding constant instead of
// i32x4.trunc_sat_f32x4_s (about eight instructions). The results are the same
// bits: a NaN still passes the clamps (the comparisons are false), and the
// clamped values never need saturation.

const LOG2E = f32x4.splat(1.44269504088896341);
const LN2_HI = f32x4.splat(0.693359375);
const LN2_LO = f32x4.splat(-2.12194440e-4);
const EXP_HI = f32x4.splat(88.3762626647949);
const EXP_LO = f32x4.splat(-88.3762626647949);
const HALF = f32x4.splat(0.5);
const ONE = f32x4.splat(1);
const TWO = f32x4.splat(2);
/** 1.5·2^23 + 127: adding it to an integral |n| ≤ 2^21 leaves n + 127 in the low mantissa bits. */
const EXP_MAGIC = f32x4.splat(12583039.0);

/** e^x per lane (Cephes expf: range reduction by ln2, degree-5 polynomial, 2^n via the exponent bits). */
// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  // pmax(x, lo) = x < lo ? lo : x; pmin(x, hi) = hi < x ? hi : x: NaN stays NaN.
  x = f32x4.pmin(f32x4.pmax(x, EXP_LO), EXP_HI);
  const fx = f32x4.floor(f32x4.add(f32x4.mul(x, LOG2E), HALF));
  let r = f32x4.sub(x, f32x4.mul(fx, LN2_HI));
  r = f32x4.sub(r, f32x4.mul(fx, LN2_LO));
  const z = f32x4.mul(r, r);
  let y = f32x4.splat(1.9875691500e-4);
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.3981999507e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(8.3334519073e-3));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(4.1665795894e-2));
  y = f32x4.add(f32x4.mul(y, r), f32x4.splat(1.6666665459e-1));
  y = f32x4.add(f32x4.mul(y, r), HALF);
  y = f32x4.add(f32x4.add(f32x4.mul(y, z), r), ONE);
  // 2^fx: fx ∈ [-127, 127] after the clamp, so the biased exponent fx + 127 ∈ [0, 254]
  // fits; it sits in the low bits of fx + 1.5·2^23 + 127 (an exact sum), and the
  // shift by 23 drops the constant's bits above them (a NaN fx gives some finite
  // power of two, and the NaN still propagates through y).
  const pow2 = i32x4.shl(f32x4.add(fx, EXP_MAGIC), 23);
  return f32x4.mul(y, pow2);
}

/** 1/(1+e^−x) per lane. */
// @ts-ignore: decorator
@inline export function sigmoid4(x: v128): v128 {
  return f32x4.div(ONE, f32x4.add(ONE, exp4(f32x4.neg(x))));
}

/**
 * tanh per lane: odd rational approximation x·P(x²)/Q(x²) on [-7.9, 7.9]
 * (Eigen's float tanh), where |tanh| rounds to 1 beyond. One division, no exp,
 * and relative accuracy near 0 (no 1 − 2/(e^{2x}+1) cancellation).
 */
// @ts-ignore: decorator
@inline export function tanh4(x: v128): v128 {
  const c = f32x4.splat(7.99881172180175781);
  x = f32x4.pmin(f32x4.pmax(x, f32x4.neg(c)), c);
  const x2 = f32x4.mul(x, x);
  let p = f32x4.splat(-2.76076847742355e-16);
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(2.00018790482477e-13));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(-8.60467152213735e-11));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(5.12229709037114e-08));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(1.48572235717979e-05));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(6.37261928875436e-04));
  p = f32x4.add(f32x4.mul(p, x2), f32x4.splat(4.89352455891786e-03));
  p = f32x4.mul(p, x);
  let q = f32x4.splat(1.19825839466702e-06);
  q = f32x4.add(f32x4.mul(q, x2), f32x4.splat(1.18534705686654e-04));
  q = f32x4.add(f32x4.mul(q, x2), f32x4.splat(2.26843463243900e-03));
  q = f32x4.add(f32x4.mul(q, x2), f32x4.splat(4.89352518554385e-03));
  return f32x4.div(p, q);
}

/** Scalar versions for loop tails, with the same algorithms. */
// @ts-ignore: decorator
@inline export function sigmoid1(x: f32): f32 { return f32x4.extract_lane(sigmoid4(f32x4.splat(x)), 0); }
// @ts-ignore: decorator
@inline export function tanh1(x: f32): f32 { return f32x4.extract_lane(tanh4(f32x4.splat(x)), 0); }
