import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import { KernelBuffer, exactly, freeParam, kernelBuffers, kernelParam } from "./buffer.js";
import { BiLstm } from "./bilstm.js";
import { Dropout } from "./dropout.js";

/** Conv1d kernel width over time (padding 1 on each side, so T in → T out). */
const KW = 3;

/**
 * Label-embedding attention over a padded time-major batch (Luo, Xiao & Zhao,
 * AAAI 2020, the sentence-level representation's weights). For the L labels'
 * learned embeddings E (L×d, `<name>.labels`) and each real token t of a row
 * with word-embedding vector e_t (d wide):
 *
 *   (C)  c_{t,l} = cos(e_t, E_l) = ê_t·Ê_l      (ê = e/|e|, Ê_l = E_l/|E_l|; c_t = 0 when e_t = 0)
 *   (V)  y_{t,o} = b_o + Σ_{k=0..2} Σ_l W[o,l,k]·c_{t+k−1,l}   (conv1d, L channels in and out,
 *                                                    kernel 3, padding 1: c = 0 outside the row's real tokens)
 *   (R)  z_t = relu(y_t)
 *   (M)  u_t = max_o z_{t,o}                      (ties: the first maximal label takes the gradient)
 *   (A)  a = softmax(u) over the row's real tokens (0 at pads)
 *
 * Parameters `<name>.labels` (L×d), `<name>.conv.w` (L×L×3, W[o,l,k] at
 * (o·L + l)·3 + k) and `<name>.conv.b` (L). Backward gives dL/de (for a
 * trainable word table) and accumulates the parameters' gradients.
 */
export class LabelAttention {
  readonly labels: Param;
  readonly convW: Param;
  readonly convB: Param;
  private readonly buf: Record<"eh" | "en" | "c" | "y" | "a" | "dc" | "de" | "dy", KernelBuffer>;
  private arg = new Int32Array(0);
  private eHatL = new Float32Array(0);
  private eNormL = new Float32Array(0);
  private T = 0;
  private B = 0;
  private lengths = new Int32Array(0);
  private kept = false;

  constructor(private readonly k: Kernels, readonly dim: number, readonly count: number, rng: Rng, name: string) {
    const L = count;
    this.labels = kernelParam(k, `${name}.labels`, [L, dim]);
    this.convW = kernelParam(k, `${name}.conv.w`, [L, L, KW]);
    this.convB = kernelParam(k, `${name}.conv.b`, [L]);
    // Small label vectors (the cosine does not see their scale); the conv as PyTorch's Conv1d: U(−1/√(L·3), 1/√(L·3)).
    rng.fillUniform(this.labels.value, -0.1, 0.1);
    const a = 1 / Math.sqrt(L * KW);
    rng.fillUniform(this.convW.value, -a, a);
    rng.fillUniform(this.convB.value, -a, a);
    this.buf = kernelBuffers(k, ["eh", "en", "c", "y", "a", "dc", "de", "dy"]);
  }

  /** Trainable parameters: the label embeddings, then the conv weights and bias. */
  params(): Param[] {
    return [this.labels, this.convW, this.convB];
  }

