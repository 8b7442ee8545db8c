/**
 * The training loop (step 5 of the classroom pipeline): shuffle, batch, pad,
 * forward/backward, optimiser step; evaluate on dev after every epoch and keep
 * the best epoch's weights. Reports progress through callbacks, never prints.
 */
import type { Sentence } from "../data/types.js";
import { Rng } from "../util/random.js";
import type { Batch } from "../nn/batch.js";
import type { IdSentence } from "../encode/pad-batch.js";
import { encodeSentences, type Encoder } from "../encode/encoder.js";
import type { Predictor } from "../encode/run-batched.js";
import { evaluate } from "../eval/evaluate.js";
import type { Score } from "../eval/conlleval.js";
import type { Optimizer, StateValue } from "./optimizer.js";
export type { StateValue } from "./optimizer.js";
import { batch, bucketBatches, shuffled } from "./batching.js";
import { LstmNerError } from "../util/errors.js";

/** What the trainer needs of a model. */
export interface TrainableModel extends Predictor {
  /**
   * Forward + backward on one batch; accumulates gradients. Returns the mean loss and the tokens it covered
   * (and a char LM's loss, part of it).
   */
  lossAndGrad(batch: Batch): { loss: number; count: number; lm?: number };
  /** Copies of every trainable tensor by name (a snapshot). */
  snapshot(): Record<string, Float32Array>;
  /** Restore tensors taken by {@link snapshot}. */
  restore(tensors: Record<string, Float32Array>): void;
  /** Switch dropout on (training) or off (evaluation), for models that have it. */
  setTraining?(on: boolean): void;
  /** State of the model's own random numbers (dropout masks), for checkpoints; null when it draws none. */
  randomState?(): number[] | null;
  /** Continue from a {@link randomState}. */
  setRandomState?(state: number[] | null): void;
  /** A model with a document memory: forget the training memory (this run numbers its memory slots afresh). */
  clearTrainingMemory?(): void;
}

/** How sentences are grouped into batches. */
export type Batching = "plain" | "bucket";

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
  /** With `averageLast`: dev F1 of the epoch's own weights (dev_f1 is the average's). */
  dev_f1_last?: number | null;
  /**
   * With a char language model: its mean training LM loss (NLL_fwd + NLL_bwd, before the weight λ; part of
   * `loss`).
   */
  lm_loss?: number;
}

/** Options of {@link train}. */
export interface TrainOptions {
  epochs: number;
  /** Sentences per batch. */
  batchSize: number;
  seed: number;
  batching: Batching;
  /** Stop after this many epochs without a dev improvement (0 = never). */
  patience?: number;
  /** Called after every batch; a returned promise is awaited (a Web Worker yields there to read its messages). */
  onBatch?: (p: BatchProgress) => void | Promise<void>;
  /** Called after every epoch, after dev evaluation; awaited (e.g. to save a checkpoint). */
  onEpoch?: (r: EpochRecord, dev: Score | null) => void | Promise<void>;
  /** Limit batches per epoch (for smoke runs and benchmarks); 0 = all. */
  maxBatches?: number;
  /**
   * Checkpoint averaging: from the second epoch on, evaluate (and keep, when
   * best) the mean of the weights at the end of the last `averageLast`
   * epochs, while training goes on from the epoch's own weights. Holds that
   * many copies of the weights. 0 or 1 = off.
   */
  averageLast?: number;
  /**
   * Stop early: checked after every batch. The epoch in progress ends there
   * and is evaluated like a whole one (so a run stopped in its first epoch
   * still has a model), then training ends with the best epoch's weights.
   */
  signal?: AbortSignal;
  /** Continue a run from a checkpoint taken by {@link onCheckpoint} (same data, model, optimiser and options). */
  resume?: TrainState;
  /**
   * Called with the complete state at the end of every epoch (before `onEpoch`) and
   * when {@link shouldStop} stopped the run; awaited. Resuming from it gives exactly
   * the run that would have happened without the interruption (except for a model with a
   * document memory, which the state does not hold: it starts empty again).
   */
  onCheckpoint?: (state: TrainState) => void | Promise<void>;
  /** Polled after every batch: true stops the run after a checkpoint (e.g. on Ctrl-C). */
  shouldStop?: () => boolean;
}

