/**
 * A saved model's configuration (the `config` metadata field of a model
 * file): architecture, sizes and vocabulary handling, and for ensembles each
 * member's. Types and small readers only; the checks are in validate.ts.
 */
import type { TagScheme } from "../data/types.js";
import type { ResolvedFeatureTaggerConfig } from "../nn/feature-tagger.js";
import type { CharLmConfig } from "../nn/char-lm.js";

/** Architecture and vocabulary handling of a saved model. */
export interface ModelConfig {
  /** "softmax": the classroom BiLSTM; "feature": BiLSTM over words, char CNN and casing, CRF or softmax output. */
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
  /** "feature" arch: the char CNN, casing, dropout and output settings. */
  tagger?: FeatureLayers;
  /** "feature" arch with chars: the char vocabulary (entry 0 is "", the unknown char). */
  chars?: string[];
  /** An ensemble of this many members (see `EnsembleTagger`), weights under `param.m<i>.`; absent: one model. */
  ensemble?: number;
  /**
   * An ensemble whose members differ in architecture: each member's hidden size and tagger, in member order
   * (entry 0 repeats `hidden` and `tagger`, which describe member 0). Absent: every member is `hidden` and `tagger`.
   * The word-level input (vocabulary, `embDim`, `chars`, `lowercase`, `normalizeDigits`, `trainableEmbeddings`,
   * labels and schemes) is the one of the top-level config, shared by all members.
   */
  members?: MemberConfig[];
  /** How an ensemble combines its members (see `EnsembleTagger`); absent: "potentials" (averaged emissions and CRF potentials, one Viterbi). */
  combine?: "vote";
}

/** One member of an ensemble of mixed architectures (`ModelConfig.members`). */
export interface MemberConfig {
  hidden: number;
  tagger: FeatureLayers;
}

/** The feature tagger's settings beyond the sizes a {@link ModelConfig} already has. */
export type FeatureLayers = Omit<ResolvedFeatureTaggerConfig, "vocabSize" | "embDim" | "trainableEmbeddings" | "hidden" | "outputs" | "constraints" | "unkId" | "lmClasses" | "charLM" | "layers" | "docMemory"> & {
  /** CRF transitions constrained to valid sequences of the label scheme. */
  constrained: boolean;
  /** The character language model's settings (see `CharLm`); absent: none. */
  charLM?: CharLmConfig;
  /** Stacked BiLSTM layers, weights `lstm<l>.*` for l ≥ 2; absent: one. */
  layers?: number;
  /** The document memory (weights `memory.w`, `out.w` 4·hidden wide); absent: none. */
  docMemory?: boolean;
};

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

/** Whether the model (some member, for an ensemble) has a document memory, so its input needs memory addresses. */
export function inputDocMemory(config: ModelConfig): boolean {
  return config.tagger?.docMemory === true || (config.members ?? []).some((m) => m.tagger.docMemory === true);
}
