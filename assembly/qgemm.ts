// Quantized (int16) GEMM for inference: C (+)= (sa[i]·sb[j]) · Σ_k A[i,k]·B[k,j]
// with A rows and B columns quantized to integers, i32x4.dot_i16x8_s doing
// eight multiply-adds per instruction (pairs of k), and exact int32
// accumulation: the quantization bounds keep Σ|A||B| < 2^31 (see qmaxFor).
//
// Layouts (all int16, k padded to an even kp with zeros):
//  - A: row-major m×kp, one f32 scale per row (quantizeRows);
//  - B: packed once by packQ into 16-column panels; panel q, pair p holds four
//    v128, each four columns × (B[2p,j], B[2p+1,j]) interleaved, so that a
//    splat of the pair (A[i,2p], A[i,2p+1]) dotted with it gives four columns'
//    partial sums; one f32 scale per column, zero past n.

/** Largest |activation| after quantization (12 bits). */
export const QA: i32 = 2047;
const NRQ: i32 = 16;

// @ts-ignore: decorator
@inline function evenUp(k: i32): i32 { return (k + 1) & ~1; }

/** Largest |weight| after quantization for an inner dimension k: kp·QA·qmax < 2^31, at most 32767. */
export function qmaxFor(k: i32): i32 {
  const q = <i32>(<f64>0x7fffffff / (<f64>evenUp(k) * <f64>QA));
  return q > 32767 ? 32767 : q;
}

/** Bytes of packQ's output for a k×n B. */
export function qPackedBytes(k: i32, n: i32): usize {
  return <usize>((n + NRQ - 1) / NRQ) * NRQ * evenUp(k) * 2;
}

/**
 * Quantizes each of `rows` rows of the rows×cols f32 matrix src to int16 in
 * [−QA, QA] with a per-row scale (max|row| / QA; 0 for an all-zero row):
 * dst is rows×kp (zero-padded to kp = even(cols)), scales rows f32.
 */
export function quantizeRows(rows: i32, cols: i32, src: usize, dst: usize, scales: usize): void {
  const kp = evenUp(cols);
  const qa = <f32>QA;
  // As in mathx4.ts, written for V8's x64 code: f32x4.max, f32x4.nearest and
  // i32x4.trunc_sat_f32x4_s are several instructions each. pmax is one, with a
  // separate NaN flag so that a NaN still makes the scale NaN; a product
  // |x·inv| ≤ QA < 2^22 plus 1.5·2^23 is rounded half to even, as nearest, and
  // leaves the integer in the low bits; NaN lanes are zeroed, as trunc_sat
  // gave 0 for them. Same integers and scales as before for every input.
  const magic = f32x4.splat(12582912.0), magicBits = i32x4.splat(0x4b400000);
  for (let r = 0; r < rows; r++) {
    const s = src + (<usize>r * cols << 2), d = dst + (<usize>r * kp << 1);
    let mx = f32x4.splat(0), nan = i32x4.splat(0);
    let j = 0;
    for (; j + 3 < cols; j += 4) {
      const v = v128.load(s + (<usize>j << 2));
      mx = f32x4.pmax(mx, f32x4.abs(v));
      nan = v128.or(nan, f32x4.ne(v, v));
    }
    let m = Mathf.max(Mathf.max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)), Mathf.max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)));
    if (v128.any_true(nan)) m = NaN;
    for (; j < cols; j++) m = Mathf.max(m, Mathf.abs(load<f32>(s + (<usize>j << 2))));
    const scale: f32 = m / qa;
    // For m < 2047/f32.MAX (denormal rows) qa/m overflows: the reference then gets
    // x·∞ → 0 for every integer (and the scale is 0 or denormal), so inv = 0 does too.
    const q: f32 = m > 0 ? qa / m : 0;
    const inv: f32 = q < Infinity ? q : 0;
    store<f32>(scales + (<usize>r << 2), scale);
    const iv = f32x4.splat(inv);
    j = 0;
    for (; j + 7 < cols; j += 8) {
      const p0 = f32x4.mul(v128.load(s + (<usize>j << 2)), iv), p1 = f32x4.mul(v128.load(s + (<usize>j << 2), 16), iv);
      const lo = v128.and(i32x4.sub(f32x4.add(p0, magic), magicBits), f32x4.eq(p0, p0));
      const hi = v128.and(i32x4.sub(f32x4.add(p1, magic), magicBits), f32x4.eq(p1, p1));
      v128.store(d + (<usize>j << 1), i16x8.narrow_i32x4_s(lo, hi));
    }
    for (; j < cols; j++) store<i16>(d + (<usize>j << 1), <i16><i32>nearest<f32>(load<f32>(s + (<usize>j << 2)) * inv));
    if (kp > cols) store<i16>(d + (<usize>cols << 1), 0);
  }
}

