import type { Sentence } from "../data/types.js";

/**
 * The label set for user-given files: the conllpp order when every tag fits
 * it (so ids match the Hugging Face numbering), otherwise O first and then
 * each type's tags in the order B, I, E, S.
 */
export function labelsFromSentences(sentences: readonly Sentence[], preferred: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const s of sentences) for (const t of s.tags) seen.add(t);
  if ([...seen].every((t) => preferred.includes(t))) return [...preferred];
  const types = [...new Set([...seen].filter((t) => t !== "O").map((t) => t.slice(2)))].sort();
  const out = ["O"];
  for (const type of types) for (const p of ["B", "I", "E", "S"]) if (seen.has(`${p}-${type}`)) out.push(`${p}-${type}`);
  return out;
}