  /**
   * The attention weights a (T·B, 0 at pads; each row with real tokens sums to 1) for the word vectors
   * `e` (T·B×d, time-major). `keep`: keep what {@link backward} needs. A view valid until the next forward.
   */
  forward(e: Float32Array, T: number, B: number, lengths: Int32Array, keep: boolean): Float32Array {
    const { dim: d, count: L } = this;
    const n = T * B;
    const ev = exactly(e, n * d, "LabelAttention word vectors");
    // Ê: the label vectors normalised (|E_l| guarded so a zero row scores 0 rather than NaN).
    if (this.eHatL.length !== L * d) {
      this.eHatL = new Float32Array(L * d);
      this.eNormL = new Float32Array(L);
    }
    const E = this.labels.value;
    for (let l = 0; l < L; l++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += E[l * d + j]! * E[l * d + j]!;
      const norm = Math.max(Math.sqrt(s), 1e-12);
      this.eNormL[l] = norm;
      for (let j = 0; j < d; j++) this.eHatL[l * d + j] = E[l * d + j]! / norm;
    }
    const eh = this.buf.eh.get(n * d);
    const en = this.buf.en.get(n);
    const c = this.buf.c.get(n * L);
    c.fill(0);
    en.fill(0);
    // (C) c_{t,l} = ê_t·Ê_l at the real tokens.
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < lengths[b]!; t++) {
        const i = t * B + b;
        let s = 0;
        for (let j = 0; j < d; j++) s += ev[i * d + j]! * ev[i * d + j]!;
        const norm = Math.sqrt(s);
        en[i] = norm;
        if (norm === 0) {
          eh.fill(0, i * d, (i + 1) * d);
          continue;
        }
        for (let j = 0; j < d; j++) eh[i * d + j] = ev[i * d + j]! / norm;
        for (let l = 0; l < L; l++) {
          let dot = 0;
          for (let j = 0; j < d; j++) dot += eh[i * d + j]! * this.eHatL[l * d + j]!;
          c[i * L + l] = dot;
        }
      }
    }
    const y = this.buf.y.get(n * L);
    const a = this.buf.a.get(n);
    a.fill(0);
    if (this.arg.length < n) this.arg = new Int32Array(n);
    const W = this.convW.value, bias = this.convB.value;
    for (let b = 0; b < B; b++) {
      const len = lengths[b]!;
      if (len === 0) continue;
      let max = -Infinity;
      for (let t = 0; t < len; t++) {
        const i = t * B + b;
        // (V) y_{t,o} = b_o + Σ_k Σ_l W[o,l,k] c_{t+k−1,l}
        for (let o = 0; o < L; o++) {
          let s = bias[o]!;
          for (let kk = 0; kk < KW; kk++) {
            const tt = t + kk - 1;
            if (tt < 0 || tt >= len) continue;
            const ci = (tt * B + b) * L;
            for (let l = 0; l < L; l++) s += W[(o * L + l) * KW + kk]! * c[ci + l]!;
          }
          y[i * L + o] = s;
        }
        // (R), (M) u_t = max_o relu(y_{t,o}), the first maximal o kept for backward.
        let best = 0;
        let u = Math.max(0, y[i * L]!);
        for (let o = 1; o < L; o++) {
          const z = Math.max(0, y[i * L + o]!);
          if (z > u) {
            u = z;
            best = o;
          }
        }
        this.arg[i] = best;
        a[i] = u;
        if (u > max) max = u;
      }
      // (A) a = softmax(u) over t < len (stable: the row's max subtracted).
      let z = 0;
      for (let t = 0; t < len; t++) z += (a[t * B + b] = Math.exp(a[t * B + b]! - max));
      for (let t = 0; t < len; t++) a[t * B + b]! /= z;
    }
    this.T = T;
    this.B = B;
    this.lengths = lengths.slice(0, B);
    this.kept = keep;
    return a;
  }

  /**
   * How far the last forward was from a kink of (R) or (M): over the real tokens, the smallest of |y_{t,o}| for the
   * maximal o and the gap between the largest relu(y_t) and the next (a tie, or a y at 0, gives 0; a token with every
   * y < 0 counts max y's distance from 0). Finite-difference checks need it above their step's effect.
   */
  kinkMargin(): number {
    const { T, B, lengths, count: L } = this;
    const y = this.buf.y.get(T * B * L);
    let margin = Infinity;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < lengths[b]!; t++) {
        const row = Array.from(y.subarray((t * B + b) * L, (t * B + b + 1) * L)).sort((p, q) => q - p);
        const top = row[0]!;
        margin = Math.min(margin, Math.abs(top));
        if (top > 0 && L > 1) margin = Math.min(margin, top - Math.max(0, row[1]!));
      }
    }
    return margin;
  }

  /**
   * Given dL/da (T·B), accumulate dL/dE, dL/dW, dL/db and return dL/de (T·B×d, 0 at pads; valid until the next backward):
   *   (A)  du_t = a_t (da_t − Σ_τ a_τ da_τ)
   *   (M,R) dy_{t,o} = du_t where o = argmax and y_{t,o} > 0, else 0
   *   (V)  db_o += Σ_t dy_{t,o};  dW[o,l,k] += Σ_t dy_{t,o} c_{t+k−1,l};  dc_{t,l} = Σ_{k,o} dy_{t−k+1,o} W[o,l,k]
   *   (C)  de_t = Σ_l dc_{t,l} (Ê_l − c_{t,l} ê_t) / |e_t|;   dE_l += Σ_t dc_{t,l} (ê_t − c_{t,l} Ê_l) / |E_l|
   */
  backward(da: Float32Array): Float32Array {
    if (!this.kept) throw new Error("LabelAttention.backward called without a forward that kept its state");
    const { T, B, lengths, dim: d, count: L } = this;
    const n = T * B;
    const dav = exactly(da, n, "LabelAttention weight gradient");
    const a = this.buf.a.get(n), c = this.buf.c.get(n * L), y = this.buf.y.get(n * L);
    const eh = this.buf.eh.get(n * d), en = this.buf.en.get(n);
    const W = this.convW.value, dW = this.convW.grad, db = this.convB.grad;
    const dy = this.buf.dy.get(n); // dy_{t,arg_t}, the only non-zero entry of the row t
    const dc = this.buf.dc.get(n * L);
    dc.fill(0);
    for (let b = 0; b < B; b++) {
      const len = lengths[b]!;
      let dot = 0;
      for (let t = 0; t < len; t++) dot += a[t * B + b]! * dav[t * B + b]!;
      for (let t = 0; t < len; t++) {
        const i = t * B + b;
        const o = this.arg[i]!;
        dy[i] = y[i * L + o]! > 0 ? a[i]! * (dav[i]! - dot) : 0;
      }
      for (let t = 0; t < len; t++) {
        const i = t * B + b;
        const g = dy[i]!;
        if (g === 0) continue;
        const o = this.arg[i]!;
        db[o]! += g;
        for (let kk = 0; kk < KW; kk++) {
          const tt = t + kk - 1;
          if (tt < 0 || tt >= len) continue;
          const ci = (tt * B + b) * L;
          for (let l = 0; l < L; l++) {
            dW[(o * L + l) * KW + kk]! += g * c[ci + l]!;
            dc[ci + l]! += g * W[(o * L + l) * KW + kk]!;
          }
        }
      }
    }
    const de = this.buf.de.get(n * d);
    de.fill(0);
    const dE = this.labels.grad;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < lengths[b]!; t++) {
        const i = t * B + b;
        const norm = en[i]!;
        if (norm === 0) continue; // c_t ≡ 0 there: no gradient either way
        for (let l = 0; l < L; l++) {
          const g = dc[i * L + l]!;
          if (g === 0) continue;
          const cl = c[i * L + l]!;
          const gn = g / norm, gl = g / this.eNormL[l]!;
          for (let j = 0; j < d; j++) {
            const eHat = eh[i * d + j]!, lHat = this.eHatL[l * d + j]!;
            de[i * d + j]! += gn * (lHat - cl * eHat);
            dE[l * d + j]! += gl * (eHat - cl * lHat);
          }
        }
      }
    }
    return de;
  }

  /** Free kernel memory (parameters included); the layer is unusable afterwards. */
  dispose(): void {
    for (const b of Object.values(this.buf)) b.release();
    for (const p of this.params()) freeParam(this.k, p);
  }
}

