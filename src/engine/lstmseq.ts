import type { Kernels, LstmInferSequence, LstmSequence, LstmSequenceGrad } from "./kernels.js";
import { LstmNerError } from "../util/errors.js";

/** Shape of a packed sequence: steps, total rows N, first batch size B0. */
export interface SeqShape {
  steps: number;
  n: number;
  b0: number;
}

function need(buf: Float32Array, n: number, fn: string, field: string): void {
  if (!(buf instanceof Float32Array)) throw new LstmNerError(`${fn}: ${field} must be a Float32Array`);
  if (buf.length < n) throw new LstmNerError(`${fn}: ${field} has ${buf.length} values, needs at least ${n}`);
}

/**
 * Checks one {@link LstmInferSequence} (batch sizes ≥ 1 and non-increasing,
 * every buffer large enough; the weights too unless `weights` is false) and
 * returns its shape.
 * @throws LstmNerError naming the function and the field.
 */
export function checkInferSequence(s: LstmInferSequence, fn: string, weights = true): SeqShape {
  const { inDim, hidden: H, batchSizes } = s;
  for (const [field, v] of [["inDim", inDim], ["hidden", H]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 0x3fffffff) throw new LstmNerError(`${fn}: ${field} must be a positive integer, got ${v}`);
  }
  if (!(batchSizes instanceof Int32Array)) throw new LstmNerError(`${fn}: batchSizes must be an Int32Array`);
  let n = 0;
  for (let t = 0; t < batchSizes.length; t++) {
    const bt = batchSizes[t]!;
    if (bt < 1 || (t > 0 && bt > batchSizes[t - 1]!)) {
      throw new LstmNerError(`${fn}: batchSizes[${t}] = ${bt} must be ≥ 1 and ≤ the previous step's (sentences sorted longest first)`);
    }
    n += bt;
  }
  const b0 = batchSizes.length > 0 ? batchSizes[0]! : 0;
  const G = 4 * H;
  need(s.x, n * inDim, fn, "x");
  if (weights) {
    need(s.wIh, inDim * G, fn, "wIh");
    need(s.wHh, H * G, fn, "wHh");
    need(s.b, G, fn, "b");
  }
  need(s.h, n * H, fn, "h");
  return { steps: batchSizes.length, n, b0 };
}

/** {@link checkInferSequence} plus the buffers a training forward fills. */
export function checkSequence(s: LstmSequence, fn: string): SeqShape {
  const shape = checkInferSequence(s, fn);
  const { n, b0 } = shape;
  const H = s.hidden, G = 4 * H;
  need(s.gates, n * G, fn, "gates");
  need(s.c, (b0 + n) * H, fn, "c");
  need(s.hPrev, n * H, fn, "hPrev");
  return shape;
}

/** {@link checkSequence} plus the backward's buffers. */
export function checkSequenceGrad(s: LstmSequenceGrad, fn: string): SeqShape {
  const shape = checkSequence(s, fn);
  const { n, b0 } = shape;
  const H = s.hidden, G = 4 * H;
  need(s.dh, n * H, fn, "dh");
  need(s.dc, b0 * H, fn, "dc");
  need(s.dGates, n * G, fn, "dGates");
  if (s.dx !== null) need(s.dx, n * s.inDim, fn, "dx");
  need(s.gWih, s.inDim * G, fn, "gWih");
  need(s.gWhh, H * G, fn, "gWhh");
  need(s.gB, G, fn, "gB");
  return shape;
}

/**
 * The LSTM sequence maths written with the basic kernels (gemm, bias, cell):
 * the specification of {@link Kernels.lstmForward}, used by the reference kernels.
 */
export function lstmForwardWith(k: Kernels, s: LstmSequence): void {
  const { steps, n, b0 } = checkSequence(s, "lstmForward");
  if (steps === 0) return;
  const H = s.hidden, G = 4 * H;
  const bs = s.batchSizes;
  k.gemm(false, false, n, G, s.inDim, s.x, s.wIh, s.gates, 0);
  k.addBias(n, G, s.gates, s.b);
  s.c.fill(0, 0, b0 * H);
  s.hPrev.fill(0, 0, b0 * H);
  let off = 0;
  let offPrev = 0;
  for (let t = 0; t < steps; t++) {
    const bt = bs[t]!;
    const g = s.gates.subarray(off * G, (off + bt) * G);
    if (t > 0) k.gemm(false, false, bt, G, H, s.hPrev.subarray(off * H, (off + bt) * H), s.wHh, g, 1);
    const cPrev = t === 0 ? s.c.subarray(0, bt * H) : s.c.subarray((b0 + offPrev) * H, (b0 + offPrev + bt) * H);
    const hT = s.h.subarray(off * H, (off + bt) * H);
    k.lstmCellForward(bt, H, g, cPrev, s.c.subarray((b0 + off) * H, (b0 + off + bt) * H), hT, H);
    if (t + 1 < steps) s.hPrev.set(hT.subarray(0, bs[t + 1]! * H), (off + bt) * H);
    offPrev = off;
    off += bt;
  }
}

/**
 * The specification of {@link Kernels.lstmInfer}: the training forward on
 * temporary buffers, keeping only h.
 */
export function lstmInferWith(k: Kernels, s: LstmInferSequence): void {
  const { n, b0 } = checkInferSequence(s, "lstmInfer");
  const H = s.hidden;
  lstmForwardWith(k, { ...s, gates: new Float32Array(n * 4 * H), c: new Float32Array((b0 + n) * H), hPrev: new Float32Array(n * H) });
}

/** The specification of {@link Kernels.lstmBackward}, with the basic kernels. */
export function lstmBackwardWith(k: Kernels, s: LstmSequenceGrad): void {
  const { steps, n, b0 } = checkSequenceGrad(s, "lstmBackward");
  if (steps === 0) return;
  const H = s.hidden, G = 4 * H;
  const bs = s.batchSizes;
  let off = n;
  for (let t = steps - 1; t >= 0; t--) {
    const bt = bs[t]!;
    const bn = t + 1 < steps ? bs[t + 1]! : 0;
    off -= bt;
    // Sentences whose last step is t get no dc from the future.
    s.dc.fill(0, bn * H, bt * H);
    const bp = t > 0 ? bs[t - 1]! : 0;
    const cPrev = t === 0 ? s.c.subarray(0, bt * H) : s.c.subarray((b0 + off - bp) * H, (b0 + off - bp + bt) * H);
    const dg = s.dGates.subarray(off * G, (off + bt) * G);
    k.lstmCellBackward(bt, H, s.gates.subarray(off * G, (off + bt) * G), cPrev,
      s.c.subarray((b0 + off) * H, (b0 + off + bt) * H), s.dh.subarray(off * H, (off + bt) * H), H, s.dc.subarray(0, bt * H), dg);
    if (t > 0) k.gemm(false, true, bt, H, G, dg, s.wHh, s.dh.subarray((off - bp) * H, (off - bp + bt) * H), 1);
  }
  k.gemm(true, false, H, G, n, s.hPrev, s.dGates, s.gWhh, 1);
  k.gemm(true, false, s.inDim, G, n, s.x, s.dGates, s.gWih, 1);
  k.sumRows(n, G, s.dGates, s.gB, 1);
  if (s.dx !== null) k.gemm(false, true, n, s.inDim, G, s.dGates, s.wIh, s.dx, 0);
}
