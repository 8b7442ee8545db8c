/**
 * Document context: each sentence tagged inside a window of its neighbours
 * from the same document, so the BiLSTM sees how a name was written earlier
 * or later in the text. Only the centre sentence is scored and predicted.
 */
import { LstmNerError } from "../util/errors.js";

/** How much context a model reads (stored in its file's config). */
export interface ContextOptions {
  /** Neighbouring sentences on each side, at most. */
  sentences: number;
  /** Tokens in a window, at most (the centre sentence always fits, whatever its length). */
  maxTokens: number;
}

/** A sentence in its window: the window's tokens, with the centre sentence at `start` .. `start + length − 1`. */
export interface ContextWindow {
  tokens: string[];
  start: number;
  length: number;
}

/** Check the options. @throws LstmNerError naming the field. */
export function checkContext(o: ContextOptions): ContextOptions {
  if (!Number.isInteger(o.sentences) || o.sentences < 0) throw new LstmNerError(`context: sentences must be a whole number ≥ 0, got ${o.sentences}`);
  if (!Number.isInteger(o.maxTokens) || o.maxTokens < 1) throw new LstmNerError(`context: maxTokens must be a whole number ≥ 1, got ${o.maxTokens}`);
  return o;
}

/**
 * The window of every sentence: nearest neighbours first, alternating
 * before and after, each added while it is in the same document (`docs[i]`;
 * without `docs` all sentences are one document) and the window stays
 * within `maxTokens`; a side stops at the first neighbour that does not fit.
 */
export function contextWindows(sentences: readonly (readonly string[])[], docs: readonly (number | undefined)[] | undefined,
  o: ContextOptions): ContextWindow[] {
  checkContext(o);
  if (docs !== undefined && docs.length !== sentences.length) {
    throw new LstmNerError(`context: ${docs.length} document ids for ${sentences.length} sentences`);
  }
  const same = (i: number, j: number): boolean => docs === undefined || docs[i] === docs[j];
  return sentences.map((centre, i) => {
    let lo = i;
    let hi = i;
    let tokens = centre.length;
    let left = true;
    let right = true;
    for (let k = 1; k <= o.sentences && (left || right); k++) {
      if (left) {
        const j = i - k;
        if (j >= 0 && same(i, j) && tokens + sentences[j]!.length <= o.maxTokens) {
          lo = j;
          tokens += sentences[j]!.length;
        } else {
          left = false;
        }
      }
      if (right) {
        const j = i + k;
        if (j < sentences.length && same(i, j) && tokens + sentences[j]!.length <= o.maxTokens) {
          hi = j;
          tokens += sentences[j]!.length;
        } else {
          right = false;
        }
      }
    }
    let start = 0;
    for (let j = lo; j < i; j++) start += sentences[j]!.length;
    return { tokens: sentences.slice(lo, hi + 1).flat(), start, length: centre.length };
  });
}
