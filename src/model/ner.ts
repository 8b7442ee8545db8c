/**
 * A trained (or training) named-entity recogniser: the network together with
 * its vocabulary, label set and the file format that stores them. This is the
 * object the trainer, the CLI and the pipeline share.
 */
import type { Kernels } from "../engine/kernels.js";
import type { Vectors } from "../embeddings/types.js";
import type { TagScheme } from "../data/types.js";
import { buildEmbedding, tokenId } from "../embeddings/vocab.js";
import { convert, entityTypes, labelsForScheme } from "../data/schemes.js";
import { padBatch, labelIds, toIds, type Batch, type IdSentence } from "../infer/batching.js";
import type { Encoder, Optimizer, TrainableModel } from "../train/trainer.js";
import { idsToTags, predictBatched, predictTags, wordEncoder } from "../train/trainer.js";
import { buildCharVocab, charVocabFromList, featureBatch, sentenceFeatures, type CharVocab, type SentenceFeatures } from "../infer/features.js";
import { SoftmaxTagger } from "../nn/softmax-tagger.js";
import { FeatureTagger, resolveFeatureTaggerConfig, type FeatureBatch } from "../nn/feature-tagger.js";
import { Adam } from "../nn/adam.js";
import { Sgd, inverseTimeDecay } from "../nn/sgd.js";
import { clipGradNorm } from "../nn/clip.js";
import { copyParams, type Param } from "../nn/param.js";
import { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import { parseModel, type FeatureLayers, type ModelConfig, type SavedModel } from "./format.js";

/** Settings of the "feature" architecture (see `FeatureTagger`). */
export interface FeatureOptions {
  /** Char CNN: embedding size, filters, window; null turns it off. */
  chars: { dim: number; filters: number; window: number } | null;
  /** Casing embedding size; 0 turns it off. */
  casingDim: number;
  inputDropout: number;
  outputDropout: number;
  output: "crf" | "softmax";
  /** Scheme the model is trained in (BIOES is the usual choice); tags are read and written in the data's scheme. */
  trainScheme: TagScheme;
  /** Forbid invalid transitions in the CRF. */
  constrained: boolean;
}

/** What {@link NerModel.create} needs. */
export interface NerModelOptions {
  vectors: Vectors;
  /** The data's label names (e.g. the conllpp order). */
  labels: readonly string[];
  /** The data's tag scheme. */
  scheme: TagScheme;
  hidden: number;
  bidirectional: boolean;
  /** Output units of the softmax architecture; at least the number of labels (default: the labels). */
  outputs?: number;
  trainableEmbeddings: boolean;
  /** Seeds the weight initialisation. */
  seed: number;
  /** The "feature" architecture (char CNN, casing, dropout, CRF); absent: the classroom softmax BiLSTM. */
  feature?: FeatureOptions;
  /** Retry unknown tokens with digits replaced by 0. */
  normalizeDigits?: boolean;
  /** Training sentences' tokens: the char vocabulary comes from them, and `extendVocab` counts words in them. */
  trainTokens?: readonly (readonly string[])[];
  /** Give training words missing from the vectors that occur at least this often their own (trainable) rows; 0 = off. */
  extendVocab?: number;
}

/** An encoded sentence of the feature architecture. */
interface FeatureItem extends IdSentence {
  feats: SentenceFeatures;
}

type Net = SoftmaxTagger | FeatureTagger;

/** Options of {@link NerModel.optimizer}. */
export interface OptimizerOptions {
  kind: "adam" | "sgd";
  lr: number;
  /** SGD momentum (default 0.9). */
  momentum?: number;
  /** SGD: lr_t = lr / (1 + decay·epoch) (Ma & Hovy); 0 = constant. */
  lrDecay?: number;
  /** Clip the gradient's global L2 norm to this before each step; 0 = off. */
  clipNorm?: number;
}

export class NerModel implements TrainableModel {
  private readonly vocab: Map<string, number>;
  private readonly net: Net;
  private readonly charVocab: CharVocab | null;
  readonly unkId: number;
  readonly padId: number;

  private constructor(
    readonly kernels: Kernels,
    readonly config: ModelConfig,
    /** Output labels, id order, in the scheme the model was trained in. */
    readonly labels: string[],
    /** Scheme of {@link labels}. */
    readonly trainScheme: string,
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
    this.charVocab = config.chars ? charVocabFromList(config.chars) : null;
    const sizes = {
      vocabSize: words.length + 2, embDim: config.embDim, hidden: config.hidden,
      outputs: config.outputs, trainableEmbeddings: config.trainableEmbeddings,
    };
    if (config.arch === "softmax") {
      this.net = new SoftmaxTagger(kernels, { ...sizes, bidirectional: config.bidirectional }, embedding, rng);
    } else {
      const t = config.tagger!;
      const { constrained, ...layers } = t;
      this.net = new FeatureTagger(kernels, {
        ...sizes, ...layers,
        constraints: constrained ? { labels, scheme: trainScheme as TagScheme } : null,
      }, embedding, rng);
    }
  }

  /** Scheme of the tags the model reads and writes (the data's). */
  get scheme(): string {
    return this.config.dataScheme ?? this.trainScheme;
  }

  /** The data's label names (in {@link scheme}). */
  get dataLabels(): string[] {
    const s = this.scheme as TagScheme;
    return s === this.trainScheme ? this.labels : labelsForScheme(entityTypes(this.labels), s);
  }

  /** A new, randomly initialised model over the given vectors. */
  static create(kernels: Kernels, o: NerModelOptions): NerModel {
    const rng = new Rng(o.seed);
    const f = o.feature;
    const labels = f ? labelsForScheme(entityTypes(o.labels), f.trainScheme) : [...o.labels];
    const outputs = f ? labels.length : o.outputs ?? labels.length;
    if (outputs < labels.length) throw new LstmNerError(`outputs (${outputs}) must be at least the number of labels (${labels.length})`);
    let vectors = o.vectors;
    if (o.extendVocab && o.trainTokens) vectors = extendVectors(vectors, o.trainTokens, o.extendVocab, rng);
    let chars: string[] | undefined;
    if (f?.chars) {
      if (!o.trainTokens) throw new LstmNerError("a model with char features needs the training tokens (trainTokens) for its char vocabulary");
      chars = [...buildCharVocab(o.trainTokens).chars];
    }
    const tagger: FeatureLayers | undefined = f ? (() => {
      const { vocabSize: _v, embDim: _e, trainableEmbeddings: _t, hidden: _h, outputs: _o, constraints: _c, ...rest } = resolveFeatureTaggerConfig({
        vocabSize: 1, embDim: 1, outputs,
        charVocabSize: chars?.length ?? 0,
        ...(f.chars ? { charDim: f.chars.dim, charFilters: f.chars.filters, charWindow: f.chars.window } : {}),
        casingDim: f.casingDim, inputDropout: f.inputDropout, outputDropout: f.outputDropout, output: f.output,
      });
      return { ...rest, constrained: f.constrained && f.output === "crf" };
    })() : undefined;
    const config: ModelConfig = {
      arch: f ? "feature" : "softmax", embDim: vectors.dim, hidden: o.hidden, bidirectional: o.bidirectional,
      outputs, trainableEmbeddings: o.trainableEmbeddings, lowercase: true,
      ...(o.normalizeDigits ? { normalizeDigits: true } : {}),
      ...(f && f.trainScheme !== o.scheme ? { dataScheme: o.scheme } : {}),
      ...(tagger ? { tagger } : {}),
      ...(chars ? { chars } : {}),
    };
    const emb = buildEmbedding(vectors);
    return new NerModel(kernels, config, labels, f ? f.trainScheme : o.scheme, vectors.words, emb.matrix, rng, {}, emb.vocab);
  }

  /** A model from the bytes of a model file (e.g. fetched in a browser); `name` is used in errors. */
  static fromBytes(bytes: Uint8Array, kernels: Kernels, name = "model"): NerModel {
    return NerModel.fromSaved(parseModel(bytes, name), kernels, name);
  }

  /** A model from a parsed model file; `file` is used in errors. */
  static fromSaved(saved: SavedModel, kernels: Kernels, file: string): NerModel {
    const m = new NerModel(kernels, saved.config, saved.labels, saved.scheme, saved.words, saved.embedding, new Rng(0), saved.training);
    const expected = new Map(m.ownParams().map((p) => [p.name, p.shape]));
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
    for (const p of this.ownParams()) params[p.name] = { shape: p.shape, data: p.value };
    return {
      config: this.config, labels: this.labels, scheme: this.trainScheme, words: this.words,
      embedding: this.embedding, params, training,
    };
  }

  /** Trainable tensors other than the word embedding (which is stored, trained or not, as `embedding.weight`). */
  private ownParams(): Param[] {
    return this.net.params().filter((p) => p.value !== this.embedding);
  }

  /** Token → ids and features, gold tags → label ids, padding, and ids → tags in the data's scheme. */
  encoder(): Encoder {
    const { vocab, unkId } = this;
    const digits = this.config.normalizeDigits === true;
    const lookup = (t: string): number => tokenId(vocab, t, unkId, { normalizeDigits: digits });
    if (this.config.arch === "softmax") return wordEncoder(lookup, this.padId, this.labels);
    const { labels, padId, charVocab } = this;
    const from = this.scheme as TagScheme;
    const to = this.trainScheme as TagScheme;
    const noChars = charVocabFromList([""]);
    const enc: Encoder<FeatureItem> = {
      labels,
      padId,
      lookup,
      encode: (tokens) => ({ ids: toIds(tokens, lookup), feats: sentenceFeatures(tokens, charVocab ?? noChars) }),
      labelIds: (tags, where) => labelIds(from === to ? tags : convert(tags, from, to), labels, where),
      collate: (items) => featureBatch(padBatch(items, padId), items.map((i) => i.feats)),
      decode: (ids) => (from === to ? idsToTags(ids, labels) : convert(idsToTags(ids, labels), to, from)),
    };
    return enc as unknown as Encoder;
  }

  /** An optimiser over the trainable parameters, with optional gradient clipping; a number is Adam's learning rate. */
  optimizer(options: OptimizerOptions | number): Optimizer {
    const o: OptimizerOptions = typeof options === "number" ? { kind: "adam", lr: options } : options;
    const params = this.net.params();
    const inner = o.kind === "adam"
      ? new Adam(this.kernels, params, { lr: o.lr })
      : new Sgd(params, { lr: o.lr, momentum: o.momentum ?? 0.9, ...(o.lrDecay ? { schedule: inverseTimeDecay(o.lrDecay) } : {}) });
    const clip = o.clipNorm ?? 0;
    return {
      step: () => {
        if (clip > 0) clipGradNorm(params, clip);
        inner.step();
      },
      zeroGrad: () => inner.zeroGrad(),
      setEpoch: (epoch: number) => {
        if (inner instanceof Sgd) inner.setEpoch(epoch);
      },
    };
  }

  /** Number of trainable values. */
  parameterCount(): number {
    return this.net.params().reduce((s, p) => s + p.value.length, 0);
  }

  /** Dropout on (training) or off (evaluation, tagging). */
  setTraining(on: boolean): void {
    if (this.net instanceof FeatureTagger) this.net.train(on);
  }

  /** Tags for tokenised sentences, in the data's scheme. */
  tag(sentences: readonly (readonly string[])[]): string[][] {
    this.setTraining(false);
    return predictTags(this, sentences, this.encoder());
  }

  /**
   * Tags for tokenised sentences with the probability the model gives each
   * tag (its softmax output; NaN where the model has no per-token
   * probability, as with a CRF), in input order.
   */
  tagWithScores(sentences: readonly (readonly string[])[], batchSize = 64): { tags: string[][]; scores: number[][] } {
    this.setTraining(false);
    const net = this.net;
    const enc = this.encoder();
    const run = net instanceof SoftmaxTagger ? (b: Batch) => net.predictWithScores(b) : (b: Batch) => ({ pred: this.predict(b) });
    const { ids, scores } = predictBatched(sentences.map((s) => enc.encode(s)), enc, batchSize, run);
    return { tags: ids.map((i) => enc.decode(i)), scores: scores.map((s) => Array.from(s)) };
  }

  lossAndGrad(batch: Batch): { loss: number; count: number } {
    return this.net instanceof SoftmaxTagger ? this.net.lossAndGrad(batch) : this.net.lossAndGrad(batch as FeatureBatch);
  }

  predict(batch: Batch): Int32Array {
    return this.net instanceof SoftmaxTagger ? this.net.predict(batch) : this.net.predict(batch as FeatureBatch);
  }

  snapshot(): Record<string, Float32Array> {
    return copyParams(this.net.params());
  }

  restore(tensors: Record<string, Float32Array>): void {
    for (const p of this.net.params()) {
      const t = tensors[p.name];
      if (t) p.value.set(t);
    }
  }
}

/**
 * Vectors plus a row for every training word (lowercased) that has none and
 * occurs at least `minCount` times, drawn from U(−√(3/d), √(3/d)) so that a
 * trainable embedding can learn it (as Lample et al. do for words missing
 * from the pretrained table).
 */
function extendVectors(v: Vectors, sentences: readonly (readonly string[])[], minCount: number, rng: Rng): Vectors {
  const known = new Set(v.words);
  const counts = new Map<string, number>();
  for (const s of sentences) for (const t of s) {
    const w = t.toLowerCase();
    if (!known.has(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const extra = [...counts].filter(([, n]) => n >= minCount).map(([w]) => w).sort();
  if (extra.length === 0) return v;
  const data = new Float32Array((v.words.length + extra.length) * v.dim);
  data.set(v.data.subarray(0, v.words.length * v.dim));
  const bound = Math.sqrt(3 / v.dim);
  rng.fillUniform(data.subarray(v.words.length * v.dim), -bound, bound);
  return { words: [...v.words, ...extra], dim: v.dim, data };
}
