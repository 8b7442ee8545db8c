/** What the benches share: timing training steps on prepared batches. */
import type { Batch } from "../src/nn/batch.js";

/** The parts of a model and optimiser a timed training step uses. */
export interface Trainable {
  lossAndGrad(batch: Batch): unknown;
}

/** The optimiser calls a step makes. */
export interface Stepper {
  step(): void;
  zeroGrad(): void;
}

/**
 * Runs `warmUp` untimed steps (sizes the buffers, lets the JIT settle), then
 * one training step per batch; returns the real tokens, padded positions and
 * seconds of the timed part.
 */
export function timeTraining<T>(model: Trainable, opt: Stepper, collate: (b: T) => Batch,
  batches: readonly T[], warmUp: number): { tokens: number; padded: number; seconds: number } {
  for (const b of batches.slice(0, warmUp)) {
    model.lossAndGrad(collate(b));
    opt.zeroGrad();
  }
  let tokens = 0, padded = 0;
  const t0 = performance.now();
  for (const b of batches) {
    const pb = collate(b);
    model.lossAndGrad(pb);
    opt.step();
    opt.zeroGrad();
    tokens += pb.tokens;
    padded += pb.size * pb.maxLen;
  }
  return { tokens, padded, seconds: (performance.now() - t0) / 1000 };
}
