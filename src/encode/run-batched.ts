/**
 * Batched prediction: encoded sentences sorted by length, cut into batches,
 * run through a tagger, and the per-token ids (and probabilities) handed back
 * in input order.
 */
import type { Batch } from "../nn/batch.js";
import type { IdSentence } from "./pad-batch.js";
import { encodeAll, type Encoder } from "./encoder.js";

/** Anything that predicts label ids for a batch (a tagger, a model). */
export interface Predictor {
  /** Best label id per position, time-major T×B (−1 at pads). */
  predict(batch: Batch): Int32Array;
  /** A model with a document memory: fill its tagging memory from these batches (pass 1 of {@link predictBatched}). */
  fillMemory?(batches: readonly Batch[]): void;
}

/**
 * Run `run` over encoded sentences sorted by length and batched, so that
 * little compute goes to padding, and return each sentence's per-token ids
 * (and scores, when `run` gives them; NaN otherwise) in input order.
 * `batchSize` counts sentences. Longest first: the first batch sizes every
 * buffer for the whole run, instead of each batch outgrowing the last one's
 * (which left a trail of too-small blocks and made tagging the dev set at
 * batch 256 take ~3× the memory it needs).
 *
 * Items of an encoder whose sentences depend on each other (`documentWide`:
 * a document memory) are tagged in two passes when `fill` is given: `fill`
 * gets every batch first (to store the outputs of all the documents'
 * sentences), then `run` tags them.
 */
export function predictBatched<I extends IdSentence>(items: readonly I[], enc: Pick<Encoder<I>, "collate" | "documentWide">, batchSize: number,
  run: (b: Batch) => { pred: Int32Array; prob?: Float32Array | null }, fill?: (batches: readonly Batch[]) => void): { ids: Int32Array[]; scores: Float32Array[] } {
  const ids: Int32Array[] = items.map(() => new Int32Array(0));
  const scores: Float32Array[] = items.map(() => new Float32Array(0));
  const order = items.map((_, i) => i).filter((i) => items[i]!.ids.length > 0).sort((a, b) => items[b]!.ids.length - items[a]!.ids.length);
  const collate = (start: number): Batch => enc.collate(order.slice(start, start + batchSize).map((i) => items[i]!));
  let filled: Batch[] | null = null;
  if (fill !== undefined && enc.documentWide) {
    filled = [];
    for (let start = 0; start < order.length; start += batchSize) filled.push(collate(start));
    fill(filled);
  }
  for (let start = 0; start < order.length; start += batchSize) {
    const idx = order.slice(start, start + batchSize);
    const b = filled !== null ? filled[start / batchSize]! : collate(start);
    const { pred, prob } = run(b);
    idx.forEach((i, bi) => {
      const len = b.lengths[bi]!;
      const row = new Int32Array(len);
      const score = new Float32Array(len).fill(NaN);
      for (let t = 0; t < len; t++) {
        row[t] = pred[t * b.size + bi]!;
        if (prob) score[t] = prob[t * b.size + bi]!;
      }
      ids[i] = row;
      scores[i] = score;
    });
  }
  return { ids, scores };
}

/** Predict label ids for encoded sentences, in their input order (see {@link predictBatched}). */
export function predictIds<I extends IdSentence>(model: Predictor, items: readonly I[], enc: Pick<Encoder<I>, "collate" | "documentWide">,
  batchSize = 64): Int32Array[] {
  return predictBatched(items, enc, batchSize, (b) => ({ pred: model.predict(b) }), model.fillMemory?.bind(model)).ids;
}

/**
 * Predict tags (in the data's scheme) for tokenised sentences; `docs` gives
 * each one's document for a model with a document memory (without it, the
 * sentences are one document).
 */
export function predictTags<I extends IdSentence>(model: Predictor, sentences: readonly (readonly string[])[], enc: Encoder<I>, batchSize = 64,
  docs?: readonly (number | undefined)[]): string[][] {
  return predictIds(model, encodeAll(sentences, enc, docs), enc, batchSize).map((ids) => enc.decode(ids));
}
