import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import { type Param, copyParams, loadParams } from "./param.js";
import type { TaggerBatch } from "./batch.js";
import { Embedding } from "./embedding.js";
import { Lstm } from "./lstm.js";
import { BiLstm } from "./bilstm.js";
import { Linear } from "./linear.js";
import { SoftmaxNll } from "./loss.js";

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
 * The classroom model (DESIGN.md step 4): embedding → (Bi)LSTM → linear to
 * `outputs` scores → log-softmax, trained with the mean NLL over non-pad
 * positions. Parameters are named stably for model files and snapshots:
 * `embedding.weight` (only when trainable), `lstm.fwd.{w_ih,w_hh,b}`,
 * `lstm.bwd.{w_ih,w_hh,b}` (bidirectional), `out.w`, `out.b`.
 */
export class SoftmaxTagger {
  readonly config: ResolvedTaggerConfig;
  readonly embedding: Embedding;
  readonly rnn: Lstm | BiLstm;
  readonly out: Linear;
  private readonly nll: SoftmaxNll;

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
  }

  /** All trainable parameters (the embedding table first, when trainable). */
  params(): Param[] {
    return [...this.embedding.params(), ...this.rnn.params(), ...this.out.params()];
  }

  /** Forward + backward on one batch; ACCUMULATES gradients (the optimiser zeroes them). Returns the mean loss and the tokens it covered. */
  lossAndGrad(batch: TaggerBatch): { loss: number; count: number } {
    const logits = this.logits(batch);
    const n = batch.maxLen * batch.size;
    const result = this.nll.forward(logits, batch.labels, n, this.config.outputs, true);
    const dh = this.out.backward(this.nll.backward());
    const trainEmb = this.config.trainableEmbeddings;
    const dx = this.rnn.backward(dh, trainEmb);
    if (trainEmb && dx !== null) this.embedding.backward(dx);
    return result;
  }

  /** Mean loss on one batch without gradients (e.g. dev loss). */
  loss(batch: TaggerBatch): { loss: number; count: number } {
    const logits = this.logits(batch);
    return this.nll.forward(logits, batch.labels, batch.maxLen * batch.size, this.config.outputs, false);
  }

  /** Best class per position, time-major T·B, −1 at pads. */
  predict(batch: TaggerBatch): Int32Array {
    return this.predictWithScores(batch).pred;
  }

  /**
   * Like {@link predict}, plus the softmax probability of each chosen class
   * (time-major T·B; 0 at pads): the model's confidence in its tag.
   */
  predictWithScores(batch: TaggerBatch): { pred: Int32Array; prob: Float32Array } {
    const logits = this.logits(batch);
    const { size: B, maxLen: T, lengths } = batch;
    const C = this.config.outputs;
    const pred = new Int32Array(T * B).fill(-1);
    const prob = new Float32Array(T * B);
    for (let t = 0; t < T; t++) {
      for (let b = 0; b < B; b++) {
        if (t >= lengths[b]!) continue;
        const o = (t * B + b) * C;
        let best = 0;
        for (let j = 1; j < C; j++) if (logits[o + j]! > logits[o + best]!) best = j;
        // p(best) = 1 / Σ exp(l_j − l_best), stable since every exponent is ≤ 0.
        let z = 0;
        for (let j = 0; j < C; j++) z += Math.exp(logits[o + j]! - logits[o + best]!);
        pred[t * B + b] = best;
        prob[t * B + b] = 1 / z;
      }
    }
    return { pred, prob };
  }

  /** Copies of every trainable tensor by its stable name (the frozen embedding table is not included). */
  paramTensors(): Record<string, Float32Array> {
    return copyParams(this.params());
  }

  /**
   * Load tensors by name (from {@link paramTensors} or a model file).
   * @throws LstmNerError naming a missing, unexpected or wrongly sized tensor; nothing is changed then.
   */
  loadParamTensors(tensors: Record<string, Float32Array>): void {
    loadParams(this.params(), tensors);
  }

  /** Same as {@link paramTensors} (the trainer's name). */
  snapshot(): Record<string, Float32Array> {
    return this.paramTensors();
  }

  /** Same as {@link loadParamTensors} (the trainer's name). */
  restore(tensors: Record<string, Float32Array>): void {
    this.loadParamTensors(tensors);
  }

  /** Free kernel memory; the model is unusable afterwards. */
  dispose(): void {
    this.embedding.dispose();
    this.rnn.dispose();
    this.out.dispose();
    this.nll.dispose();
  }

  private logits(batch: TaggerBatch): Float32Array {
    this.check(batch);
    const { size: B, maxLen: T } = batch;
    const n = T * B;
    const x = this.embedding.forward(batch.ids, n);
    const h = this.rnn instanceof BiLstm ? this.rnn.forward(x, T, B, batch.lengths) : this.rnn.forward(x, T, B);
    return this.out.forward(h, n);
  }

  private check(batch: TaggerBatch): void {
    const { size: B, maxLen: T, lengths, ids, labels } = batch;
    if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 1) {
      throw new LstmNerError(`batch: size and maxLen must be positive integers, got ${B} and ${T}`);
    }
    if (lengths.length !== B) throw new LstmNerError(`batch.lengths has ${lengths.length} values, expected size = ${B}`);
    if (ids.length !== T * B) throw new LstmNerError(`batch.ids has ${ids.length} values, expected maxLen×size = ${T * B}`);
    if (labels.length !== T * B) throw new LstmNerError(`batch.labels has ${labels.length} values, expected maxLen×size = ${T * B}`);
    for (let b = 0; b < B; b++) {
      const len = lengths[b]!;
      if (len < 0 || len > T) throw new LstmNerError(`batch.lengths[${b}] = ${len} is outside 0..${T}`);
      for (let t = len; t < T; t++) {
        if (labels[t * B + b] !== -1) throw new LstmNerError(`batch.labels[${t * B + b}] is ${labels[t * B + b]} at a padded position (must be −1)`);
      }
    }
  }
}