/**
 * Packs the k×n f32 matrix b (row-major) for qgemm: per-column scales
 * max|column| / qmaxFor(k) into scales (n floats, padded with zeros to the
 * panel width), the integers into dst (qPackedBytes(k, n) bytes).
 */
export function packQ(k: i32, n: i32, b: usize, dst: usize, scales: usize): void {
  const qmax = <f32>qmaxFor(k);
  const np = ((n + NRQ - 1) / NRQ) * NRQ;
  const kp = evenUp(k);
  // Column scales (the max over k), zero for padded columns.
  for (let j = 0; j < np; j++) {
    let m: f32 = 0;
    if (j < n) for (let p = 0; p < k; p++) m = Mathf.max(m, Mathf.abs(load<f32>(b + ((<usize>p * n + j) << 2))));
    store<f32>(scales + (<usize>j << 2), m / qmax);
  }
  for (let j0 = 0; j0 < np; j0 += NRQ) {
    for (let p = 0; p < kp; p += 2) {
      for (let c = 0; c < NRQ; c++) {
        const j = j0 + c;
        const s = load<f32>(scales + (<usize>j << 2));
        const inv: f32 = s > 0 ? <f32>1 / s : 0;
        const w0: f32 = j < n ? load<f32>(b + ((<usize>p * n + j) << 2)) : 0;
        const w1: f32 = j < n && p + 1 < k ? load<f32>(b + ((<usize>(p + 1) * n + j) << 2)) : 0;
        // Panel j0/16, pair p/2, column c: two int16 at ((pair·16 + c)·2) within the panel.
        const o = dst + ((<usize>(j0 / NRQ) * kp * NRQ + <usize>(p >> 1) * NRQ * 2 + <usize>c * 2) << 1);
        store<i16>(o, <i16><i32>nearest<f32>(w0 * inv));
        store<i16>(o, <i16><i32>nearest<f32>(w1 * inv), 2);
      }
    }
  }
}

/**
 * C = beta·C + dequant(Aq·Bq): Aq m×kp int16 (quantizeRows) with row scales
 * sa, Bq packed by packQ for the same k with column scales sb; C m×n f32.
 * Two rows × 16 columns per tile; an odd last row runs alone.
 */
