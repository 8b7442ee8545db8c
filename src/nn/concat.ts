import type { Kernels } from "../engine/kernels.js";
import { KernelBuffer, exactly } from "./buffer.js";

/**
 * Concatenation of row blocks side by side: row r of the output is
 * [a_r | b_r | …] for inputs of widths `widths` (all with the same rows).
 * Backward splits the gradient back into one block per input.
 */
export class ConcatColumns {
  readonly width: number;
  private readonly out: KernelBuffer;
  private readonly grads: KernelBuffer[];
  private rows = 0;

  constructor(k: Kernels, readonly widths: readonly number[]) {
    this.width = widths.reduce((a, b) => a + b, 0);
    this.out = new KernelBuffer(k);
    this.grads = widths.map(() => new KernelBuffer(k));
  }

  /** rows×width output from one rows×widths[i] block per input; a view valid until the next forward. */
  forward(parts: readonly Float32Array[], rows: number): Float32Array {
    const { widths, width } = this;
    if (parts.length !== widths.length) throw new Error(`ConcatColumns: ${parts.length} inputs, expected ${widths.length}`);
    const out = this.out.get(rows * width);
    parts.forEach((part, i) => this.place(out, i, part, rows));
    this.rows = rows;
    return out;
  }

  /**
   * The rows×width output buffer for a caller that writes each input's columns
   * into it itself (tagging: no separate rows×widths[i] blocks are built);
   * a view valid until the next forward. No {@link backward} after it.
   */
  output(rows: number): Float32Array {
    this.rows = 0;
    return this.out.get(rows * this.width);
  }

  /**
   * Copy one input block (rows×widths[i]) into its columns of `out`, as {@link forward} does;
   * with `from`, row r of `out` gets row from[r] of `part` (which has `partRows` rows).
   */
  place(out: Float32Array, i: number, part: Float32Array, rows: number, from: Int32Array | null = null, partRows = rows): void {
    const { widths, width } = this;
    const w = widths[i]!;
    let col = 0;
    for (let j = 0; j < i; j++) col += widths[j]!;
    const src = exactly(part, partRows * w, `concat input ${i}`);
    for (let r = 0; r < rows; r++) {
      const s = from === null ? r : from[r]!;
      if (!(s >= 0 && s < partRows)) throw new Error(`ConcatColumns: source row ${s} is outside 0..${partRows - 1}`);
      out.set(src.subarray(s * w, (s + 1) * w), r * width + col);
    }
  }

  /** Split dL/d(output) (rows×width) into the inputs' gradients, views valid until the next backward. */
  backward(dOut: Float32Array): Float32Array[] {
    const { widths, width, rows } = this;
    const d = exactly(dOut, rows * width, "concat output gradient");
    let col = 0;
    return widths.map((w, i) => {
      const g = this.grads[i]!.get(rows * w);
      for (let r = 0; r < rows; r++) g.set(d.subarray(r * width + col, r * width + col + w), r * w);
      col += w;
      return g;
    });
  }

  /** Free kernel memory. */
  dispose(): void {
    this.out.release();
    for (const g of this.grads) g.release();
  }
}
