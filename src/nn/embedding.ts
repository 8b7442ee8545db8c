import type { Kernels } from "../engine/kernels.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import { KernelBuffer } from "./buffer.js";
import { TouchedRows, type SparseRowsParam } from "./sparse.js";

/** Options of {@link Embedding}. */
export interface EmbeddingOptions {
  /** Train the table (default false: frozen, like `from_pretrained(freeze=True)`). */
  trainable?: boolean;
  /** A row that never receives a gradient (PyTorch's `padding_idx`), e.g. PAD. */
  paddingIdx?: number;
}

/**
 * Word embedding lookup: row `ids[i]` of a size×dim table becomes row i of the
 * output. The table is an ordinary Float32Array (hundreds of MB for GloVe; it
 * is only gathered from, never handed to a kernel), used in place, not copied.
 *
 * When trainable it is exposed as a {@link SparseRowsParam}: backward adds into
 * the gradient rows of the ids seen and records them, so the optimiser can do
 * a lazy update of just those rows instead of touching the whole table.
 */
export class Embedding {
  /** The table, size×dim, row-major. */
  readonly matrix: Float32Array;
  /** The table as a parameter, when trainable. */
  readonly weight: SparseRowsParam | null;
  private readonly out: KernelBuffer;
  private ids = new Int32Array(0);
  private n = 0;

  constructor(k: Kernels, matrix: Float32Array, readonly size: number, readonly dim: number,
    private readonly options: EmbeddingOptions = {}) {
    if (!Number.isInteger(size) || size < 1 || !Number.isInteger(dim) || dim < 1) {
      throw new LstmNerError(`embedding size and dim must be positive integers, got ${size}×${dim}`);
    }
    if (matrix.length !== size * dim) {
      throw new LstmNerError(`embedding matrix has ${matrix.length} values, expected ${size}×${dim} = ${size * dim}`);
    }
    this.matrix = matrix;
    this.weight = options.trainable === true
      ? { name: "embedding.weight", shape: [size, dim], value: matrix, grad: new Float32Array(size * dim), rowDim: dim, touched: new TouchedRows(size) }
      : null;
    this.out = new KernelBuffer(k);
  }

  /** Trainable parameters: the table when trainable, else none. */
  params(): Param[] {
    return this.weight === null ? [] : [this.weight];
  }

  /**
   * Gather rows for the first `n` ids (default all). Returns n×dim, a view of
   * this layer's kernel buffer valid until the next forward.
   * @throws LstmNerError naming the position of an id outside the table.
   */
  forward(ids: Int32Array, n = ids.length): Float32Array {
    const { dim, size, matrix } = this;
    if (n > ids.length) throw new LstmNerError(`embedding ids: expected ${n} values, got ${ids.length}`);
    if (this.ids.length < n) this.ids = new Int32Array(n);
    const out = this.out.get(n * dim);
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      if (id < 0 || id >= size) throw new LstmNerError(`ids[${i}] = ${id} is outside the embedding table (0..${size - 1})`);
      this.ids[i] = id;
      const s = id * dim;
      const o = i * dim;
      for (let j = 0; j < dim; j++) out[o + j] = matrix[s + j]!;
    }
    this.n = n;
    return out;
  }

  /** Accumulate dL/d(table) from dL/d(output) (n×dim); nothing to do when frozen. */
  backward(dOut: Float32Array): void {
    const w = this.weight;
    if (w === null) return;
    const { dim } = this;
    const pad = this.options.paddingIdx;
    for (let i = 0; i < this.n; i++) {
      const id = this.ids[i]!;
      if (id === pad) continue;
      w.touched.mark(id);
      const o = id * dim;
      const s = i * dim;
      for (let j = 0; j < dim; j++) w.grad[o + j]! += dOut[s + j]!;
    }
  }

  /** Free the output buffer (the table is the caller's). */
  dispose(): void {
    this.out.release();
  }
}
