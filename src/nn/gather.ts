import type { Kernels } from "../engine/kernels.js";
import { KernelBuffer, exactly } from "./buffer.js";

/**
 * One span of each sequence of a time-major batch, moved to the front: for
 * inputs of T·B rows of `width` values, row (t, b) of the output is row
 * (start[b] + t, b) of the input for t < length[b], zeros beyond. With
 * document context the BiLSTM runs over a window of sentences and only the
 * centre sentence goes on to the output layer and the loss.
 */
export class GatherSpans {
  private readonly out: KernelBuffer;
  private readonly dx: KernelBuffer;
  private shape = { T: 0, B: 0, span: 0 };
  private start: Int32Array = new Int32Array(0);
  private length: Int32Array = new Int32Array(0);

  constructor(k: Kernels, readonly width: number) {
    this.out = new KernelBuffer(k);
    this.dx = new KernelBuffer(k);
  }

  /** The span's rows, `max(length)`·B × width; a view valid until the next forward. */
  forward(x: Float32Array, T: number, B: number, start: Int32Array, length: Int32Array): Float32Array {
    const W = this.width;
    const xv = exactly(x, T * B * W, "gather input");
    let span = 0;
    for (let b = 0; b < B; b++) {
      if (start[b]! < 0 || length[b]! < 0 || start[b]! + length[b]! > T) throw new Error(`GatherSpans: span ${start[b]}+${length[b]} outside 0..${T}`);
      span = Math.max(span, length[b]!);
    }
    const y = this.out.get(span * B * W).fill(0);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < length[b]!; t++) y.set(xv.subarray(((start[b]! + t) * B + b) * W, ((start[b]! + t) * B + b + 1) * W), (t * B + b) * W);
    }
    this.shape = { T, B, span };
    this.start = start;
    this.length = length;
    return y;
  }

  /** dL/dx: the span's gradient rows put back in place, zeros elsewhere; valid until the next backward. */
  backward(dy: Float32Array): Float32Array {
    const { T, B, span } = this.shape;
    const W = this.width;
    const d = exactly(dy, span * B * W, "gather output gradient");
    const dx = this.dx.get(T * B * W).fill(0);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < this.length[b]!; t++) {
        const to = ((this.start[b]! + t) * B + b) * W;
        dx.set(d.subarray((t * B + b) * W, (t * B + b + 1) * W), to);
      }
    }
    return dx;
  }

  /** Free kernel memory. */
  dispose(): void {
    this.out.release();
    this.dx.release();
  }
}

/** {@link GatherSpans} for per-row integers (labels): T·B values → max(length)·B, `fill` beyond each span. */
export function gatherSpanInts(x: Int32Array, T: number, B: number, start: Int32Array, length: Int32Array, fill: number): Int32Array {
  let span = 0;
  for (let b = 0; b < B; b++) span = Math.max(span, length[b]!);
  const y = new Int32Array(span * B).fill(fill);
  for (let b = 0; b < B; b++) for (let t = 0; t < length[b]!; t++) y[t * B + b] = x[(start[b]! + t) * B + b]!;
  return y;
}

/** The inverse of {@link gatherSpanInts}: span values put back into T·B, `fill` elsewhere (e.g. −1 for "not predicted"). */
export function scatterSpanInts(y: Int32Array, T: number, B: number, start: Int32Array, length: Int32Array, fill: number): Int32Array {
  const x = new Int32Array(T * B).fill(fill);
  for (let b = 0; b < B; b++) for (let t = 0; t < length[b]!; t++) x[(start[b]! + t) * B + b] = y[t * B + b]!;
  return x;
}
