import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import { exactly, freeParam, kernelParam } from "./buffer.js";
import { RowLookup } from "./row-lookup.js";

/**
 * A small trainable lookup table (e.g. casing classes): row `ids[i]` becomes
 * row i of the output. Dense parameter `${name}.weight` (size×dim), since the
 * table is tiny; row `paddingIdx` stays zero and gets no gradient.
 * Initialised U(−√(3/dim), √(3/dim)).
 */
export class CasingEmbedding extends RowLookup {
  readonly weight: Param;

  constructor(private readonly k: Kernels, size: number, dim: number, rng: Rng, name = "casing", readonly paddingIdx: number | null = 0) {
    super(k, size, dim, name);
    if (!Number.isInteger(size) || size < 1 || !Number.isInteger(dim) || dim < 1) {
      throw new LstmNerError(`${name}: size and dim must be positive integers, got ${size}×${dim}`);
    }
    this.weight = kernelParam(k, `${name}.weight`, [size, dim]);
    const a = Math.sqrt(3 / dim);
    rng.fillUniform(this.weight.value, -a, a);
    if (paddingIdx !== null) this.weight.value.fill(0, paddingIdx * dim, (paddingIdx + 1) * dim);
  }

  /** Trainable parameters: the table. */
  params(): Param[] {
    return [this.weight];
  }

  protected copyRow(id: number, out: Float32Array, at: number): void {
    out.set(this.weight.value.subarray(id * this.dim, (id + 1) * this.dim), at);
  }

  protected outside(at: number, id: number): string {
    return `${this.weight.name}: ids[${at}] = ${id} is outside 0..${this.size - 1}`;
  }

  /** Accumulate dL/d(table) from dL/d(output) (n×dim). */
  backward(dOut: Float32Array): void {
    const { dim } = this;
    const d = exactly(dOut, this.n * dim, `${this.weight.name} output gradient`);
    const g = this.weight.grad;
    for (let i = 0; i < this.n; i++) {
      const id = this.ids[i]!;
      if (id === this.paddingIdx) continue;
      const o = id * dim;
      const s = i * dim;
      for (let j = 0; j < dim; j++) g[o + j]! += d[s + j]!;
    }
  }

  /** Free kernel memory (parameters included). */
  dispose(): void {
    this.release();
    freeParam(this.k, this.weight);
  }
}
