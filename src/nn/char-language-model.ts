import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import type { CharIds } from "./charcnn.js";
import { KernelBuffer, KernelInt32Buffer, exactly, freeParam, kernelParam, kernelBuffers } from "./buffer.js";
import { BiLstm } from "./bilstm.js";
import { Highway } from "./highway.js";
import { Dropout } from "./dropout.js";
import { LM_SOFTMAXES, lmSoftmax, type LmSoftmax, type LmSoftmaxKind } from "./lm-softmax.js";

/** Settings of the character language model (all JSON, stored in model files). */
export interface CharLmConfig {
  /** Char embedding size (the paper's 30). */
  dim: number;
  /** Char LSTM hidden size per direction (the paper has 300; the default 100 keeps the cost down). */
  hidden: number;
  /** Weight λ of the LM losses: L = L_tagger + λ·(L_fwd + L_bwd); 0 keeps the char features but trains no LM. */
  lmWeight: number;
  /**
   * LM output words: the `vocab` most frequent training words (+ one class for every other word; the paper predicts
   * every training word).
   */
  vocab: number;
  /** Dropout on the char states at the word boundaries, before the highways. */
  dropout: number;
  /**
   * The LM heads' output layer: "classes", a class-factored softmax (√V clusters, ~2√V classes scored per
   * word); "full", all V+1.
   */
  softmax: LmSoftmaxKind;
}

/** Defaults of {@link CharLmConfig}. */
export const CHAR_LM_DEFAULTS: Readonly<CharLmConfig> = { dim: 30, hidden: 100, lmWeight: 1, vocab: 2000, dropout: 0.5, softmax: "classes" };

/** Fill in the defaults of a partial config and validate it. @throws LstmNerError naming the field. */
export function resolveCharLmConfig(c: Partial<CharLmConfig>, where = "charLM"): CharLmConfig {
  if (typeof c !== "object" || c === null || Array.isArray(c)) throw new LstmNerError(`${where} must be an object, got ${JSON.stringify(c)}`);
  for (const k of Object.keys(c)) {
    if (!Object.hasOwn(CHAR_LM_DEFAULTS, k)) throw new LstmNerError(`${where}: unknown field ${k} (known: ${Object.keys(CHAR_LM_DEFAULTS).join(", ")})`);
  }
  const r: CharLmConfig = { ...CHAR_LM_DEFAULTS, ...c };
  for (const f of ["dim", "hidden", "vocab"] as const) {
    if (!Number.isInteger(r[f]) || r[f] < 1) throw new LstmNerError(`${where}.${f} must be a whole number ≥ 1, got ${JSON.stringify(r[f])}`);
  }
  if (typeof r.lmWeight !== "number" || !(r.lmWeight >= 0 && Number.isFinite(r.lmWeight))) throw new LstmNerError(`${where}.lmWeight must be a number ≥ 0, got ${JSON.stringify(r.lmWeight)}`);
  if (typeof r.dropout !== "number" || !(r.dropout >= 0 && r.dropout < 1)) throw new LstmNerError(`${where}.dropout must be a number in [0, 1), got ${JSON.stringify(r.dropout)}`);
  if (!(LM_SOFTMAXES as readonly unknown[]).includes(r.softmax)) throw new LstmNerError(`${where}.softmax must be one of ${LM_SOFTMAXES.join(", ")}, got ${JSON.stringify(r.softmax)}`);
  return r;
}

/**
 * LM classes of the word-table rows: the `vocab` rows most often seen in
 * `rowsOfTraining` (ties: lower row first) get classes 1..vocab, every other
 * row class 0 (the "other word" class). Rows in `skip` (UNK, PAD) never get
 * their own class.
 */
export function lmClassesOf(rowsOfTraining: Iterable<number>, tableRows: number, vocab: number, skip: readonly number[]): Int32Array {
  const counts = new Float64Array(tableRows);
  for (const r of rowsOfTraining) counts[r]! += 1;
  for (const s of skip) counts[s] = 0;
  const seen: number[] = [];
  for (let r = 0; r < tableRows; r++) if (counts[r]! > 0) seen.push(r);
  seen.sort((a, b) => counts[b]! - counts[a]! || a - b);
  const classes = new Int32Array(tableRows);
  seen.slice(0, vocab).forEach((r, i) => (classes[r] = i + 1));
  return classes;
}

/** One direction's LM head: highway → the output layer over the word classes with its NLL. */
interface LmHead {
  hw: Highway;
  out: LmSoftmax;
  /** Word w of the batch feeding row i of this head's input. */
  rows: Int32Array;
  /** Rows with a target in the last forward. */
  m: number;
}

