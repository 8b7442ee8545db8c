/** The optimiser the trainer steps: Adam or SGD over a model's parameters, with optional gradient clipping. */
import type { Kernels } from "../engine/kernels.js";
import type { Param } from "../nn/param.js";
import { Adam } from "../nn/adam.js";
import { Sgd, inverseTimeDecay } from "../nn/sgd.js";
import { clipGradNorm } from "../nn/clip.js";

/** What the trainer needs of an optimiser. */
export interface Optimizer {
  step(): void;
  zeroGrad(): void;
  /** Called at the start of each epoch (0-based), for learning-rate schedules. */
  setEpoch?(epoch: number): void;
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
  const withClip = (inner: { step(): void; zeroGrad(): void }, setEpoch?: (epoch: number) => void): Optimizer => ({
    step: () => {
      if (clip > 0) clipGradNorm(params, clip);
      inner.step();
    },
    zeroGrad: () => inner.zeroGrad(),
    ...(setEpoch ? { setEpoch } : {}),
  });
  if (o.kind === "adam") return withClip(new Adam(kernels, params, { lr: o.lr }));
  const sgd = new Sgd(params, { lr: o.lr, momentum: o.momentum ?? 0.9, ...(o.lrDecay ? { schedule: inverseTimeDecay(o.lrDecay) } : {}) });
  return withClip(sgd, (epoch) => sgd.setEpoch(epoch));
}
