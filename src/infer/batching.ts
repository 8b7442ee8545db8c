/**
 * From sentences to padded id batches (step 3 of the classroom pipeline):
 * shuffle with a seed, cut into batches, map tokens and tags to ids, pad each
 * batch to its longest sentence in the engine's time-major layout.
 */
import type { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import type { TaggerBatch } from "../nn/batch.js";

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

/**
 * A padded batch in the engine's time-major layout: position `t` of sentence
 * `b` is at index `t * size + b`; `ids` hold `padId` and `labels` −1 past each
 * sentence's end (see `TaggerBatch`).
 */
export type Batch = TaggerBatch;

/** One sentence as ids, with its label ids when training or evaluating. */
export interface IdSentence {
  ids: Int32Array | readonly number[];
  labels?: Int32Array | readonly number[];
}

/**
 * Pad sentences to the longest one, time-major. Padded positions get `padId`
 * and the label -1, which the loss and the metrics skip.
 * @throws LstmNerError for an empty batch, a bad id or label, or labels whose length differs from the ids'.
 */
export function padBatch(sentences: readonly IdSentence[], padId: number): Batch {
  const size = sentences.length;
  if (size === 0) throw new LstmNerError("cannot pad an empty batch");
  if (!Number.isInteger(padId) || padId < 0) throw new LstmNerError(`padId must be a non-negative integer, got ${padId}`);
  const lengths = new Int32Array(size);
  let maxLen = 0;
  let tokens = 0;
  for (let b = 0; b < size; b++) {
    const s = sentences[b]!;
    if (s.labels !== undefined && s.labels.length !== s.ids.length) {
      throw new LstmNerError(`batch item ${b}: ${s.ids.length} ids but ${s.labels.length} labels`);
    }
    lengths[b] = s.ids.length;
    maxLen = Math.max(maxLen, s.ids.length);
    tokens += s.ids.length;
  }
  const ids = new Int32Array(maxLen * size).fill(padId);
  const labels = new Int32Array(maxLen * size).fill(-1);
  for (let b = 0; b < size; b++) {
    const s = sentences[b]!;
    for (let t = 0; t < s.ids.length; t++) {
      const id = s.ids[t]!;
      // Int32Array would silently truncate or wrap a bad number.
      if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
        throw new LstmNerError(`batch item ${b}, token ${t}: id ${id} is not a non-negative integer`);
      }
      ids[t * size + b] = id;
    }
    if (s.labels !== undefined) {
      for (let t = 0; t < s.labels.length; t++) {
        const label = s.labels[t]!;
        if (!Number.isInteger(label) || label < -1 || label > 0x7fffffff) {
          throw new LstmNerError(`batch item ${b}, token ${t}: label ${label} is not an integer >= -1`);
        }
        labels[t * size + b] = label;
      }
    }
  }
  return { size, maxLen, lengths, ids, labels, tokens };
}

/**
 * Map tokens to ids with `lookup` (which decides lowercasing and the unknown
 * id, e.g. the embedding's UNK row).
 * @throws LstmNerError if `lookup` returns something that is not a non-negative integer.
 */
export function toIds(tokens: readonly string[], lookup: (token: string) => number): Int32Array {
  const out = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const id = lookup(tokens[i]!);
    if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
      throw new LstmNerError(`token ${i + 1} ${JSON.stringify(tokens[i])}: lookup gave ${id}, not a non-negative integer id`);
    }
    out[i] = id;
  }
  return out;
}

/** Where a sentence came from, for error messages. */
export interface LabelWhere {
  file?: string;
  /** Sentence number as the caller counts it; printed as given. */
  sentence?: number;
}

/**
 * Map tags to their index in `labels` (e.g. `CONLL_LABELS`).
 * @throws LstmNerError naming the tag, the file and the sentence for a tag not in `labels`.
 */
export function labelIds(tags: readonly string[], labels: readonly string[], where: LabelWhere = {}): Int32Array {
  const index = new Map<string, number>();
  labels.forEach((label, i) => {
    if (!index.has(label)) index.set(label, i);
  });
  const out = new Int32Array(tags.length);
  for (let i = 0; i < tags.length; i++) {
    const id = index.get(tags[i]!);
    if (id === undefined) {
      const at = where.sentence === undefined ? "" : `sentence ${where.sentence}, `;
      throw new LstmNerError(
        `${at}token ${i + 1}: unknown tag ${JSON.stringify(tags[i])} (known: ${labels.join(" ")})`,
        where.file === undefined ? {} : { file: where.file },
      );
    }
    out[i] = id;
  }
  return out;
}
