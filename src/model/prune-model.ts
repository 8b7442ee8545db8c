/**
 * Shrinking a saved model: prune its vocabulary (see `pruneRows`) so that
 * the embedding holds the most frequent rows plus every row the training data
 * reads, and dropped words read their nearest kept row.
 */
import type { Kernels } from "../engine/kernels.js";
import { frequentRowsMask, pruneRows } from "../embeddings/prune.js";
import { addAliases, tokenId } from "../embeddings/vocab.js";
import type { SavedModel } from "./format.js";

/**
 * A copy of `saved` whose embedding keeps the `keep` most frequent rows (the
 * vocabulary's first rows: vectors files are in frequency order) plus the row
 * every token of `trainTokens` is looked up to, exactly as the model looks it
 * up. UNK and PAD rows and all other weights are unchanged.
 *
 * @throws LstmNerError when `keep` is not from 1 to the vocabulary size.
 */
export function pruneModel(saved: SavedModel, keep: number, trainTokens: Iterable<string>, kernels: Kernels): SavedModel {
  const n = saved.words.length;
  const dim = saved.config.embDim;
  const vocab = new Map<string, number>();
  saved.words.forEach((w, i) => vocab.has(w) || vocab.set(w, i));
  addAliases(vocab, saved.aliases);
  const used: number[] = [];
  const digits = { normalizeDigits: saved.config.normalizeDigits === true };
  for (const t of trainTokens) used.push(tokenId(vocab, t, n, digits));
  const pruned = pruneRows(
    { words: saved.words, dim, data: saved.embedding.subarray(0, n * dim), ...(saved.aliases ? { aliases: saved.aliases } : {}) },
    frequentRowsMask(n, keep, used), kernels,
  );
  const kept = pruned.words.length;
  const embedding = new Float32Array((kept + 2) * dim);
  embedding.set(pruned.data);
  embedding.set(saved.embedding.subarray(n * dim, (n + 2) * dim), kept * dim); // UNK, PAD as trained
  return { ...saved, words: pruned.words, embedding, aliases: pruned.aliases };
}
