import type { Kernels } from "../engine/kernels.js";
import type { Rng } from "../util/random.js";
import type { TagScheme } from "../data/types.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import { KernelBuffer, exactly, freeParam, kernelParam } from "./buffer.js";

/**
 * Which transitions, first tags and last tags a tag scheme allows, as 0/1
 * masks over K labels: `transitions[i·K+j]` is 1 when label j may follow
 * label i, `start[j]` when a sentence may begin with j, `end[i]` when it may
 * end with i.
 */
export interface AllowedTransitions {
  readonly numTags: number;
  readonly transitions: Uint8Array;
  readonly start: Uint8Array;
  readonly end: Uint8Array;
}

/** Whether every adjacent pair, the first and the last tag of `path` are allowed. */
export function isAllowedPath(allowed: AllowedTransitions, path: ArrayLike<number>): boolean {
  const n = path.length;
  if (n === 0) return true;
  if (allowed.start[path[0]!] !== 1 || allowed.end[path[n - 1]!] !== 1) return false;
  for (let t = 1; t < n; t++) if (allowed.transitions[path[t - 1]! * allowed.numTags + path[t]!] !== 1) return false;
  return true;
}

function parseLabel(label: string, scheme: TagScheme, index: number): { prefix: string; type: string } {
  if (label === "O") return { prefix: "O", type: "" };
  const prefix = label.charAt(0);
  const type = label.slice(2);
  const prefixes = scheme === "BIOES" ? "BIES" : "BI";
  if (label.charAt(1) !== "-" || type === "" || !prefixes.includes(prefix)) {
    throw new LstmNerError(`label '${label}' is not O or ${prefixes.split("").map((p) => `${p}-`).join("/")}TYPE as ${scheme} needs`, { file: `labels[${index}]` });
  }
  return { prefix, type };
}

/**
 * The transition constraints of a tag scheme over `labels` (e.g. `O B-PER I-PER ...`):
 * - IOB2: `I-X` only after `B-X` or `I-X` (so not after `O`, not after another
 *   type, and not first).
 * - IOB1: `B-X` only after `B-X` or `I-X` (it only separates two adjacent
 *   chunks of one type; so not first).
 * - BIOES: after `O`, `E-*`, `S-*` (or at the start) only `O`, `B-*`, `S-*`;
 *   after `B-X`/`I-X` only `I-X`, `E-X`; the last tag is `O`, `E-*` or `S-*`.
 * @throws LstmNerError naming a label the scheme does not have.
 */
export function allowedTransitions(labels: readonly string[], scheme: TagScheme): AllowedTransitions {
  const K = labels.length;
  if (K < 1) throw new LstmNerError("allowedTransitions: the label list is empty");
  const tags = labels.map((l, i) => parseLabel(l, scheme, i));
  const transitions = new Uint8Array(K * K);
  const start = new Uint8Array(K);
  const end = new Uint8Array(K);
  const inside = (p: string): boolean => p === "B" || p === "I"; // BIOES: a chunk is open after it
  for (let j = 0; j < K; j++) {
    const to = tags[j]!;
    if (scheme === "BIOES") {
      start[j] = to.prefix === "I" || to.prefix === "E" ? 0 : 1;
      end[j] = inside(to.prefix) ? 0 : 1;
    } else if (scheme === "IOB2") {
      start[j] = to.prefix === "I" ? 0 : 1;
      end[j] = 1;
    } else {
      start[j] = to.prefix === "B" ? 0 : 1;
      end[j] = 1;
    }
    for (let i = 0; i < K; i++) {
      const from = tags[i]!;
      const sameType = from.prefix !== "O" && from.type === to.type;
      let ok: boolean;
      if (scheme === "BIOES") {
        // A chunk is open after B/I: it must continue (I) or close (E) with its own type.
        ok = inside(from.prefix) ? sameType && (to.prefix === "I" || to.prefix === "E") : to.prefix === "O" || to.prefix === "B" || to.prefix === "S";
      } else if (scheme === "IOB2") {
        ok = to.prefix !== "I" || sameType;
      } else {
        ok = to.prefix !== "B" || sameType;
      }
      transitions[i * K + j] = ok ? 1 : 0;
    }
  }
  return { numTags: K, transitions, start, end };
}

/** Options of {@link Crf}. */
export interface CrfOptions {
  /** Forbidden transitions/starts/ends (score −∞ in training and decoding); default none. */
  allowed?: AllowedTransitions | null;
  /**
   * How the per-sentence negative log-likelihoods are combined: "mean" over the
   * sentences of the batch (default) or their "sum".
   */
  reduction?: "mean" | "sum";
}

