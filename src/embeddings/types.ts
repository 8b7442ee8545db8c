/**
 * A table of word vectors: `words[i]` owns row `i` of `data`, which holds
 * `words.length × dim` float32 values, row-major.
 */
export interface Vectors {
  words: string[];
  dim: number;
  data: Float32Array;
  /** A pruned table's dropped words, each read as row `aliases.rows[i]` (see `pruneVectors`). */
  aliases?: { keys: string[]; rows: Int32Array };
}

/** On-disk layouts the readers understand; `auto` sniffs the content. */
export type VectorFormat = "auto" | "glove" | "word2vec" | "word2vec-binary" | "wink";

/** Options for {@link readVectors}. */
export interface ReadVectorsOptions {
  /** Layout of the (decompressed) content; default `auto`. */
  format?: VectorFormat;
  /** Entry to read when the file is a zip archive, e.g. `glove.6B.50d.txt`. */
  zipEntry?: string;
  /** Use the binary cache (default true). */
  cache?: boolean;
  /** Root cache folder (default: `cacheDir()`); vectors go to `<cacheDir>/vectors/`. */
  cacheDir?: string;
  /**
   * Told, in one line, when a cached copy could not be used (damaged, or the source changed) and the file is
   * parsed again.
   */
  onNotice?: (message: string) => void;
}
