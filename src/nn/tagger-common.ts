/**
 * What every tagger is (the {@link Tagger} interface) and what they share:
 * the batch check and the arg-max over per-token scores.
 */
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import type { Batch } from "./batch.js";
import type { Int8Rows } from "../tensors/int8-rows.js";
import type { Rng } from "../util/random.js";

/** What a tagger's `quantize` converts besides the LSTM weights. */
export interface QuantizeOptions {
  /**
   * The word embedding too, to int8 rows with per-row scales (`Embedding.quantize`):
   * a quarter of its memory; one-way (the float32 table is dropped, no training afterwards).
   */
  embedding?: boolean;
  /** Layers reading the same float32 table share one int8 copy through this map (an ensemble's members). */
  shared?: WeakMap<Float32Array, Int8Rows>;
}

/** A loss over a batch: the mean loss and the tokens (or sentences) it covered. */
export interface Loss {
  loss: number;
  count: number;
  /** A tagger with a char language model: its unweighted LM loss (NLL_fwd + NLL_bwd), already included in `loss`. */
  lm?: number;
}

/** The sizes every tagger has (each tagger's config adds its own settings). */
export interface TaggerSizes {
  /** LSTM hidden size per direction. */
  readonly hidden: number;
  /** Output classes. */
  readonly outputs: number;
}

/**
 * Per-token predictions, time-major T·B: label ids (−1 at pads) and, where the tagger has them, the probability of
 * each.
 */
export interface Prediction {
  pred: Int32Array;
  /**
   * Softmax probability of each predicted label (0 at pads); null for a tagger without per-token probabilities (a
   * CRF).
   */
  prob: Float32Array | null;
}

/**
 * A sequence tagger: scores every token of a padded batch, trains on gold
 * labels and predicts. `SoftmaxTagger` and `FeatureTagger` implement it; a
 * tagger that needs more than ids (`Batch.inputs`: chars, casing, …) checks
 * that its batch carries them and throws an LstmNerError otherwise.
 */
export interface Tagger {
  /** Its configuration, defaults filled in. */
  readonly config: TaggerSizes;
  /** All trainable parameters, by stable name (the word table first, when trainable). */
  params(): Param[];
  /** The parameters a model file keeps, when not all of {@link params} (a training-only head is left out). */
  storedParams?(): Param[];
  /** Forward + backward on one batch; ACCUMULATES gradients (the optimiser zeroes them). */
  lossAndGrad(batch: Batch): Loss;
  /** The loss on one batch without gradients. */
  loss(batch: Batch): Loss;
  /** Best label per position, time-major T·B, −1 at pads. */
  predict(batch: Batch): Int32Array;
  /** {@link predict} with the probability of each predicted label where the tagger has one. */
  predictWithScores(batch: Batch): Prediction;
  /** A tagger with a document memory: empty its tagging memory and fill it from these batches, before tagging them. */
  fillMemory?(batches: Iterable<Batch>): void;
  /** A tagger with a document memory: forget what training stored. */
  clearTrainingMemory?(): void;
  /** A tagger with dropout: the generator of its masks (its state goes into training checkpoints). */
  readonly dropoutRng?: Rng;
  /** Dropout on (training) or off (evaluation); a no-op for taggers without dropout. */
  setTraining(on: boolean): void;
  /**
   * Int16 LSTM weights for prediction from now on, until the next training step (see Lstm.quantize); with `embedding`,
   * the word table in int8 too, for good.
   */
  quantize(o?: QuantizeOptions): void;
  /** Free kernel memory; the tagger is unusable afterwards. */
  dispose(): void;
}

/**
 * Check a batch's shape: positive sizes, arrays of T·B values, lengths in
 * 0..T and −1 labels at the pads.
 * @throws LstmNerError naming the field.
 */
export function checkBatch(batch: Batch): void {
  const { size: B, maxLen: T, lengths, ids, labels } = batch;
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 1) {
    throw new LstmNerError(`batch: size and maxLen must be positive integers, got ${B} and ${T}`);
  }
  const n = T * B;
  if (lengths.length !== B) throw new LstmNerError(`batch.lengths has ${lengths.length} values, expected size = ${B}`);
  if (ids.length !== n) throw new LstmNerError(`batch.ids has ${ids.length} values, expected maxLen×size = ${n}`);
  if (labels.length !== n) throw new LstmNerError(`batch.labels has ${labels.length} values, expected maxLen×size = ${n}`);
  for (let b = 0; b < B; b++) {
    const len = lengths[b]!;
    if (len < 0 || len > T) throw new LstmNerError(`batch.lengths[${b}] = ${len} is outside 0..${T}`);
    for (let t = len; t < T; t++) {
      if (labels[t * B + b] !== -1) throw new LstmNerError(`batch.labels[${t * B + b}] is ${labels[t * B + b]} at a padded position (must be −1)`);
    }
  }
}

/**
 * Best class per real position of `scores` (T·B rows of `classes`), −1 at
 * pads, with its softmax probability (0 at pads).
 */
export function argmaxWithProb(scores: Float32Array, batch: Batch, classes: number): { pred: Int32Array; prob: Float32Array } {
  const { size: B, maxLen: T, lengths } = batch;
  const C = classes;
  const pred = new Int32Array(T * B).fill(-1);
  const prob = new Float32Array(T * B);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      if (t >= lengths[b]!) continue;
      const o = (t * B + b) * C;
      let best = 0;
      for (let j = 1; j < C; j++) if (scores[o + j]! > scores[o + best]!) best = j;
      // p(best) = 1 / Σ exp(s_j − s_best), stable since every exponent is ≤ 0.
      let z = 0;
      for (let j = 0; j < C; j++) z += Math.exp(scores[o + j]! - scores[o + best]!);
      pred[t * B + b] = best;
      prob[t * B + b] = 1 / z;
    }
  }
  return { pred, prob };
}