/**
 * Linear-chain CRF over emission scores (Lafferty et al. 2001; the output
 * layer of Lample et al. 2016 and Ma & Hovy 2016). For a sentence of length L
 * with emissions e (L×K) the score of a tag path y is
 *
 *   s(y) = start[y₀] + Σ_t e[t, y_t] + Σ_{t≥1} trans[y_{t−1}, y_t] + end[y_{L−1}]
 *
 * and its NLL is log Z − s(gold), Z = Σ_y exp s(y), computed by the forward
 * algorithm in log space (log-sum-exp with the max subtracted, in float64).
 * Forbidden transitions (see {@link allowedTransitions}) score −∞: they carry
 * no probability, Viterbi never takes them, and their parameters get no gradient.
 *
 * Emissions are time-major like the rest of the engine: row t·B+b is step t
 * of sentence b; rows past a sentence's length are ignored.
 * Parameters: `${name}.transitions` (K×K, from×to), `${name}.start`, `${name}.end` (K).
 */
export class Crf {
  readonly transitions: Param;
  readonly start: Param;
  readonly end: Param;
  readonly allowed: AllowedTransitions | null;
  readonly reduction: "mean" | "sum";
  // Effective (masked) scores in float64, refreshed from the params at each forward.
  private readonly effT: Float64Array;
  private readonly effS: Float64Array;
  private readonly effE: Float64Array;
  private alpha = new Float64Array(0);
  private beta = new Float64Array(0);
  private back = new Int32Array(0);
  private readonly tmp: Float64Array;
  private readonly dEm: KernelBuffer;
  private hasGrad = false;
  private n = 0;

  constructor(private readonly k: Kernels, readonly numTags: number, rng: Rng, name = "crf", options: CrfOptions = {}) {
    if (!Number.isInteger(numTags) || numTags < 1) throw new LstmNerError(`CRF: numTags must be a positive integer, got ${numTags}`);
    const allowed = options.allowed ?? null;
    if (allowed !== null && allowed.numTags !== numTags) {
      throw new LstmNerError(`CRF: the transition constraints are for ${allowed.numTags} labels, the CRF has ${numTags}`);
    }
    this.allowed = allowed;
    this.reduction = options.reduction ?? "mean";
    const K = numTags;
    this.transitions = kernelParam(k, `${name}.transitions`, [K, K]);
    this.start = kernelParam(k, `${name}.start`, [K]);
    this.end = kernelParam(k, `${name}.end`, [K]);
    // Small random scores, as pytorch-crf does: U(−0.1, 0.1).
    for (const p of this.params()) rng.fillUniform(p.value, -0.1, 0.1);
    this.effT = new Float64Array(K * K);
    this.effS = new Float64Array(K);
    this.effE = new Float64Array(K);
    this.tmp = new Float64Array(K);
    this.dEm = new KernelBuffer(k);
  }

  /** Trainable parameters: transitions, start, end. */
  params(): Param[] {
    return [this.transitions, this.start, this.end];
  }

  /**
   * The CRF loss of a batch: per-sentence log Z − s(gold), combined by
   * `reduction` (mean over sentences by default). `emissions` is T·B×K,
   * `labels` T·B (gold ids on real positions; pads ignored). With `withGrad`
   * the gradient is computed: parameter gradients are ACCUMULATED, and
   * dL/d(emissions) is kept for {@link backward}. Returns the loss and the
   * number of real tokens it covered.
   * @throws LstmNerError for a missing or out-of-range gold label, or a gold path the constraints forbid.
   */
  forward(emissions: Float32Array, labels: Int32Array, T: number, B: number, lengths: Int32Array,
    withGrad = true): { loss: number; count: number } {
    const K = this.numTags;
    const n = T * B;
    const em = exactly(emissions, n * K, "CRF emissions");
    const lab = exactly(labels, n, "CRF labels");
    this.checkLengths(lengths, T, B);
    this.prepare(n);
    const dEm = withGrad ? this.dEm.get(n * K) : null;
    if (dEm !== null) dEm.fill(0);
    let sentences = 0;
    for (let b = 0; b < B; b++) if (lengths[b]! > 0) sentences++;
    const scale = this.reduction === "mean" && sentences > 0 ? 1 / sentences : 1;
    let total = 0;
    let count = 0;
    for (let b = 0; b < B; b++) {
      const L = lengths[b]!;
      if (L === 0) continue;
      count += L;
      for (let t = 0; t < L; t++) {
        const y = lab[t * B + b]!;
        if (!Number.isInteger(y) || y < 0 || y >= K) {
          throw new LstmNerError(`CRF labels[${t * B + b}] = ${y} (sentence ${b}, token ${t}) is outside 0..${K - 1}; a CRF needs every real token labelled`);
        }
      }
      const gold = this.goldScore(em, lab, b, B, L);
      if (gold === -Infinity) throw new LstmNerError(`CRF: the gold tags of sentence ${b} of the batch contain a transition the constraints forbid`);
      const logZ = this.forwardAlgorithm(em, b, B, L);
      total += logZ - gold;
      if (dEm !== null) this.gradients(em, lab, b, B, L, logZ, scale, dEm);
    }
    this.hasGrad = withGrad;
    this.n = n;
    return { loss: total * scale, count };
  }

