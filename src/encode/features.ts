/**
 * Per-token features for the feature tagger: character ids (original case,
 * digits kept) and casing classes, turned into the time-major layout of a
 * padded batch.
 */
import { LstmNerError } from "../util/errors.js";
import type { Batch } from "../nn/batch.js";
import type { FeatureBatch } from "../nn/feature-tagger.js";
import { CASING_PAD, casingId } from "../nn/casing.js";

/**
 * Characters → ids. `chars[0]` is `""`, the unknown character (id 0); the
 * others are single Unicode code points. Store `chars` in a model file and
 * rebuild with {@link charVocabFromList}.
 */
export interface CharVocab {
  readonly chars: readonly string[];
  readonly index: ReadonlyMap<string, number>;
}

/** Id of the unknown character. */
export const CHAR_UNK = 0;

/**
 * The char vocabulary of some sentences (the training set): every code point
 * seen at least `minCount` times (default 1), in code-point order after the
 * unknown character, so the same data always gives the same ids.
 */
export function buildCharVocab(sentences: Iterable<readonly string[]>, options: { minCount?: number } = {}): CharVocab {
  const minCount = options.minCount ?? 1;
  if (!Number.isInteger(minCount) || minCount < 1) throw new LstmNerError(`char vocabulary: minCount must be a positive integer, got ${minCount}`);
  const counts = new Map<string, number>();
  for (const tokens of sentences) for (const token of tokens) for (const c of token) counts.set(c, (counts.get(c) ?? 0) + 1);
  const kept = [...counts].filter(([, n]) => n >= minCount).map(([c]) => c);
  kept.sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  return charVocabFromList(["", ...kept]);
}

/**
 * A char vocabulary from its stored list (as in {@link CharVocab.chars}).
 * @throws LstmNerError when the list does not start with `""`, holds a string that is not one code point, or repeats one.
 */
export function charVocabFromList(chars: readonly string[]): CharVocab {
  if (chars[0] !== "") throw new LstmNerError("char vocabulary: entry 0 must be \"\" (the unknown character)", { file: "chars[0]" });
  const index = new Map<string, number>();
  for (let i = 1; i < chars.length; i++) {
    const c = chars[i]!;
    if (typeof c !== "string" || c.length === 0 || [...c].length !== 1) {
      throw new LstmNerError(`char vocabulary: ${JSON.stringify(c)} is not a single character`, { file: `chars[${i}]` });
    }
    if (index.has(c)) throw new LstmNerError(`char vocabulary: ${JSON.stringify(c)} appears twice`, { file: `chars[${i}]` });
    index.set(c, i);
  }
  return { chars: [...chars], index };
}

/** Options of {@link sentenceFeatures}. */
export interface SentenceFeatureOptions {
  /** Longer tokens keep only their first `maxWordLength` characters (default 40). */
  maxWordLength?: number;
}

/** The features of one sentence, computed once and reused by every batch it is in. */
export interface SentenceFeatures {
  /** Char ids of all tokens back to back. */
  chars: Int32Array;
  /** Where each token's chars start in `chars` (length tokens + 1). */
  offsets: Int32Array;
  /** Casing class per token. */
  casing: Int32Array;
}

/** Char ids (unknown → {@link CHAR_UNK}) and casing classes of a sentence's tokens. */
export function sentenceFeatures(tokens: readonly string[], vocab: CharVocab, options: SentenceFeatureOptions = {}): SentenceFeatures {
  const maxWordLength = options.maxWordLength ?? 40;
  if (!Number.isInteger(maxWordLength) || maxWordLength < 1) throw new LstmNerError(`maxWordLength must be a positive integer, got ${maxWordLength}`);
  const offsets = new Int32Array(tokens.length + 1);
  const casing = new Int32Array(tokens.length);
  const ids: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    casing[i] = casingId(token);
    let n = 0;
    for (const c of token) {
      if (n++ === maxWordLength) break;
      ids.push(vocab.index.get(c) ?? CHAR_UNK);
    }
    offsets[i + 1] = ids.length;
  }
  return { chars: Int32Array.from(ids), offsets, casing };
}

/**
 * Add the features of the batch's sentences (`features[b]` for sentence b,
 * in batch order) in the batch's time-major layout; `chars.maxChars` is the
 * longest word of the batch.
 * @throws LstmNerError when a sentence's feature count differs from its length in the batch.
 */
export function featureBatch(batch: Batch, features: readonly SentenceFeatures[]): FeatureBatch {
  const { size: B, maxLen: T, lengths } = batch;
  if (features.length !== B) throw new LstmNerError(`features for ${features.length} sentences, the batch has ${B}`);
  let maxChars = 0;
  for (let b = 0; b < B; b++) {
    const f = features[b]!;
    const tokens = f.casing.length;
    if (tokens !== lengths[b]) throw new LstmNerError(`batch item ${b}: features for ${tokens} tokens, the batch has ${lengths[b]}`);
    for (let t = 0; t < tokens; t++) maxChars = Math.max(maxChars, f.offsets[t + 1]! - f.offsets[t]!);
  }
  const n = T * B;
  const ids = new Int32Array(n * maxChars);
  const charLengths = new Int32Array(n);
  const casing = new Int32Array(n).fill(CASING_PAD);
  for (let b = 0; b < B; b++) {
    const f = features[b]!;
    for (let t = 0; t < lengths[b]!; t++) {
      const w = t * B + b;
      const start = f.offsets[t]!;
      const len = f.offsets[t + 1]! - start;
      ids.set(f.chars.subarray(start, start + len), w * maxChars);
      charLengths[w] = len;
      casing[w] = f.casing[t]!;
    }
  }
  return { ...batch, chars: { ids, lengths: charLengths, maxChars }, casing };
}

/** {@link featureBatch} from the token strings of the batch's sentences (in batch order). */
export function addFeatures(batch: Batch, tokens: readonly (readonly string[])[], vocab: CharVocab,
  options: SentenceFeatureOptions = {}): FeatureBatch {
  return featureBatch(batch, tokens.map((s) => sentenceFeatures(s, vocab, options)));
}
