// GEMM drivers: GotoBLAS-style packing + register-blocked micro-kernels, and
// the simpler variants kept for the kernel lab (bench/kernels.ts).
//
// Pointers are byte offsets into the imported memory; all matrices row-major.
// `scratch` is a caller-owned block of at least GEMM_SCRATCH_BYTES (one per
// thread), so that two threads can run GEMMs over one shared memory.

import { micro, microMR, microNR } from "./micro";

/** Largest k-block; k is split into equal blocks no longer than this. */
const KC_MAX: i32 = 384;
/** Rows of A packed per block (rounded down to a multiple of MR). */
const MC_MAX: i32 = 96;
/** Columns of B packed per block. */
const NC_MAX: i32 = 512;
const NR_MAX: i32 = 32;
const MR_MAX: i32 = 8;

const A_PACK_BYTES: usize = <usize>(MC_MAX + MR_MAX) * KC_MAX * 4;
const B_PACK_BYTES: usize = <usize>(NC_MAX + NR_MAX) * KC_MAX * 4;
const C_TILE_BYTES: usize = <usize>MR_MAX * NR_MAX * 4;

/** Bytes of scratch a GEMM call needs. */
export const GEMM_SCRATCH_BYTES: usize = A_PACK_BYTES + B_PACK_BYTES + C_TILE_BYTES + 64;

/**
 * The micro-kernels the public `gemm` uses (indices into micro.ts variants),
 * picked in the kernel lab: 2×16 (two broadcasts feed eight f32x4 products,
 * and 8 accumulators + 4 B vectors fit x64's 16 xmm registers without spills)
 * and 4×8 for narrow outputs (n < 16), where 16-wide panels would be mostly padding.
 * The relaxed builds use 4×8 throughout: with fused multiply-adds it ran the
 * 32×1024×306 step 13–20 % faster than 2×16 in all four transpose cases
 * (same process, best of runs).
 */
export const BEST_MICRO: i32 = ASC_FEATURE_RELAXED_SIMD ? 0 : 3;
export const NARROW_MICRO: i32 = 0;

// @ts-ignore: decorator
@inline function imin(a: i32, b: i32): i32 { return a < b ? a : b; }

/** Packs op(A)[i0..i0+mc, p0..p0+kc] into MR-row panels: panel q holds, for each p, MR consecutive floats (zero-padded rows). */
function packA(transA: bool, m: i32, k: i32, a: usize, i0: i32, p0: i32, mc: i32, kc: i32, MR: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = imin(MR, mc - ir);
    if (transA) {
      // A stored k×m: the MR values for one p are contiguous.
      let src = a + ((<usize>p0 * m + i0 + ir) << 2);
      const ld = <usize>m << 2;
      if (mr == MR && MR == 4) {
        for (let p = 0; p < kc; p++) { v128.store(dst, v128.load(src)); dst += 16; src += ld; }
      } else if (mr == MR && MR == 8) {
        for (let p = 0; p < kc; p++) { v128.store(dst, v128.load(src)); v128.store(dst, v128.load(src, 16), 16); dst += 32; src += ld; }
      } else if (mr == MR && MR == 2) {
        // The 2×16 kernel's panels (the weight gradients' Aᵀ): two floats per p, one 64-bit move.
        for (let p = 0; p < kc; p++) { store<u64>(dst, load<u64>(src)); dst += 8; src += ld; }
      } else {
        for (let p = 0; p < kc; p++) {
          for (let r = 0; r < MR; r++) store<f32>(dst + (<usize>r << 2), r < mr ? load<f32>(src + (<usize>r << 2)) : 0);
          dst += <usize>MR << 2; src += ld;
        }
      }
    } else {
      // A stored m×k: gather one float from each of MR rows per p; 4×4 transposes for whole groups of 4 rows.
      const row0 = a + ((<usize>(i0 + ir) * k + p0) << 2);
      const ld = <usize>k << 2;
      const step = <usize>MR << 2;
      if (MR == 2 && mr == 2) {
        // The 2×16 kernel's panels (h_{t−1} and dGates rows at every step): interleave
        // two rows four floats at a time (2 loads, 2 shuffles, 2 stores per 8 floats).
        const s0 = row0, s1 = row0 + ld;
        let d = dst;
        let p = 0;
        for (; p + 3 < kc; p += 4) {
          const o = <usize>p << 2;
          const x0 = v128.load(s0 + o), x1 = v128.load(s1 + o);
          v128.store(d, v128.shuffle<f32>(x0, x1, 0, 4, 1, 5));
          v128.store(d, v128.shuffle<f32>(x0, x1, 2, 6, 3, 7), 16);
          d += 32;
        }
        for (; p < kc; p++) {
          const o = <usize>p << 2;
          store<f32>(d, load<f32>(s0 + o)); store<f32>(d, load<f32>(s1 + o), 4);
          d += 8;
        }
        dst += <usize>kc * step;
        continue;
      }
      let r = 0;
      for (; r + 3 < mr; r += 4) {
        const s = row0 + <usize>r * ld;
        let d = dst + (<usize>r << 2);
        let p = 0;
        for (; p + 3 < kc; p += 4) {
          const o = <usize>p << 2;
          const r0 = v128.load(s + o), r1 = v128.load(s + ld + o), r2 = v128.load(s + 2 * ld + o), r3 = v128.load(s + 3 * ld + o);
          const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
          v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5)); d += step;
          v128.store(d, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7)); d += step;
          v128.store(d, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5)); d += step;
          v128.store(d, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7)); d += step;
        }
        for (; p < kc; p++) {
          const o = <usize>p << 2;
          store<f32>(d, load<f32>(s + o)); store<f32>(d, load<f32>(s + ld + o), 4);
          store<f32>(d, load<f32>(s + 2 * ld + o), 8); store<f32>(d, load<f32>(s + 3 * ld + o), 12);
          d += step;
        }
      }
      for (; r < MR; r++) {
        let d = dst + (<usize>r << 2);
        if (r < mr) {
          const s = row0 + <usize>r * ld;
          for (let p = 0; p < kc; p++) { store<f32>(d, load<f32>(s + (<usize>p << 2))); d += step; }
        } else {
          for (let p = 0; p < kc; p++) { store<f32>(d, 0); d += step; }
        }
      }
      dst += <usize>kc * step;
    }
  }
}