  /** dL/d(emissions) of the last forward (T·B×K, zero at pads), valid until the next forward. */
  backward(): Float32Array {
    if (!this.hasGrad) throw new Error("Crf.backward needs a forward with withGrad = true");
    return this.dEm.get(this.n * this.numTags);
  }

  /**
   * log Z of each sentence (B values; 0 for empty sentences): the
   * log-partition function, exposed for tests and diagnostics.
   */
  logPartition(emissions: Float32Array, T: number, B: number, lengths: Int32Array): Float64Array {
    const em = exactly(emissions, T * B * this.numTags, "CRF emissions");
    this.checkLengths(lengths, T, B);
    this.prepare(T * B);
    const out = new Float64Array(B);
    for (let b = 0; b < B; b++) if (lengths[b]! > 0) out[b] = this.forwardAlgorithm(em, b, B, lengths[b]!);
    return out;
  }

  /**
   * Best tag path of each sentence (Viterbi), time-major T·B with −1 at pads.
   * Ties go to the lower label id. With constraints, the path is always allowed.
   */
  viterbi(emissions: Float32Array, T: number, B: number, lengths: Int32Array): Int32Array {
    const K = this.numTags;
    const n = T * B;
    const em = exactly(emissions, n * K, "CRF emissions");
    this.checkLengths(lengths, T, B);
    this.prepare(n);
    const { effT, effS, effE, alpha, back } = this;
    const out = new Int32Array(n).fill(-1);
    for (let b = 0; b < B; b++) {
      const L = lengths[b]!;
      if (L === 0) continue;
      // δ₀[j] = start[j] + e[0, j]
      const e0 = b * K;
      for (let j = 0; j < K; j++) alpha[e0 + j] = effS[j]! + em[e0 + j]!;
      // δ_t[j] = e[t, j] + max_i (δ_{t−1}[i] + trans[i, j]), remembering the argmax.
      for (let t = 1; t < L; t++) {
        const prev = ((t - 1) * B + b) * K;
        const cur = (t * B + b) * K;
        for (let j = 0; j < K; j++) {
          let best = -Infinity;
          let arg = 0;
          for (let i = 0; i < K; i++) {
            const s = alpha[prev + i]! + effT[i * K + j]!;
            if (s > best) { best = s; arg = i; }
          }
          alpha[cur + j] = best + em[cur + j]!;
          back[cur + j] = arg;
        }
      }
      const last = ((L - 1) * B + b) * K;
      let best = -Infinity;
      let y = 0;
      for (let j = 0; j < K; j++) {
        const s = alpha[last + j]! + effE[j]!;
        if (s > best) { best = s; y = j; }
      }
      for (let t = L - 1; t >= 0; t--) {
        out[t * B + b] = y;
        if (t > 0) y = back[(t * B + b) * K + y]!;
      }
    }
    return out;
  }

  /** Free kernel memory (parameters included); the layer is unusable afterwards. */
  dispose(): void {
    this.dEm.release();
    for (const p of this.params()) freeParam(this.k, p);
  }

  private checkLengths(lengths: Int32Array, T: number, B: number): void {
    if (lengths.length < B) throw new LstmNerError(`CRF lengths: expected ${B} values, got ${lengths.length}`);
    for (let b = 0; b < B; b++) {
      const len = lengths[b]!;
      if (!Number.isInteger(len) || len < 0 || len > T) throw new LstmNerError(`CRF lengths[${b}] = ${len} is outside 0..${T}`);
    }
  }

  /** Refresh the masked float64 scores and size the scratch buffers for n rows. */
  private prepare(n: number): void {
    const K = this.numTags;
    const a = this.allowed;
    const tv = this.transitions.value;
    for (let i = 0; i < K * K; i++) this.effT[i] = a === null || a.transitions[i] === 1 ? tv[i]! : -Infinity;
    for (let j = 0; j < K; j++) {
      this.effS[j] = a === null || a.start[j] === 1 ? this.start.value[j]! : -Infinity;
      this.effE[j] = a === null || a.end[j] === 1 ? this.end.value[j]! : -Infinity;
    }
    if (this.alpha.length < n * K) {
      this.alpha = new Float64Array(n * K);
      this.beta = new Float64Array(n * K);
      this.back = new Int32Array(n * K);
    }
  }

