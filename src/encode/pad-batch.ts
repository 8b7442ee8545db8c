/**
 * From tokens and tags to a padded id batch: map tokens and tags to ids, pad
 * sentences to the longest one in the engine's time-major layout. Training,
 * evaluation and tagging all batch through here.
 */
import { LstmNerError } from "../util/errors.js";
import type { Batch } from "../nn/batch.js";

/** One sentence as ids, with its label ids when training or evaluating. */
export interface IdSentence {
  ids: Int32Array | readonly number[];
  labels?: Int32Array | readonly number[];
  /** Per-token data of the model's features by name (see `TokenData`), collated by the encoder. */
  data?: Readonly<Record<string, unknown>>;
}

/**
 * Pad sentences to the longest one, time-major. Padded positions get `padId`
 * and the label -1, which the loss and the metrics skip. (The items' `data`
 * is the encoder's to collate.)
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