/** Packs op(B)[p0..p0+kc, j0..j0+nc] into NR-column panels: panel q holds, for each p, NR consecutive floats (zero-padded columns). */
function packB(transB: bool, k: i32, n: i32, b: usize, p0: i32, j0: i32, kc: i32, nc: i32, NR: i32, dst: usize): void {
  const step = <usize>NR << 2;
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = imin(NR, nc - jr);
    if (!transB) {
      // B stored k×n: each p contributes NR contiguous floats.
      let src = b + ((<usize>p0 * n + j0 + jr) << 2);
      const ld = <usize>n << 2;
      let d = dst;
      if (nr == NR) {
        const nv = NR >> 2;
        for (let p = 0; p < kc; p++) {
          for (let v = 0; v < nv; v++) v128.store(d + (<usize>v << 4), v128.load(src + (<usize>v << 4)));
          d += step; src += ld;
        }
      } else {
        for (let p = 0; p < kc; p++) {
          for (let j = 0; j < NR; j++) store<f32>(d + (<usize>j << 2), j < nr ? load<f32>(src + (<usize>j << 2)) : 0);
          d += step; src += ld;
        }
      }
    } else {
      // B stored n×k: column j of op(B) is row j of B; transpose 4×4 blocks.
      const row0 = b + ((<usize>(j0 + jr) * k + p0) << 2);
      const ld = <usize>k << 2;
      let j = 0;
      for (; j + 3 < nr; j += 4) {
        const s = row0 + <usize>j * ld;
        let d = dst + (<usize>j << 2);
        let p = 0;
        for (; p + 3 < kc; p += 4) {
          const o = <usize>p << 2;
          const r0 = v128.load(s + o), r1 = v128.load(s + ld + o), r2 = v128.load(s + 2 * ld + o), r3 = v128.load(s + 3 * ld + o);
          const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
          v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5)); d += step;
          v128.store(d, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7)); d += step;
          v128.store(d, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5)); d += step;
          v128.store(d, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7)); d += step;
        }
        for (; p < kc; p++) {
          const o = <usize>p << 2;
          store<f32>(d, load<f32>(s + o)); store<f32>(d, load<f32>(s + ld + o), 4);
          store<f32>(d, load<f32>(s + 2 * ld + o), 8); store<f32>(d, load<f32>(s + 3 * ld + o), 12);
          d += step;
        }
      }
      for (; j < NR; j++) {
        let d = dst + (<usize>j << 2);
        if (j < nr) {
          const s = row0 + <usize>j * ld;
          for (let p = 0; p < kc; p++) { store<f32>(d, load<f32>(s + (<usize>p << 2))); d += step; }
        } else {
          for (let p = 0; p < kc; p++) { store<f32>(d, 0); d += step; }
        }
      }
    }
    dst += <usize>kc * step;
  }
}