// Reusable buffers: char embeddings of the sequence, boundary features, the BiLSTM output gradient, the LM heads'
// inputs.
const CHAR_LM_BUFFERS = ["x", "feat", "dh", "lmF", "lmB"] as const;

/**
 * A character-level language model trained together with the tagger
 * (Liu et al., AAAI 2018, "Empower Sequence Labeling with Task-Aware Neural
 * Language Model"). A sentence's characters are one sequence, each word
 * framed by boundary markers ␣:  ␣ w₁ ␣ w₂ ␣ … wₙ ␣.  A BiLSTM runs over it;
 * word t's features are the forward state at the ␣ after it and the backward
 * state at the ␣ before it (each has read the whole word and everything on
 * its side):
 *
 *   f_t = [h→(end_t) | h←(start_t)]            (2H, zero at pads)
 *   d_t = dropout(f_t)
 *   tagger input:  highway(d_t)                (2H, beside word, char CNN, casing)
 *   LM, training:  p(w_{t+1}) = S_f(highway_f(d_t[:H]))
 *                  p(w_{t−1}) = S_b(highway_b(d_t[H:]))
 *   L_LM = λ·(mean NLL_fwd + mean NLL_bwd)
 *
 * S is the output layer of `softmax` (see lm-softmax.ts): a class-factored
 * softmax (default; `ClassSoftmax`) or the full softmax(x·W + b) over all
 * words. The LM classes are word-table rows (so the lowercased, digit-normalised
 * words the tagger reads); the first word has no previous and the last no
 * next word to predict. The LM head is built only when `lmClasses` is given
 * (training); a model loaded for tagging has no head and never computes it.
 *
 * Parameters: `charlm.emb` ((chars+1)×dim, the last row the boundary marker),
 * `charlm.lstm.{fwd,bwd}.*`, `charlm.hw.{w,b}`; with the head also
 * `charlm.lm.{fwd,bwd}.hw.{w,b}` and the output layer's, `charlm.lm.{fwd,bwd}.cls.{w,b}` and
 * `charlm.lm.{fwd,bwd}.word.{w,b}` (classes) or `charlm.lm.{fwd,bwd}.out.{w,b}` (full).
 */
export class CharLm {
  readonly config: CharLmConfig;
  readonly emb: Param;
  readonly rnn: BiLstm;
  readonly hw: Highway;
  readonly dropout: Dropout;
  private readonly head: { fwd: LmHead; bwd: LmHead } | null;
  private readonly buf: Record<(typeof CHAR_LM_BUFFERS)[number], KernelBuffer>;
  private readonly lengths: KernelInt32Buffer;
  /** Char id at each (position, sentence) of the last sequence batch, time-major Tc·B; −1 at pads. */
  private cid = new Int32Array(0);
  /** Sequence positions of word w's ␣ before and after it. */
  private startPos = new Int32Array(0);
  private endPos = new Int32Array(0);
  private T = 0;
  private B = 0;
  private Tc = 0;
  private n = 0;
  private lmGrad = false;
  /** Sentence lengths (words) of the last forward. */
  private lengthsSeen = new Int32Array(0);
  /** The last forward's LM losses (mean NLL per direction, before λ), or null when it computed none. */
  lastLoss: { fwd: number; bwd: number } | null = null;

  /**
   * @param charVocabSize the tagger's char vocabulary (its id 0 the unknown char); the boundary marker gets id
   * `charVocabSize`.
   * @param lmClasses LM class (0..vocab) of every word-table row, for training; null: no LM head.
   * @param dropRng draws the dropout masks.
   */
  constructor(private readonly k: Kernels, readonly charVocabSize: number, config: CharLmConfig, rng: Rng,
    private readonly lmClasses: Int32Array | null, dropRng: Rng) {
    const c = resolveCharLmConfig(config);
    this.config = c;
    const H = c.hidden;
    this.emb = kernelParam(k, "charlm.emb", [charVocabSize + 1, c.dim]);
    const e = Math.sqrt(3 / c.dim);
    rng.fillUniform(this.emb.value, -e, e);
    this.rnn = new BiLstm(k, c.dim, H, rng, "charlm.lstm");
    this.hw = new Highway(k, 2 * H, rng, "charlm.hw");
    this.dropout = new Dropout(k, c.dropout, dropRng);
    const head = (dir: string): LmHead => ({
      hw: new Highway(k, H, rng, `charlm.lm.${dir}.hw`), out: lmSoftmax(c.softmax, k, H, c.vocab + 1, rng, `charlm.lm.${dir}`),
      rows: new Int32Array(0), m: 0,
    });
    this.head = lmClasses === null ? null : { fwd: head("fwd"), bwd: head("bwd") };
    this.buf = kernelBuffers(k, CHAR_LM_BUFFERS);
    this.lengths = new KernelInt32Buffer(k);
  }