export function qgemm(m: i32, n: i32, k: i32, aq: usize, sa: usize, bq: usize, sb: usize, c: usize, beta: i32, tmp: usize): void {
  const kp = evenUp(k);
  const pairs = kp >> 1;
  const ldc = <usize>n << 2;
  const panelBytes = <usize>kp * NRQ * 2;
  for (let j0 = 0; j0 < n; j0 += NRQ) {
    const bp = bq + <usize>(j0 / NRQ) * panelBytes;
    const full = j0 + NRQ <= n;
    const s0 = v128.load(sb + (<usize>j0 << 2)), s1 = v128.load(sb + (<usize>j0 << 2), 16);
    const s2 = v128.load(sb + (<usize>j0 << 2), 32), s3 = v128.load(sb + (<usize>j0 << 2), 48);
    let i = 0;
    for (; i + 1 < m; i += 2) {
      let a0 = aq + (<usize>i * kp << 1), a1 = a0 + (<usize>kp << 1);
      let b = bp;
      let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c02 = i32x4.splat(0), c03 = i32x4.splat(0);
      let c10 = i32x4.splat(0), c11 = i32x4.splat(0), c12 = i32x4.splat(0), c13 = i32x4.splat(0);
      for (let p = 0; p < pairs; p++) {
        const b0 = v128.load(b), b1 = v128.load(b, 16), b2 = v128.load(b, 32), b3 = v128.load(b, 48);
        const x0 = v128.load32_splat(a0), x1 = v128.load32_splat(a1);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x0, b0)); c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x0, b1));
        c02 = i32x4.add(c02, i32x4.dot_i16x8_s(x0, b2)); c03 = i32x4.add(c03, i32x4.dot_i16x8_s(x0, b3));
        c10 = i32x4.add(c10, i32x4.dot_i16x8_s(x1, b0)); c11 = i32x4.add(c11, i32x4.dot_i16x8_s(x1, b1));
        c12 = i32x4.add(c12, i32x4.dot_i16x8_s(x1, b2)); c13 = i32x4.add(c13, i32x4.dot_i16x8_s(x1, b3));
        a0 += 4; a1 += 4; b += 64;
      }
      storeRow(c + <usize>i * ldc, c00, c01, c02, c03, load<f32>(sa + (<usize>i << 2)), s0, s1, s2, s3, beta, full, n - j0, j0, tmp);
      storeRow(c + <usize>(i + 1) * ldc, c10, c11, c12, c13, load<f32>(sa + (<usize>(i + 1) << 2)), s0, s1, s2, s3, beta, full, n - j0, j0, tmp);
    }
    if (i < m) {
      let a0 = aq + (<usize>i * kp << 1);
      let b = bp;
      let c00 = i32x4.splat(0), c01 = i32x4.splat(0), c02 = i32x4.splat(0), c03 = i32x4.splat(0);
      for (let p = 0; p < pairs; p++) {
        const x0 = v128.load32_splat(a0);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x0, v128.load(b))); c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x0, v128.load(b, 16)));
        c02 = i32x4.add(c02, i32x4.dot_i16x8_s(x0, v128.load(b, 32))); c03 = i32x4.add(c03, i32x4.dot_i16x8_s(x0, v128.load(b, 48)));
        a0 += 4; b += 64;
      }
      storeRow(c + <usize>i * ldc, c00, c01, c02, c03, load<f32>(sa + (<usize>i << 2)), s0, s1, s2, s3, beta, full, n - j0, j0, tmp);
    }
  }
}

/** Dequantizes one row's 16 int32 sums (× sa·sb[j]) into C row `cr` at column j0 (+ the old C when beta); only `left` columns when not full. */
// @ts-ignore: decorator
@inline function storeRow(cr: usize, v0: v128, v1: v128, v2: v128, v3: v128, sa: f32, s0: v128, s1: v128, s2: v128, s3: v128,
  beta: i32, full: bool, left: i32, j0: i32, tmp: usize): void {
  const av = f32x4.splat(sa);
  const r0 = f32x4.mul(f32x4.convert_i32x4_s(v0), f32x4.mul(av, s0));
  const r1 = f32x4.mul(f32x4.convert_i32x4_s(v1), f32x4.mul(av, s1));
  const r2 = f32x4.mul(f32x4.convert_i32x4_s(v2), f32x4.mul(av, s2));
  const r3 = f32x4.mul(f32x4.convert_i32x4_s(v3), f32x4.mul(av, s3));
  const o = cr + (<usize>j0 << 2);
  if (full) {
    if (beta != 0) {
      v128.store(o, f32x4.add(v128.load(o), r0)); v128.store(o, f32x4.add(v128.load(o, 16), r1), 16);
      v128.store(o, f32x4.add(v128.load(o, 32), r2), 32); v128.store(o, f32x4.add(v128.load(o, 48), r3), 48);
    } else {
      v128.store(o, r0); v128.store(o, r1, 16); v128.store(o, r2, 32); v128.store(o, r3, 48);
    }
  } else {
    v128.store(tmp, r0); v128.store(tmp, r1, 16); v128.store(tmp, r2, 32); v128.store(tmp, r3, 48);
    for (let j = 0; j < left; j++) {
      const v = load<f32>(tmp + (<usize>j << 2));
      const d = o + (<usize>j << 2);
      store<f32>(d, beta != 0 ? load<f32>(d) + v : v);
    }
  }
}
