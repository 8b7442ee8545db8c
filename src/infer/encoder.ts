/**
 * Encoders: everything between token strings and a tagger — ids (and any
 * per-token features), gold label ids, padding into a batch, and predicted
 * ids back to tags. Training, evaluation and tagging all go through one, so
 * a model with extra features or another training tag scheme only supplies
 * its own.
 */
import type { Sentence, TagScheme } from "../data/types.js";
import { convert } from "../data/schemes.js";
import type { Batch } from "../nn/batch.js";
import { padBatch, toIds, labelIds, type IdSentence, type LabelWhere } from "./batching.js";
import { featureBatch, sentenceFeatures, type CharVocab, type SentenceFeatures } from "./features.js";

/** Token strings ↔ a tagger's batches and label ids. */
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

/** Label names from predicted ids; ids outside the label set (the exercise's extra output) read as "O". */
export function idsToTags(ids: Int32Array, labels: readonly string[]): string[] {
  return Array.from(ids, (id) => labels[id] ?? "O");
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

/** An encoded sentence of a model with char and casing features. */
export interface FeatureItem extends IdSentence {
  feats: SentenceFeatures;
}

/** What {@link featureEncoder} needs beyond a word encoder's lookup, pad id and labels. */
export interface FeatureEncoderOptions {
  /** Char vocabulary (a model without the char CNN passes one with only the unknown char). */
  chars: CharVocab;
  /** Scheme the data's tags are in. */
  dataScheme: TagScheme;
  /** Scheme of `labels`, the one the model was trained in. */
  trainScheme: TagScheme;
}

/**
 * The encoder of the feature tagger: ids plus char ids and casing classes
 * (see `FeatureBatch`), with gold tags converted from the data's scheme to
 * the training scheme and predictions back.
 */
export function featureEncoder(lookup: (token: string) => number, padId: number, labels: readonly string[],
  o: FeatureEncoderOptions): Encoder<FeatureItem> {
  const { chars, dataScheme: from, trainScheme: to } = o;
  return {
    labels,
    padId,
    lookup,
    encode: (tokens) => ({ ids: toIds(tokens, lookup), feats: sentenceFeatures(tokens, chars) }),
    labelIds: (tags, where) => labelIds(from === to ? tags : convert(tags, from, to), labels, where),
    collate: (items) => featureBatch(padBatch(items, padId), items.map((i) => i.feats)),
    decode: (ids) => (from === to ? idsToTags(ids, labels) : convert(idsToTags(ids, labels), to, from)),
  };
}

/** Encode sentences with their gold label ids; errors name the sentence (and `file`). */
export function encodeSentences<I extends IdSentence>(sentences: readonly Sentence[], enc: Encoder<I>, file?: string): I[] {
  return sentences.map((s, i) => ({
    ...enc.encode(s.tokens),
    labels: enc.labelIds(s.tags, { ...(file === undefined ? {} : { file }), sentence: i + 1 }),
  }));
}
