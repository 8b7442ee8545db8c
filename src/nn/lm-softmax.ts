import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import type { Param } from "./param.js";
import { ClassSoftmax } from "./class-softmax.js";
import { Linear } from "./linear.js";
import { SoftmaxNll } from "./loss.js";

/**
 * A language model's output layer with its loss: from rows of features to the
 * mean NLL of each row's target word, and back.
 */
export interface LmSoftmax {
  params(): Param[];
  /** Mean NLL of `targets` (rows word ids) given x (rows×in, kept by reference until backward). */
  forward(x: Float32Array, targets: Int32Array, rows: number, withGrad: boolean): number;
  /** Accumulates the parameter gradients of `scale`·(the last forward's loss) and returns its dL/dx (rows×in). */
  backward(scale: number): Float32Array;
  dispose(): void;
}

/**
 * The LM output layers there are: "full" scores every word per row, "classes" a class-factored softmax
 * ({@link ClassSoftmax}).
 */
export const LM_SOFTMAXES = ["full", "classes"] as const;
export type LmSoftmaxKind = (typeof LM_SOFTMAXES)[number];

/**
 * The full softmax: z = x·W + b over all V words, NLL of log softmax(z).
 * Parameters `${name}.out.{w,b}` (in×V, V).
 */
class FullSoftmax implements LmSoftmax {
  private readonly out: Linear;
  private readonly nll: SoftmaxNll;
  private rows = 0;

  constructor(k: Kernels, inDim: number, private readonly classes: number, rng: Rng, name: string) {
    this.out = new Linear(k, inDim, classes, rng, `${name}.out`);
    this.nll = new SoftmaxNll(k);
  }

  params(): Param[] {
    return this.out.params();
  }

  forward(x: Float32Array, targets: Int32Array, rows: number, withGrad: boolean): number {
    this.rows = rows;
    return this.nll.forward(this.out.forward(x, rows), targets, rows, this.classes, withGrad).loss;
  }

  backward(scale: number): Float32Array {
    const dl = this.nll.backward();
    if (scale !== 1) for (let i = 0; i < dl.length; i++) dl[i]! *= scale; // the NLL's own gradient buffer, read once
    return this.out.backward(dl.subarray(0, this.rows * this.classes));
  }

  dispose(): void {
    this.out.dispose();
    this.nll.dispose();
  }
}

/** The output layer of kind `kind` over `classes` words (parameters named `${name}.…`). */
export function lmSoftmax(kind: LmSoftmaxKind, k: Kernels, inDim: number, classes: number, rng: Rng, name: string): LmSoftmax {
  return kind === "full" ? new FullSoftmax(k, inDim, classes, rng, name) : new ClassSoftmax(k, inDim, classes, rng, name);
}