  /** s(gold) of sentence b; −∞ when the gold path is forbidden. */
  private goldScore(em: Float32Array, lab: Int32Array, b: number, B: number, L: number): number {
    const K = this.numTags;
    let y = lab[b]!;
    let s = this.effS[y]! + em[b * K + y]!;
    for (let t = 1; t < L; t++) {
      const r = t * B + b;
      const next = lab[r]!;
      s += this.effT[y * K + next]! + em[r * K + next]!;
      y = next;
    }
    return s + this.effE[y]!;
  }

  /**
   * Forward algorithm for sentence b, filling alpha:
   *   α₀[j] = start[j] + e[0, j];   α_t[j] = e[t, j] + logΣexp_i(α_{t−1}[i] + trans[i, j])
   *   log Z = logΣexp_j(α_{L−1}[j] + end[j])
   */
  private forwardAlgorithm(em: Float32Array, b: number, B: number, L: number): number {
    const K = this.numTags;
    const { effT, effS, effE, alpha, tmp } = this;
    for (let j = 0; j < K; j++) alpha[b * K + j] = effS[j]! + em[b * K + j]!;
    for (let t = 1; t < L; t++) {
      const prev = ((t - 1) * B + b) * K;
      const cur = (t * B + b) * K;
      for (let j = 0; j < K; j++) {
        for (let i = 0; i < K; i++) tmp[i] = alpha[prev + i]! + effT[i * K + j]!;
        alpha[cur + j] = em[cur + j]! + logSumExp(tmp, K);
      }
    }
    const last = ((L - 1) * B + b) * K;
    for (let j = 0; j < K; j++) tmp[j] = alpha[last + j]! + effE[j]!;
    return logSumExp(tmp, K);
  }

  /**
   * Backward algorithm and the gradients of sentence b (scaled by `scale`):
   *   β_{L−1}[i] = end[i];   β_t[i] = logΣexp_j(trans[i, j] + e[t+1, j] + β_{t+1}[j])
   *   P(y_t = j) = exp(α_t[j] + β_t[j] − log Z)
   *   P(y_{t−1} = i, y_t = j) = exp(α_{t−1}[i] + trans[i, j] + e[t, j] + β_t[j] − log Z)
   * dL/de[t, j] = P(y_t = j) − [gold_t = j]; likewise start, end and trans get
   * expected minus gold counts.
   */
  private gradients(em: Float32Array, lab: Int32Array, b: number, B: number, L: number,
    logZ: number, scale: number, dEm: Float32Array): void {
    const K = this.numTags;
    const { effT, effE, alpha, beta, tmp } = this;
    const dT = this.transitions.grad;
    const dS = this.start.grad;
    const dE = this.end.grad;
    const last = ((L - 1) * B + b) * K;
    for (let i = 0; i < K; i++) beta[last + i] = effE[i]!;
    for (let t = L - 2; t >= 0; t--) {
      const cur = (t * B + b) * K;
      const next = ((t + 1) * B + b) * K;
      for (let i = 0; i < K; i++) {
        for (let j = 0; j < K; j++) tmp[j] = effT[i * K + j]! + em[next + j]! + beta[next + j]!;
        beta[cur + i] = logSumExp(tmp, K);
      }
    }
    for (let t = 0; t < L; t++) {
      const cur = (t * B + b) * K;
      for (let j = 0; j < K; j++) {
        const p = Math.exp(alpha[cur + j]! + beta[cur + j]! - logZ);
        dEm[cur + j] = p * scale;
        if (t === 0) dS[j]! += p * scale;
        if (t === L - 1) dE[j]! += p * scale;
      }
      if (t > 0) {
        const prev = ((t - 1) * B + b) * K;
        for (let i = 0; i < K; i++) {
          const ai = alpha[prev + i]! - logZ;
          if (ai === -Infinity) continue;
          for (let j = 0; j < K; j++) {
            const tij = effT[i * K + j]!;
            if (tij === -Infinity) continue; // forbidden: no probability, no gradient
            dT[i * K + j]! += Math.exp(ai + tij + em[cur + j]! + beta[cur + j]!) * scale;
          }
        }
      }
    }
    // Minus the gold counts.
    let y = lab[b]!;
    dS[y]! -= scale;
    dEm[b * K + y]! -= scale;
    for (let t = 1; t < L; t++) {
      const r = t * B + b;
      const next = lab[r]!;
      dT[y * K + next]! -= scale;
      dEm[r * K + next]! -= scale;
      y = next;
    }
    dE[y]! -= scale;
  }
}

/** log Σ exp(x[0..n)) with the max subtracted; −∞ when every term is −∞. */
function logSumExp(x: Float64Array, n: number): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (x[i]! > m) m = x[i]!;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[i]! - m);
  return m + Math.log(s);
}
