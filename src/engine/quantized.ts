/**
 * The int16 inference arithmetic, written plainly: the specification of
 * {@link Kernels.quantizeLstm} / {@link Kernels.lstmInferQuantized} for the
 * reference kernels, and what the WASM kernels (assembly/qgemm.ts) compute
 * with SIMD. Every f32 operation is rounded as the SIMD code rounds it, so
 * the quantized integers and the products agree exactly; only the cell's
 * activation functions differ (as in fp32).
 *
 * Activations (inputs, h_{t−1}) are quantized per row to [−QA, QA]; weights
 * per output column to [−qmaxFor(k), qmaxFor(k)], chosen so that a dot
 * product of length k cannot overflow an int32 accumulator.
 */
import type { Kernels, LstmQuantSequence, QuantizedLstm } from "./kernels.js";
import { checkInferSequence } from "./lstmseq.js";
import { LstmNerError } from "../util/errors.js";

/** Largest |activation| after quantization (12 bits). */
export const QA = 2047;

const f32 = Math.fround;
const evenUp = (k: number): number => (k + 1) & ~1;

/** Largest |weight| after quantization for inner dimension k: even(k)·QA·qmax < 2^31, at most 32767. */
export function qmaxFor(k: number): number {
  return Math.min(32767, Math.floor(0x7fffffff / (evenUp(k) * QA)));
}

/** Round half to even, as f32.nearest. */
function nearest(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Per-row quantization of a rows×cols matrix: integers rows×cols and one scale per row. */
export function quantizeRows(rows: number, cols: number, src: Float32Array): { q: Int16Array; scales: Float32Array } {
  const q = new Int16Array(rows * cols), scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = 0;
    for (let j = 0; j < cols; j++) m = Math.max(m, Math.abs(src[r * cols + j]!));
    scales[r] = f32(m / QA);
    const inv = m > 0 ? f32(QA / m) : 0;
    for (let j = 0; j < cols; j++) q[r * cols + j] = nearest(f32(src[r * cols + j]! * inv));
  }
  return { q, scales };
}

/** Per-column quantization of a k×n weight matrix (row-major): integers k×n and one scale per column. */
export function quantizeColumns(k: number, n: number, w: Float32Array): { q: Int16Array; scales: Float32Array } {
  const qmax = qmaxFor(k);
  const q = new Int16Array(k * n), scales = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let m = 0;
    for (let p = 0; p < k; p++) m = Math.max(m, Math.abs(w[p * n + j]!));
    const s = f32(m / qmax);
    scales[j] = s;
    const inv = s > 0 ? f32(1 / s) : 0;
    for (let p = 0; p < k; p++) q[p * n + j] = nearest(f32(w[p * n + j]! * inv));
  }
  return { q, scales };
}

/** C = beta·C + (sa[i]·sb[j])·Σ_p A[i,p]·B[p,j] with exact integer sums (A m×k, B k×n). */
export function qgemm(m: number, n: number, k: number, a: { q: Int16Array; scales: Float32Array },
  b: { q: Int16Array; scales: Float32Array }, c: Float32Array, beta: 0 | 1): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += a.q[i * k + p]! * b.q[p * n + j]!;
      const v = f32(f32(acc) * f32(a.scales[i]! * b.scales[j]!));
      c[i * n + j] = beta === 0 ? v : f32(c[i * n + j]! + v);
    }
  }
}

/** The reference kernels' quantized weights. */
export interface PlainQuantizedLstm extends QuantizedLstm {
  wIh: { q: Int16Array; scales: Float32Array };
  wHh: { q: Int16Array; scales: Float32Array };
  b: Float32Array;
}

/** {@link Kernels.quantizeLstm} in plain TypeScript. */
export function quantizeLstmPlain(name: string, inDim: number, hidden: number, wIh: Float32Array, wHh: Float32Array, b: Float32Array): PlainQuantizedLstm {
  const G = 4 * hidden;
  checkWeights("quantizeLstm", inDim, hidden, wIh, wHh, b);
  return { kernels: name, inDim, hidden, wIh: quantizeColumns(inDim, G, wIh), wHh: quantizeColumns(hidden, G, wHh), b: Float32Array.from(b.subarray(0, G)) };
}

/** Checks the shapes of {@link Kernels.quantizeLstm}'s arguments. */
export function checkWeights(fn: string, inDim: number, hidden: number, wIh: Float32Array, wHh: Float32Array, b: Float32Array): void {
  for (const [field, v] of [["inDim", inDim], ["hidden", hidden]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 0x3fffffff) throw new LstmNerError(`${fn}: ${field} must be a positive integer, got ${v}`);
  }
  const G = 4 * hidden;
  for (const [field, a, n] of [["wIh", wIh, inDim * G], ["wHh", wHh, hidden * G], ["b", b, G]] as const) {
    if (!(a instanceof Float32Array)) throw new LstmNerError(`${fn}: ${field} must be a Float32Array`);
    if (a.length < n) throw new LstmNerError(`${fn}: ${field} has ${a.length} values, needs at least ${n}`);
  }
}

/** The specification of {@link Kernels.lstmInferQuantized}, with the basic kernels for the cell. */
export function lstmInferQuantizedWith(k: Kernels, s: LstmQuantSequence): void {
  const w = s.weights as PlainQuantizedLstm;
  if (w.kernels !== k.name || !("wIh" in w)) throw new LstmNerError(`lstmInferQuantized: weights were quantized by other kernels (${w.kernels})`);
  const { inDim, hidden: H } = w;
  const { steps, n, b0 } = checkInferSequence({ ...s, inDim, hidden: H, wIh: w.b, wHh: w.b, b: w.b }, "lstmInferQuantized", false);
  if (steps === 0) return;
  const G = 4 * H;
  const bs = s.batchSizes;
  // One projection for all rows: the per-row quantization makes it equal to the chunked WASM one.
  const gates = new Float32Array(n * G);
  qgemm(n, G, inDim, quantizeRows(n, inDim, s.x.subarray(0, n * inDim)), w.wIh, gates, 0);
  k.addBias(n, G, gates, w.b);
  const c = new Float32Array(b0 * H);
  let off = 0, offPrev = 0;
  for (let t = 0; t < steps; t++) {
    const bt = bs[t]!;
    const g = gates.subarray(off * G, (off + bt) * G);
    if (t > 0) qgemm(bt, G, H, quantizeRows(bt, H, s.h.subarray(offPrev * H, (offPrev + bt) * H)), w.wHh, g, 1);
    const cNext = new Float32Array(bt * H);
    k.lstmCellForward(bt, H, g, c.subarray(0, bt * H), cNext, s.h.subarray(off * H, (off + bt) * H), H);
    c.set(cNext);
    offPrev = off;
    off += bt;
  }
}
