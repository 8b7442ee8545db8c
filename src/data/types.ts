/** One sentence of a CoNLL file: tokens with their NER tags and any other columns. */
export interface Sentence {
  tokens: string[];
  /** NER tags, one per token (last column of the file), e.g. "B-PER". */
  tags: string[];
  /** Columns between the token and the tag (POS, chunk for CoNLL-2003), one array per column. */
  extra?: string[][];
  /**
   * Document the sentence belongs to (0, 1, … in file order), set when the
   * file marks documents with `-DOCSTART-` lines; sentences of one document
   * are consecutive. Models with document context look at neighbours with
   * the same value.
   */
  doc?: number;
}

/** Tag schemes the toolkit reads, writes and converts between. */
export type TagScheme = "IOB1" | "IOB2" | "BIOES";

/** The label names of conllpp in the Hugging Face order (ids 0..8). */
export const CONLL_LABELS: readonly string[] = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"];