/**
 * The sentence-level representation of Luo, Xiao & Zhao (AAAI 2020) for each
 * row (one tagged sequence) of a padded time-major batch: a BiLSTM of its own
 * (hidden G per direction, weights `<name>.lstm.{fwd,bwd}.*`) reads the same
 * token inputs x_t as the tagger's BiLSTM, and the label-embedding attention
 * ({@link LabelAttention}, weights `<name>.labels`, `<name>.conv.*`) pools its
 * outputs into one 2G-wide vector per row:
 *
 *   (S)  s_t = dropout(BiLSTM_s(x)_t)     (2G wide; dropout at the tagger's output rate, locked with it)
 *   (A)  a = LabelAttention(e)            (e: the word-table rows of the tokens)
 *   (P)  r = Σ_{t<len} a_t s_t            (r = 0 for an empty row)
 *
 * The tagger then feeds [x_t ; r] to its BiLSTM at every token.
 */
export class SentenceRep {
  readonly lstm: BiLstm;
  readonly attention: LabelAttention;
  readonly dropout: Dropout;
  private readonly buf: Record<"r" | "ds" | "da", KernelBuffer>;
  private s: Float32Array = new Float32Array(0);
  private a: Float32Array = new Float32Array(0);
  private T = 0;
  private B = 0;
  private lengths = new Int32Array(0);
  private kept = false;