/** Everything needed to continue a run: see {@link TrainOptions.onCheckpoint}. */
export interface TrainState {
  /** Epoch to run next (1-based). */
  epoch: number;
  /** Batches of that epoch already done. */
  batch: number;
  /** The shuffling generator's state at the start of `epoch`, so the epoch's batches are drawn again identically. */
  epochRng: number[];
  /** Loss sum, tokens and seconds of the batches of `epoch` already done. */
  lossSum: number;
  /** Sum of the char LM's losses over those batches (absent without one). */
  lmSum?: number;
  tokens: number;
  seconds: number;
  records: EpochRecord[];
  best: { f1: number; epoch: number; weights: Record<string, Float32Array> } | null;
  /** Epochs since the best one (for patience). */
  sinceBest: number;
  /** The model's current weights. */
  weights: Record<string, Float32Array>;
  modelRng: number[] | null;
  optimizer: StateValue | null;
  /** With `averageLast`: the weights at the end of the last epochs (oldest first). */
  recent: Record<string, Float32Array>[];
}

/** Result of {@link train}. */
export interface TrainResult {
  epochs: EpochRecord[];
  bestEpoch: number;
  bestDevF1: number | null;
  /** True when `signal` or {@link TrainOptions.shouldStop} ended training early. */
  stopped: boolean;
}

