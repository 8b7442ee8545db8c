import type { Kernels } from "../engine/kernels.js";
import type { TagScheme } from "../data/types.js";
import { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import type { Batch } from "./batch.js";
import { argmaxWithProb, checkBatch, type Loss, type Prediction, type QuantizeOptions, type Tagger } from "./tagger-common.js";
import { Embedding } from "./embedding.js";
import { BiLstm } from "./bilstm.js";
import { Linear } from "./linear.js";
import { SoftmaxNll } from "./loss.js";
import { Crf, allowedTransitions } from "./crf.js";
import { CharCnn, type CharIds } from "./charcnn.js";
import { CASING_CLASSES, CasingEmbedding } from "./casing.js";
import { Dropout } from "./dropout.js";
import { ConcatColumns } from "./concat.js";
import { PackedScores } from "./packed-scores.js";
import { KernelBuffer } from "./buffer.js";
import { CharLm, resolveCharLmConfig, type CharLmConfig } from "./char-lm.js";
import { DocMemoryAttention, MemoryStore } from "./doc-memory.js";

/**
 * A padded batch with the extra per-token features of {@link FeatureTagger}
 * (built by `featureBatch` in src/encode/features.ts). Word w = t·B+b (time-major) has its
 * characters in row w of `chars.ids` and its casing class in `casing[w]`.
 */
export interface FeatureBatch extends Batch {
  /** Char ids of the T·B words (pads have length 0). */
  chars: CharIds;
  /** Casing class ids (see `CASING_CLASSES`), T·B, 0 (padding) at pads. */
  casing: Int32Array;
}

/** Configuration of {@link FeatureTagger}; everything JSON, so a model file can record it. */
export interface FeatureTaggerConfig {
  /** Rows of the word embedding table. */
  vocabSize: number;
  /** Width of the word embedding table. */
  embDim: number;
  /** Fine-tune the word embeddings (default false). */
  trainableEmbeddings?: boolean;
  /** Size of the char vocabulary; 0 (default) turns the char CNN off. */
  charVocabSize?: number;
  /** Char embedding size (default 30). */
  charDim?: number;
  /** Char CNN filters, i.e. char features per word (default 30). */
  charFilters?: number;
  /** Char CNN window (default 3). */
  charWindow?: number;
  /** Casing embedding size; 0 (default) turns casing features off. */
  casingDim?: number;
  /** LSTM hidden size per direction (default 200). */
  hidden?: number;
  /**
   * Stacked BiLSTM layers (default 1; Reimers & Gurevych 2017 found 2 best for NER). Each layer above the
   * first reads the 2·hidden output of the one below through dropout at `outputDropout`'s rate.
   */
  layers?: number;
  /** Dropout on the concatenated word features, the BiLSTM input (default 0.5). */
  inputDropout?: number;
  /** Dropout on the BiLSTM output (default 0.5). */
  outputDropout?: number;
  /** A character language model trained with the tagger (see `CharLm`); needs the char vocabulary. Null (default): off. */
  charLM?: Partial<CharLmConfig> | null;
  /**
   * The char LM's word class of every word-table row (see `lmClassesOf`): given in training, it builds the LM head;
   * null (default, e.g. a model loaded for tagging): the char LM's features without the head. Not stored in model files.
   */
  lmClasses?: Int32Array | null;
  /** Output layer: a linear-chain CRF (default) or per-token softmax. */
  output?: "crf" | "softmax";
  /** Output classes (labels). */
  outputs: number;
  /** CRF transition constraints from the label names and their scheme (default none). */
  constraints?: { labels: readonly string[]; scheme: TagScheme } | null;
  /** How the CRF combines sentence NLLs: "mean" (default) or "sum". */
  crfReduction?: "mean" | "sum";
  /**
   * Document memory (Luo et al. 2020; default false): each token also attends to the stored BiLSTM outputs
   * of the other occurrences of its word in its document (`DocMemoryAttention`), and the output layer reads
   * [h ; g]. Batches must carry `memory` addresses.
   */
  docMemory?: boolean;
}

/** {@link FeatureTaggerConfig} with the defaults filled in. */
export type ResolvedFeatureTaggerConfig = Required<Omit<FeatureTaggerConfig, "charLM">> & { charLM: CharLmConfig | null };

/** Fill in the defaults and validate. @throws LstmNerError naming the bad field. */
export function resolveFeatureTaggerConfig(config: FeatureTaggerConfig): ResolvedFeatureTaggerConfig {
  const c: ResolvedFeatureTaggerConfig = {
    vocabSize: config.vocabSize,
    embDim: config.embDim,
    trainableEmbeddings: config.trainableEmbeddings ?? false,
    charVocabSize: config.charVocabSize ?? 0,
    charDim: config.charDim ?? 30,
    charFilters: config.charFilters ?? 30,
    charWindow: config.charWindow ?? 3,
    casingDim: config.casingDim ?? 0,
    hidden: config.hidden ?? 200,
    layers: config.layers ?? 1,
    inputDropout: config.inputDropout ?? 0.5,
    outputDropout: config.outputDropout ?? 0.5,
    charLM: config.charLM === undefined || config.charLM === null ? null : resolveCharLmConfig(config.charLM, "feature tagger config: charLM"),
    lmClasses: config.lmClasses ?? null,
    output: config.output ?? "crf",
    outputs: config.outputs,
    constraints: config.constraints ?? null,
    crfReduction: config.crfReduction ?? "mean",
    docMemory: config.docMemory ?? false,
  };
  const int = (v: number, field: string, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new LstmNerError(`feature tagger config: ${field} must be an integer ≥ ${min}, got ${v}`);
  };
  int(c.vocabSize, "vocabSize", 1);
  int(c.embDim, "embDim", 1);
  int(c.charVocabSize, "charVocabSize", 0);
  int(c.charDim, "charDim", 1);
  int(c.charFilters, "charFilters", 1);
  int(c.charWindow, "charWindow", 1);
  int(c.casingDim, "casingDim", 0);
  int(c.hidden, "hidden", 1);
  int(c.layers, "layers", 1);
  int(c.outputs, "outputs", 1);
  if (typeof c.docMemory !== "boolean") throw new LstmNerError(`feature tagger config: docMemory must be true or false, got ${String(c.docMemory)}`);
  for (const f of ["inputDropout", "outputDropout"] as const) {
    if (!(c[f] >= 0 && c[f] < 1)) throw new LstmNerError(`feature tagger config: ${f} must be in [0, 1), got ${c[f]}`);
  }
  if (c.charLM !== null && c.charVocabSize === 0) throw new LstmNerError("feature tagger config: charLM needs the char vocabulary (charVocabSize > 0, i.e. char features on)");
  if (c.lmClasses !== null && c.lmClasses.length !== c.vocabSize) {
    throw new LstmNerError(`feature tagger config: lmClasses has ${c.lmClasses.length} entries, expected one per word row (${c.vocabSize})`);
  }
  if (c.output !== "crf" && c.output !== "softmax") throw new LstmNerError(`feature tagger config: output must be "crf" or "softmax", got ${String(c.output)}`);
  if (c.constraints !== null && c.output !== "crf") throw new LstmNerError("feature tagger config: constraints need output \"crf\"");
  if (c.constraints !== null && c.constraints.labels.length !== c.outputs) {
    throw new LstmNerError(`feature tagger config: constraints name ${c.constraints.labels.length} labels, outputs is ${c.outputs}`);
  }
  return c;
}

/**
 * The BiLSTM-CNN-CRF tagger (Ma & Hovy 2016; Lample et al. 2016 with a char
 * CNN): per token [word embedding | char CNN features | casing embedding] →
 * dropout → BiLSTM → dropout → linear to `outputs` scores → CRF (Viterbi at
 * prediction) or per-token softmax.
 *
 * A {@link Tagger} like `SoftmaxTagger`; its batches must be {@link FeatureBatch}es
 * when it has char or casing features. Parameters, named stably:
 * `embedding.weight` (only when trainable), `char.emb`, `char.conv.w`,
 * `char.conv.b` (with chars), `casing.weight` (with casing),
 * `charlm.*` (with the char LM, see `CharLm`),
 * `lstm.{fwd,bwd}.{w_ih,w_hh,b}`, then `lstm<l>.{fwd,bwd}.{w_ih,w_hh,b}` for each
 * stacked layer l = 2..`layers`, `out.w`, `out.b`, and
 * `crf.transitions`, `crf.start`, `crf.end` (with the CRF).
 *
 * Stacked layers (`layers` > 1): the BiLSTM above is fed by the one below
 * through its own dropout ({@link betweenDropout}), and only the top layer's
 * output goes on to the output dropout and the output layer.
 *
 * Char LM (Liu et al. 2018): its 2·hidden word features join the BiLSTM input
 * last (after the casing embedding); in training its LM losses are added to the
 * tagger's ({@link lossAndGrad} and {@link loss} report the sum).
 *
 * Dropout is applied by {@link lossAndGrad} and {@link loss} while in
 * training mode ({@link setTraining}(true), the initial mode), never by {@link predict}.
 * The CRF loss is the mean per-sentence NLL (see `crfReduction`), the softmax
 * loss the mean per-token NLL.
 *
 * Document memory (`docMemory`, Luo et al. 2020): between the output dropout
 * and the output layer, {@link memory} appends to each
 * token's h_i the attention-weighted mean g_i of the stored outputs of the other
 * occurrences of its word in its document (parameter `memory.w`; `out.w` is then
 * 4·hidden wide). The stored outputs are the top BiLSTM's (before dropout), kept
 * without gradient in two stores: training's, written by every {@link lossAndGrad}
 * (after reading it, so a batch sees its sentences' outputs from the last time
 * they were trained on), and tagging's, filled by {@link fillMemory} with whole
 * documents before {@link predict} reads it.
 */
export class FeatureTagger implements Tagger {
  readonly config: ResolvedFeatureTaggerConfig;
  readonly embedding: Embedding;
  readonly chars: CharCnn | null;
  readonly casing: CasingEmbedding | null;
  /** The character language model's features (with its LM head in training), when `charLM` is set. */
  readonly charLm: CharLm | null;
  readonly inputDropout: Dropout;
  /** The first (bottom) BiLSTM layer, reading the word features. */
  readonly rnn: BiLstm;
  /** The stacked BiLSTM layers above {@link rnn}, bottom to top (empty with one layer). */
  readonly upper: readonly BiLstm[];
  /** The dropout before each of {@link upper}'s layers, on the output of the layer below. */
  readonly betweenDropout: readonly Dropout[];
  readonly outputDropout: Dropout;
  /** The document memory's attention (with `docMemory`). */
  readonly memory: DocMemoryAttention | null;
  readonly out: Linear;
  readonly crf: Crf | null;
  private readonly nll: SoftmaxNll | null;
  private readonly concat: ConcatColumns;
  private readonly packed: PackedScores;
  /** Tagging: the packed output of a layer, the input of the layer above it. */
  private readonly stacked: KernelBuffer;
  /** The document memory's stores: training's and tagging's (with `docMemory`). */
  private readonly stores: { train: MemoryStore; tag: MemoryStore } | null;
  private training = true;
  /** Draws the dropout masks (its state goes into training checkpoints). */
  readonly dropoutRng: Rng;

  /**
   * @param embeddings the vocabSize×embDim word table, used in place (not copied).
   * @param rng initialises every layer; the dropout masks come from a generator seeded from it.
   */
  constructor(k: Kernels, config: FeatureTaggerConfig, embeddings: Float32Array, rng: Rng) {
    const c = resolveFeatureTaggerConfig(config);
    this.config = c;
    this.embedding = new Embedding(k, embeddings, c.vocabSize, c.embDim, { trainable: c.trainableEmbeddings });
    this.chars = c.charVocabSize > 0 ? new CharCnn(k, c.charVocabSize, rng, "char", { dim: c.charDim, filters: c.charFilters, window: c.charWindow }) : null;
    this.casing = c.casingDim > 0 ? new CasingEmbedding(k, CASING_CLASSES.length, c.casingDim, rng, "casing") : null;
    const widths = [c.embDim];
    if (this.chars !== null) widths.push(c.charFilters);
    if (this.casing !== null) widths.push(c.casingDim);
    if (c.charLM !== null) widths.push(2 * c.charLM.hidden);
    this.concat = new ConcatColumns(k, widths);
    const dropRng = new Rng(rng.nextUint32());
    this.dropoutRng = dropRng;
    this.inputDropout = new Dropout(k, c.inputDropout, dropRng);
    this.rnn = new BiLstm(k, this.concat.width, c.hidden, rng, "lstm");
    // Nothing is drawn or built here with one layer, so its weights and masks are those of a model before stacking existed.
    this.upper = Array.from({ length: c.layers - 1 }, (_, i) => new BiLstm(k, 2 * c.hidden, c.hidden, rng, `lstm${i + 2}`));
    this.betweenDropout = this.upper.map(() => new Dropout(k, c.outputDropout, dropRng));
    this.stacked = new KernelBuffer(k);
    this.outputDropout = new Dropout(k, c.outputDropout, dropRng);
    // The memory's W starts as the identity and draws nothing: without it every other weight is as before.
    this.memory = c.docMemory ? new DocMemoryAttention(k, 2 * c.hidden, "memory") : null;
    this.stores = c.docMemory ? { train: new MemoryStore(2 * c.hidden), tag: new MemoryStore(2 * c.hidden) } : null;
    this.out = new Linear(k, (c.docMemory ? 4 : 2) * c.hidden, c.outputs, rng, "out");
    this.packed = new PackedScores(k);
    if (c.output === "crf") {
      const allowed = c.constraints === null ? null : allowedTransitions(c.constraints.labels, c.constraints.scheme);
      this.crf = new Crf(k, c.outputs, rng, "crf", { allowed, reduction: c.crfReduction });
      this.nll = null;
    } else {
      this.crf = null;
      this.nll = new SoftmaxNll(k);
    }
    // Built last (and its LM head last of all), so the same seed gives a model with and without the head
    // (training / loaded for tagging) the same other weights.
    this.charLm = c.charLM === null ? null : new CharLm(k, c.charVocabSize, c.charLM, rng, c.lmClasses, dropRng);
  }

  /** Switch dropout on (training, the initial mode) or off. */
  setTraining(training: boolean): void {
    this.training = training;
  }

  /** Whether the model is in training mode. */
  get isTraining(): boolean {
    return this.training;
  }

  /** All trainable parameters, in the order of the class doc. */
  params(): Param[] {
    return [...this.embedding.params(), ...(this.chars?.params() ?? []), ...(this.casing?.params() ?? []), ...(this.charLm?.params() ?? []),
      ...this.rnn.params(), ...this.upper.flatMap((l) => l.params()), ...(this.memory?.params() ?? []), ...this.out.params(), ...(this.crf?.params() ?? [])];
  }

  /** Forward + backward on one batch; ACCUMULATES gradients (the optimiser zeroes them). Returns the loss and the tokens it covered. */
  lossAndGrad(batch: Batch): Loss {
    const result = this.lossOf(batch, true);
    const dScores = this.crf !== null ? this.crf.backward() : this.nll!.backward();
    let dhd = this.out.backward(dScores);
    if (this.memory !== null) dhd = this.memory.backward(dhd);
    let dh = this.outputDropout.backward(dhd);
    for (let l = this.upper.length - 1; l >= 0; l--) dh = this.betweenDropout[l]!.backward(this.upper[l]!.backward(dh));
    const needInput = this.config.trainableEmbeddings || this.chars !== null || this.casing !== null || this.charLm !== null;
    const dx = this.rnn.backward(dh, needInput);
    if (dx === null) return result;
    const parts = this.concat.backward(this.inputDropout.backward(dx));
    let i = 0;
    this.embedding.backward(parts[i++]!); // a no-op when frozen
    if (this.chars !== null) this.chars.backward(parts[i++]!);
    if (this.casing !== null) this.casing.backward(parts[i++]!);
    if (this.charLm !== null) this.charLm.backward(parts[i++]!);
    return result;
  }

  /** The loss on one batch without gradients (dropout as the mode says; with `docMemory` it reads the training memory, storing nothing). */
  loss(batch: Batch): Loss {
    return this.lossOf(batch, false);
  }

  /**
   * Best label per position (Viterbi with the CRF, argmax with softmax), time-major T·B, −1 at pads. No dropout.
   * With `docMemory` it reads the tagging memory: {@link fillMemory} with the batch's documents first.
   */
  predict(batch: Batch): Int32Array {
    return this.predictWithScores(batch).pred;
  }

  /** {@link predict} with each label's softmax probability (softmax output; null with the CRF). */
  predictWithScores(batch: Batch): Prediction {
    return this.decode(batch, this.scores(batch, false, false));
  }

  /**
   * Emission scores for prediction (no dropout), a copy: T·B×outputs. An ensemble
   * averages these over its members and hands the mean to {@link decode}.
   */
  emissions(batch: Batch): Float32Array {
    return this.scores(batch, false, false).slice();
  }

  /**
   * Predictions from emission scores of `batch` (as {@link emissions} gave
   * them), decoded with `crf` (default: this tagger's).
   */
  decode(batch: Batch, scores: Float32Array, crf: Crf | null = this.crf): Prediction {
    return crf !== null
      ? { pred: crf.viterbi(scores, batch.maxLen, batch.size, batch.lengths), prob: null }
      : argmaxWithProb(scores, batch, this.config.outputs);
  }

  /**
   * With `docMemory`: empty the tagging memory and fill it with the outputs of
   * `batches` (pass 1 of tagging: every sentence of the documents to be tagged,
   * in any batches; {@link predict} then reads it). No dropout. A no-op without `docMemory`.
   */
  fillMemory(batches: Iterable<Batch>): void {
    if (this.stores === null) return;
    this.stores.tag.clear();
    for (const b of batches) this.scores(b, false, false, false, "fill");
  }

  /** With `docMemory`: forget the training memory (e.g. before training on other sentences, whose slots are numbered afresh). */
  clearTrainingMemory(): void {
    this.stores?.train.clear();
  }

  /** Slots held by the training and the tagging memory (0 and 0 without `docMemory`). */
  get memorySize(): { train: number; tag: number } {
    return { train: this.stores?.train.size ?? 0, tag: this.stores?.tag.size ?? 0 };
  }

  /** Int16 BiLSTM weights for prediction from now on (until the next training step); see {@link Lstm.quantize}. */
  quantize(o: QuantizeOptions = {}): void {
    this.rnn.quantize();
    for (const l of this.upper) l.quantize();
    if (o.embedding === true) this.embedding.quantize(o.shared);
    this.charLm?.quantize();
  }

  /** Free kernel memory; the model is unusable afterwards. */
  dispose(): void {
    this.embedding.dispose();
    this.chars?.dispose();
    this.casing?.dispose();
    this.charLm?.dispose();
    this.concat.dispose();
    this.inputDropout.dispose();
    this.rnn.dispose();
    for (const l of this.upper) l.dispose();
    for (const d of this.betweenDropout) d.dispose();
    this.stacked.release();
    this.outputDropout.dispose();
    this.memory?.dispose();
    this.stores?.train.clear();
    this.stores?.tag.clear();
    this.out.dispose();
    this.crf?.dispose();
    this.nll?.dispose();
    this.packed.dispose();
  }

  /** The tagger's loss, plus the char LM's λ·(L_fwd + L_bwd) when it trains one. */
  private lossOf(batch: Batch, withGrad: boolean): Loss {
    const scores = this.scores(batch, this.training, withGrad, true, withGrad ? "learn" : "score");
    const { size: B, maxLen: T } = batch;
    const tag = this.crf !== null
      ? this.crf.forward(scores, batch.labels, T, B, batch.lengths, withGrad)
      : this.nll!.forward(scores, batch.labels, T * B, this.config.outputs, withGrad);
    const lm = this.charLm?.lastLoss;
    return lm == null ? tag : { loss: tag.loss + this.charLm!.weightedLoss, count: tag.count, lm: lm.fwd + lm.bwd };
  }

  /**
   * Emission scores, T·B×outputs; `keep` false runs the BiLSTM inference-only (no backward after it),
   * and without dropout too, only the real tokens go through the output layer ({@link PackedScores});
   * `lm`: the char LM computes its LM losses too (training and loss, never prediction).
   * `use` (with `docMemory`): "learn" reads and then writes the training memory, "score" reads it,
   * "tag" reads the tagging memory, "fill" only writes the tagging memory (and returns no scores).
   */
  private scores(batch: Batch, dropout: boolean, keep: boolean, lm = false, use: "learn" | "score" | "tag" | "fill" = "tag"): Float32Array {
    this.check(batch);
    const { size: B, maxLen: T } = batch;
    const n = T * B;
    const c = this.config;
    const ids = batch.ids;
    if (!keep && !dropout && this.memory === null) {
      // Tagging: the BiLSTM input is built packed (real tokens only, in its forward direction's order), each
      // part written straight into its columns, and the output layer reads the BiLSTM's packed rows
      // (PackedScores): no padded T·B block is built anywhere.
      const rows = this.rnn.packedRows(T, B, batch.lengths);
      this.rnn.forwardInferPacked(this.inputInto(batch, batch.ids, rows, false, lm));
      return this.packed.readout(this.inferUpper(T, B, batch.lengths), this.out, T, B, batch.lengths);
    }
    const w = this.concat.width;
    let input: Float32Array;
    if (keep) {
      const parts = [this.embedding.forward(ids, n)];
      if (this.chars !== null) parts.push(this.chars.forward(batch.chars, n, keep));
      if (this.casing !== null) parts.push(this.casing.forward(batch.casing, n));
      if (this.charLm !== null) parts.push(this.charLm.forward(batch.chars, batch.ids, T, B, batch.lengths, { dropout, keep, lm }));
      input = this.concat.forward(parts, n);
    } else {
      // No backward: each part goes straight into its columns of the BiLSTM input, so the padded
      // T·B×width blocks of the parts (the word embedding's alone ~10 MB at batch 256) are never built.
      input = this.inputInto(batch, ids, null, dropout, lm);
    }
    const x = this.inputDropout.forward(input, n * w, dropout);
    const hw = 2 * c.hidden;
    let h = this.rnn.forward(x, T, B, batch.lengths, keep);
    for (const [l, layer] of this.upper.entries()) h = layer.forward(this.betweenDropout[l]!.forward(h, n * hw, dropout), T, B, batch.lengths, keep);
    if (use === "fill") {
      this.remember(h, batch, this.stores!.tag);
      return new Float32Array(0);
    }
    let hd = this.outputDropout.forward(h, n * hw, dropout);
    if (this.memory !== null) {
      const store = use === "tag" ? this.stores!.tag : this.stores!.train;
      hd = this.memory.forward(hd, n, batch.memory!, store, keep);
      if (use === "learn") this.remember(h, batch, store);
    }
    return this.out.forward(hd, n);
  }

  /** Store the top BiLSTM output h (T·B×2H, before dropout) of every token of `batch` that has a memory slot. */
  private remember(h: Float32Array, batch: Batch, store: MemoryStore): void {
    const mem = batch.memory!;
    const { size: B } = batch;
    const D = 2 * this.config.hidden;
    for (let i = 0; i < mem.slots.length; i++) {
      const slot = mem.slots[i]!;
      if (slot >= 0) store.write(slot, h.subarray(i * D, (i + 1) * D));
    }
  }

  /**
   * Tagging with stacked layers: each layer above the first runs inference-only on the packed output
   * of the one below (the same packed order, as every layer lays the batch out alike), so no padded
   * T·B×2H block is built between layers either. Returns the top layer, for {@link PackedScores.readout}.
   */
  private inferUpper(T: number, B: number, lengths: Int32Array): BiLstm {
    let below = this.rnn;
    for (const layer of this.upper) {
      const rows = layer.packedRows(T, B, lengths);
      layer.forwardInferPacked(below.outputRows(rows, rows.length, this.stacked.get(rows.length * 2 * this.config.hidden)));
      below = layer;
    }
    return below;
  }

  /**
   * The BiLSTM input without keeping anything for backward: each part written straight into its
   * columns, at the padded positions `rows` (the packed order tagging uses) or at all T·B (null).
   * The char LM's features (padded T·B rows) are copied in; `lm`: it computes its LM losses too.
   */
  private inputInto(batch: FeatureBatch, ids: Int32Array, rows: Int32Array | null, dropout: boolean, lm: boolean): Float32Array {
    const c = this.config;
    const { size: B, maxLen: T } = batch;
    const m = rows === null ? T * B : rows.length;
    const w = this.concat.width;
    const input = this.concat.output(m);
    let col = 0;
    this.embedding.forwardInto(ids, m, input, w, col, rows);
    col += c.embDim;
    if (this.chars !== null) {
      this.chars.forward(batch.chars, m, false, { dst: input, stride: w, col, ...(rows !== null ? { rows } : {}) });
      col += c.charFilters;
    }
    if (this.casing !== null) this.casing.forwardInto(batch.casing, m, input, w, col, rows);
    if (this.charLm !== null) {
      const lmFeatures = this.charLm.forward(batch.chars, batch.ids, T, B, batch.lengths, { dropout, keep: false, lm });
      this.concat.place(input, this.concat.widths.length - 1, lmFeatures, m, rows, T * B);
    }
    return input;
  }

  /** The shape check every tagger makes, plus the features this one needs. */
  private check(batch: Batch): asserts batch is FeatureBatch {
    checkBatch(batch);
    const n = batch.maxLen * batch.size;
    if (this.memory !== null) {
      const m = batch.memory;
      if (m === undefined) throw new LstmNerError("batch.memory is missing (the model has a document memory: encode whole documents with encodeAll)");
      const rows = n;
      if (m.slots.length !== rows || m.offsets.length !== rows + 1 || m.offsets[rows] !== m.refs.length) {
        throw new LstmNerError(`batch.memory does not fit the batch (${m.slots.length} slots and ${m.offsets.length} offsets for ${rows} rows, ${m.refs.length} refs)`);
      }
      if (m.refs.some((r) => !(r >= 0))) throw new LstmNerError("batch.memory.refs holds a negative slot");
    }
    const fb = batch as Partial<FeatureBatch>;
    if (this.chars !== null || this.charLm !== null) {
      if (fb.chars === undefined) throw new LstmNerError("batch.chars is missing (the model has char features)");
      if (fb.chars.lengths.length !== n) throw new LstmNerError(`batch.chars.lengths has ${fb.chars.lengths.length} values, expected maxLen×size = ${n}`);
    }
    if (this.casing !== null) {
      if (fb.casing === undefined) throw new LstmNerError("batch.casing is missing (the model has casing features)");
      if (fb.casing.length !== n) throw new LstmNerError(`batch.casing has ${fb.casing.length} values, expected maxLen×size = ${n}`);
    }
  }
}