  /**
   * @param inDim width of x_t; `embDim` width of e_t; `hidden` G; `labels` L.
   * @param dropRng draws the dropout masks of s (with rate `p`).
   */
  constructor(k: Kernels, readonly inDim: number, embDim: number, readonly hidden: number, labels: number, rng: Rng, dropRng: Rng, p: number, name: string) {
    if (!Number.isInteger(hidden) || hidden < 1) throw new LstmNerError(`sentence representation: hidden must be an integer ≥ 1, got ${hidden}`);
    this.lstm = new BiLstm(k, inDim, hidden, rng, `${name}.lstm`);
    this.attention = new LabelAttention(k, embDim, labels, rng, name);
    this.dropout = new Dropout(k, p, dropRng);
    this.buf = kernelBuffers(k, ["r", "ds", "da"]);
  }

  /** Trainable parameters: the BiLSTM's, then the attention's. */
  params(): Param[] {
    return [...this.lstm.params(), ...this.attention.params()];
  }

  /**
   * r (B×2G) for inputs `x` (T·B×inDim) and word vectors `e` (T·B×embDim). `dropout`: training's
   * dropout on s (`locked`: one mask per row for all steps); `keep`: keep what {@link backward} needs.
   * A view valid until the next forward.
   */
  forward(x: Float32Array, e: Float32Array, T: number, B: number, lengths: Int32Array, o: { dropout: boolean; locked: boolean; keep: boolean }): Float32Array {
    const D = 2 * this.hidden;
    const n = T * B;
    const h = this.lstm.forward(x, T, B, lengths, o.keep);
    const s = this.dropout.forward(h, n * D, o.dropout, o.locked ? B * D : n * D); // (S)
    const a = this.attention.forward(e, T, B, lengths, o.keep); // (A)
    const r = this.buf.r.get(B * D);
    r.fill(0);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < lengths[b]!; t++) {
        const i = t * B + b;
        const w = a[i]!;
        for (let j = 0; j < D; j++) r[b * D + j]! += w * s[i * D + j]!; // (P)
      }
    }
    this.s = s;
    this.a = a;
    this.T = T;
    this.B = B;
    this.lengths = lengths.slice(0, B);
    this.kept = o.keep;
    return r;
  }

  /**
   * Given dL/dr (B×2G), accumulate every parameter's gradient and return dL/dx (T·B×inDim, or null
   * unless `inputGrad`) and dL/de (T·B×embDim):
   *   (P)  ds_t = a_t dr;  da_t = s_t·dr      then (A) and (S) backward.
   */
  backward(dr: Float32Array, inputGrad: boolean): { dx: Float32Array | null; de: Float32Array } {
    if (!this.kept) throw new Error("SentenceRep.backward called without a forward that kept its state");
    const { T, B, lengths, s, a } = this;
    const D = 2 * this.hidden;
    const n = T * B;
    const drv = exactly(dr, B * D, "SentenceRep output gradient");
    const ds = this.buf.ds.get(n * D);
    const da = this.buf.da.get(n);
    ds.fill(0);
    da.fill(0);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < lengths[b]!; t++) {
        const i = t * B + b;
        let dot = 0;
        for (let j = 0; j < D; j++) {
          ds[i * D + j] = a[i]! * drv[b * D + j]!;
          dot += s[i * D + j]! * drv[b * D + j]!;
        }
        da[i] = dot;
      }
    }
    const de = this.attention.backward(da);
    const dx = this.lstm.backward(this.dropout.backward(ds), inputGrad);
    return { dx, de };
  }

  /** Int16 weights for the BiLSTM's inference (see `BiLstm.quantize`). */
  quantize(): void {
    this.lstm.quantize();
  }

  /** Free kernel memory (parameters included); the layer is unusable afterwards. */
  dispose(): void {
    for (const b of Object.values(this.buf)) b.release();
    this.lstm.dispose();
    this.attention.dispose();
    this.dropout.dispose();
  }
}
