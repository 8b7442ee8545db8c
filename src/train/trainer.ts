/**
 * The training loop (step 5 of the classroom pipeline): shuffle, batch, pad,
 * forward/backward, optimiser step; evaluate on dev after every epoch and keep
 * the best epoch's weights. Reports progress through callbacks, never prints.
 */
import type { Sentence } from "../data/types.js";
import { Rng } from "../util/random.js";
import { batch, bucketBatches, padBatch, shuffled, toIds, labelIds, type Batch, type IdSentence } from "./batching.js";
import { Scorer, type Score } from "../eval/conlleval.js";

/** What the trainer needs of a model. */
export interface TrainableModel {
  /** Forward + backward on one batch; accumulates gradients. Returns the mean loss and the tokens it covered. */
  lossAndGrad(batch: Batch): { loss: number; count: number };
  /** Best label id per position, time-major T×B (−1 at pads). */
  predict(batch: Batch): Int32Array;
  /** Copies of every trainable tensor by name (a snapshot). */
  snapshot(): Record<string, Float32Array>;
  /** Restore tensors taken by {@link snapshot}. */
  restore(tensors: Record<string, Float32Array>): void;
}

/** What the trainer needs of an optimiser. */
export interface Optimizer {
  step(): void;
  zeroGrad(): void;
}

/** How sentences are grouped into batches. */
export type Batching = "plain" | "bucket";

/** Token → id mapping shared by training and inference (lowercasing, UNK). */
export interface Encoder {
  lookup(token: string): number;
  padId: number;
  labels: readonly string[];
}

/** Per-batch progress. */
export interface BatchProgress {
  epoch: number;
  batch: number;
  batches: number;
  /** Mean loss over the batches of this epoch so far. */
  loss: number;
  /** Real tokens per second over this epoch so far. */
  tokensPerSecond: number;
}

/** Per-epoch record: what the JSON-lines log holds. */
export interface EpochRecord {
  epoch: number;
  /** Mean training loss (mean over batches of the per-batch mean NLL, as the exercise prints it). */
  loss: number;
  train_seconds: number;
  train_tokens_per_s: number;
  dev_f1: number | null;
  dev_precision: number | null;
  dev_recall: number | null;
  /** True when this epoch is the best so far on dev (its weights are kept). */
  best: boolean;
}

/** Options of {@link train}. */
export interface TrainOptions {
  epochs: number;
  batchSize: number;
  seed: number;
  batching: Batching;
  /** Stop after this many epochs without a dev improvement (0 = never). */
  patience?: number;
  /** Called after every batch. */
  onBatch?: (p: BatchProgress) => void;
  /** Called after every epoch, after dev evaluation; awaited (e.g. to save a checkpoint). */
  onEpoch?: (r: EpochRecord, dev: Score | null) => void | Promise<void>;
  /** Limit batches per epoch (for smoke runs and benchmarks); 0 = all. */
  maxBatches?: number;
}

/** Result of {@link train}. */
export interface TrainResult {
  epochs: EpochRecord[];
  bestEpoch: number;
  bestDevF1: number | null;
}

/** Map sentences to ids and label ids; errors name the sentence. */
export function encodeSentences(sentences: readonly Sentence[], enc: Encoder, file?: string): IdSentence[] {
  return sentences.map((s, i) => ({
    ids: toIds(s.tokens, enc.lookup),
    labels: labelIds(s.tags, enc.labels, { ...(file === undefined ? {} : { file }), sentence: i + 1 }),
  }));
}