  /** Width of the features each word gets (2·hidden). */
  get width(): number {
    return 2 * this.config.hidden;
  }

  /** Whether this instance trains the LM (it has the head and λ > 0). */
  get trainsLm(): boolean {
    return this.head !== null && this.config.lmWeight > 0;
  }

  /** Trainable parameters: embedding, BiLSTM, tagger highway, then the LM head's (when built). */
  params(): Param[] {
    const h = this.head;
    return [this.emb, ...this.rnn.params(), ...this.hw.params(),
      ...(h === null ? [] : [...h.fwd.hw.params(), ...h.fwd.out.params(), ...h.bwd.hw.params(), ...h.bwd.out.params()])];
  }

  /**
   * The T·B×2H word features of a padded batch (`chars` its words' chars, `ids`
   * its word-table rows for the LM targets). `dropout`: training mode;
   * `keep`: a backward follows; `lm`: compute the LM losses ({@link lastLoss},
   * needs the head). Returns a view valid until the next forward.
   */
  forward(chars: CharIds, ids: Int32Array, T: number, B: number, lengths: Int32Array,
    opts: { dropout: boolean; keep: boolean; lm: boolean }): Float32Array {
    const n = T * B;
    const H = this.config.hidden;
    const D = this.config.dim;
    const SP = this.charVocabSize;
    this.T = T;
    this.B = B;
    this.n = n;
    if (this.lengthsSeen.length < B) this.lengthsSeen = new Int32Array(B);
    this.lengthsSeen.set(lengths.subarray(0, B));
    // The sequence layout: ␣ w₁ ␣ w₂ ␣ … wₙ ␣.
    const lc = this.lengths.get(B);
    let Tc = 0;
    for (let b = 0; b < B; b++) {
      let len = 1;
      for (let t = 0; t < lengths[b]!; t++) len += chars.lengths[t * B + b]! + 1;
      lc[b] = len;
      Tc = Math.max(Tc, len);
    }
    this.Tc = Tc;
    if (this.cid.length < Tc * B) this.cid = new Int32Array(Tc * B);
    if (this.startPos.length < n) {
      this.startPos = new Int32Array(n);
      this.endPos = new Int32Array(n);
    }
    const cid = this.cid.subarray(0, Tc * B).fill(-1);
    const { startPos, endPos } = this;
    const mc = chars.maxChars;
    for (let b = 0; b < B; b++) {
      let p = 0;
      cid[b] = SP;
      for (let t = 0; t < lengths[b]!; t++) {
        const w = t * B + b;
        startPos[w] = p;
        const len = chars.lengths[w]!;
        for (let i = 0; i < len; i++) {
          const c = chars.ids[w * mc + i]!;
          if (!(c >= 0 && c < SP)) throw new LstmNerError(`batch.chars: char id ${c} of word ${w} is outside the char vocabulary (0..${SP - 1})`);
          cid[(p + 1 + i) * B + b] = c;
        }
        p += len + 1;
        cid[p * B + b] = SP;
        endPos[w] = p;
      }
    }
    const x = this.buf.x.get(Tc * B * D);
    const E = this.emb.value;
    for (let q = 0; q < Tc * B; q++) {
      const c = cid[q]!;
      if (c < 0) continue; // pads: the BiLSTM never reads them
      x.set(E.subarray(c * D, (c + 1) * D), q * D);
    }
    const h = this.rnn.forward(x, Tc, B, lc, opts.keep);
    // f_t = [h→ at the ␣ after word t | h← at the ␣ before it].
    const feat = this.buf.feat.get(n * 2 * H).fill(0);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < lengths[b]!; t++) {
        const w = t * B + b;
        const e = (endPos[w]! * B + b) * 2 * H;
        const s = (startPos[w]! * B + b) * 2 * H + H;
        feat.set(h.subarray(e, e + H), w * 2 * H);
        feat.set(h.subarray(s, s + H), w * 2 * H + H);
      }
    }
    const fd = this.dropout.forward(feat, n * 2 * H, opts.dropout);
    this.lastLoss = null;
    this.lmGrad = false;
    if (opts.lm && this.trainsLm) {
      this.lastLoss = { fwd: this.lmForward(this.head!.fwd, fd, ids, lengths, +1, opts.keep), bwd: this.lmForward(this.head!.bwd, fd, ids, lengths, -1, opts.keep) };
      this.lmGrad = opts.keep;
    }
    return this.hw.forward(fd, n);
  }

  /** λ·(L_fwd + L_bwd) of the last forward (0 when it computed no LM loss). */
  get weightedLoss(): number {
    return this.lastLoss === null ? 0 : this.config.lmWeight * (this.lastLoss.fwd + this.lastLoss.bwd);
  }

  /**
   * dL/d(features) (T·B×2H) → accumulates every parameter gradient, the LM
   * losses' too when the last forward computed them with `keep`.
   */
  backward(dOut: Float32Array): void {
    const { n, T, B, Tc } = this;
    const H = this.config.hidden;
    const D = this.config.dim;
    // dL/dd: from the tagger's highway, plus the LM heads' (added in place into the highway's own dx buffer).
    const dd = this.hw.backward(exactly(dOut, n * 2 * H, "char LM output gradient"));
    if (this.lmGrad) {
      this.lmBackward(this.head!.fwd, dd, 0);
      this.lmBackward(this.head!.bwd, dd, H);
    }
    const df = this.dropout.backward(dd);
    const dh = this.buf.dh.get(Tc * B * 2 * H).fill(0);
    const { startPos, endPos } = this;
    for (let w = 0; w < T * B; w++) {
      const b = w % B;
      if (Math.floor(w / B) >= this.lengthsSeen[b]!) continue; // a pad
      const e = (endPos[w]! * B + b) * 2 * H;
      const s = (startPos[w]! * B + b) * 2 * H + H;
      for (let j = 0; j < H; j++) {
        dh[e + j]! += df[w * 2 * H + j]!;
        dh[s + j]! += df[w * 2 * H + H + j]!;
      }
    }
    const dx = this.rnn.backward(dh);
    const G = this.emb.grad;
    const cid = this.cid;
    for (let q = 0; q < Tc * B; q++) {
      const c = cid[q]!;
      if (c < 0) continue;
      for (let j = 0; j < D; j++) G[c * D + j]! += dx[q * D + j]!;
    }
  }

  /** Int16 weights for the char BiLSTM at prediction (see `Lstm.quantize`). */
  quantize(): void {
    this.rnn.quantize();
  }

  /** Free kernel memory; the layer is unusable afterwards. */
  dispose(): void {
    freeParam(this.k, this.emb);
    this.rnn.dispose();
    this.hw.dispose();
    this.dropout.dispose();
    for (const h of this.head === null ? [] : [this.head.fwd, this.head.bwd]) {
      h.hw.dispose();
      h.out.dispose();
    }
    for (const b of [...Object.values(this.buf), this.lengths]) b.release();
  }

  /**
   * One direction's LM loss: rows of words that have a neighbour on that side
   * (`step` +1: the next word, −1: the previous), their half of `fd` through
   * the head, against the neighbour's class. Returns the mean NLL (0 without rows).
   */
  private lmForward(h: LmHead, fd: Float32Array, ids: Int32Array, lengths: Int32Array, step: 1 | -1, keep: boolean): number {
    const { B, n } = this;
    const H = this.config.hidden;
    const classes = this.lmClasses!;
    if (h.rows.length < n) h.rows = new Int32Array(n);
    const targets = new Int32Array(n);
    let m = 0;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < lengths[b]!; t++) {
        const u = t + step;
        if (u < 0 || u >= lengths[b]!) continue;
        h.rows[m] = t * B + b;
        targets[m++] = classes[ids[u * B + b]!] ?? 0;
      }
    }
    h.m = m;
    if (m === 0) return 0;
    const off = step === 1 ? 0 : H;
    const xin = (step === 1 ? this.buf.lmF : this.buf.lmB).get(m * H);
    for (let i = 0; i < m; i++) {
      const s = h.rows[i]! * 2 * H + off;
      xin.set(fd.subarray(s, s + H), i * H);
    }
    return h.out.forward(h.hw.forward(xin, m), targets.subarray(0, m), m, keep);
  }

  /** Add λ·dL_dir/d(fd) of one head into `dd` (columns off..off+H−1). */
  private lmBackward(h: LmHead, dd: Float32Array, off: number): void {
    if (h.m === 0) return;
    const H = this.config.hidden;
    const dx = h.hw.backward(h.out.backward(this.config.lmWeight));
    for (let i = 0; i < h.m; i++) {
      const d = h.rows[i]! * 2 * H + off;
      for (let j = 0; j < H; j++) dd[d + j]! += dx[i * H + j]!;
    }
  }
}
