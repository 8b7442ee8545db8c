/**
 * The training loop (step 5 of the classroom pipeline): shuffle, batch, pad,
 * forward/backward, optimiser step; evaluate on dev after every epoch and keep
 * the best epoch's weights. Reports progress through callbacks, never prints.
 */
import type { Sentence } from "../data/types.js";
import { Rng } from "../util/random.js";
import { batch, bucketBatches, padBatch, shuffled, toIds, labelIds, type Batch, type IdSentence, type LabelWhere } from "../infer/batching.js";
import { Scorer, type Score } from "../eval/conlleval.js";
import { LstmNerError } from "../util/errors.js";

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
  /** Switch dropout on (training) or off (evaluation), for models that have it. */
  setTraining?(on: boolean): void;
}

/** What the trainer needs of an optimiser. */
export interface Optimizer {
  step(): void;
  zeroGrad(): void;
  /** Called at the start of each epoch (0-based), for learning-rate schedules. */
  setEpoch?(epoch: number): void;
}

/** How sentences are grouped into batches. */
export type Batching = "plain" | "bucket";

/**
 * Everything between token strings and a model: ids (and any per-token
 * features), gold label ids, padding into a batch, and predicted ids back to
 * tags. Training, evaluation and tagging all go through it, so a model with
 * extra features or another training tag scheme only supplies its own.
 */
export interface Encoder<I extends IdSentence = IdSentence> {
  /** The model's output labels, id order. */
  readonly labels: readonly string[];
  /** Word id of padding. */
  readonly padId: number;
  /** Word id of a token (lowercasing, unknown words → UNK). */
  lookup(token: string): number;
  /** Ids and features of a sentence. */
  encode(tokens: readonly string[]): I;
  /** Gold tags (in the data's scheme) → label ids; errors name the sentence. */
  labelIds(tags: readonly string[], where?: LabelWhere): Int32Array;
  /** Pad encoded sentences into a batch. */
  collate(items: readonly I[]): Batch;
  /** Predicted label ids → tags in the data's scheme. */
  decode(ids: Int32Array): string[];
}

/** The encoder of a word-id model: ids only, labels as they are. */
export function wordEncoder(lookup: (token: string) => number, padId: number, labels: readonly string[]): Encoder {
  return {
    labels,
    padId,
    lookup,
    encode: (tokens) => ({ ids: toIds(tokens, lookup) }),
    labelIds: (tags, where) => labelIds(tags, labels, where),
    collate: (items) => padBatch(items, padId),
    decode: (ids) => idsToTags(ids, labels),
  };
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

/** Encode sentences with their gold label ids; errors name the sentence. */
export function encodeSentences<I extends IdSentence>(sentences: readonly Sentence[], enc: Encoder<I>, file?: string): I[] {
  return sentences.map((s, i) => ({
    ...enc.encode(s.tokens),
    labels: enc.labelIds(s.tags, { ...(file === undefined ? {} : { file }), sentence: i + 1 }),
  }));
}

/** Train `model` in place; at the end it holds the best epoch's weights (by dev F1, or the last epoch without dev). */
export async function train<I extends IdSentence>(model: TrainableModel, optimizer: Optimizer, trainSet: readonly Sentence[],
  dev: readonly Sentence[] | null, enc: Encoder<I>, opts: TrainOptions): Promise<TrainResult> {
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
    optimizer.setEpoch?.(epoch - 1);
    model.setTraining?.(true);
    const t0 = performance.now();
    let tokens = 0;
    let lossSum = 0;
    for (let i = 0; i < batches.length; i++) {
      const b = enc.collate(batches[i]!);
      const { loss } = model.lossAndGrad(b);
      if (!Number.isFinite(loss)) {
        throw new LstmNerError(`training diverged: loss is ${loss} at epoch ${epoch}, batch ${i + 1} (try a lower learning rate or gradient clipping)`);
      }
      optimizer.step();
      optimizer.zeroGrad();
      tokens += b.tokens;
      lossSum += loss;
      opts.onBatch?.({ epoch, batch: i + 1, batches: batches.length, loss: lossSum / (i + 1), tokensPerSecond: tokens / ((performance.now() - t0) / 1000) });
    }
    const seconds = (performance.now() - t0) / 1000;
    let devScore: Score | null = null;
    model.setTraining?.(false);
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
  model.setTraining?.(false);
  return { epochs: records, bestEpoch: best?.epoch ?? 0, bestDevF1: best && dev && dev.length > 0 ? best.f1 : null };
}

/**
 * Run `run` over encoded sentences sorted by length and batched, so that
 * little compute goes to padding, and return each sentence's per-token ids
 * (and scores, when `run` gives them) in input order.
 */
export function predictBatched<I extends IdSentence>(items: readonly I[], enc: Pick<Encoder<I>, "collate">, batchSize: number,
  run: (b: Batch) => { pred: Int32Array; prob?: Float32Array }): { ids: Int32Array[]; scores: Float32Array[] } {
  const ids: Int32Array[] = items.map(() => new Int32Array(0));
  const scores: Float32Array[] = items.map(() => new Float32Array(0));
  const order = items.map((_, i) => i).filter((i) => items[i]!.ids.length > 0).sort((a, b) => items[a]!.ids.length - items[b]!.ids.length);
  for (let start = 0; start < order.length; start += batchSize) {
    const idx = order.slice(start, start + batchSize);
    const b = enc.collate(idx.map((i) => items[i]!));
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
export function predictIds<I extends IdSentence>(model: Pick<TrainableModel, "predict">, items: readonly I[], enc: Pick<Encoder<I>, "collate">, batchSize = 64): Int32Array[] {
  return predictBatched(items, enc, batchSize, (b) => ({ pred: model.predict(b) })).ids;
}

/** Label names from predicted ids; ids outside the label set (the exercise's extra output) read as "O". */
export function idsToTags(ids: Int32Array, labels: readonly string[]): string[] {
  return Array.from(ids, (id) => labels[id] ?? "O");
}

/** Predict tags (in the data's scheme) for tokenised sentences. */
export function predictTags<I extends IdSentence>(model: Pick<TrainableModel, "predict">, sentences: readonly (readonly string[])[], enc: Encoder<I>, batchSize = 64): string[][] {
  return predictIds(model, sentences.map((tokens) => enc.encode(tokens)), enc, batchSize).map((ids) => enc.decode(ids));
}

/** conlleval score of the model's predictions on gold-tagged sentences. */
export function evaluate<I extends IdSentence>(model: Pick<TrainableModel, "predict">, sentences: readonly Sentence[], enc: Encoder<I>): Score {
  const pred = predictTags(model, sentences.map((s) => s.tokens), enc);
  const scorer = new Scorer();
  sentences.forEach((s, i) => scorer.add(s.tags, pred[i]!));
  return scorer.result();
}
