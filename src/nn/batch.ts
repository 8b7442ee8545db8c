/**
 * A padded batch, the one batch type of the models, the encoders and the
 * trainer: B sentences padded to T, time-major, so position t of sentence b
 * is at index t·B+b. Built by `padBatch` (src/infer/batching.ts).
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
   * With document context, each sequence is a window of sentences and only
   * its centre sentence, tokens start[b] .. start[b]+length[b]−1, is scored
   * and predicted; the rest is context. Absent: every token counts.
   */
  centre?: { start: Int32Array; length: Int32Array };
}
