/**
 * A trained (or training) named-entity recogniser: the network together with
 * its vocabulary, label set and the file format that stores them. This is the
 * object the trainer, the CLI and the pipeline share.
 */
import type { Kernels } from "../engine/kernels.js";
import type { Vectors } from "../embeddings/types.js";
import type { TagScheme } from "../data/types.js";
import { addAliases, buildEmbedding, tokenId } from "../embeddings/vocab.js";
import { entityTypes, labelsForScheme } from "../data/schemes.js";
import type { Batch } from "../nn/batch.js";
import type { Loss, Tagger } from "../nn/tagger-common.js";
import { SoftmaxTagger } from "../nn/softmax-tagger.js";
import { FeatureTagger, resolveFeatureTaggerConfig } from "../nn/feature-tagger.js";
import { EnsembleTagger } from "../nn/ensemble-tagger.js";
import { copyParams, loadParams, type Param } from "../nn/param.js";
import { encodeAll, featureEncoder, wordEncoder, type Encoder } from "../encode/encoder.js";
import { buildCharVocab, charVocabFromList } from "../encode/features.js";
import { lmClassesOf, type CharLmConfig } from "../nn/char-lm.js";
import { predictBatched, predictTags } from "../encode/run-batched.js";
import { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import { ENSEMBLE_COMBINE, parseModel, type EnsembleCombine, type SavedModel } from "./format.js";
import { inputDocMemory, memberConfigs, type FeatureLayers, type ModelConfig } from "./config.js";
import type { Aliases } from "../tensors/storage.js";

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
  /** Stacked BiLSTM layers (default 1), with dropout at `outputDropout`'s rate between them. */
  layers?: number;
  /** A character language model trained with the tagger (Liu et al. 2018; see `CharLm`); fields left out take their defaults; null or absent: off. Needs `chars`. */
  charLM?: Partial<CharLmConfig> | null;
  /** Document memory (Luo et al. 2020; see `DocMemoryAttention`): each token attends to the other occurrences of its word in its document (default false). */
  docMemory?: boolean;
}

