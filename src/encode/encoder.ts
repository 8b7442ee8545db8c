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
import { contextWindows, type ContextOptions } from "./context.js";
import { memoryAddresses, type DocMemoryOptions } from "./memory-addresses.js";
import type { Gazetteer } from "../data/gazetteer.js";

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
  /** Document context the model reads (see src/encode/context.ts); absent: sentences alone. */
  readonly context?: ContextOptions;
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
  /** Document context (absent: none). */
  context?: ContextOptions;
  /** Document memory (absent: none). */
  memory?: DocMemoryOptions;
  /** The gazetteer each sentence is matched against (absent: no gazetteer features). */
  gazetteer?: Gazetteer;
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
 * The encoder of the feature tagger: ids plus char ids, casing classes and
 * gazetteer matches (see `FeatureBatch`), with gold tags converted from the data's scheme to
 * the training scheme and predictions back.
 */
export function featureEncoder(lookup: (token: string) => number, padId: number, labels: readonly string[],
  o: FeatureEncoderOptions): Encoder<FeatureItem> {
  const { chars, dataScheme: from, trainScheme: to } = o;
  const featureOptions = o.gazetteer ? { gazetteer: o.gazetteer } : {};
  return {
    ...(o.context && o.context.sentences > 0 ? { context: o.context } : {}),
    ...(o.memory ? { memory: o.memory } : {}),
    labels,
    padId,
    lookup,
    encode: (tokens) => ({ ids: toIds(tokens, lookup), feats: sentenceFeatures(tokens, chars, featureOptions) }),
    // Gold tags are read the conlleval way and rewritten in the training scheme even when the schemes
    // agree: a stray I-X after O (IOB2) or an unclosed B-X (a BIOES file mixing in IOB2) is then a
    // chunk as evaluation counts it, not a path the CRF's constraints forbid.
    labelIds: (tags, where) => labelIds(goldInScheme(tags, from, to, where), labels, where),
    collate: (items) => featureBatch(padBatch(items, padId), items.map((i) => i.feats)),
    decode: (ids) => (from === to ? idsToTags(ids, labels) : convert(idsToTags(ids, labels), to, from)),
  };
}

/**
 * Encode token sequences for prediction: each sentence alone, or, when the
 * encoder has document context, inside its window of neighbours from the
 * same document (`docs[i]`; without `docs` the sentences are one document).
 * With a document memory, every item also gets its tokens' memory addresses
 * over the documents of this call (so the items of one call share one memory).
 */
export function encodeAll<I extends IdSentence>(sentences: readonly (readonly string[])[], enc: Pick<Encoder<I>, "encode" | "context" | "memory">,
  docs?: readonly (number | undefined)[]): I[] {
  const items: I[] = enc.context === undefined
    ? sentences.map((s) => enc.encode(s))
    : contextWindows(sentences, docs, enc.context).map((w) => ({ ...enc.encode(w.tokens), centre: [w.start, w.length] as const }));
  if (enc.memory === undefined) return items;
  const own = items.map((it) => (it.centre === undefined ? it.ids : it.ids.slice(it.centre[0], it.centre[0] + it.centre[1])));
  const addresses = memoryAddresses(own, docs, enc.memory);
  return items.map((it, i) => ({ ...it, memory: addresses[i]! }));
}

/**
 * Encode sentences with their gold label ids (in context, with −1 at the
 * context tokens, when the encoder has document context; `Sentence.doc`
 * says which document each is in); errors name the sentence (and `file`).
 */
export function encodeSentences<I extends IdSentence>(sentences: readonly Sentence[], enc: Encoder<I>, file?: string): I[] {
  const items = encodeAll(sentences.map((s) => s.tokens), enc, sentences.map((s) => s.doc));
  return items.map((item, i) => {
    const gold = enc.labelIds(sentences[i]!.tags, { ...(file === undefined ? {} : { file }), sentence: i + 1 });
    if (item.centre === undefined) return { ...item, labels: gold };
    const labels = new Int32Array(item.ids.length).fill(-1);
    labels.set(gold, item.centre[0]);
    return { ...item, labels };
  });
}
