import { LstmNerError } from "../util/errors.js";
import { KeyTable } from "../tensors/key-table.js";
import { aliasCount } from "../tensors/storage.js";
import type { Vectors } from "./types.js";

/**
 * The frozen embedding table of the classroom pipeline: the vectors' rows in
 * order, then UNK (the mean of all vectors) at row `n`, then PAD (zeros) at
 * row `n + 1`.
 */
export interface Embedding {
  /** Word → row. Holds the vectors' words only (not UNK or PAD). */
  vocab: Map<string, number>;
  /** `size × dim` float32, row-major. */
  matrix: Float32Array;
  dim: number;
  unkId: number;
  padId: number;
  /** Rows in `matrix` (words + 2). */
  size: number;
}

/** How tokens are matched against the vocabulary. */
export interface TokenIdOptions {
  /**
   * When the lowercased token is unknown, retry with every digit replaced by
   * `0` (so `1987` can match a `0000`-style entry in vocabularies built that way).
   */
  normalizeDigits?: boolean;
}

/** Build the embedding matrix (see {@link Embedding}). A repeated word keeps its first row. */
export function buildEmbedding(vectors: Vectors): Embedding {
  const { words, dim, data } = vectors;
  const n = words.length;
  if (n === 0) throw new LstmNerError("cannot build an embedding from zero word vectors");
  if (data.length !== n * dim) throw new LstmNerError(`vectors hold ${data.length} values, expected ${n} words × ${dim}`);
  const matrix = new Float32Array((n + 2) * dim);
  matrix.set(data.subarray(0, n * dim));
  // Sum in float64 so the mean of 400k rows does not drift.
  const sum = new Float64Array(dim);
  for (let r = 0; r < n; r++) {
    const off = r * dim;
    for (let k = 0; k < dim; k++) sum[k]! += data[off + k]!;
  }
  for (let k = 0; k < dim; k++) matrix[n * dim + k] = sum[k]! / n;
  const vocab = new Map<string, number>();
  for (let r = 0; r < n; r++) if (!vocab.has(words[r]!)) vocab.set(words[r]!, r);
  addAliases(vocab, vectors.aliases);
  return { vocab, matrix, dim, unkId: n, padId: n + 1, size: n + 2 };
}

/**
 * Add a pruned table's dropped words (see {@link Vectors.aliases}) to a word → row map; words with their own
 * row win.
 */
export function addAliases(vocab: Map<string, number>, aliases: Vectors["aliases"]): void {
  if (!aliases) return;
  aliases.keys.forEach((k, i) => vocab.has(k) || vocab.set(k, aliases.rows[i]!));
}

/** Word → row, as a `Map` or anything else that can look a word up. */
export interface WordLookup {
  get(word: string): number | undefined;
}

/**
 * The lookup of a vocabulary: each word's own row (first occurrence wins), else a pruned table's alias (kept in
 * a {@link KeyTable}, which a loaded file already is: no Map of its hundreds of thousands of keys is built).
 */
export function wordLookup(words: readonly string[], aliases: Vectors["aliases"]): WordLookup {
  const own = new Map<string, number>();
  for (let i = 0; i < words.length; i++) if (!own.has(words[i]!)) own.set(words[i]!, i);
  if (!aliases || aliasCount(aliases) === 0) return own;
  const table = aliases instanceof KeyTable ? aliases : KeyTable.fromKeys(aliases.keys, aliases.rows);
  return { get: (w) => own.get(w) ?? table.get(w) };
}

const DIGITS = /[0-9]/g;

/** Row of `token`: lowercased, unknown words → `unkId`. */
export function tokenId(vocab: WordLookup, token: string, unkId: number, opts: TokenIdOptions = {}): number {
  const lower = token.toLowerCase();
  const id = vocab.get(lower);
  if (id !== undefined) return id;
  if (opts.normalizeDigits === true) {
    const normal = lower.replace(DIGITS, "0");
    if (normal !== lower) return vocab.get(normal) ?? unkId;
  }
  return unkId;
}

/** Rows of a whole sentence. */
export function tokenIds(vocab: WordLookup, tokens: readonly string[], unkId: number, opts: TokenIdOptions = {}): Int32Array {
  const out = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) out[i] = tokenId(vocab, tokens[i]!, unkId, opts);
  return out;
}
