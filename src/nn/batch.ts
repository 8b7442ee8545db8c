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
   * With a document memory (`FeatureTagger`'s `docMemory`): where each token
   * the output layer reads writes its BiLSTM output and which stored outputs
   * it attends to (see {@link BatchMemory}). Absent: the batch has none.
   */
  memory?: BatchMemory;
}

/**
 * A batch's document-memory addresses, built by the encoder from the words of
 * whole documents (src/encode/memory-addresses.ts). Rows are those of the output
 * layer, time-major: r = t·B+b for t < `maxLen`.
 */
export interface BatchMemory {
  /** T·B values: the memory slot row r's BiLSTM output is stored in, −1 for none (pads, words no other token reads). */
  slots: Int32Array;
  /** T·B+1 offsets into {@link refs}: row r attends to slots refs[offsets[r]] .. refs[offsets[r+1]−1]. */
  offsets: Int32Array;
  /** The slots of the other occurrences of each row's word in its document. */
  refs: Int32Array;
}