/** Train `model` in place; at the end it holds the best epoch's weights (by dev F1, or the last epoch without dev). */
export async function train<I extends IdSentence>(model: TrainableModel, optimizer: Optimizer, trainSet: readonly Sentence[],
  dev: readonly Sentence[] | null, enc: Encoder<I>, opts: TrainOptions): Promise<TrainResult> {
  const items = encodeSentences(trainSet, enc);
  // A document memory starts empty (also on resume: it is not part of a checkpoint, see docs/models.md).
  model.clearTrainingMemory?.();
  const rng = new Rng(opts.seed);
  let records: EpochRecord[] = [];
  let best: TrainState["best"] = null;
  let sinceBest = 0;
  const averaging = (opts.averageLast ?? 0) > 1;
  let recent: Record<string, Float32Array>[] = [];
  const mean: Record<string, Float32Array> = {};
  let start = { epoch: 1, batch: 0, lossSum: 0, lmSum: 0, tokens: 0, seconds: 0 };
  const r = opts.resume;
  if (r) {
    if (!optimizer.importState) throw new LstmNerError("this optimiser cannot resume from a checkpoint");
    model.restore(r.weights);
    model.setRandomState?.(r.modelRng);
    optimizer.importState(r.optimizer);
    rng.setState(r.epochRng);
    records = [...r.records];
    best = r.best;
    sinceBest = r.sinceBest;
    recent = [...(r.recent ?? [])];
    start = { epoch: r.epoch, batch: r.batch, lossSum: r.lossSum, lmSum: r.lmSum ?? 0, tokens: r.tokens, seconds: r.seconds };
  }
  const state = (epoch: number, batchesDone: number, epochRng: number[], lossSum: number, tokens: number, seconds: number, lmSum = 0,
    weights = model.snapshot()): TrainState => ({
    epoch, batch: batchesDone, epochRng, lossSum, ...(lmSum !== 0 ? { lmSum } : {}), tokens, seconds, records: [...records], best, sinceBest,
    weights, modelRng: model.randomState?.() ?? null, optimizer: optimizer.exportState?.() ?? null,
    recent: [...recent],
  });
  const finish = (stopped: boolean): TrainResult => {
    if (!stopped && best) model.restore(best.weights);
    model.setTraining?.(false);
    return { epochs: records, bestEpoch: best?.epoch ?? 0, bestDevF1: best && dev && dev.length > 0 ? best.f1 : null, stopped: stopped || opts.signal?.aborted === true };
  };
  for (let epoch = start.epoch; epoch <= opts.epochs; epoch++) {
    if (opts.patience && sinceBest >= opts.patience) break;
    const epochRng = rng.getState();
    let batches = opts.batching === "bucket"
      ? bucketBatches(items, opts.batchSize, rng, (s) => s.ids.length)
      : batch(shuffled(items, rng), opts.batchSize);
    if (opts.maxBatches) batches = batches.slice(0, opts.maxBatches);
    optimizer.setEpoch?.(epoch - 1);
    model.setTraining?.(true);
    const resumed = epoch === start.epoch ? start : { batch: 0, lossSum: 0, lmSum: 0, tokens: 0, seconds: 0 };
    const t0 = performance.now();
    const elapsed = (): number => resumed.seconds + (performance.now() - t0) / 1000;
    let tokens = resumed.tokens;
    let lossSum = resumed.lossSum;
    let lmSum = resumed.lmSum;
    let done = resumed.batch;
    for (let i = resumed.batch; i < batches.length; i++) {
      const b = enc.collate(batches[i]!);
      const { loss, lm } = model.lossAndGrad(b);
      if (!Number.isFinite(loss)) {
        throw new LstmNerError(`training diverged: loss is ${loss} at epoch ${epoch}, batch ${i + 1} (try a lower learning rate or gradient clipping)`);
      }
      optimizer.step();
      optimizer.zeroGrad();
      tokens += b.tokens;
      lossSum += loss;
      if (lm !== undefined) lmSum += lm;
      done = i + 1;
      const wait = opts.onBatch?.({ epoch, batch: i + 1, batches: batches.length, loss: lossSum / (i + 1), tokensPerSecond: tokens / elapsed() });
      if (wait) await wait;
      if (opts.signal?.aborted) break;
      // Let signal handlers (Ctrl-C) run between batches: the loop is otherwise synchronous.
      if (opts.shouldStop) await new Promise<void>((resolve) => setImmediate(resolve));
      if (i + 1 < batches.length && opts.shouldStop?.()) {
        await opts.onCheckpoint?.(state(epoch, i + 1, epochRng, lossSum, tokens, elapsed(), lmSum));
        return finish(true);
      }
    }
    const seconds = elapsed();
    let devScore: Score | null = null;
    model.setTraining?.(false);
    const hasDev = dev !== null && dev.length > 0;
    let lastF1: number | null | undefined;
    let own: Record<string, Float32Array> | null = null;
    if (averaging) {
      own = model.snapshot();
      recent.push(own);
      if (recent.length > opts.averageLast!) recent.shift();
      if (recent.length > 1) {
        if (hasDev) lastF1 = evaluate(model, dev, enc).f1;
        model.restore(meanOf(recent, mean));
      }
    }
    if (hasDev) devScore = evaluate(model, dev, enc);
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
      loss: lossSum / Math.max(1, done),
      train_seconds: seconds,
      train_tokens_per_s: tokens / seconds,
      dev_f1: f1,
      dev_precision: devScore ? devScore.precision : null,
      dev_recall: devScore ? devScore.recall : null,
      best: isBest,
      ...(lastF1 !== undefined ? { dev_f1_last: lastF1 } : {}),
      ...(lmSum !== 0 ? { lm_loss: lmSum / Math.max(1, done) } : {}),
    };
    records.push(rec);
    // The checkpoint first (training goes on from the epoch's own weights), then onEpoch: what it writes (the model,
    // a log line) then always describes a state on disk, so a kill between the two never leaves a log
    // --resume cannot continue.
    await opts.onCheckpoint?.(state(epoch + 1, 0, rng.getState(), 0, 0, 0, 0, own ?? model.snapshot()));
    // onEpoch sees (and saves) the weights scored.
    await opts.onEpoch?.(rec, devScore);
    if (own !== null && recent.length > 1) model.restore(own);
    if (opts.signal?.aborted) break;
    if (opts.shouldStop?.() === true && epoch < opts.epochs) return finish(true);
  }
  return finish(false);
}

/**
 * The element-wise mean of weight snapshots (same names and sizes), written into `into`'s arrays when it has
 * them (no new memory per epoch).
 */
function meanOf(snapshots: readonly Record<string, Float32Array>[], into: Record<string, Float32Array>): Record<string, Float32Array> {
  const n = snapshots.length;
  for (const name of Object.keys(snapshots[0]!)) {
    const len = snapshots[0]![name]!.length;
    const out = into[name]?.length === len ? into[name]! : (into[name] = new Float32Array(len));
    out.fill(0);
    for (const s of snapshots) {
      const v = s[name]!;
      for (let i = 0; i < len; i++) out[i] += v[i]! / n;
    }
  }
  return into;
}
