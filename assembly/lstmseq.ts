// A whole LSTM direction in one call: the time loop runs here, not in
// JavaScript, with the recurrent weights packed once per call instead of once
// per time step. Layout: a *packed sequence* (PyTorch's PackedSequence): the
// rows of step t are the first bs[t] sentences (sorted longest first), steps
// are stored one after another, N = Σ bs[t] rows in all. Padding is never
// computed. See Kernels.lstmForward / lstmBackward for the contract.

import { lstmCellForward, lstmCellBackward, lstmCellInfer } from "./cell";
import { addBias, sumRows } from "./rows";
import { quantizeRows, qgemm } from "./qgemm";
import { gemmDriver, packBAll, packedBFloats, BEST_MICRO, NARROW_MICRO, GEMM_SCRATCH_BYTES } from "./gemm";

// @ts-ignore: decorator
@inline function kidFor(n: i32): i32 { return n < 16 ? NARROW_MICRO : BEST_MICRO; }

/** Bytes of workspace a sequence call needs for hidden size H: GEMM scratch + packed W_hh (either orientation). */
export function lstmWorkspaceBytes(H: i32): usize {
  const G = 4 * H;
  const fwd = packedBFloats(kidFor(G), G, H);
  const bwd = packedBFloats(kidFor(H), H, G);
  return GEMM_SCRATCH_BYTES + 64 + (<usize>(fwd > bwd ? fwd : bwd) << 2);
}

function gemmAuto(transA: bool, transB: bool, m: i32, n: i32, k: i32, a: usize, b: usize, c: usize, beta: i32, scratch: usize): void {
  gemmDriver(kidFor(n), transA, transB, m, n, k, a, b, 0, c, beta, scratch);
}

/**
 * Forward over a packed sequence. x: N×in; gates: N×4H (activations out);
 * c: (bs[0]+N)×H (a zero block for step −1, then c_t); h: N×H; hPrev: N×H
 * (row (t,i) = h_{t−1,i}, zeros at t = 0, kept for the weight gradient).
 */
export function lstmSeqForward(inDim: i32, H: i32, steps: i32, bs: usize, x: usize, wIh: usize, wHh: usize, b: usize,
  gates: usize, c: usize, h: usize, hPrev: usize, work: usize): void {
  if (steps <= 0) return;
  const G = 4 * H;
  const B0 = load<i32>(bs);
  let N = 0;
  for (let t = 0; t < steps; t++) N += load<i32>(bs + (<usize>t << 2));
  const scratch = work;
  const wPack = (work + GEMM_SCRATCH_BYTES + 63) & ~<usize>63;
  const kid = kidFor(G);
  // Input projection of every step at once, then the recurrent weights packed once.
  gemmAuto(false, false, N, G, inDim, x, wIh, gates, 0, scratch);
  addBias(N, G, gates, b);
  packBAll(kid, false, H, G, wHh, wPack);
  const rowH = <usize>H << 2, rowG = <usize>G << 2;
  memory.fill(c, 0, <usize>B0 * rowH);
  memory.fill(hPrev, 0, <usize>B0 * rowH);
  let off = 0, offPrev = 0;
  for (let t = 0; t < steps; t++) {
    const Bt = load<i32>(bs + (<usize>t << 2));
    const g = gates + <usize>off * rowG;
    // gates_t += h_{t−1}·W_hh (h_{−1} = 0).
    if (t > 0) gemmDriver(kid, false, false, Bt, G, H, hPrev + <usize>off * rowH, 0, wPack, g, 1, scratch);
    const cPrev = t == 0 ? c : c + <usize>(B0 + offPrev) * rowH;
    lstmCellForward(Bt, H, g, cPrev, c + <usize>(B0 + off) * rowH, h + <usize>off * rowH, H);
    if (t + 1 < steps) {
      const Bn = load<i32>(bs + (<usize>(t + 1) << 2));
      memory.copy(hPrev + <usize>(off + Bt) * rowH, h + <usize>off * rowH, <usize>Bn * rowH);
    }
    offPrev = off;
    off += Bt;
  }
}

/**
 * Backpropagation through time over a packed sequence (after lstmSeqForward
 * with the same arguments). dh: N×H, dL/dh_t from above, used as the running
 * gradient (clobbered); dc: bs[0]×H workspace; dGates: N×4H out. Accumulates
 * gWih += xᵀ·dGates, gWhh += hPrevᵀ·dGates, gB += Σ dGates; dx (N×in) is
 * overwritten with dGates·W_ihᵀ unless it is 0.
 */
