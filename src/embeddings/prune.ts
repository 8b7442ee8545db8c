/**
 * Vector pruning as spaCy's `Vocab.prune_vectors` does it: keep some rows
 * (the N most frequent, plus rows the caller names, e.g. every training
 * word), and point each dropped word at the kept row nearest to its own
 * vector by cosine similarity. Kept words keep their exact vectors; a dropped
 * word reads a neighbour's vector instead of UNK.
 */
import type { Kernels } from "../engine/kernels.js";
import { LstmNerError } from "../util/errors.js";
import type { Vectors } from "./types.js";

/** A pruned table: the kept rows in their old order, and every dropped word (and old alias) as an alias. */
export interface PrunedVectors extends Vectors {
  aliases: { keys: string[]; rows: Int32Array };
  /** Old row of each kept row. */
  keptRows: Int32Array;
}

/** Rows of dropped vectors compared at once (each block needs block × kept floats of scratch). */
const BLOCK = 256;

/**
 * Keep the rows where `keep[r]` is 1 and alias every other word to its
 * nearest kept row (cosine similarity, computed with the kernels' GEMM).
 * Existing aliases are carried over (re-pointed when their row is dropped).
 *
 * @throws LstmNerError when no row is kept or `keep` has the wrong length.
 */
export function pruneRows(v: Vectors, keep: Uint8Array, kernels: Kernels): PrunedVectors {
  const n = v.words.length;
  const dim = v.dim;
  if (keep.length !== n) throw new LstmNerError(`pruning: the keep mask has ${keep.length} entries for ${n} rows`);
  const newRow = new Int32Array(n).fill(-1);
  const keptList: number[] = [];
  for (let r = 0; r < n; r++) if (keep[r]) newRow[r] = keptList.push(r) - 1;
  const kept = keptList.length;
  if (kept === 0) throw new LstmNerError("pruning would keep no vectors at all");
  const dropped: number[] = [];
  for (let r = 0; r < n; r++) if (!keep[r]) dropped.push(r);

  // Unit-length copies of the kept rows, then blocks of dropped rows against all of them.
  const K = kernels.alloc(kept * dim);
  keptList.forEach((r, i) => normalizeInto(v.data, r, dim, K, i));
  const D = kernels.alloc(BLOCK * dim);
  const S = kernels.alloc(BLOCK * kept);
  const nearest = new Int32Array(n).fill(-1);
  try {
    for (let start = 0; start < dropped.length; start += BLOCK) {
      const m = Math.min(BLOCK, dropped.length - start);
      for (let i = 0; i < m; i++) normalizeInto(v.data, dropped[start + i]!, dim, D, i);
      kernels.gemm(false, true, m, kept, dim, D, K, S, 0);
      for (let i = 0; i < m; i++) {
        let best = 0;
        let bestSim = -Infinity;
        for (let j = 0, off = i * kept; j < kept; j++) {
          const s = S[off + j]!;
          if (s > bestSim) {
            bestSim = s;
            best = j;
          }
        }
        nearest[dropped[start + i]!] = best;
      }
    }
  } finally {
    kernels.free(K);
    kernels.free(D);
    kernels.free(S);
  }

  const rowOf = (r: number): number => (newRow[r]! >= 0 ? newRow[r]! : nearest[r]!);
  const data = new Float32Array(kept * dim);
  keptList.forEach((r, i) => data.set(v.data.subarray(r * dim, (r + 1) * dim), i * dim));
  const words = keptList.map((r) => v.words[r]!);
  const seen = new Set(words);
  const keys: string[] = [];
  const rows: number[] = [];
  const alias = (key: string, row: number): void => {
    if (seen.has(key)) return; // a word's first row wins, as in a lookup of the full table
    seen.add(key);
    keys.push(key);
    rows.push(row);
  };
  for (let r = 0; r < n; r++) if (!keep[r]) alias(v.words[r]!, rowOf(r));
  if (v.aliases) v.aliases.keys.forEach((k, i) => alias(k, rowOf(v.aliases!.rows[i]!)));
  return { words, dim, data, aliases: { keys, rows: Int32Array.from(rows) }, keptRows: Int32Array.from(keptList) };
}

function normalizeInto(src: Float32Array, row: number, dim: number, dst: Float32Array, at: number): void {
  let ss = 0;
  for (let k = 0; k < dim; k++) ss += src[row * dim + k]! ** 2;
  const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
  for (let k = 0; k < dim; k++) dst[at * dim + k] = src[row * dim + k]! * inv;
}

/**
 * The keep mask of "the `keep` most frequent rows plus these rows": rows are
 * taken to be in frequency order, as GloVe and word2vec files are.
 *
 * @throws LstmNerError when `keep` is not a whole number from 1 to the number of rows.
 */
export function frequentRowsMask(rows: number, keep: number, extra: Iterable<number>): Uint8Array {
  if (!Number.isInteger(keep) || keep < 1) throw new LstmNerError(`the number of vectors to keep must be a positive whole number, got ${keep}`);
  if (keep > rows) throw new LstmNerError(`cannot keep the ${keep} most frequent vectors: the table has only ${rows}`);
  const mask = new Uint8Array(rows);
  mask.fill(1, 0, keep);
  for (const r of extra) if (r >= 0 && r < rows) mask[r] = 1;
  return mask;
}

/**
 * Prune a vector table to its `keep` most frequent rows plus the rows of
 * `words` (each looked up as it is and lowercased, e.g. every token of the
 * training data); see {@link pruneRows}.
 */
export function pruneVectors(v: Vectors, keep: number, words: Iterable<string>, kernels: Kernels): PrunedVectors {
  const index = new Map<string, number>();
  v.words.forEach((w, r) => index.has(w) || index.set(w, r));
  v.aliases?.keys.forEach((k, i) => index.has(k) || index.set(k, v.aliases!.rows[i]!));
  const extra: number[] = [];
  for (const w of words) {
    for (const form of [w, w.toLowerCase()]) {
      const r = index.get(form);
      if (r !== undefined) extra.push(r);
    }
  }
  return pruneRows(v, frequentRowsMask(v.words.length, keep, extra), kernels);
}