/** C = beta·C when k = 0 (nothing to multiply). */
function scaleC(m: i32, n: i32, c: usize, beta: i32): void {
  if (beta == 0) memory.fill(c, 0, <usize>m * n * 4);
}

/**
 * Blocked GEMM with micro-kernel variant `kid`: C = op(A)·op(B) + beta·C.
 * Loops (outer→inner): n-blocks (pack B), k-blocks, m-blocks (pack A), NR strips, MR tiles.
 */
export function gemmBlocked(kid: i32, transA: bool, transB: bool, m: i32, n: i32, k: i32,
  a: usize, b: usize, c: usize, beta: i32, scratch: usize): void {
  gemmDriver(kid, transA, transB, m, n, k, a, b, 0, c, beta, scratch);
}

/**
 * Floats that {@link packBAll} writes for a k×n op(B) with micro-kernel
 * `kid`: every (n-block, k-block) panel set of the driver, NR-padded.
 */
export function packedBFloats(kid: i32, n: i32, k: i32): i32 {
  const NR = microNR(kid);
  let total = 0;
  for (let jc = 0; jc < n; jc += NC_MAX) {
    const nc = imin(NC_MAX, n - jc);
    total += ((nc + NR - 1) / NR) * NR * k;
  }
  return total;
}

/**
 * Packs all of op(B) once, in the order the driver consumes it, so that a
 * GEMM repeated with the same B (the recurrent weights, every time step)
 * skips packing: pass the result as `bPre` to {@link gemmDriver}.
 */
export function packBAll(kid: i32, transB: bool, k: i32, n: i32, b: usize, dst: usize): void {
  const NR = microNR(kid);
  const kBlocks = (k + KC_MAX - 1) / KC_MAX;
  const KC = (k + kBlocks - 1) / kBlocks;
  for (let jc = 0; jc < n; jc += NC_MAX) {
    const nc = imin(NC_MAX, n - jc);
    const ncPad = ((nc + NR - 1) / NR) * NR;
    for (let pc = 0; pc < k; pc += KC) {
      const kc = imin(KC, k - pc);
      packB(transB, k, n, b, pc, jc, kc, nc, NR, dst);
      dst += <usize>ncPad * kc * 4;
    }
  }
}

/** The driver behind gemmBlocked; `bPre` ≠ 0 is op(B) already packed by {@link packBAll} with the same kid. */
export function gemmDriver(kid: i32, transA: bool, transB: bool, m: i32, n: i32, k: i32,
  a: usize, b: usize, bPre: usize, c: usize, beta: i32, scratch: usize): void {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) { scaleC(m, n, c, beta); return; }
  const MR = microMR(kid), NR = microNR(kid);
  const MC = (MC_MAX / MR) * MR;
  const NC = NC_MAX;
  const aPack = (scratch + 15) & ~<usize>15;
  const bPack = aPack + A_PACK_BYTES;
  const cTile = bPack + B_PACK_BYTES;
  const ldc = <usize>n << 2;
  const tileLd = <usize>NR << 2;
  const kBlocks = (k + KC_MAX - 1) / KC_MAX;
  const KC = (k + kBlocks - 1) / kBlocks;
  let pre = bPre;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = imin(NC, n - jc);
    const ncPad = ((nc + NR - 1) / NR) * NR;
    for (let pc = 0; pc < k; pc += KC) {
      const kc = imin(KC, k - pc);
      const acc = pc > 0 || beta != 0;
      let panels = bPack;
      if (bPre != 0) {
        panels = pre;
        pre += <usize>ncPad * kc * 4;
      } else {
        packB(transB, k, n, b, pc, jc, kc, nc, NR, bPack);
      }
      for (let ic = 0; ic < m; ic += MC) {
        const mc = imin(MC, m - ic);
        packA(transA, m, k, a, ic, pc, mc, kc, MR, aPack);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = imin(NR, nc - jr);
          const bp = panels + <usize>jr * kc * 4;
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = imin(MR, mc - ir);
            const ap = aPack + <usize>ir * kc * 4;
            const cp = c + (<usize>(ic + ir) * n + jc + jr) * 4;
            if (mr == MR && nr == NR) {
              micro(kid, kc, ap, bp, tileLd, cp, ldc, acc);
            } else {
              // Edge tile: compute the padded tile aside, then merge the valid part.
              micro(kid, kc, ap, bp, tileLd, cTile, tileLd, false);
              for (let r = 0; r < mr; r++) {
                const cr = cp + <usize>r * ldc, tr = cTile + <usize>r * tileLd;
                for (let j = 0; j < nr; j++) {
                  const o = <usize>j << 2;
                  const v = load<f32>(tr + o);
                  store<f32>(cr + o, acc ? load<f32>(cr + o) + v : v);
                }
              }
            }
          }
        }
      }
    }
  }
}

