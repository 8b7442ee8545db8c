/**
 * A small BiLSTM-CNN-CRF NerModel over the toy corpus's vectors, for model-level tests
 * (ensembles, stacked layers) that need several members of one recipe.
 */
import type { Kernels } from "../src/engine/kernels.js";
import { NerModel } from "../src/model/ner.js";
import type { TaggerSpec } from "../src/features/spec.js";
import { parseConll } from "../src/data/conll.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { encodeAll } from "../src/encode/encoder.js";
import type { FeatureTagger } from "../src/nn/feature-tagger.js";
import { toyConll, toyGlove } from "./toy-corpus.js";

const trainSet = parseConll(toyConll(40, 1));
const gloveText = toyGlove(6, 3);

/** toyGlove(6, 3) as the vectors NerModel.create takes (a fresh copy each call). */
export function toyVectors(): { words: string[]; dim: number; data: Float32Array } {
  const rows = gloveText.trim().split("\n").map((l) => l.split(" "));
  return { words: rows.map((r) => r[0]!), dim: rows[0]!.length - 1, data: Float32Array.from(rows.flatMap((r) => r.slice(1).map(Number))) };
}

/** A toy feature model (hidden 5, trainable embeddings, extended vocabulary) with the given seed and feature options. */
export function toyFeatureModel(k: Kernels, seed: number, feature: TaggerSpec): NerModel {
  return NerModel.create(k, {
    vectors: toyVectors(), labels: CONLL_LABELS, scheme: "IOB2", hidden: 5, bidirectional: true, trainableEmbeddings: true, seed,
    feature, trainTokens: trainSet.map((s) => s.tokens), extendVocab: 1,
  });
}

/** The feature tagger inside a model (private there; tests look inside). */
export const taggerOf = (m: NerModel): FeatureTagger => (m as unknown as { tagger: FeatureTagger }).tagger;

/** Emission scores of `doc` (one document) as tagging computes them: the document memory filled first (a no-op without it). */
export function docEmissions(m: NerModel, doc: string[][]): Float32Array {
  m.setTraining(false);
  const enc = m.encoder();
  const b = enc.collate(encodeAll(doc, enc));
  taggerOf(m).fillMemory([b]);
  return taggerOf(m).emissions(b);
}
