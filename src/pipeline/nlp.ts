/**
 * The spaCy-style entry point: `nlp(text)` → {@link Doc}. Browser-safe (no
 * Node modules); `load.ts` adds reading a model file in Node.
 */
import type { Kernels } from "../engine/kernels.js";
import { tokenizeSentences, type TextSpan } from "../data/tokenize.js";
import { NerModel } from "../model/ner.js";
import { LstmNerError } from "../util/errors.js";
import { Doc } from "./doc.js";

/** Options of {@link createNlp}. */
export interface NlpOptions {
  /**
   * Sentences longer than this many tokens are tagged in pieces of this size
   * (entities never cross a piece, and each piece is one of `doc.sents`),
   * so one huge text cannot make the network
   * allocate without bound. Default 256 (CoNLL-2003's longest sentence has 124).
   */
  maxSentenceTokens?: number;
  /** Sentences per network batch (default 64); not to be confused with {@link PipeOptions.batchSize}, which counts texts. */
  sentencesPerBatch?: number;
}

/** Options of {@link Nlp.pipe}. */
export interface PipeOptions {
  /** Texts tagged together (default 64), as spaCy's `nlp.pipe(texts, batch_size)` counts them. */
  batchSize?: number;
}

/** A loaded pipeline: call it on a text to get a {@link Doc}. */
export interface Nlp {
  (text: string): Doc;
  /** The model behind the pipeline. */
  readonly model: NerModel;
  /** Tag many texts at once (one network pass per batch of sentences). */
  batch(texts: readonly string[]): Doc[];
  /**
   * Tag a stream of texts, `batchSize` at a time, yielding docs in input
   * order. Only one batch is held in memory, and the event loop gets a turn
   * between batches.
   */
  pipe(texts: Iterable<string> | AsyncIterable<string>, opts?: PipeOptions): AsyncIterable<Doc>;
}

/** A pipeline over a model. */
export function createNlp(model: NerModel, opts: NlpOptions = {}): Nlp {
  const maxLen = opts.maxSentenceTokens ?? 256;
  if (!Number.isInteger(maxLen) || maxLen < 1) throw new LstmNerError(`maxSentenceTokens must be a positive integer, got ${maxLen}`);
  const netBatch = opts.sentencesPerBatch ?? 64;
  if (!Number.isInteger(netBatch) || netBatch < 1) throw new LstmNerError(`sentencesPerBatch must be a positive integer, got ${netBatch}`);
  const scheme = model.scheme;

  const batch = (texts: readonly string[]): Doc[] => {
    texts.forEach((t, i) => {
      if (typeof t !== "string") throw new LstmNerError(`must be a string, got ${t === null ? "null" : typeof t}`, { file: `texts[${i}]` });
    });
    const perText = texts.map((text) => tokenizeSentences(text).flatMap((s) => pieces(s, maxLen)));
    // Each text is one document (for a model with document context).
    const docs = perText.flatMap((sents, i) => sents.map(() => i));
    const { tags, scores } = model.tagWithScores(perText.flat().map((s) => s.map((t) => t.text)), netBatch, docs);
    let k = 0;
    return texts.map((text, i) => {
      const sents = perText[i]!;
      const n = sents.length;
      const doc = Doc.fromTagged(text, sents, tags.slice(k, k + n), scheme, scores.slice(k, k + n));
      k += n;
      return doc;
    });
  };

  const nlp = ((text: string): Doc => batch([text])[0]!) as Nlp;
  Object.defineProperties(nlp, {
    model: { value: model, enumerable: true },
    batch: { value: batch, enumerable: true },
    pipe: { value: pipe, enumerable: true },
  });
  return nlp;

  async function* pipe(texts: Iterable<string> | AsyncIterable<string>, o: PipeOptions = {}): AsyncIterable<Doc> {
    const size = o.batchSize ?? 64;
    if (!Number.isInteger(size) || size < 1) throw new LstmNerError(`batchSize must be a positive integer, got ${size}`);
    let pending: string[] = [];
    for await (const text of texts) {
      pending.push(text);
      if (pending.length >= size) {
        yield* batch(pending);
        pending = [];
        await yieldToEventLoop();
      }
    }
    if (pending.length > 0) yield* batch(pending);
  }
}

/** A pipeline over the bytes of a model file (e.g. fetched in a browser). */
export function nlpFromBytes(bytes: Uint8Array, kernels: Kernels, opts: NlpOptions & { name?: string } = {}): Nlp {
  return createNlp(NerModel.fromBytes(bytes, kernels, opts.name ?? "model"), opts);
}

/** Split a sentence into pieces of at most `max` tokens. */
function pieces(sentence: TextSpan[], max: number): TextSpan[][] {
  if (sentence.length <= max) return [sentence];
  const out: TextSpan[][] = [];
  for (let i = 0; i < sentence.length; i += max) out.push(sentence.slice(i, i + max));
  return out;
}

/** Let timers and I/O run (a macrotask, so it works in Node and browsers alike). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
