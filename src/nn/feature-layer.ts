/**
 * What the feature tagger composes, so that it never names a feature: the
 * per-token blocks of its BiLSTM input (the word embedding, the char CNN,
 * casing, the char LM: {@link InputFeature}), the columns set beside its top
 * BiLSTM output (the document memory: {@link OutputFeature}), and the
 * per-token data a feature reads from a batch ({@link TokenData}). Each
 * feature is one file in src/features/.
 */
import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import type { Param } from "./param.js";
import type { Batch } from "./batch.js";
import type { QuantizeOptions } from "./tagger-common.js";

/** How a forward pass runs. */
export interface Pass {
  /** Training mode: dropout on. */
  dropout: boolean;
  /** A backward follows: keep what it needs. */
  keep: boolean;
  /** Compute the auxiliary losses too (training and loss, never prediction). */
  aux: boolean;
}

/** What every feature layer has. */
interface FeatureLayerBase {
  /** Columns it adds per token. */
  readonly width: number;
  /** @throws LstmNerError naming the batch field when `batch` lacks what the feature reads. */
  check(batch: Batch): void;
  /** Its trainable parameters, in a stable order. */
  params(): Param[];
  /** The parameters a model file keeps (default: {@link params}; a training-only head is left out). */
  stored?(): Param[];
  /** Lower-precision weights for tagging (see `Tagger.quantize`). */
  quantize(o: QuantizeOptions): void;
  /** Free kernel memory; the layer is unusable afterwards. */
  dispose(): void;
}

/**
 * A block of the BiLSTM input: x_t = [f¹_t ; f²_t ; …], one feature's
 * columns after another's, in the order of the model's spec.
 */
export interface InputFeature extends FeatureLayerBase {
  /** Whether {@link backward} has anything to train (a frozen word table or a fixed feature: no). */
  readonly trainable: boolean;
  /**
   * Its T·B×width block of the batch, a view valid until the next forward; kept for {@link backward} with `pass.keep`.
   */
  forward(batch: Batch, pass: Pass): Float32Array;
  /**
   * No backward after it: row i of its block goes to dst[i·stride + col …], for all T·B rows of the batch or,
   * with `rows`, for rows[i] (tagging's packed order), so no block of its own is built.
   */
  forwardInto(batch: Batch, pass: Pass, dst: Float32Array, stride: number, col: number, rows: Int32Array | null): void;
  /** dL/d(its block) (T·B×width): accumulates its parameters' gradients. */
  backward(grad: Float32Array): void;
  /** λ-weighted and raw auxiliary loss of the last forward with `pass.aux` (the char LM's), or null. */
  auxLoss?(): { weighted: number; raw: number } | null;
}

/**
 * Which store a feature of the BiLSTM output reads and writes in a pass:
 * "learn" reads training's and then writes it, "score" reads training's,
 * "tag" reads tagging's, "fill" only writes tagging's (and nothing is scored).
 */
export type Phase = "learn" | "score" | "tag" | "fill";

/**
 * Columns set beside the top BiLSTM output for the output layer, y_t = [h_t ; g_t]
 * (the document memory's g reads the stored outputs of other sentences).
 */
export interface OutputFeature extends FeatureLayerBase {
  /** y = [h ; g], rows×(D + width), from h (rows×D, after the output dropout); a view valid until the next forward. */
  forward(h: Float32Array, batch: Batch, phase: Phase, keep: boolean): Float32Array;
  /** dL/dy → accumulates its gradients, returns dL/dh (rows×D). */
  backward(dy: Float32Array): Float32Array;
  /** The top BiLSTM output h of `batch` (T·B×D, before dropout), for later passes to read. */
  observe(h: Float32Array, batch: Batch, phase: "learn" | "fill"): void;
  /** Forget what training's or tagging's passes observed. */
  forget(which: "train" | "tag"): void;
  /** How much training's and tagging's stores hold. */
  readonly held: { train: number; tag: number };
}

/**
 * How the tagger builds a feature, and when: the weights are drawn from the
 * tagger's generator in the order the layers are built, so a feature says
 * whether it is built "first" (with the word embedding, before the dropout
 * generator is seeded and the BiLSTM drawn) or "last" (after the CRF).
 * Output features are built between the BiLSTM layers and the output layer.
 */
export interface FeatureMaker<F> {
  readonly width: number;
  readonly draws: "first" | "last";
  /** `dropout()` is the generator of the dropout masks (seeded from `init` when first asked for). */
  build(k: Kernels, init: Rng, dropout: () => Rng): F;
}

/**
 * Per-token data a feature reads, beyond the word ids: computed from the
 * tokens when sentences are encoded, and laid out time-major in a batch's
 * `inputs[key]` when they are padded into one. Features reading the same
 * data share it (the char CNN and the char LM both read `chars`).
 */
export interface TokenData<S = unknown, B = unknown> {
  /** Its name in an encoded sentence's `data` and a batch's `inputs`. */
  readonly key: string;
  /**
   * The data of the sentences of one call (`ids`: their word rows; `docs[i]`: sentence i's document;
   * without `docs` they are one document).
   */
  encode(sentences: readonly (readonly string[])[], ids: readonly Int32Array[], docs?: readonly (number | undefined)[]): S[];
  /** The data of a batch's sentences (batch order) in the batch's time-major layout. */
  collate(items: readonly S[], batch: Batch): B;
  /** The data of one call's sentences depend on each other (document memory addresses): tag them in two passes. */
  readonly documentWide?: boolean;
}
