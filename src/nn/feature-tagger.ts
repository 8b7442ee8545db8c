import type { Kernels } from "../engine/kernels.js";
import type { TagScheme } from "../data/types.js";
import { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import type { Batch } from "./batch.js";
import { argmaxWithProb, checkBatch, type Loss, type Prediction, type QuantizeOptions, type Tagger } from "./tagger-common.js";
import type { FeatureMaker, InputFeature, OutputFeature, Pass, Phase } from "./feature-layer.js";
import { BiLstm } from "./bilstm.js";
import { Linear } from "./linear.js";
import { SoftmaxNll } from "./loss.js";
import { Crf, allowedTransitions } from "./crf.js";
import { Dropout } from "./dropout.js";
import { ConcatColumns } from "./concat.js";
import { PackedScores } from "./packed-scores.js";
import { KernelBuffer } from "./buffer.js";

/** The sizes and settings of {@link FeatureTagger} beyond its features. */
export interface FeatureTaggerConfig {
  /** LSTM hidden size per direction (default 200). */
  hidden?: number;
  /**
   * Stacked BiLSTM layers (default 1; Reimers & Gurevych 2017 found 2 best for NER). Each layer above the
   * first reads the 2·hidden output of the one below through dropout at `outputDropout`'s rate.
   */
  layers?: number;
  /** Dropout on the concatenated features, the BiLSTM input (default 0.5). */
  inputDropout?: number;
  /** Dropout on the BiLSTM output (default 0.5). */
  outputDropout?: number;
  /** Output layer: a linear-chain CRF (default) or per-token softmax. */
  output?: "crf" | "softmax";
  /** Output classes (labels). */
  outputs: number;
  /** CRF transition constraints from the label names and their scheme (default none). */
  constraints?: { labels: readonly string[]; scheme: TagScheme } | null;
  /** How the CRF combines sentence NLLs: "mean" (default) or "sum". */
  crfReduction?: "mean" | "sum";
}

/** {@link FeatureTaggerConfig} with the defaults filled in. */
export type ResolvedFeatureTaggerConfig = Required<FeatureTaggerConfig>;

/** Fill in the defaults and validate. @throws LstmNerError naming the bad field. */
export function resolveFeatureTaggerConfig(config: FeatureTaggerConfig): ResolvedFeatureTaggerConfig {
  const c: ResolvedFeatureTaggerConfig = {
    hidden: config.hidden ?? 200,
    layers: config.layers ?? 1,
    inputDropout: config.inputDropout ?? 0.5,
    outputDropout: config.outputDropout ?? 0.5,
    output: config.output ?? "crf",
    outputs: config.outputs,
    constraints: config.constraints ?? null,
    crfReduction: config.crfReduction ?? "mean",
  };
  const int = (v: number, field: string): void => {
    if (!Number.isInteger(v) || v < 1) throw new LstmNerError(`feature tagger config: ${field} must be an integer ≥ 1, got ${v}`);
  };
  int(c.hidden, "hidden");
  int(c.layers, "layers");
  int(c.outputs, "outputs");
  for (const f of ["inputDropout", "outputDropout"] as const) {
    if (!(c[f] >= 0 && c[f] < 1)) throw new LstmNerError(`feature tagger config: ${f} must be in [0, 1), got ${c[f]}`);
  }
  if (c.output !== "crf" && c.output !== "softmax") throw new LstmNerError(`feature tagger config: output must be "crf" or "softmax", got ${String(c.output)}`);
  if (c.constraints !== null && c.output !== "crf") throw new LstmNerError("feature tagger config: constraints need output \"crf\"");
  if (c.constraints !== null && c.constraints.labels.length !== c.outputs) {
    throw new LstmNerError(`feature tagger config: constraints name ${c.constraints.labels.length} labels, outputs is ${c.outputs}`);
  }
  return c;
}

/** The features a {@link FeatureTagger} is built with (see src/features/), in input order. */
export interface TaggerFeatures {
  /** The blocks of the BiLSTM input x_t (the word embedding first). */
  input: readonly FeatureMaker<InputFeature>[];
  /** Columns set beside the top BiLSTM output, each reading what the ones before it gave. */
  output?: readonly FeatureMaker<OutputFeature>[];
}

/**
 * The BiLSTM tagger over composed features (Ma & Hovy 2016; Lample et al.
 * 2016): per token x_t = [f¹_t ; f²_t ; …], the blocks of its input features
 * (the word embedding, the char CNN, casing, the char LM, whatever the model's
 * spec lists) → dropout → BiLSTM (→ dropout → BiLSTM …) → dropout →
 * [h_t ; g_t] with the columns of its output features (the document memory)
 * → linear to `outputs` scores → CRF (Viterbi at prediction) or per-token softmax.
 *
 * Parameters, named stably: the input features' (`embedding.weight` when the
 * word table is trained, `char.*`, `casing.weight`, `charlm.*`), then
 * `lstm.{fwd,bwd}.{w_ih,w_hh,b}`, `lstm<l>.{fwd,bwd}.{w_ih,w_hh,b}` for each
 * stacked layer l = 2..`layers`, the output features' (`memory.w`), `out.w`,
 * `out.b`, and `crf.transitions`, `crf.start`, `crf.end` (with the CRF).
 *
 * Dropout is applied by {@link lossAndGrad} and {@link loss} while in
 * training mode ({@link setTraining}(true), the initial mode), never by
 * {@link predict}. The loss is the CRF's mean per-sentence NLL (see
 * `crfReduction`) or the softmax's mean per-token NLL, plus the features'
 * auxiliary losses (the char LM's) in training.
 *
 * Output features keep state across batches (the document memory's stores):
 * training's is written by every {@link lossAndGrad}, tagging's by
 * {@link fillMemory} with whole documents before {@link predict} reads it.
 */
export class FeatureTagger implements Tagger {
  readonly config: ResolvedFeatureTaggerConfig;
  /** The input features, in column order. */
  readonly inputs: readonly InputFeature[];
  /** The output features, in column order. */
  readonly extras: readonly OutputFeature[];
  readonly inputDropout: Dropout;
  /** The first (bottom) BiLSTM layer, reading the features. */
  readonly rnn: BiLstm;
  /** The stacked BiLSTM layers above {@link rnn}, bottom to top (empty with one layer). */
  readonly upper: readonly BiLstm[];
  /** The dropout before each of {@link upper}'s layers, on the output of the layer below. */
  readonly betweenDropout: readonly Dropout[];
  readonly outputDropout: Dropout;
  readonly out: Linear;
  readonly crf: Crf | null;
  private readonly nll: SoftmaxNll | null;
  private readonly concat: ConcatColumns;
  private readonly packed: PackedScores;
  /** Tagging: the packed output of a layer, the input of the layer above it. */
  private readonly stacked: KernelBuffer;
  private training = true;
  /** Draws the dropout masks (its state goes into training checkpoints). */
  readonly dropoutRng: Rng;

  /**
   * @param rng initialises every layer, in this order: the input features that draw "first", the BiLSTM
   * layers, the output features, the output layer, the CRF, the input features that draw "last"; the
   * dropout masks come from a generator seeded from it after the first features.
   */
  constructor(k: Kernels, config: FeatureTaggerConfig, features: TaggerFeatures, rng: Rng) {
    const c = resolveFeatureTaggerConfig(config);
    this.config = c;
    if (features.input.length === 0) throw new LstmNerError("feature tagger: no input features");
    let dropRng: Rng | null = null;
    const dropout = (): Rng => (dropRng ??= new Rng(rng.nextUint32()));
    const built: (InputFeature | undefined)[] = features.input.map((f) => (f.draws === "first" ? f.build(k, rng, dropout) : undefined));
    this.concat = new ConcatColumns(k, features.input.map((f) => f.width));
    this.dropoutRng = dropout();
    this.inputDropout = new Dropout(k, c.inputDropout, this.dropoutRng);
    this.rnn = new BiLstm(k, this.concat.width, c.hidden, rng, "lstm");
    // Nothing is drawn or built here with one layer, so its weights and masks are those of a model before stacking
    // existed.
    this.upper = Array.from({ length: c.layers - 1 }, (_, i) => new BiLstm(k, 2 * c.hidden, c.hidden, rng, `lstm${i + 2}`));
    this.betweenDropout = this.upper.map(() => new Dropout(k, c.outputDropout, this.dropoutRng));
    this.stacked = new KernelBuffer(k);
    this.outputDropout = new Dropout(k, c.outputDropout, this.dropoutRng);
    this.extras = (features.output ?? []).map((f) => f.build(k, rng, dropout));
    this.out = new Linear(k, 2 * c.hidden + this.extras.reduce((w, f) => w + f.width, 0), c.outputs, rng, "out");
    this.packed = new PackedScores(k);
    if (c.output === "crf") {
      const allowed = c.constraints === null ? null : allowedTransitions(c.constraints.labels, c.constraints.scheme);
      this.crf = new Crf(k, c.outputs, rng, "crf", { allowed, reduction: c.crfReduction });
      this.nll = null;
    } else {
      this.crf = null;
      this.nll = new SoftmaxNll(k);
    }
    this.inputs = features.input.map((f, i) => built[i] ?? f.build(k, rng, dropout));
    this.inputs.forEach((f, i) => {
      if (f.width !== this.concat.widths[i]) throw new Error(`feature tagger: input feature ${i} is ${f.width} wide, its maker said ${this.concat.widths[i]}`);
    });
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
    return [...this.inputs.flatMap((f) => f.params()), ...this.rnn.params(), ...this.upper.flatMap((l) => l.params()),
      ...this.extras.flatMap((f) => f.params()), ...this.out.params(), ...(this.crf?.params() ?? [])];
  }

  /** The parameters a model file keeps: all but training-only ones (the char LM's LM head). */
  storedParams(): Param[] {
    return [...this.inputs.flatMap((f) => f.stored?.() ?? f.params()), ...this.rnn.params(), ...this.upper.flatMap((l) => l.params()),
      ...this.extras.flatMap((f) => f.stored?.() ?? f.params()), ...this.out.params(), ...(this.crf?.params() ?? [])];
  }

  /**
   * Forward + backward on one batch; ACCUMULATES gradients (the optimiser zeroes them). Returns the loss and the
   * tokens it covered.
   */
  lossAndGrad(batch: Batch): Loss {
    const result = this.lossOf(batch, true);
    const dScores = this.crf !== null ? this.crf.backward() : this.nll!.backward();
    let dhd = this.out.backward(dScores);
    for (let i = this.extras.length - 1; i >= 0; i--) dhd = this.extras[i]!.backward(dhd);
    let dh = this.outputDropout.backward(dhd);
    for (let l = this.upper.length - 1; l >= 0; l--) dh = this.betweenDropout[l]!.backward(this.upper[l]!.backward(dh));
    const dx = this.rnn.backward(dh, this.inputs.some((f) => f.trainable));
    if (dx === null) return result;
    const parts = this.concat.backward(this.inputDropout.backward(dx));
    this.inputs.forEach((f, i) => {
      if (f.trainable) f.backward(parts[i]!);
    });
    return result;
  }

  /**
   * The loss on one batch without gradients (dropout as the mode says; output features read training's state, storing
   * nothing).
   */
  loss(batch: Batch): Loss {
    return this.lossOf(batch, false);
  }

  /**
   * Best label per position (Viterbi with the CRF, argmax with softmax), time-major T·B, −1 at pads. No dropout.
   * With output features (the document memory) it reads tagging's state: {@link fillMemory} with the batch's documents
   * first.
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
   * With output features (the document memory): forget tagging's state and observe `batches` (pass 1 of
   * tagging: every sentence of the documents to be tagged, in any batches; {@link predict} then reads it).
   * No dropout. A no-op without output features.
   */
  fillMemory(batches: Iterable<Batch>): void {
    if (this.extras.length === 0) return;
    for (const f of this.extras) f.forget("tag");
    for (const b of batches) this.scores(b, false, false, false, "fill");
  }

  /**
   * Forget what training's passes stored (e.g. before training on other sentences, whose slots are numbered afresh).
   */
  clearTrainingMemory(): void {
    for (const f of this.extras) f.forget("train");
  }

  /** How much training's and tagging's state hold (0 and 0 without output features). */
  get memorySize(): { train: number; tag: number } {
    return this.extras.reduce((s, f) => ({ train: s.train + f.held.train, tag: s.tag + f.held.tag }), { train: 0, tag: 0 });
  }

  /** Int16 BiLSTM weights for prediction from now on (until the next training step); see {@link Lstm.quantize}. */
  quantize(o: QuantizeOptions = {}): void {
    this.rnn.quantize();
    for (const l of this.upper) l.quantize();
    for (const f of [...this.inputs, ...this.extras]) f.quantize(o);
  }

  /** Free kernel memory; the model is unusable afterwards. */
  dispose(): void {
    for (const f of [...this.inputs, ...this.extras]) f.dispose();
    this.concat.dispose();
    this.inputDropout.dispose();
    this.rnn.dispose();
    for (const l of this.upper) l.dispose();
    for (const d of this.betweenDropout) d.dispose();
    this.stacked.release();
    this.outputDropout.dispose();
    this.out.dispose();
    this.crf?.dispose();
    this.nll?.dispose();
    this.packed.dispose();
  }

  /**
   * The tagger's loss, plus the input features' weighted auxiliary losses (`lm`: their raw sum) when it trains some.
   */
  private lossOf(batch: Batch, withGrad: boolean): Loss {
    const scores = this.scores(batch, this.training, withGrad, true, withGrad ? "learn" : "score");
    const { size: B, maxLen: T } = batch;
    const tag = this.crf !== null
      ? this.crf.forward(scores, batch.labels, T, B, batch.lengths, withGrad)
      : this.nll!.forward(scores, batch.labels, T * B, this.config.outputs, withGrad);
    let result: Loss = tag;
    for (const f of this.inputs) {
      const aux = f.auxLoss?.() ?? null;
      if (aux !== null) result = { loss: result.loss + aux.weighted, count: tag.count, lm: (result.lm ?? 0) + aux.raw };
    }
    return result;
  }

  /**
   * Emission scores, T·B×outputs; `keep` false runs the BiLSTM inference-only (no backward after it),
   * and without dropout and output features only the real tokens go through the output layer ({@link PackedScores});
   * `aux`: the features compute their auxiliary losses too (training and loss, never prediction).
   * `phase`: what the output features read and write (see {@link Phase}); "fill" returns no scores.
   */
  private scores(batch: Batch, dropout: boolean, keep: boolean, aux = false, phase: Phase = "tag"): Float32Array {
    this.check(batch);
    const { size: B, maxLen: T } = batch;
    const n = T * B;
    const pass: Pass = { dropout, keep, aux };
    if (!keep && !dropout && this.extras.length === 0) {
      // Tagging: the BiLSTM input is built packed (real tokens only, in its forward direction's order), each
      // feature writing straight into its columns, and the output layer reads the BiLSTM's packed rows
      // (PackedScores): no padded T·B block is built anywhere.
      const rows = this.rnn.packedRows(T, B, batch.lengths);
      this.rnn.forwardInferPacked(this.inputInto(batch, pass, rows));
      return this.packed.readout(this.inferUpper(T, B, batch.lengths), this.out, T, B, batch.lengths);
    }
    const w = this.concat.width;
    // Without a backward each feature goes straight into its columns of the BiLSTM input, so the padded
    // T·B×width blocks of the features (the word embedding's alone ~10 MB at batch 256) are never built.
    const input = keep ? this.concat.forward(this.inputs.map((f) => f.forward(batch, pass)), n) : this.inputInto(batch, pass, null);
    const x = this.inputDropout.forward(input, n * w, dropout);
    const hw = 2 * this.config.hidden;
    let h = this.rnn.forward(x, T, B, batch.lengths, keep);
    for (const [l, layer] of this.upper.entries()) h = layer.forward(this.betweenDropout[l]!.forward(h, n * hw, dropout), T, B, batch.lengths, keep);
    if (phase === "fill") {
      for (const f of this.extras) f.observe(h, batch, "fill");
      return new Float32Array(0);
    }
    let y = this.outputDropout.forward(h, n * hw, dropout);
    for (const f of this.extras) y = f.forward(y, batch, phase, keep);
    if (phase === "learn") for (const f of this.extras) f.observe(h, batch, "learn");
    return this.out.forward(y, n);
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
   * The BiLSTM input without keeping anything for backward: each feature writes its columns,
   * at the padded positions `rows` (the packed order tagging uses) or at all T·B (null).
   */
  private inputInto(batch: Batch, pass: Pass, rows: Int32Array | null): Float32Array {
    const m = rows === null ? batch.maxLen * batch.size : rows.length;
    const w = this.concat.width;
    const input = this.concat.output(m);
    let col = 0;
    for (const f of this.inputs) {
      f.forwardInto(batch, pass, input, w, col, rows);
      col += f.width;
    }
    return input;
  }

  /** The shape check every tagger makes, plus what each feature reads. */
  private check(batch: Batch): void {
    checkBatch(batch);
    for (const f of [...this.inputs, ...this.extras]) f.check(batch);
  }
}
