/**
 * Encoders: everything between token strings and a tagger — ids and the
 * per-token data of the model's features, gold label ids, padding into a
 * batch, and predicted ids back to tags. Training, evaluation and tagging all
 * go through one, so a model with other features or another training tag
 * scheme only supplies its own.
 */
import type { Sentence, TagScheme } from "../data/types.js";
import { convert } from "../data/schemes.js";
import { LstmNerError } from "../util/errors.js";
import type { Batch } from "../nn/batch.js";
import type { TokenData } from "../nn/feature-layer.js";
import { padBatch, toIds, labelIds, type IdSentence, type LabelWhere } from "./pad-batch.js";

/** Token strings ↔ a tagger's batches and label ids. */
export interface Encoder<I extends IdSentence = IdSentence> {
  /** The model's output labels, id order. */
  readonly labels: readonly string[];
  /** Word id of padding. */
  readonly padId: number;
  /** Word id of a token (lowercasing, unknown words → UNK). */
  lookup(token: string): number;
  /**
   * Ids and feature data of sentences, `docs[i]` being sentence i's document (without `docs` they are one
   * document); see {@link encodeAll}.
   */
  encodeMany(sentences: readonly (readonly string[])[], docs?: readonly (number | undefined)[]): I[];
  /** Ids and feature data of one sentence, a document of its own. */
  encode(tokens: readonly string[]): I;
  /** Gold tags (in the data's scheme) → label ids; errors name the sentence. */
  labelIds(tags: readonly string[], where?: LabelWhere): Int32Array;
  /** Pad encoded sentences into a batch, with their feature data in `inputs`. */
  collate(items: readonly I[]): Batch;
  /** Predicted label ids → tags in the data's scheme. */
  decode(ids: Int32Array): string[];
  /** The sentences of one {@link encodeMany} call depend on each other (a document memory): tag them in two passes. */
  readonly documentWide: boolean;
}

/** Label names from predicted ids; ids outside the label set (the exercise's extra output) read as "O". */
export function idsToTags(ids: Int32Array, labels: readonly string[]): string[] {
  return Array.from(ids, (id) => labels[id] ?? "O");
}

/** What {@link makeEncoder} needs. */
export interface EncoderOptions {
  /** Word id of a token. */
  lookup: (token: string) => number;
  padId: number;
  /** The model's output labels, id order. */
  labels: readonly string[];
  /**
   * The data's scheme and the one the labels are in: gold tags are converted, predictions converted back.
   * Absent: tags are read and written as they are (the classroom model).
   */
  schemes?: { data: TagScheme; train: TagScheme };
  /** The per-token data of the model's features (none: ids only). */
  data?: readonly TokenData[];
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

/** The encoder of a model: word ids plus its features' per-token data, and labels in its schemes. */
export function makeEncoder(o: EncoderOptions): Encoder {
  const { lookup, padId, labels } = o;
  const data = o.data ?? [];
  const schemes = o.schemes;
  const encodeMany = (sentences: readonly (readonly string[])[], docs?: readonly (number | undefined)[]): IdSentence[] => {
    const ids = sentences.map((s) => toIds(s, lookup));
    if (data.length === 0) return ids.map((x) => ({ ids: x }));
    const perKey = data.map((d) => d.encode(sentences, ids, docs));
    return ids.map((x, i) => ({ ids: x, data: Object.fromEntries(data.map((d, j) => [d.key, perKey[j]![i]])) }));
  };
  return {
    labels,
    padId,
    lookup,
    documentWide: data.some((d) => d.documentWide === true),
    encodeMany,
    encode: (tokens) => encodeMany([tokens])[0]!,
    // With a training scheme, gold tags are read the conlleval way and rewritten in it even when the schemes
    // agree: a stray I-X after O (IOB2) or an unclosed B-X (a BIOES file mixing in IOB2) is then a
    // chunk as evaluation counts it, not a path the CRF's constraints forbid.
    labelIds: (tags, where) => labelIds(schemes === undefined ? tags : goldInScheme(tags, schemes.data, schemes.train, where), labels, where),
    collate: (items) => {
      const batch = padBatch(items, padId);
      if (data.length === 0) return batch;
      const inputs = Object.fromEntries(data.map((d) => [d.key, d.collate(items.map((it, b) => {
        const v = it.data?.[d.key];
        if (v === undefined) throw new LstmNerError(`batch item ${b} has no ${d.key} data (encode it with this model's encoder)`);
        return v;
      }), batch)]));
      return { ...batch, inputs };
    },
    decode: (ids) => (schemes === undefined || schemes.data === schemes.train
      ? idsToTags(ids, labels)
      : convert(idsToTags(ids, labels), schemes.train, schemes.data)),
  };
}

/**
 * Encode token sequences, each sentence alone. With a document memory, every
 * item also gets its tokens' memory addresses over the documents of this call
 * (`docs[i]`: sentence i's document; without `docs` the sentences are one
 * document), so the items of one call share one memory.
 */
export function encodeAll<I extends IdSentence>(sentences: readonly (readonly string[])[], enc: Pick<Encoder<I>, "encodeMany">,
  docs?: readonly (number | undefined)[]): I[] {
  return enc.encodeMany(sentences, docs);
}

/**
 * Encode sentences with their gold label ids (`Sentence.doc` says which
 * document each is in); errors name the sentence (and `file`).
 */
export function encodeSentences<I extends IdSentence>(sentences: readonly Sentence[], enc: Encoder<I>, file?: string): I[] {
  const items = encodeAll(sentences.map((s) => s.tokens), enc, sentences.map((s) => s.doc));
  return items.map((item, i) => ({ ...item, labels: enc.labelIds(sentences[i]!.tags, { ...(file === undefined ? {} : { file }), sentence: i + 1 }) }));
}
