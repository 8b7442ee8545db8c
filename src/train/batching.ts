/**
 * Grouping training sentences into batches: shuffle with a seed, cut into
 * batches, or bucket by length (padding is `padBatch` in src/encode/pad-batch.ts).
 */
import type { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";

/** A shuffled copy of `items` (Fisher–Yates driven by `rng`); `items` is left as it is. */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  return rng.shuffle(items.slice());
}

function checkSize(size: number): void {
  if (!Number.isInteger(size) || size < 1) {
    throw new LstmNerError(`batch size must be a positive integer, got ${size}`);
  }
}

/** Consecutive batches of `size` items, the last one shorter: `batch([1,2,3,4,5], 2)` → `[[1,2],[3,4],[5]]`. */
export function batch<T>(items: readonly T[], size: number): T[][] {
  checkSize(size);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Length-bucketed batches, so sentences of similar length share a batch and
 * little compute goes to padding: sort by `lengthOf` (ties broken at random),
 * cut into batches of `size`, then shuffle the order of the batches. The same
 * rng state gives the same batches.
 */
export function bucketBatches<T>(items: readonly T[], size: number, rng: Rng, lengthOf: (item: T) => number): T[][] {
  checkSize(size);
  // Shuffle first, then a stable sort: equal lengths keep their random order.
  const order = shuffled(items, rng).map((item) => ({ item, length: lengthOf(item) }));
  order.sort((a, b) => a.length - b.length);
  return rng.shuffle(batch(order.map((o) => o.item), size));
}
