/**
 * What a feature file registers (src/features/registry.ts lists them): the
 * spec field that switches it on, how that field is checked, the per-token
 * data it reads and the layer it adds to the tagger. The tagger, the encoder,
 * the presets and the model file know features only through this.
 */
import type { Kernels } from "../engine/kernels.js";
import type { FeatureMaker, InputFeature, OutputFeature, TokenData } from "../nn/feature-layer.js";
import type { CharVocab } from "./char-ids.js";
import type { TaggerSpec } from "./spec.js";

/** What a feature's layer is built from. */
export interface BuildEnv {
  kernels: Kernels;
  /** The model's spec, defaults filled in. */
  spec: TaggerSpec;
  /** The BiLSTM's hidden size per direction (its output is 2·hidden wide). */
  hidden: number;
  /** The word table (rows × dim, used in place) and whether it is trained. */
  words: { table: Float32Array; rows: number; dim: number; trainable: boolean };
  /** Size of the char vocabulary (0 when no feature reads chars). */
  chars: number;
  /**
   * Training a new model: the word rows of the training tokens (what the char LM learns to predict) and the
   * rows that are no word (UNK, padding). Null for a model loaded for tagging.
   */
  training: { rows: () => Iterable<number>; skip: readonly number[] } | null;
}

/** What a feature's per-token data is computed with. */
export interface EncodeEnv {
  /** The model's char vocabulary (only the unknown char when no feature reads chars). */
  chars: CharVocab;
  /** Word rows that are no word (UNK, padding). */
  skip: readonly number[];
}

/** A feature as the model sees it. */
export interface FeatureKind {
  /** Its spec field (`feature.<field>` in a recipe, `config.tagger.<field>` in a model file). */
  readonly field: string;
  /** May the field be absent from a spec (it then reads as off)? */
  readonly optional: boolean;
  /** Whether the spec turns it on. */
  on(spec: TaggerSpec): boolean;
  /**
   * Check its field (a recipe after `--set`, a model file's config): `fail` gets the reason, its field named
   * with `prefix` (e.g. "feature."); the other fields are already checked.
   */
  check(spec: TaggerSpec, prefix: string, fail: (why: string) => Error): void;
  /** Its field with the defaults filled in (what a model file stores); absent: the field as given. */
  resolve?(spec: TaggerSpec): unknown;
  /** It reads the char vocabulary (the model builds one from the training tokens and stores it). */
  readonly readsChars?: boolean;
  /** A short name for the architecture line (e.g. "char LM"); absent: none. */
  readonly label?: string;
  /** The per-token data it reads (features reading the same key share it). */
  data?(env: EncodeEnv): TokenData;
  /** Its block of the BiLSTM input, or ... */
  input?(env: BuildEnv): FeatureMaker<InputFeature>;
  /** ... its columns beside the top BiLSTM output. */
  output?(env: BuildEnv): FeatureMaker<OutputFeature>;
}

const registered: FeatureKind[] = [];

/**
 * Add a feature to the list (src/features/registry.ts imports every feature file, in the order of their
 * blocks in the BiLSTM input). Returns it. @throws Error when another feature has its field.
 */
export function registerFeature(kind: FeatureKind): FeatureKind {
  if (registered.some((k) => k.field === kind.field)) throw new Error(`two features use the spec field ${kind.field}`);
  registered.push(kind);
  return kind;
}

/** The features registered so far, in registration order. */
export function registeredFeatures(): readonly FeatureKind[] {
  return registered;
}
