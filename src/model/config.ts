/**
 * A saved model's configuration (the `config` metadata field of a model
 * file): architecture, sizes and vocabulary handling, the BiLSTM-CNN-CRF
 * model's spec as given, and for ensembles each member's. Types and small
 * readers only; the checks are in validate.ts, older files' shapes in legacy.ts.
 */
import type { TagScheme } from "../data/types.js";
import type { TaggerSpec } from "../features/spec.js";

/** Architecture and vocabulary handling of a saved model. */
export interface ModelConfig {
  /** "softmax": the classroom BiLSTM; "feature": the BiLSTM-CNN-CRF model of `tagger`'s spec. */
  arch: "softmax" | "feature";
  embDim: number;
  hidden: number;
  bidirectional: boolean;
  /** Width of the output layer (the exercise uses labels + 1). */
  outputs: number;
  trainableEmbeddings: boolean;
  /** Tokens are lowercased before the vocabulary lookup (GloVe 6B is lowercased). */
  lowercase: boolean;
  /** Unknown tokens are retried with digits replaced by 0. */
  normalizeDigits?: boolean;
  /** Scheme of the tags the model reads and writes, when it differs from the scheme it was trained in (`scheme`). */
  dataScheme?: TagScheme;
  /** "feature" arch: the model's spec (a recipe's `feature`, with the defaults filled in). */
  tagger?: TaggerSpec;
  /** "feature" arch with features that read characters: the char vocabulary (entry 0 is "", the unknown char). */
  chars?: string[];
  /** An ensemble of this many members (see `EnsembleTagger`), weights under `param.m<i>.`; absent: one model. */
  ensemble?: number;
  /**
   * An ensemble whose members differ in architecture: each member's hidden size and spec, in member order
   * (entry 0 repeats `hidden` and `tagger`, which describe member 0). Absent: every member is `hidden` and `tagger`.
   * The word-level input (vocabulary, `embDim`, `chars`, `lowercase`, `normalizeDigits`, `trainableEmbeddings`,
   * labels and schemes) is the one of the top-level config, shared by all members.
   */
  members?: MemberConfig[];
  /**
   * How an ensemble combines its members (see `EnsembleTagger`); absent: "potentials" (averaged emissions and CRF
   * potentials, one Viterbi).
   */
  combine?: "vote";
}

/** One member of an ensemble of mixed architectures (`ModelConfig.members`). */
export interface MemberConfig {
  hidden: number;
  tagger: TaggerSpec;
}

/**
 * Every member's config as the config of a single model (an ensemble's
 * members; a single model: itself alone): the shared input fields of
 * `config` with each member's `hidden` and `tagger`.
 */
export function memberConfigs(config: ModelConfig): ModelConfig[] {
  const { ensemble, members, combine: _c, ...single } = config;
  if (members !== undefined) return members.map((m) => ({ ...single, hidden: m.hidden, tagger: m.tagger }));
  return Array.from({ length: ensemble ?? 1 }, () => single);
}