/** Lab variant: the reference triple loop in f32 (scalar). */
export function gemmNaive(transA: bool, transB: bool, m: i32, n: i32, k: i32, a: usize, b: usize, c: usize, beta: i32): void {
  const sai: usize = transA ? 4 : <usize>k * 4, sap: usize = transA ? <usize>m * 4 : 4;
  const sbj: usize = transB ? <usize>k * 4 : 4, sbp: usize = transB ? 4 : <usize>n * 4;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s: f32 = 0;
      let pa = a + <usize>i * sai, pb = b + <usize>j * sbj;
      for (let p = 0; p < k; p++) { s += load<f32>(pa) * load<f32>(pb); pa += sap; pb += sbp; }
      const pc = c + ((<usize>i * n + j) << 2);
      store<f32>(pc, beta == 0 ? s : load<f32>(pc) + s);
    }
  }
}

/**
 * Lab variant: simple SIMD without blocking or packing. Row i of C is built as
 * Σ_p op(A)[i,p]·op(B)[p,:] with f32x4 over j (needs !transB; with transB it
 * takes dot products over k with f32x4 when !transA and falls back to scalar).
 */
export function gemmSimple(transA: bool, transB: bool, m: i32, n: i32, k: i32, a: usize, b: usize, c: usize, beta: i32): void {
  const sai: usize = transA ? 4 : <usize>k * 4, sap: usize = transA ? <usize>m * 4 : 4;
  if (!transB) {
    for (let i = 0; i < m; i++) {
      const cr = c + (<usize>i * n << 2);
      if (beta == 0) memory.fill(cr, 0, <usize>n << 2);
      let pa = a + <usize>i * sai;
      for (let p = 0; p < k; p++) {
        const av = load<f32>(pa), avv = f32x4.splat(av);
        const br = b + (<usize>p * n << 2);
        let j = 0;
        for (; j + 3 < n; j += 4) {
          const o = <usize>j << 2;
          v128.store(cr + o, f32x4.add(v128.load(cr + o), f32x4.mul(avv, v128.load(br + o))));
        }
        for (; j < n; j++) { const o = <usize>j << 2; store<f32>(cr + o, load<f32>(cr + o) + av * load<f32>(br + o)); }
        pa += sap;
      }
    }
  } else if (!transA) {
    for (let i = 0; i < m; i++) {
      const ar = a + (<usize>i * k << 2);
      for (let j = 0; j < n; j++) {
        const br = b + (<usize>j * k << 2);
        let acc = f32x4.splat(0);
        let p = 0;
        for (; p + 3 < k; p += 4) { const o = <usize>p << 2; acc = f32x4.add(acc, f32x4.mul(v128.load(ar + o), v128.load(br + o))); }
        let s: f32 = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
        for (; p < k; p++) { const o = <usize>p << 2; s += load<f32>(ar + o) * load<f32>(br + o); }
        const pc = c + ((<usize>i * n + j) << 2);
        store<f32>(pc, beta == 0 ? s : load<f32>(pc) + s);
      }
    }
  } else {
    gemmNaive(transA, transB, m, n, k, a, b, c, beta);
  }
}
