import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import type { Batch } from "./batch.js";
import { argmaxWithProb, checkBatch, type Loss, type Prediction, type QuantizeOptions, type Tagger } from "./tagger-common.js";
import { Embedding } from "./embedding.js";
import { Lstm } from "./lstm.js";
import { BiLstm } from "./bilstm.js";
import { Linear } from "./linear.js";
import { SoftmaxNll } from "./loss.js";
import { PackedScores } from "./packed-scores.js";

/** Configuration of {@link SoftmaxTagger}. */
export interface SoftmaxTaggerConfig {
  /** Rows of the embedding table (e.g. GloVe words + UNK + PAD). */
  vocabSize: number;
  /** Width of the embedding table. */
  embDim: number;
  /** LSTM hidden size per direction (default 256). */
  hidden?: number;
  /** BiLSTM (default) or a left-to-right LSTM. */
  bidirectional?: boolean;
  /** Output classes (the exercise uses num_classes + 1 = 10). */
  outputs: number;
  /** Train the embedding table too (default false: frozen). */
  trainableEmbeddings?: boolean;
}

/** {@link SoftmaxTaggerConfig} with the defaults filled in. */
export type ResolvedTaggerConfig = Required<SoftmaxTaggerConfig>;

function positiveInt(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1) throw new LstmNerError(`tagger config: ${field} must be a positive integer, got ${value}`);
}

/**
 * The classroom model: embedding → (Bi)LSTM → linear to
 * `outputs` scores → log-softmax, trained with the mean NLL over non-pad
 * positions. Parameters are named stably for model files and snapshots:
 * `embedding.weight` (only when trainable), `lstm.fwd.{w_ih,w_hh,b}`,
 * `lstm.bwd.{w_ih,w_hh,b}` (bidirectional), `out.w`, `out.b`.
 */
export class SoftmaxTagger implements Tagger {
  readonly config: ResolvedTaggerConfig;
  readonly embedding: Embedding;
  readonly rnn: Lstm | BiLstm;
  readonly out: Linear;
  private readonly nll: SoftmaxNll;
  private readonly packed: PackedScores;

  /**
   * @param embeddings the vocabSize×embDim table, used in place (not copied).
   * @param rng initialises the LSTM and linear weights.
   */
  constructor(k: Kernels, config: SoftmaxTaggerConfig, embeddings: Float32Array, rng: Rng) {
    const c: ResolvedTaggerConfig = {
      vocabSize: config.vocabSize,
      embDim: config.embDim,
      hidden: config.hidden ?? 256,
      bidirectional: config.bidirectional ?? true,
      outputs: config.outputs,
      trainableEmbeddings: config.trainableEmbeddings ?? false,
    };
    positiveInt(c.vocabSize, "vocabSize");
    positiveInt(c.embDim, "embDim");
    positiveInt(c.hidden, "hidden");
    positiveInt(c.outputs, "outputs");
    this.config = c;
    this.embedding = new Embedding(k, embeddings, c.vocabSize, c.embDim, { trainable: c.trainableEmbeddings });
    this.rnn = c.bidirectional ? new BiLstm(k, c.embDim, c.hidden, rng, "lstm") : new Lstm(k, c.embDim, c.hidden, rng, "lstm.fwd");
    this.out = new Linear(k, c.bidirectional ? 2 * c.hidden : c.hidden, c.outputs, rng, "out");
    this.nll = new SoftmaxNll(k);
    this.packed = new PackedScores(k);
  }

  /** All trainable parameters (the embedding table first, when trainable). */
  params(): Param[] {
    return [...this.embedding.params(), ...this.rnn.params(), ...this.out.params()];
  }

  /**
   * Forward + backward on one batch; ACCUMULATES gradients (the optimiser zeroes them). Returns the mean loss and the
   * tokens it covered.
   */
  lossAndGrad(batch: Batch): Loss {
    const logits = this.logits(batch, true);
    const n = batch.maxLen * batch.size;
    const result = this.nll.forward(logits, batch.labels, n, this.config.outputs, true);
    const dh = this.out.backward(this.nll.backward());
    const trainEmb = this.config.trainableEmbeddings;
    const dx = this.rnn.backward(dh, trainEmb);
    if (trainEmb && dx !== null) this.embedding.backward(dx);
    return result;
  }

  /** Mean loss on one batch without gradients (e.g. dev loss). */
  loss(batch: Batch): Loss {
    const logits = this.logits(batch, false);
    return this.nll.forward(logits, batch.labels, batch.maxLen * batch.size, this.config.outputs, false);
  }

  /** Best class per position, time-major T·B, −1 at pads. */
  predict(batch: Batch): Int32Array {
    return this.predictWithScores(batch).pred;
  }

  /**
   * Like {@link predict}, plus the softmax probability of each chosen class
   * (time-major T·B; 0 at pads): the model's confidence in its tag.
   */
  predictWithScores(batch: Batch): Prediction & { prob: Float32Array } {
    return argmaxWithProb(this.logits(batch, false), batch, this.config.outputs);
  }

  /**
   * The output layer's scores before the softmax, time-major T·B × outputs (a copy): what {@link predict} takes the
   * argmax of, and the log-softmax of which is the model's log-probabilities.
   */
  scores(batch: Batch): Float32Array {
    return this.logits(batch, false).slice();
  }

  /** No dropout: nothing to switch. */
  setTraining(_on: boolean): void {}

  /** Int16 LSTM weights for prediction from now on (until the next training step); see {@link Lstm.quantize}. */
  quantize(o: QuantizeOptions = {}): void {
    this.rnn.quantize();
    if (o.embedding === true) this.embedding.quantize(o.shared);
  }

  /** Free kernel memory; the model is unusable afterwards. */
  dispose(): void {
    this.embedding.dispose();
    this.rnn.dispose();
    this.out.dispose();
    this.nll.dispose();
    this.packed.dispose();
  }

  /** `keep` false: inference only (the BiLSTM keeps nothing for backward). */
  private logits(batch: Batch, keep: boolean): Float32Array {
    checkBatch(batch);
    const { size: B, maxLen: T } = batch;
    const n = T * B;
    const x = this.embedding.forward(batch.ids, n);
    if (!keep && this.rnn instanceof BiLstm) return this.packed.run(this.rnn, this.out, x, T, B, batch.lengths);
    const h = this.rnn instanceof BiLstm ? this.rnn.forward(x, T, B, batch.lengths, keep) : this.rnn.forward(x, T, B, keep);
    return this.out.forward(h, n);
  }
}
