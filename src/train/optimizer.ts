/** The optimiser the trainer steps: Adam or SGD over a model's parameters, with optional gradient clipping. */
import type { Kernels } from "../engine/kernels.js";
import type { Param } from "../nn/param.js";
import { Adam, type AdamState } from "../nn/adam.js";
import { Sgd, inverseTimeDecay, type SgdState } from "../nn/sgd.js";
import { LstmNerError } from "../util/errors.js";
import { clipGradNorm } from "../nn/clip.js";

/** A value of a checkpoint: JSON with typed arrays inside (they are stored as tensors). */
export type StateValue = number | string | boolean | null | Float32Array | Int32Array | StateValue[] | { [key: string]: StateValue };

/** What the trainer needs of an optimiser. */
export interface Optimizer {
  step(): void;
  zeroGrad(): void;
  /** Called at the start of each epoch (0-based), for learning-rate schedules. */
  setEpoch?(epoch: number): void;
  /** A copy of the optimiser's state (moments, velocities, step count), for checkpoints. */
  exportState?(): StateValue;
  /** Continue from an {@link exportState}. */
  importState?(state: StateValue): void;
}

/** Options of {@link createOptimizer}. */
export interface OptimizerOptions {
  kind: "adam" | "sgd";
  lr: number;
  /** SGD momentum (default 0.9). */
  momentum?: number;
  /** SGD: lr_t = lr / (1 + decay·epoch) (Ma & Hovy); 0 = constant. */
  lrDecay?: number;
  /** Clip the gradient's global L2 norm to this before each step; 0 = off. */
  clipNorm?: number;
}

/** An optimiser over `params` (a model's trainable parameters); a number is Adam's learning rate. */
export function createOptimizer(kernels: Kernels, params: Param[], options: OptimizerOptions | number): Optimizer {
  const o: OptimizerOptions = typeof options === "number" ? { kind: "adam", lr: options } : options;
  const clip = o.clipNorm ?? 0;
  const withClip = (inner: Adam | Sgd, setEpoch?: (epoch: number) => void): Optimizer => ({
    step: () => {
      if (clip > 0) clipGradNorm(params, clip);
      inner.step();
    },
    zeroGrad: () => inner.zeroGrad(),
    ...(setEpoch ? { setEpoch } : {}),
    exportState: () => ({ kind: o.kind, ...inner.exportState() }) as unknown as StateValue,
    importState: (state: StateValue) => {
      const st = state as unknown as { kind?: unknown };
      if (typeof st !== "object" || st === null || st.kind !== o.kind) throw new LstmNerError(`the checkpoint's optimiser state is not ${o.kind}'s`);
      if (inner instanceof Adam) inner.importState(state as unknown as AdamState);
      else inner.importState(state as unknown as SgdState);
    },
  });
  if (o.kind === "adam") return withClip(new Adam(kernels, params, { lr: o.lr }));
  const sgd = new Sgd(params, { lr: o.lr, momentum: o.momentum ?? 0.9, ...(o.lrDecay ? { schedule: inverseTimeDecay(o.lrDecay) } : {}) });
  return withClip(sgd, (epoch) => sgd.setEpoch(epoch));
}
