/**
 * The characters of each token (original case, digits kept) as ids of the
 * model's char vocabulary: the per-token data `chars` that the char CNN and
 * the char LM read.
 */
import { LstmNerError } from "../util/errors.js";
import type { Batch } from "../nn/batch.js";
import type { CharIds } from "../nn/charcnn.js";
import type { TokenData } from "../nn/feature-layer.js";

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

/** Longer tokens keep only their first this many characters. */
export const MAX_WORD_CHARS = 40;

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
 * @throws LstmNerError when the list does not start with `""`, holds a string that is not one code point, or repeats
 * one.
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

/** One sentence's char ids: all tokens' back to back, token t's from offsets[t] to offsets[t+1]. */
export interface SentenceChars {
  ids: Int32Array;
  offsets: Int32Array;
}

/** Char ids (unknown → {@link CHAR_UNK}) of a sentence's tokens, each cut to `maxWordLength` characters. */
export function sentenceChars(tokens: readonly string[], vocab: CharVocab, maxWordLength = MAX_WORD_CHARS): SentenceChars {
  if (!Number.isInteger(maxWordLength) || maxWordLength < 1) throw new LstmNerError(`maxWordLength must be a positive integer, got ${maxWordLength}`);
  const offsets = new Int32Array(tokens.length + 1);
  const ids: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    let n = 0;
    for (const c of tokens[i]!) {
      if (n++ === maxWordLength) break;
      ids.push(vocab.index.get(c) ?? CHAR_UNK);
    }
    offsets[i + 1] = ids.length;
  }
  return { ids: Int32Array.from(ids), offsets };
}

/**
 * The sentences' char ids in a batch's layout: word w = t·B+b has its chars in row w of `ids`
 * (maxChars = the batch's longest word); pads have length 0.
 * @throws LstmNerError when a sentence's token count differs from its length in the batch.
 */
export function collateChars(items: readonly SentenceChars[], batch: Batch): CharIds {
  const { size: B, maxLen: T, lengths } = batch;
  if (items.length !== B) throw new LstmNerError(`char ids for ${items.length} sentences, the batch has ${B}`);
  let maxChars = 0;
  for (let b = 0; b < B; b++) {
    const { offsets } = items[b]!;
    if (offsets.length - 1 !== lengths[b]) throw new LstmNerError(`batch item ${b}: char ids for ${offsets.length - 1} tokens, the batch has ${lengths[b]}`);
    for (let t = 0; t + 1 < offsets.length; t++) maxChars = Math.max(maxChars, offsets[t + 1]! - offsets[t]!);
  }
  const ids = new Int32Array(T * B * maxChars);
  const charLengths = new Int32Array(T * B);
  for (let b = 0; b < B; b++) {
    const f = items[b]!;
    for (let t = 0; t < lengths[b]!; t++) {
      const w = t * B + b;
      const start = f.offsets[t]!;
      const len = f.offsets[t + 1]! - start;
      ids.set(f.ids.subarray(start, start + len), w * maxChars);
      charLengths[w] = len;
    }
  }
  return { ids, lengths: charLengths, maxChars };
}

/** The `chars` per-token data of a model with this char vocabulary. */
export function charData(vocab: CharVocab): TokenData<SentenceChars, CharIds> {
  return {
    key: "chars",
    encode: (sentences) => sentences.map((s) => sentenceChars(s, vocab)),
    collate: collateChars,
  };
}

/**
 * The batch's char ids, checked: T·B words.
 * @throws LstmNerError when the batch has none (`what` names the feature) or the wrong number.
 */
export function charsOf(batch: Batch, what: string): CharIds {
  const c = batch.inputs?.chars as CharIds | undefined;
  if (c === undefined) throw new LstmNerError(`batch.inputs.chars is missing (the model has ${what})`);
  const n = batch.maxLen * batch.size;
  if (c.lengths.length !== n) throw new LstmNerError(`batch.inputs.chars.lengths has ${c.lengths.length} values, expected maxLen×size = ${n}`);
  return c;
}
