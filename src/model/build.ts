/**
 * A model's parts from its config: the network (the one place that picks a
 * tagger class and gives it its features) and the encoder; and a new model's
 * config from a recipe's options.
 */
import type { Kernels } from "../engine/kernels.js";
import type { Vectors } from "../embeddings/types.js";
import type { TagScheme } from "../data/types.js";
import { tokenId, type WordLookup } from "../embeddings/vocab.js";
import { entityTypes, labelsForScheme } from "../data/schemes.js";
import type { Tagger } from "../nn/tagger-common.js";
import type { TokenData } from "../nn/feature-layer.js";
import { SoftmaxTagger } from "../nn/softmax-tagger.js";
import { FeatureTagger } from "../nn/feature-tagger.js";
import { EnsembleTagger } from "../nn/ensemble-tagger.js";
import { makeEncoder, type Encoder } from "../encode/encoder.js";
import type { TaggerSpec } from "../features/spec.js";
import type { BuildEnv } from "../features/kind.js";
import { buildCharVocab, charVocabFromList } from "../features/char-ids.js";
import { wordEmbedding } from "../features/word.js";
import { checkSpec, featuresOf, readsChars, resolveSpec } from "../features/check.js";
import { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import { memberConfigs, type ModelConfig } from "./config.js";

/** What a new model is made of (see `NerModel.create`). */
export interface NerModelOptions {
  vectors: Vectors;
  /** The data's label names (e.g. the conllpp order). */
  labels: readonly string[];
  /** The data's tag scheme. */
  scheme: TagScheme;
  hidden: number;
  /** BiLSTM or left-to-right LSTM (softmax architecture); the feature architecture is always bidirectional. */
  bidirectional: boolean;
  /**
   * Output units of the softmax architecture; at least the number of labels (default: the labels). The feature
   * architecture has one per label.
   */
  outputs?: number;
  trainableEmbeddings: boolean;
  /** Seeds the weight initialisation. */
  seed: number;
  /** The BiLSTM-CNN-CRF model's spec (char CNN, casing, dropout, CRF, …); absent: the classroom softmax BiLSTM. */
  feature?: TaggerSpec;
  /** Retry unknown tokens with digits replaced by 0. */
  normalizeDigits?: boolean;
  /** Training sentences' tokens: the char vocabulary comes from them, and `extendVocab` counts words in them. */
  trainTokens?: readonly (readonly string[])[];
  /**
   * Give training words missing from the vectors that occur at least this often their own (trainable) rows; 0 = off.
   */
  extendVocab?: number;
}

/** A new model's config, its labels in the training scheme, and its vectors (extended with training words). */
export interface NewModel {
  config: ModelConfig;
  labels: string[];
  trainScheme: TagScheme;
  vectors: Vectors;
}

/**
 * The config of a new model from a recipe's options; `rng` draws the rows of the training words the
 * vectors lack (before any weight). @throws LstmNerError naming the option.
 */
export function newModelConfig(o: NerModelOptions, rng: Rng): NewModel {
  const f = o.feature;
  if (f !== undefined) checkSpec(f, "feature.", (why) => new LstmNerError(why));
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
  if (f && readsChars(f)) {
    if (!o.trainTokens) throw new LstmNerError("a model with char features needs the training tokens (trainTokens) for its char vocabulary");
    chars = [...buildCharVocab(o.trainTokens).chars];
  }
  const config: ModelConfig = {
    arch: f ? "feature" : "softmax", embDim: vectors.dim, hidden: o.hidden, bidirectional: o.bidirectional,
    outputs, trainableEmbeddings: o.trainableEmbeddings, lowercase: true,
    ...(o.normalizeDigits ? { normalizeDigits: true } : {}),
    ...(f && f.trainScheme !== o.scheme ? { dataScheme: o.scheme } : {}),
    ...(f ? { tagger: resolveSpec(f) } : {}),
    ...(chars ? { chars } : {}),
  };
  return { config, labels, trainScheme: f ? f.trainScheme : o.scheme, vectors };
}

/**
 * Training a new model: the word rows of the training tokens as the tagger reads them (lowercased, digits
 * normalised as configured), for features that learn to predict words (the char LM).
 */
export function trainingRows(config: ModelConfig, vocab: WordLookup, unkId: number,
  tokens: readonly (readonly string[])[]): NonNullable<BuildEnv["training"]> {
  const digits = config.normalizeDigits === true;
  return {
    rows: function* (): Generator<number> {
      for (const s of tokens) for (const t of s) yield tokenId(vocab, t, unkId, { normalizeDigits: digits });
    },
    skip: [unkId, unkId + 1],
  };
}

/**
 * The network of a model config; `embedding` is the rows×embDim word table, used in place. `training`: see
 * {@link trainingRows} (null for a model loaded for tagging).
 */
export function buildTagger(kernels: Kernels, config: ModelConfig, labels: readonly string[], trainScheme: TagScheme,
  embedding: Float32Array, rng: Rng, training: BuildEnv["training"]): Tagger {
  const rows = embedding.length / config.embDim;
  if (config.arch === "softmax") {
    return new SoftmaxTagger(kernels, { vocabSize: rows, embDim: config.embDim, hidden: config.hidden, outputs: config.outputs,
      trainableEmbeddings: config.trainableEmbeddings, bidirectional: config.bidirectional }, embedding, rng);
  }
  const member = (c: ModelConfig, table: Float32Array): FeatureTagger => {
    const spec = c.tagger!;
    const env: BuildEnv = {
      kernels, spec, hidden: c.hidden, words: { table, rows, dim: c.embDim, trainable: c.trainableEmbeddings },
      chars: c.chars?.length ?? 0, training,
    };
    const kinds = featuresOf(spec);
    return new FeatureTagger(kernels, {
      hidden: c.hidden, layers: spec.layers ?? 1, inputDropout: spec.inputDropout, outputDropout: spec.outputDropout, output: spec.output,
      outputs: c.outputs, constraints: spec.constrained ? { labels, scheme: trainScheme } : null,
    }, {
      input: [wordEmbedding(env), ...kinds.flatMap((k) => (k.input ? [k.input(env)] : []))],
      output: kinds.flatMap((k) => (k.output ? [k.output(env)] : [])),
    }, rng);
  };
  if (!config.ensemble) return member(config, embedding);
  // Members with fine-tuned word tables each have their own (loaded as m<i>.embedding.weight); frozen ones share it.
  // Each member is built from its own config (config.members, for members of different architectures).
  return new EnsembleTagger(kernels, memberConfigs(config).map((c, i) =>
    member(c, i === 0 || !config.trainableEmbeddings ? embedding : new Float32Array(embedding.length))),
  { combine: config.combine ?? "potentials", labels, scheme: trainScheme });
}

/**
 * The encoder of a model config: its word lookup and, for the feature architecture, the per-token data of
 * its features (an ensemble's: of every member's, each once) and its schemes.
 */
export function buildEncoder(config: ModelConfig, vocab: WordLookup, unkId: number, padId: number,
  labels: readonly string[], trainScheme: TagScheme, dataScheme: TagScheme): Encoder {
  const digits = config.normalizeDigits === true;
  const lookup = (t: string): number => tokenId(vocab, t, unkId, { normalizeDigits: digits });
  if (config.arch === "softmax") return makeEncoder({ lookup, padId, labels });
  const env = { chars: charVocabFromList(config.chars ?? [""]), skip: [unkId, padId] };
  const data = new Map<string, TokenData>();
  for (const c of memberConfigs(config)) {
    for (const k of featuresOf(c.tagger!)) {
      const d = k.data?.(env);
      if (d !== undefined && !data.has(d.key)) data.set(d.key, d);
    }
  }
  return makeEncoder({ lookup, padId, labels, schemes: { data: dataScheme, train: trainScheme }, data: [...data.values()] });
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
