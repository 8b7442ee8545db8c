/**
 * A padded batch, the one batch type of the models, the encoders and the
 * trainer: B sentences padded to T, time-major, so position t of sentence b
 * is at index t·B+b. Built by `padBatch` (src/encode/pad-batch.ts).
 */
export interface Batch {
  /** Sentences in the batch (B). */
  size: number;
  /** Padded length (T). */
  maxLen: number;
  /** Real length of each sentence, B values in 0..T. */
  lengths: Int32Array;
  /** Token ids, T·B. */
  ids: Int32Array;
  /** Label ids, T·B, −1 at pads (and wherever there is no label). */
  labels: Int32Array;
  /** Real (non-pad) tokens. */
  tokens: number;
  /**
   * Per-token data beyond the word ids, by name (`chars`, `casing`, `memory`, …), each in the layout of
   * the feature that reads it (see `TokenData` in feature-layer.ts). Absent: the batch has only ids.
   */
  inputs?: Readonly<Record<string, unknown>>;
}
