/**
 * Encoders: everything between token strings and a tagger — ids (and any
 * per-token features), gold label ids, padding into a batch, and predicted
 * ids back to tags. Training, evaluation and tagging all go through one, so
 * a model with extra features or another training tag scheme only supplies
 * its own.
 */
import type { Sentence, TagScheme } from "../data/types.js";
import { convert } from "../data/schemes.js";
import { LstmNerError } from "../util/errors.js";
import type { Batch } from "../nn/batch.js";
import { padBatch, toIds, labelIds, type IdSentence, type LabelWhere } from "./pad-batch.js";
import { featureBatch, sentenceFeatures, type CharVocab, type SentenceFeatures } from "./features.js";
import { memoryAddresses, type DocMemoryOptions } from "./memory-addresses.js";

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
  /** The model's document memory (see src/encode/memory-addresses.ts): {@link encodeAll} gives items memory addresses. Absent: none. */
  readonly memory?: DocMemoryOptions;
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
  /** Document memory (absent: none). */
  memory?: DocMemoryOptions;
}

/** Gold tags rewritten from `from` to `to`; a tag `from` does not have is reported with the file and sentence. */
function goldInScheme(tags: readonly string[], from: TagScheme, to: TagScheme, where: LabelWhere = {}): string[] {
  try {
    return convert(tags, from, to);
  } catch (e) {
    if (!(e instanceof LstmNerError)) throw e;
    const at = where.sentence === undefined ? "" : `sentence ${where.sentence}, `;
    const token = /^tags\[(\d+)\]: /.exec(e.message);
    const rest = token ? e.message.slice(token[0].length) : e.message;
    throw new LstmNerError(`${at}${token ? `token ${Number(token[1]) + 1}: ` : ""}${rest}`, where.file === undefined ? {} : { file: where.file });
  }
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
    ...(o.memory ? { memory: o.memory } : {}),
    labels,
    padId,
    lookup,
    encode: (tokens) => ({ ids: toIds(tokens, lookup), feats: sentenceFeatures(tokens, chars) }),
    // Gold tags are read the conlleval way and rewritten in the training scheme even when the schemes
    // agree: a stray I-X after O (IOB2) or an unclosed B-X (a BIOES file mixing in IOB2) is then a
    // chunk as evaluation counts it, not a path the CRF's constraints forbid.
    labelIds: (tags, where) => labelIds(goldInScheme(tags, from, to, where), labels, where),
    collate: (items) => featureBatch(padBatch(items, padId), items.map((i) => i.feats)),
    decode: (ids) => (from === to ? idsToTags(ids, labels) : convert(idsToTags(ids, labels), to, from)),
  };
}

/**
 * Encode token sequences, each sentence alone. With a document memory, every
 * item also gets its tokens' memory addresses over the documents of this call
 * (`docs[i]`: sentence i's document; without `docs` the sentences are one
 * document), so the items of one call share one memory.
 */
export function encodeAll<I extends IdSentence>(sentences: readonly (readonly string[])[], enc: Pick<Encoder<I>, "encode" | "memory">,
  docs?: readonly (number | undefined)[]): I[] {
  const items: I[] = sentences.map((s) => enc.encode(s));
  if (enc.memory === undefined) return items;
  const addresses = memoryAddresses(items.map((it) => it.ids), docs, enc.memory);
  return items.map((it, i) => ({ ...it, memory: addresses[i]! }));
}

/**
 * Encode sentences with their gold label ids (`Sentence.doc` says which
 * document each is in); errors name the sentence (and `file`).
 */
export function encodeSentences<I extends IdSentence>(sentences: readonly Sentence[], enc: Encoder<I>, file?: string): I[] {
  const items = encodeAll(sentences.map((s) => s.tokens), enc, sentences.map((s) => s.doc));
  return items.map((item, i) => ({ ...item, labels: enc.labelIds(sentences[i]!.tags, { ...(file === undefined ? {} : { file }), sentence: i + 1 }) }));
}