/** What {@link NerModel.create} needs. */
export interface NerModelOptions {
  vectors: Vectors;
  /** The data's label names (e.g. the conllpp order). */
  labels: readonly string[];
  /** The data's tag scheme. */
  scheme: TagScheme;
  hidden: number;
  /** BiLSTM or left-to-right LSTM (softmax architecture); the feature architecture is always bidirectional. */
  bidirectional: boolean;
  /** Output units of the softmax architecture; at least the number of labels (default: the labels). The feature architecture has one per label. */
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

/**
 * The network for a model config: the one place that picks a tagger class.
 * `embedding` is the vocabSize×embDim word table, used in place.
 */
function createTagger(kernels: Kernels, config: ModelConfig, labels: readonly string[], trainScheme: TagScheme,
  vocabSize: number, embedding: Float32Array, rng: Rng, lmClasses: Int32Array | null): Tagger {
  const sizes = {
    vocabSize, embDim: config.embDim, hidden: config.hidden,
    outputs: config.outputs, trainableEmbeddings: config.trainableEmbeddings,
  };
  if (config.arch === "softmax") return new SoftmaxTagger(kernels, { ...sizes, bidirectional: config.bidirectional }, embedding, rng);
  const feature = (c: ModelConfig, table: Float32Array): FeatureTagger => {
    const { constrained, ...layers } = c.tagger!;
    return new FeatureTagger(kernels, { ...sizes, hidden: c.hidden, ...layers,
      constraints: constrained ? { labels, scheme: trainScheme } : null, lmClasses }, table, rng);
  };
  if (!config.ensemble) return feature(config, embedding);
  // Members with fine-tuned word tables each have their own (loaded as m<i>.embedding.weight); frozen ones share it.
  // Each member is built from its own config (config.members, for members of different architectures).
  return new EnsembleTagger(kernels, memberConfigs(config).map((c, i) =>
    feature(c, i === 0 || !config.trainableEmbeddings ? embedding : new Float32Array(embedding.length))),
  { combine: config.combine ?? "potentials", labels, scheme: trainScheme });
}

/**
 * The fields of a model config that every ensemble member must share: one
 * encoder turns tokens into the batch all members read, so the word lookup
 * (lowercasing, digits, the word table's width and whether members fine-tuned
 * their own copy of it) and the tags' schemes must agree.
 */
const SHARED_INPUT: readonly { field: string; of: (c: ModelConfig) => unknown }[] = [
  { field: "embDim", of: (c) => c.embDim },
  { field: "trainableEmbeddings", of: (c) => c.trainableEmbeddings },
  { field: "lowercase", of: (c) => c.lowercase },
  { field: "normalizeDigits", of: (c) => c.normalizeDigits === true },
];

/**
 * A model config as ensemble members are compared: the tagger's fields with
 * the defaults filled in by resolveFeatureTaggerConfig, so a switch added
 * after a file was written reads there as its default (a file without
 * `layers` has one) and members saved by different
 * versions of the same recipe still match. Training-only fields (dropout,
 * the CRF loss's reduction) are left out.
 */
function comparableConfig(c: ModelConfig): string {
  if (!c.tagger) return JSON.stringify(c);
  const { constrained, charLM, ...layers } = c.tagger;
  const resolved = resolveFeatureTaggerConfig({ ...layers, charLM: charLM ?? null, vocabSize: 1, embDim: 1, outputs: c.outputs });
  // Dropout and the loss's reduction only act in training: members trained with different ones tag
  // through the same layers, so they combine (an ensemble of differently regularised models).
  const { inputDropout: _i, outputDropout: _o, crfReduction: _r, ...tagging } = resolved;
  return JSON.stringify({ ...c, tagger: { ...tagging, constrained } });
}

/**
 * A trained (or training) named-entity recogniser: a {@link Tagger} with its
 * vocabulary, labels and the {@link Encoder} between tokens and batches.
 * Training (src/train/) drives it through `lossAndGrad`, `params`,
 * `snapshot` and `restore`; tagging uses {@link tag} and {@link tagWithScores}.
 */
export class NerModel {
  private readonly vocab: Map<string, number>;
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
    vocab?: Map<string, number>,
    /** A pruned vocabulary's dropped words and the kept rows they read. */
    readonly aliases?: Aliases,
    /** The char LM's class of every word row (training a model with `charLM`: builds its LM head). */
    lmClasses: Int32Array | null = null,
  ) {
    this.vocab = vocab ?? new Map();
    if (!vocab) {
      words.forEach((w, i) => this.vocab.has(w) || this.vocab.set(w, i));
      addAliases(this.vocab, aliases);
    }
    this.table = embedding;
    this.unkId = words.length;
    this.padId = words.length + 1;
    this.tagger = createTagger(kernels, config, labels, trainScheme, words.length + 2, embedding, rng, lmClasses);
    this.enc = this.makeEncoder();
  }