export function lstmSeqBackward(inDim: i32, H: i32, steps: i32, bs: usize, x: usize, wIh: usize, wHh: usize,
  gates: usize, c: usize, hPrev: usize, dh: usize, dc: usize, dGates: usize, dx: usize,
  gWih: usize, gWhh: usize, gB: usize, work: usize): void {
  if (steps <= 0) return;
  const G = 4 * H;
  const B0 = load<i32>(bs);
  let N = 0;
  for (let t = 0; t < steps; t++) N += load<i32>(bs + (<usize>t << 2));
  const scratch = work;
  const wPack = (work + GEMM_SCRATCH_BYTES + 63) & ~<usize>63;
  const kid = kidFor(H);
  // dh_{t−1} += dGates_t·W_hhᵀ: op(B) = W_hhᵀ (stored H×4H = n×k), packed once.
  packBAll(kid, true, G, H, wHh, wPack);
  const rowH = <usize>H << 2, rowG = <usize>G << 2;
  let off = N;
  for (let t = steps - 1; t >= 0; t--) {
    const Bt = load<i32>(bs + (<usize>t << 2));
    const Bn = t + 1 < steps ? load<i32>(bs + (<usize>(t + 1) << 2)) : 0;
    off -= Bt;
    // Sentences whose last step is t get no dc from the future.
    if (Bt > Bn) memory.fill(dc + <usize>Bn * rowH, 0, <usize>(Bt - Bn) * rowH);
    const Bp = t > 0 ? load<i32>(bs + (<usize>(t - 1) << 2)) : 0;
    const cPrev = t == 0 ? c : c + <usize>(B0 + off - Bp) * rowH;
    const dg = dGates + <usize>off * rowG;
    lstmCellBackward(Bt, H, gates + <usize>off * rowG, cPrev, c + <usize>(B0 + off) * rowH, dh + <usize>off * rowH, H, dc, dg);
    if (t > 0) gemmDriver(kid, false, true, Bt, H, G, dg, 0, wPack, dh + <usize>(off - Bp) * rowH, 1, scratch);
  }
  // All steps stacked: the weight and bias gradients in three big products.
  gemmAuto(true, false, H, G, N, hPrev, dGates, gWhh, 1, scratch);
  gemmAuto(true, false, inDim, G, N, x, dGates, gWih, 1, scratch);
  sumRows(N, G, dGates, gB, 1);
  if (dx != 0) gemmAuto(false, true, N, inDim, G, dGates, wIh, dx, 0, scratch);
}

/** Rows of gate pre-activations the inference kernel projects at a time (at least one step's rows). */
const INFER_CHUNK_ROWS: i32 = 256;

// @ts-ignore: decorator
@inline function inferChunkRows(B0: i32): i32 { return B0 > INFER_CHUNK_ROWS ? B0 : INFER_CHUNK_ROWS; }

/** Rows of the steps t, t+1, … that fit in `cap` rows together (whole steps; at least step t's when cap ≥ bs[t]). */
function wholeStepRows(bs: usize, t: i32, steps: i32, cap: i32): i32 {
  let rows = 0;
  for (let u = t; u < steps; u++) {
    const Bu = load<i32>(bs + (<usize>u << 2));
    if (rows + Bu > cap) break;
    rows += Bu;
  }
  return rows;
}

/**
 * Workspace bytes of {@link lstmSeqInfer} for hidden size H and first batch
 * size B0: the forward's (GEMM scratch + packed W_hh), a chunk of gate rows,
 * and one B0×H cell-state block.
 */
export function lstmInferWorkspaceBytes(H: i32, B0: i32): usize {
  const G = 4 * H;
  return lstmWorkspaceBytes(H) + 64 + (<usize>inferChunkRows(B0) * G << 2) + 64 + (<usize>B0 * H << 2);
}

/**
 * Inference-only forward over a packed sequence: writes h (N×H) and keeps
 * nothing for a backward pass. The input projection runs for a chunk of
 * steps at a time (one GEMM over up to inferChunkRows rows), the recurrence
 * reads h_{t−1} straight from h (the first rows of the previous step are the
 * sentences still running), and c is updated in place, so memory beyond x
 * and h is a fixed workspace that does not grow with the sentence length.
 * Same arithmetic, in the same order, as lstmSeqForward: h is bit-identical.
 */