/** Train `model` in place; at the end it holds the best epoch's weights (by dev F1, or the last epoch without dev). */
export async function train(model: TrainableModel, optimizer: Optimizer, trainSet: readonly Sentence[],
  dev: readonly Sentence[] | null, enc: Encoder, opts: TrainOptions): Promise<TrainResult> {
  const items = encodeSentences(trainSet, enc);
  const rng = new Rng(opts.seed);
  const records: EpochRecord[] = [];
  let best: { f1: number; epoch: number; weights: Record<string, Float32Array> } | null = null;
  let sinceBest = 0;
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    let batches = opts.batching === "bucket"
      ? bucketBatches(items, opts.batchSize, rng, (s) => s.ids.length)
      : batch(shuffled(items, rng), opts.batchSize);
    if (opts.maxBatches) batches = batches.slice(0, opts.maxBatches);
    const t0 = performance.now();
    let tokens = 0;
    let lossSum = 0;
    for (let i = 0; i < batches.length; i++) {
      const b = padBatch(batches[i]!, enc.padId);
      const { loss } = model.lossAndGrad(b);
      if (!Number.isFinite(loss)) throw new Error(`training diverged: loss is ${loss} at epoch ${epoch}, batch ${i + 1}`);
      optimizer.step();
      optimizer.zeroGrad();
      tokens += b.tokens;
      lossSum += loss;
      opts.onBatch?.({ epoch, batch: i + 1, batches: batches.length, loss: lossSum / (i + 1), tokensPerSecond: tokens / ((performance.now() - t0) / 1000) });
    }
    const seconds = (performance.now() - t0) / 1000;
    let devScore: Score | null = null;
    if (dev && dev.length > 0) devScore = evaluate(model, dev, enc);
    const f1 = devScore ? devScore.f1 : null;
    const isBest = f1 === null ? true : best === null || f1 > best.f1;
    if (isBest) {
      best = { f1: f1 ?? 0, epoch, weights: model.snapshot() };
      sinceBest = 0;
    } else {
      sinceBest++;
    }
    const rec: EpochRecord = {
      epoch,
      loss: lossSum / batches.length,
      train_seconds: seconds,
      train_tokens_per_s: tokens / seconds,
      dev_f1: f1,
      dev_precision: devScore ? devScore.precision : null,
      dev_recall: devScore ? devScore.recall : null,
      best: isBest,
    };
    records.push(rec);
    await opts.onEpoch?.(rec, devScore);
    if (opts.patience && sinceBest >= opts.patience) break;
  }
  if (best) model.restore(best.weights);
  return { epochs: records, bestEpoch: best?.epoch ?? 0, bestDevF1: best && dev && dev.length > 0 ? best.f1 : null };
}

/**
 * Predict label ids for sentences given as id sequences, in their input
 * order. Sentences are sorted by length and batched so that little compute
 * goes to padding, then put back in order.
 */
export function predictIds(model: Pick<TrainableModel, "predict">, items: readonly IdSentence[], padId: number, batchSize = 64): Int32Array[] {
  const order = items.map((_, i) => i).sort((a, b) => items[a]!.ids.length - items[b]!.ids.length);
  const out: Int32Array[] = new Array<Int32Array>(items.length);
  for (let start = 0; start < order.length; start += batchSize) {
    const idx = order.slice(start, start + batchSize).filter((i) => items[i]!.ids.length > 0);
    for (const i of order.slice(start, start + batchSize)) if (items[i]!.ids.length === 0) out[i] = new Int32Array(0);
    if (idx.length === 0) continue;
    const b = padBatch(idx.map((i) => ({ ids: items[i]!.ids })), padId);
    const pred = model.predict(b);
    idx.forEach((i, bi) => {
      const len = b.lengths[bi]!;
      const row = new Int32Array(len);
      for (let t = 0; t < len; t++) row[t] = pred[t * b.size + bi]!;
      out[i] = row;
    });
  }
  return out;
}

/** Label names from predicted ids; ids outside the label set (the exercise's extra output) read as "O". */
export function idsToTags(ids: Int32Array, labels: readonly string[]): string[] {
  return Array.from(ids, (id) => labels[id] ?? "O");
}

/** Predict tags for tokenised sentences. */
export function predictTags(model: Pick<TrainableModel, "predict">, sentences: readonly (readonly string[])[], enc: Encoder): string[][] {
  const items = sentences.map((tokens) => ({ ids: toIds(tokens, enc.lookup) }));
  return predictIds(model, items, enc.padId).map((ids) => idsToTags(ids, enc.labels));
}

/** conlleval score of the model's predictions on gold-tagged sentences. */
export function evaluate(model: Pick<TrainableModel, "predict">, sentences: readonly Sentence[], enc: Encoder): Score {
  const pred = predictTags(model, sentences.map((s) => s.tokens), enc);
  const scorer = new Scorer();
  sentences.forEach((s, i) => scorer.add(s.tags, pred[i]!));
  return scorer.result();
}