  /** The vocabSize×embDim word table, float32. @throws LstmNerError after `quantize({ embedding: true })`, which dropped it. */
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
    const f = o.feature;
    const labels = f ? labelsForScheme(entityTypes(o.labels), f.trainScheme) : [...o.labels];
    if (f && !o.bidirectional) throw new LstmNerError("bidirectional: false does not apply to the feature architecture, which is always a BiLSTM");
    if (f && o.outputs !== undefined && o.outputs !== labels.length) {
      throw new LstmNerError(`outputs: the feature architecture has one output per label (${labels.length} in ${f.trainScheme}), got ${o.outputs}`);
    }
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
      const { vocabSize: _v, embDim: _e, trainableEmbeddings: _t, hidden: _h, outputs: _o, constraints: _c, lmClasses: _l, charLM, layers, docMemory, ...rest } = resolveFeatureTaggerConfig({
        vocabSize: 1, embDim: 1, outputs,
        charVocabSize: chars?.length ?? 0,
        ...(f.chars ? { charDim: f.chars.dim, charFilters: f.chars.filters, charWindow: f.chars.window } : {}),
        casingDim: f.casingDim, inputDropout: f.inputDropout, outputDropout: f.outputDropout, output: f.output,
        charLM: f.charLM ?? null, layers: f.layers ?? 1, docMemory: f.docMemory ?? false,
      });
      // Stored only when on (more than one layer), so the files of models without them stay as they were.
      return { ...rest, constrained: f.constrained && f.output === "crf", ...(charLM !== null ? { charLM } : {}), ...(layers > 1 ? { layers } : {}), ...(docMemory ? { docMemory } : {}) };
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
    let lmClasses: Int32Array | null = null;
    if (tagger?.charLM !== undefined && o.trainTokens) {
      // The LM predicts word-table rows: the tokens as the tagger reads them (lowercased, digits normalised as configured).
      const unk = vectors.words.length;
      const digits = o.normalizeDigits === true;
      const rows = (function* (): Generator<number> {
        for (const s of o.trainTokens!) for (const t of s) yield tokenId(emb.vocab, t, unk, { normalizeDigits: digits });
      })();
      lmClasses = lmClassesOf(rows, unk + 2, tagger.charLM.vocab, [unk, unk + 1]);
    }
    return new NerModel(kernels, config, labels, f ? f.trainScheme : o.scheme, vectors.words, emb.matrix, rng, {}, emb.vocab, vectors.aliases, lmClasses);
  }

  /** A model from the bytes of a model file (e.g. fetched in a browser); `name` is used in errors. */
  static fromBytes(bytes: Uint8Array, kernels: Kernels, name = "model"): NerModel {
    return NerModel.fromSaved(parseModel(bytes, name), kernels, name);
  }

  /** A model from a parsed model file; `file` is used in errors. */
  static fromSaved(saved: SavedModel, kernels: Kernels, file: string): NerModel {
    const m = new NerModel(kernels, saved.config, saved.labels, saved.trainScheme, saved.words, saved.embedding, new Rng(0), saved.training, undefined, saved.aliases);
    const own = m.ownParams();
    for (const { name, shape } of own) {
      const t = saved.params[name];
      if (!t) throw new LstmNerError(`not a valid lstm-ner model (tensor param.${name} is missing)`, { file });
      if (t.shape.join(",") !== shape.join(",")) {
        throw new LstmNerError(`not a valid lstm-ner model (param.${name} has shape [${t.shape}], expected [${shape}])`, { file });
      }
    }
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
   * Trainable tensors other than the word embedding (which is stored, trained or not, as `embedding.weight`; an ensemble's first member's too),
   * and other than the char LM's LM head, which only training uses.
   */
  private ownParams(): Param[] {
    return this.tagger.params().filter((p) => p.value !== this.table && !p.name.startsWith("charlm.lm."));
  }

  /**
   * One model file's worth of an ensemble of `models` (see `EnsembleTagger`),
   * each member's weights under `m<i>.`. The members share the labels and
   * their scheme and everything the one encoder needs (the vocabulary, the
   * char vocabulary of the members with char features, the fields of
   * {@link SHARED_INPUT}); their taggers may differ (layers, hidden size,
   * char CNN, casing, document memory, char LM, constraints). When they do, the
   * config lists every member's (`config.members`); members of one
   * architecture give the file they always gave. `combine` (default
   * "potentials") is stored as `config.combine` only when it is "vote".
   * @throws LstmNerError naming the member (`model <i>`) and the field that differs.
   */
  static ensemble(models: readonly NerModel[], training: Record<string, unknown>, o: { combine?: EnsembleCombine } = {}): SavedModel {
    const combine = o.combine ?? "potentials";
    if (!ENSEMBLE_COMBINE.includes(combine)) throw new LstmNerError(`combine must be ${ENSEMBLE_COMBINE.join(" or ")}, got ${JSON.stringify(combine)}`);
    const first = models[0];
    if (first === undefined || models.length < 2) throw new LstmNerError(`an ensemble needs at least 2 models, got ${models.length}`);
    const params: SavedModel["params"] = {};
    // The members with char features share the encoder's char vocabulary.
    const charModel = models.find((m) => (m.config.tagger?.charVocabSize ?? 0) > 0);
    models.forEach((m, i) => {
      const where = { file: `model ${i + 1}` };
      if (m.config.arch !== "feature") throw new LstmNerError(`its config.arch is "${m.config.arch}": only BiLSTM-CNN-CRF models (feature architecture, CRF output) can be combined`, where);
      if (m.config.ensemble) throw new LstmNerError("it is an ensemble already (config.ensemble): combine single models", where);
      if (m.config.tagger?.output !== "crf") throw new LstmNerError(`its config.tagger.output is "${m.config.tagger?.output}": only CRF taggers can be combined`, where);
      if (m.labels.join("\n") !== first.labels.join("\n") || m.trainScheme !== first.trainScheme) {
        throw new LstmNerError(`its labels differ from the first model's (${m.trainScheme} ${m.labels.join(" ")} against ${first.trainScheme} ${first.labels.join(" ")})`, where);
      }
      if (m.scheme !== first.scheme) throw new LstmNerError(`its config.dataScheme (${m.scheme}) differs from the first model's (${first.scheme})`, where);
      for (const { field, of } of SHARED_INPUT) {
        const [mine, theirs] = [JSON.stringify(of(m.config)), JSON.stringify(of(first.config))];
        if (mine !== theirs) throw new LstmNerError(`its config.${field} (${mine}) differs from the first model's (${theirs}); the members read one input`, where);
      }
      if (m.words.length !== first.words.length || m.words.some((w, j) => w !== first.words[j])) {
        throw new LstmNerError("its vocabulary differs from the first model's (train every member on the same data and vectors; the members read one word lookup)", where);
      }
      if ((m.config.tagger.charVocabSize ?? 0) > 0 && JSON.stringify(m.config.chars) !== JSON.stringify(charModel!.config.chars)) {
        throw new LstmNerError(`its config.chars (char vocabulary) differs from model ${models.indexOf(charModel!) + 1}'s (train every member on the same data)`, where);
      }
      for (const [name, p] of Object.entries(m.toSaved({}).params)) params[`m${i}.${name}`] = p;
      if (i > 0 && m.config.trainableEmbeddings) params[`m${i}.embedding.weight`] = { shape: [m.words.length + 2, m.config.embDim], data: m.embedding };
    });
    const mixed = models.some((m) => comparableConfig(m.config) !== comparableConfig(first.config));
    const config: ModelConfig = {
      ...first.config, ensemble: models.length,
      ...(mixed ? {
        ...(charModel !== undefined ? { chars: charModel.config.chars! } : {}),
        members: models.map((m) => ({ hidden: m.config.hidden, tagger: m.config.tagger! })),
      } : {}),
      ...(combine === "vote" ? { combine } : {}),
    };
    return { ...first.toSaved(training), config, params };
  }

  /** Token → ids and features, gold tags → label ids, padding, and ids → tags in the data's scheme. */
  encoder(): Encoder {
    return this.enc;
  }

  private makeEncoder(): Encoder {
    const { vocab, unkId, padId, labels } = this;
    const digits = this.config.normalizeDigits === true;
    const lookup = (t: string): number => tokenId(vocab, t, unkId, { normalizeDigits: digits });
    if (this.config.arch === "softmax") return wordEncoder(lookup, padId, labels);
    const chars = charVocabFromList(this.config.chars ?? [""]);
    return featureEncoder(lookup, padId, labels, {
      chars, dataScheme: this.scheme, trainScheme: this.trainScheme,
      ...(inputDocMemory(this.config) ? { memory: { skip: [unkId, padId] } } : {}),
    });
  }

  /** All trainable parameters (the word table first, when trainable): what an optimiser steps. */
  params(): Param[] {
    return this.tagger.params();
  }

  /** State of the dropout masks' generator (null: the softmax model draws no random numbers after initialisation). */
  randomState(): number[] | null {
    return this.tagger instanceof FeatureTagger ? this.tagger.dropoutRng.getState() : null;
  }

  /** Continue from a {@link randomState}. */
  setRandomState(state: number[] | null): void {
    if (this.tagger instanceof FeatureTagger) {
      if (state === null) throw new LstmNerError("the checkpoint has no dropout generator state for this model");
      this.tagger.dropoutRng.setState(state);
    }
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
    const { ids, scores } = predictBatched(encodeAll(sentences, enc, docs), enc, batchSize, (b) => this.tagger.predictWithScores(b), (bs) => this.fillMemory(bs));
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

  /** A model with a document memory: forget the training memory (the trainer does this before it encodes its sentences). */
  clearTrainingMemory(): void {
    if (this.tagger instanceof FeatureTagger) this.tagger.clearTrainingMemory();
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

/**
 * Vectors plus a row for every training word (lowercased) that has none and
 * occurs at least `minCount` times, drawn from U(−√(3/d), √(3/d)) so that a
 * trainable embedding can learn it (as Lample et al. do for words missing
 * from the pretrained table).
 */
function extendVectors(v: Vectors, sentences: readonly (readonly string[])[], minCount: number, rng: Rng): Vectors {
  const known = new Set([...v.words, ...(v.aliases?.keys ?? [])]);
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
  return { words: [...v.words, ...extra], dim: v.dim, data, ...(v.aliases ? { aliases: v.aliases } : {}) };
}
