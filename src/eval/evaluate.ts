/** Scoring a model on gold-tagged sentences: predict, then conlleval. */
import type { Sentence } from "../data/types.js";
import type { IdSentence } from "../encode/pad-batch.js";
import type { Encoder } from "../encode/encoder.js";
import { predictTags, type Predictor } from "../encode/run-batched.js";
import { Scorer, type Score } from "./conlleval.js";

/** conlleval score of the model's predictions on gold-tagged sentences (in their documents, `Sentence.doc`, for a model with document context). */
export function evaluate<I extends IdSentence>(model: Predictor, sentences: readonly Sentence[], enc: Encoder<I>): Score {
  const pred = predictTags(model, sentences.map((s) => s.tokens), enc, 64, sentences.map((s) => s.doc));
  const scorer = new Scorer();
  sentences.forEach((s, i) => scorer.add(s.tags, pred[i]!));
  return scorer.result();
}
