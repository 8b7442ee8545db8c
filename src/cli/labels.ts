import type { Sentence } from "../data/types.js";
import { labelsFound } from "../data/datasets.js";

/**
 * The label set for user-given files: `preferred` (the conllpp order, so ids
 * match the Hugging Face numbering) when every tag fits it, otherwise the
 * tags found, in {@link labelsFound}'s stable order.
 */
export function labelsFromSentences(sentences: readonly Sentence[], preferred: readonly string[]): string[] {
  const found = labelsFound(sentences);
  return found.every((t) => preferred.includes(t)) ? [...preferred] : found;
}
