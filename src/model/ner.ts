/**
 * A trained (or training) named-entity recogniser: the network together with
 * its vocabulary, label set and the file format that stores them. This is the
 * object the trainer, the CLI and the pipeline share.
 */
import type { Kernels } from "../engine/kernels.js";
import type { Vectors } from "../embeddings/types.js";
import { buildEmbedding, tokenId } from "../embeddings/vocab.js";
import { padBatch, toIds, type Batch } from "../train/batching.js";
import type { Encoder, Optimizer, TrainableModel } from "../train/trainer.js";
import { predictTags, wordEncoder } from "../train/trainer.js";
import { SoftmaxTagger } from "../nn/tagger.js";
import { Adam } from "../nn/adam.js";
import { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import { parseModel, type ModelConfig, type SavedModel } from "./format.js";

/** What {@link NerModel.create} needs. */
export interface NerModelOptions {
  vectors: Vectors;
  labels: readonly string[];
  scheme: string;
  hidden: number;
  bidirectional: boolean;
  /** Output units; at least the number of labels. */
  outputs: number;
  trainableEmbeddings: boolean;
  /** Seeds the weight initialisation. */
  seed: number;
}

export class NerModel implements TrainableModel {
  private readonly vocab: Map<string, number>;
  private readonly net: SoftmaxTagger;
  readonly unkId: number;
  readonly padId: number;

  private constructor(
    readonly kernels: Kernels,
    readonly config: ModelConfig,
    readonly labels: string[],
    readonly scheme: string,
    readonly words: string[],
    readonly embedding: Float32Array,
    rng: Rng,
    /** How the model was trained, as stored in its file. */
    readonly training: Record<string, unknown>,
    /** Word → row; built from `words` (first occurrence wins) when not given. */
    vocab?: Map<string, number>,
  ) {
    this.vocab = vocab ?? new Map();
    if (!vocab) words.forEach((w, i) => this.vocab.has(w) || this.vocab.set(w, i));
    this.unkId = words.length;
    this.padId = words.length + 1;
    this.net = new SoftmaxTagger(kernels, {
      vocabSize: words.length + 2,
      embDim: config.embDim,
      hidden: config.hidden,
      bidirectional: config.bidirectional,
      outputs: config.outputs,
      trainableEmbeddings: config.trainableEmbeddings,
    }, embedding, rng);
  }

  /** A new, randomly initialised model over the given vectors. */
  static create(kernels: Kernels, o: NerModelOptions): NerModel {
    if (o.outputs < o.labels.length) throw new LstmNerError(`outputs (${o.outputs}) must be at least the number of labels (${o.labels.length})`);
    const config: ModelConfig = {
      arch: "softmax", embDim: o.vectors.dim, hidden: o.hidden, bidirectional: o.bidirectional,
      outputs: o.outputs, trainableEmbeddings: o.trainableEmbeddings, lowercase: true,
    };
    const emb = buildEmbedding(o.vectors);
    return new NerModel(kernels, config, [...o.labels], o.scheme, o.vectors.words, emb.matrix, new Rng(o.seed), {}, emb.vocab);
  }

  /** A model from the bytes of a model file (e.g. fetched in a browser); `name` is used in errors. */
  static fromBytes(bytes: Uint8Array, kernels: Kernels, name = "model"): NerModel {
    return NerModel.fromSaved(parseModel(bytes, name), kernels, name);
  }

  /** A model from a parsed model file; `file` is used in errors. */
  static fromSaved(saved: SavedModel, kernels: Kernels, file: string): NerModel {
    const m = new NerModel(kernels, saved.config, saved.labels, saved.scheme, saved.words, saved.embedding, new Rng(0), saved.training);
    const expected = new Map(m.net.params().map((p) => [p.name, p.shape]));
    for (const [name, shape] of expected) {
      const t = saved.params[name];
      if (!t) throw new LstmNerError(`not a valid lstm-ner model (tensor param.${name} is missing)`, { file });
      if (t.shape.join(",") !== shape.join(",")) {
        throw new LstmNerError(`not a valid lstm-ner model (param.${name} has shape [${t.shape}], expected [${shape}])`, { file });
      }
    }
    m.restore(Object.fromEntries(Object.entries(saved.params).filter(([n]) => expected.has(n)).map(([n, t]) => [n, t.data])));
    return m;
  }

  /** Everything a model file stores, with `training` describing how it was made. */
  toSaved(training: Record<string, unknown>): SavedModel {
    const params: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const p of this.net.params()) params[p.name] = { shape: p.shape, data: p.value };
    return {
      config: this.config, labels: this.labels, scheme: this.scheme, words: this.words,
      embedding: this.embedding, params, training,
    };
  }

  /** Token → id (lowercased when the vectors are, unknown words → UNK) and the label set. */
  encoder(): Encoder {
    const { vocab, unkId } = this;
    return wordEncoder((t) => tokenId(vocab, t, unkId), this.padId, this.labels);
  }

  /** An Adam optimiser over the trainable parameters. */
  optimizer(lr: number): Optimizer {
    return new Adam(this.kernels, this.net.params(), { lr });
  }

  /** Number of trainable values. */
  parameterCount(): number {
    return this.net.params().reduce((s, p) => s + p.value.length, 0);
  }

  /** Tags for tokenised sentences, in the model's label set. */
  tag(sentences: readonly (readonly string[])[]): string[][] {
    return predictTags(this, sentences, this.encoder());
  }

  /**
   * Tags for tokenised sentences with the probability the model gives each
   * tag (its softmax output), in input order. Sentences are batched by length
   * like {@link tag}, whose tags these are.
   */
  tagWithScores(sentences: readonly (readonly string[])[], batchSize = 64): { tags: string[][]; scores: number[][] } {
    const enc = this.encoder();
    const ids = sentences.map((s) => toIds(s, enc.lookup));
    const tags: string[][] = sentences.map(() => []);
    const scores: number[][] = sentences.map(() => []);
    const order = ids.map((_, i) => i).filter((i) => ids[i]!.length > 0).sort((a, b) => ids[a]!.length - ids[b]!.length);
    for (let start = 0; start < order.length; start += batchSize) {
      const idx = order.slice(start, start + batchSize);
      const b = padBatch(idx.map((i) => ({ ids: ids[i]! })), this.padId);
      const { pred, prob } = this.net.predictWithScores(b);
      idx.forEach((i, bi) => {
        for (let t = 0; t < b.lengths[bi]!; t++) {
          tags[i]!.push(this.labels[pred[t * b.size + bi]!] ?? "O");
          scores[i]!.push(prob[t * b.size + bi]!);
        }
      });
    }
    return { tags, scores };
  }

  lossAndGrad(batch: Batch): { loss: number; count: number } {
    return this.net.lossAndGrad(batch);
  }

  predict(batch: Batch): Int32Array {
    return this.net.predict(batch);
  }

  snapshot(): Record<string, Float32Array> {
    return Object.fromEntries(this.net.params().map((p) => [p.name, p.value.slice()]));
  }

  restore(tensors: Record<string, Float32Array>): void {
    for (const p of this.net.params()) {
      const t = tensors[p.name];
      if (t) p.value.set(t);
    }
  }
}