export function lstmSeqInfer(inDim: i32, H: i32, steps: i32, bs: usize, x: usize, wIh: usize, wHh: usize, b: usize,
  h: usize, work: usize): void {
  if (steps <= 0) return;
  const G = 4 * H;
  const B0 = load<i32>(bs);
  const scratch = work;
  const wPack = (work + GEMM_SCRATCH_BYTES + 63) & ~<usize>63;
  const gBuf = (work + lstmWorkspaceBytes(H) + 63) & ~<usize>63;
  const chunkRows = inferChunkRows(B0);
  const c = (gBuf + (<usize>chunkRows * G << 2) + 63) & ~<usize>63;
  const kid = kidFor(G);
  packBAll(kid, false, H, G, wHh, wPack);
  const rowH = <usize>H << 2, rowG = <usize>G << 2, rowX = <usize>inDim << 2;
  memory.fill(c, 0, <usize>B0 * rowH);
  let off = 0, offPrev = 0;
  let chunkOff = 0, chunkEnd = 0; // rows [chunkOff, chunkEnd) are projected in gBuf
  for (let t = 0; t < steps; t++) {
    const Bt = load<i32>(bs + (<usize>t << 2));
    if (off >= chunkEnd) {
      // Project the next steps' inputs: as many whole steps as fit in the chunk.
      const rows = wholeStepRows(bs, t, steps, chunkRows);
      gemmAuto(false, false, rows, G, inDim, x + <usize>off * rowX, wIh, gBuf, 0, scratch);
      addBias(rows, G, gBuf, b);
      chunkOff = off;
      chunkEnd = off + rows;
    }
    const g = gBuf + <usize>(off - chunkOff) * rowG;
    if (t > 0) gemmDriver(kid, false, false, Bt, G, H, h + <usize>offPrev * rowH, 0, wPack, g, 1, scratch);
    lstmCellInfer(Bt, H, g, c, c, h + <usize>off * rowH);
    offPrev = off;
    off += Bt;
  }
}

// @ts-ignore: decorator
@inline function align64(p: usize): usize { return (p + 63) & ~<usize>63; }

/** Workspace bytes of {@link lstmSeqInferQ}: a gate chunk, c, and the quantized input/hidden rows with their scales. */
export function lstmInferQWorkspaceBytes(inDim: i32, H: i32, B0: i32): usize {
  const rows = inferChunkRows(B0);
  const G = 4 * H;
  const kx = (inDim + 1) & ~1, kh = (H + 1) & ~1;
  const q = <usize>rows * kx > <usize>B0 * kh ? <usize>rows * kx : <usize>B0 * kh;
  return (<usize>rows * G << 2) + (<usize>B0 * H << 2) + (q << 1) + (<usize>rows << 2) + 64 * 6;
}

/**
 * {@link lstmSeqInfer} with int16 weights (packed by packQ: W_ih for k = in,
 * W_hh for k = H, with their column scales): the inputs of each chunk and
 * h_{t−1} of each step are quantized per row (quantizeRows) and multiplied
 * with qgemm. The cell and everything else are as in the fp32 kernel.
 */
export function lstmSeqInferQ(inDim: i32, H: i32, steps: i32, bs: usize, x: usize, wIhQ: usize, sIh: usize, wHhQ: usize, sHh: usize,
  b: usize, h: usize, work: usize): void {
  if (steps <= 0) return;
  const G = 4 * H;
  const B0 = load<i32>(bs);
  const chunkRows = inferChunkRows(B0);
  const gBuf = align64(work);
  const c = align64(gBuf + (<usize>chunkRows * G << 2));
  const aQ = align64(c + (<usize>B0 * H << 2));
  const kx = (inDim + 1) & ~1, kh = (H + 1) & ~1;
  const q = <usize>chunkRows * kx > <usize>B0 * kh ? <usize>chunkRows * kx : <usize>B0 * kh;
  const sa = align64(aQ + (q << 1));
  const tmp = align64(sa + (<usize>chunkRows << 2));
  const rowH = <usize>H << 2, rowG = <usize>G << 2, rowX = <usize>inDim << 2;
  memory.fill(c, 0, <usize>B0 * rowH);
  let off = 0, offPrev = 0;
  let chunkOff = 0, chunkEnd = 0;
  for (let t = 0; t < steps; t++) {
    const Bt = load<i32>(bs + (<usize>t << 2));
    if (off >= chunkEnd) {
      const rows = wholeStepRows(bs, t, steps, chunkRows);
      quantizeRows(rows, inDim, x + <usize>off * rowX, aQ, sa);
      qgemm(rows, G, inDim, aQ, sa, wIhQ, sIh, gBuf, 0, tmp);
      addBias(rows, G, gBuf, b);
      chunkOff = off;
      chunkEnd = off + rows;
    }
    const g = gBuf + <usize>(off - chunkOff) * rowG;
    if (t > 0) {
      quantizeRows(Bt, H, h + <usize>offPrev * rowH, aQ, sa);
      qgemm(Bt, G, H, aQ, sa, wHhQ, sHh, g, 1, tmp);
    }
    lstmCellInfer(Bt, H, g, c, c, h + <usize>off * rowH);
    offPrev = off;
    off += Bt;
  }
}
