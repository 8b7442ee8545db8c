import type { Kernels } from "../engine/kernels.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import { RowLookup } from "./row-lookup.js";
import { TouchedRows, type SparseRowsParam } from "./sparse.js";
import { quantizeRowsInt8, type Int8Rows } from "../tensors/int8-rows.js";

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
export class Embedding extends RowLookup {
  private table: Float32Array | null;
  private param: SparseRowsParam | null;
  /** After {@link quantize}: the table as int8 rows with per-row scales. */
  private int8: Int8Rows | null = null;

  constructor(k: Kernels, matrix: Float32Array, size: number, dim: number, private readonly options: EmbeddingOptions = {}) {
    super(k, size, dim, "embedding");
    if (!Number.isInteger(size) || size < 1 || !Number.isInteger(dim) || dim < 1) {
      throw new LstmNerError(`embedding size and dim must be positive integers, got ${size}×${dim}`);
    }
    if (matrix.length !== size * dim) {
      throw new LstmNerError(`embedding matrix has ${matrix.length} values, expected ${size}×${dim} = ${size * dim}`);
    }
    this.table = matrix;
    this.param = options.trainable === true
      ? { name: "embedding.weight", shape: [size, dim], value: matrix, grad: new Float32Array(size * dim), rowDim: dim, touched: new TouchedRows(size) }
      : null;
  }

  /** The table, size×dim, row-major. @throws LstmNerError after {@link quantize}, which dropped it. */
  get matrix(): Float32Array {
    if (this.table === null) throw new LstmNerError("the word embedding was quantized to int8 for tagging; its float32 table is gone");
    return this.table;
  }

  /** The table as a parameter, when trainable (null after {@link quantize}: an int8 table is not trained). */
  get weight(): SparseRowsParam | null {
    return this.param;
  }

  /** True after {@link quantize}. */
  get quantized(): boolean {
    return this.int8 !== null;
  }

  /**
   * Keep the table as int8 with one scale per row (`quantizeRowsInt8`, the
   * values a model file exported with `--dtype i8` holds) and drop the
   * float32 table and its gradient: a quarter of the memory, for tagging only
   * (no parameter, no backward from now on). `shared` lets layers that read
   * the same float32 table share one int8 copy.
   */
  quantize(shared?: WeakMap<Float32Array, Int8Rows>): void {
    if (this.table === null) return;
    const t = this.table;
    let q = shared?.get(t);
    if (q === undefined) {
      q = quantizeRowsInt8(t, this.size, this.dim);
      shared?.set(t, q);
    }
    this.int8 = q;
    this.table = null;
    this.param = null;
  }

  /** Trainable parameters: the table when trainable, else none. */
  params(): Param[] {
    return this.weight === null ? [] : [this.weight];
  }

  protected copyRow(id: number, out: Float32Array, at: number): void {
    const { dim, table, int8 } = this;
    const s = id * dim;
    if (table !== null) {
      for (let j = 0; j < dim; j++) out[at + j] = table[s + j]!;
    } else {
      const { q, scale } = int8!;
      const sc = scale[id]!;
      for (let j = 0; j < dim; j++) out[at + j] = q[s + j]! * sc;
    }
  }

  protected outside(at: number, id: number): string {
    return `ids[${at}] = ${id} is outside the embedding table (0..${this.size - 1})`;
  }

  /** Accumulate dL/d(table) from dL/d(output) (n×dim); nothing to do when frozen. */
  backward(dOut: Float32Array): void {
    if (this.int8 !== null) throw new LstmNerError("the word embedding was quantized to int8 for tagging; it cannot be trained");
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
    this.release();
  }
}
