/**
 * A trained (or training) named-entity recogniser: the network together with
 * its vocabulary, label set and encoder. This is the object the trainer, the
 * CLI and the pipeline share; it is built by build.ts, read from and written
 * to files through format.ts, and combined with others by ensemble.ts.
 */
import type { Kernels } from "../engine/kernels.js";
import type { TagScheme } from "../data/types.js";
import { buildEmbedding, wordLookup, type WordLookup } from "../embeddings/vocab.js";
import { entityTypes, labelsForScheme } from "../data/schemes.js";
import type { Batch } from "../nn/batch.js";
import type { Loss, Tagger } from "../nn/tagger-common.js";
import { copyParams, loadParams, type Param } from "../nn/param.js";
import { encodeAll, type Encoder } from "../encode/encoder.js";
import { predictBatched, predictTags } from "../encode/run-batched.js";
import type { BuildEnv } from "../features/kind.js";
import { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import type { Aliases } from "../tensors/storage.js";
import { parseModel, type EnsembleCombine, type SavedModel } from "./format.js";
import type { ModelConfig } from "./config.js";
import { checkParams } from "./validate.js";
import { buildEncoder, buildTagger, newModelConfig, trainingRows, type NerModelOptions } from "./build.js";
import { assembleEnsemble } from "./ensemble.js";

export type { NerModelOptions } from "./build.js";

/**
 * A trained (or training) named-entity recogniser: a {@link Tagger} with its
 * vocabulary, labels and the {@link Encoder} between tokens and batches.
 * Training (src/train/) drives it through `lossAndGrad`, `params`,
 * `snapshot` and `restore`; tagging uses {@link tag} and {@link tagWithScores}.
 */
export class NerModel {
  private readonly vocab: WordLookup;
  private readonly tagger: Tagger;
  private readonly enc: Encoder;
  readonly unkId: number;
  readonly padId: number;
  private isQuantized = false;
  /** The float32 word table; null once {@link quantize} made it int8. */
  private table: Float32Array | null;
  /** {@link parameterCount} from before the embedding was quantized (its table stops being a parameter then). */
  private countBefore: number | null = null;

  private constructor(
    readonly kernels: Kernels,
    readonly config: ModelConfig,
    /** Output labels, id order, in the scheme the model was trained in. */
    readonly labels: string[],
    /** Scheme of {@link labels}. */
    readonly trainScheme: TagScheme,
    readonly words: string[],
    embedding: Float32Array,
    rng: Rng,
    /** How the model was trained, as stored in its file. */
    readonly training: Record<string, unknown>,
    /** Word → row; built from `words` (first occurrence wins) and `aliases` when not given. */
    vocab?: WordLookup,
    /** A pruned vocabulary's dropped words and the kept rows they read. */
    readonly aliases?: Aliases,
    /** Training a new model: the training tokens' word rows (see `trainingRows`); null for a loaded model. */
    learning: BuildEnv["training"] = null,
  ) {
    this.vocab = vocab ?? wordLookup(words, aliases);
    this.table = embedding;
    this.unkId = words.length;
    this.padId = words.length + 1;
    this.tagger = buildTagger(kernels, config, labels, trainScheme, embedding, rng, learning);
    this.enc = buildEncoder(config, this.vocab, this.unkId, this.padId, labels, trainScheme, this.scheme);
  }

  /**
   * The vocabSize×embDim word table, float32. @throws LstmNerError after `quantize({ embedding: true })`, which
   * dropped it.
   */
  get embedding(): Float32Array {
    if (this.table === null) throw new LstmNerError("this model's word embedding was quantized to int8 for tagging: it cannot be saved, exported or trained; load the model again without quantize");
    return this.table;
  }

  /** Scheme of the tags the model reads and writes (the data's). */
  get scheme(): TagScheme {
    return this.config.dataScheme ?? this.trainScheme;
  }

  /** The data's label names (in {@link scheme}). */
  get dataLabels(): string[] {
    const s = this.scheme;
    return s === this.trainScheme ? this.labels : labelsForScheme(entityTypes(this.labels), s);
  }

  /** A new, randomly initialised model over the given vectors. */
  static create(kernels: Kernels, o: NerModelOptions): NerModel {
    const rng = new Rng(o.seed);
    const { config, labels, trainScheme, vectors } = newModelConfig(o, rng);
    const emb = buildEmbedding(vectors);
    const learning = o.trainTokens ? trainingRows(config, emb.vocab, vectors.words.length, o.trainTokens) : null;
    return new NerModel(kernels, config, labels, trainScheme, vectors.words, emb.matrix, rng, {}, emb.vocab, vectors.aliases, learning);
  }

  /** A model from the bytes of a model file (e.g. fetched in a browser); `name` is used in errors. */
  static fromBytes(bytes: Uint8Array, kernels: Kernels, name = "model"): NerModel {
    return NerModel.fromSaved(parseModel(bytes, name), kernels, name);
  }

  /** A model from a parsed model file; `file` is used in errors. */
  static fromSaved(saved: SavedModel, kernels: Kernels, file: string): NerModel {
    const m = new NerModel(kernels, saved.config, saved.labels, saved.trainScheme, saved.words, saved.embedding, new Rng(0), saved.training, undefined, saved.aliases);
    const own = m.ownParams();
    checkParams(own, saved.params, (why) => new LstmNerError(`not a valid lstm-ner model (${why})`, { file }));
    // Tensors the architecture does not have are ignored; the word table is `embedding` itself.
    loadParams(own, Object.fromEntries(own.map((p) => [p.name, saved.params[p.name]!.data])));
    return m;
  }

  /** Everything a model file stores, with `training` describing how it was made. */
  toSaved(training: Record<string, unknown>): SavedModel {
    const params: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const p of this.ownParams()) params[p.name] = { shape: p.shape, data: p.value };
    return {
      config: this.config, labels: this.labels, trainScheme: this.trainScheme, words: this.words,
      embedding: this.embedding, params, training, ...(this.aliases ? { aliases: this.aliases } : {}),
    };
  }

  /**
   * The tensors a file stores besides the word embedding (which is stored, trained or not, as
   * `embedding.weight`; an ensemble's first member's too): not training-only ones (the char LM's LM head).
   */
  private ownParams(): Param[] {
    return (this.tagger.storedParams?.() ?? this.tagger.params()).filter((p) => p.value !== this.table);
  }

  /**
   * One model file's worth of an ensemble of `models` (see `assembleEnsemble` in ensemble.ts).
   * @throws LstmNerError naming the member (`model <i>`) and the field that differs.
   */
  static ensemble(models: readonly NerModel[], training: Record<string, unknown>, o: { combine?: EnsembleCombine } = {}): SavedModel {
    return assembleEnsemble(models, training, o);
  }

  /** Token → ids and features, gold tags → label ids, padding, and ids → tags in the data's scheme. */
  encoder(): Encoder {
    return this.enc;
  }

  /** All trainable parameters (the word table first, when trainable): what an optimiser steps. */
  params(): Param[] {
    return this.tagger.params();
  }

  /** State of the dropout masks' generator (null: the softmax model draws no random numbers after initialisation). */
  randomState(): number[] | null {
    return this.tagger.dropoutRng?.getState() ?? null;
  }

  /** Continue from a {@link randomState}. */
  setRandomState(state: number[] | null): void {
    const rng = this.tagger.dropoutRng;
    if (rng === undefined) return;
    if (state === null) throw new LstmNerError("the checkpoint has no dropout generator state for this model");
    rng.setState(state);
  }

  /** Number of trainable values. */
  parameterCount(): number {
    if (this.countBefore !== null) return this.countBefore;
    return this.tagger.params().reduce((s, p) => s + p.value.length, 0);
  }

  /**
   * Tag with int16 LSTM weights (per-column scales; inputs and hidden states
   * quantized per row): faster, with predictions that may differ from the
   * fp32 model's at a few tokens. A snapshot of the current weights, for a
   * model that is done training; the next training step returns to fp32.
   * With `embedding` the word table becomes int8 rows with per-row scales
   * too (a quarter of its memory), for good: the float32 table is dropped, so
   * the model can no longer be trained, saved or exported.
   */
  quantize(o: { embedding?: boolean } = {}): void {
    if (o.embedding === true && this.table !== null) this.countBefore = this.parameterCount();
    this.tagger.quantize(o.embedding === true ? { embedding: true } : {});
    if (o.embedding === true) this.table = null;
    this.isQuantized = true;
  }

  /** True after {@link quantize}, until a training step. */
  get quantized(): boolean {
    return this.isQuantized;
  }

  /** Dropout on (training) or off (evaluation, tagging). */
  setTraining(on: boolean): void {
    this.tagger.setTraining(on);
  }

  /**
   * Tags for tokenised sentences, in the data's scheme. A model with a document
   * memory reads each sentence's document: `docs[i]` is sentence i's document;
   * without `docs` the sentences are one document.
   */
  tag(sentences: readonly (readonly string[])[], docs?: readonly (number | undefined)[]): string[][] {
    this.setTraining(false);
    return predictTags(this, sentences, this.enc, 64, docs);
  }

  /**
   * Tags for tokenised sentences with the probability the model gives each
   * tag (its softmax output; NaN where the model has no per-token
   * probability, as with a CRF), in input order. `batchSize` counts sentences;
   * `docs` as for {@link tag}.
   */
  tagWithScores(sentences: readonly (readonly string[])[], batchSize = 64, docs?: readonly (number | undefined)[]): { tags: string[][]; scores: number[][] } {
    this.setTraining(false);
    const enc = this.enc;
    const { ids, scores } = predictBatched(encodeAll(sentences, enc, docs), enc, batchSize, (b) => this.tagger.predictWithScores(b),
      (bs) => this.fillMemory(bs));
    return { tags: ids.map((i) => enc.decode(i)), scores: scores.map((s) => Array.from(s)) };
  }

  /** Forward + backward on one batch (from {@link encoder}); accumulates gradients. */
  lossAndGrad(batch: Batch): Loss {
    if (this.table === null) throw new LstmNerError("this model's word embedding was quantized to int8 for tagging; it cannot be trained");
    this.isQuantized = false; // the training forward returns the LSTM to fp32
    return this.tagger.lossAndGrad(batch);
  }

  /**
   * A model with a document memory (`docMemory`): empty the tagging memory and fill it from `batches`
   * (whole documents, encoded together by `encodeAll`), which {@link predict} then reads. A no-op otherwise.
   */
  fillMemory(batches: readonly Batch[]): void {
    this.tagger.fillMemory?.(batches);
  }

  /**
   * A model with a document memory: forget the training memory (the trainer does this before it encodes its
   * sentences).
   */
  clearTrainingMemory(): void {
    this.tagger.clearTrainingMemory?.();
  }

  /** Best label id per position, time-major T×B (−1 at pads). */
  predict(batch: Batch): Int32Array {
    return this.tagger.predict(batch);
  }

  /** Copies of every trainable tensor by name. */
  snapshot(): Record<string, Float32Array> {
    return copyParams(this.tagger.params());
  }

  /** Restore tensors taken by {@link snapshot}. @throws LstmNerError for a missing or wrongly sized tensor. */
  restore(tensors: Record<string, Float32Array>): void {
    loadParams(this.tagger.params(), tensors);
  }
}
