import type { Kernels } from "../engine/kernels.js";
import { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import type { Batch } from "./batch.js";
import type { Loss, Prediction, QuantizeOptions, Tagger, TaggerSizes } from "./tagger-common.js";
import { Crf, type AllowedTransitions } from "./crf.js";
import type { FeatureTagger } from "./feature-tagger.js";
import type { TagScheme } from "../data/types.js";
import { chunks, chunksToTags, type Chunk } from "../data/schemes.js";

/** How an {@link EnsembleTagger} combines its members (see there). */
export const COMBINE_MODES = ["potentials", "vote"] as const;
/** One of {@link COMBINE_MODES}. */
export type CombineMode = (typeof COMBINE_MODES)[number];

/** What an {@link EnsembleTagger} needs besides its members. */
export interface EnsembleOptions {
  /** Default "potentials". */
  combine?: CombineMode;
  /** The output labels (id order) and their scheme: "vote" reads the members' entity spans in them. */
  labels: readonly string[];
  scheme: TagScheme;
}

/**
 * Several CRF feature taggers (the same recipe trained with different seeds,
 * or taggers of different architectures over the same input and labels)
 * predicting as one. Parameters are the members' under `m0.`, `m1.`, …; an
 * ensemble only predicts (train its members, then combine them).
 *
 * "potentials" (the default): the members' emission scores and CRF
 * potentials (transitions, start, end) are averaged and decoded by Viterbi,
 * i.e. the best path under the sum of the members' path scores (a product
 * of experts): y* = argmax_y Σ_m score_m(y). A transition that some member's
 * constraints forbid is forbidden (−∞ in that member's score, so in the sum).
 *
 * "vote": every member decodes its own Viterbi path with its own CRF; an
 * entity span (start, end, type), read the conlleval way from each path, is
 * kept when more than half of the members predict it (votes > n/2).
 * Overlapping kept spans: more votes first, then the earlier start (with a
 * strict majority two kept spans cannot overlap, since one member predicts
 * at most one of two overlapping spans; the rule only makes the order total).
 * The kept spans are written as tags of the output scheme.
 */
export class EnsembleTagger implements Tagger {
  readonly config: TaggerSizes;
  readonly combine: CombineMode;
  private readonly crf: Crf;
  private readonly named: Param[];
  private readonly labels: readonly string[];
  private readonly labelIndex: Map<string, number>;
  private readonly scheme: TagScheme;

  constructor(k: Kernels, readonly members: readonly FeatureTagger[], o: EnsembleOptions) {
    const first = members[0];
    if (first === undefined || members.length < 2) throw new LstmNerError(`an ensemble needs at least 2 members, got ${members.length}`);
    if (members.some((m) => m.crf === null)) throw new LstmNerError("an ensemble combines CRF taggers (output \"crf\")");
    if (members.some((m) => m.config.outputs !== first.config.outputs)) throw new LstmNerError("the ensemble's members have different numbers of outputs");
    this.combine = o.combine ?? "potentials";
    if (!COMBINE_MODES.includes(this.combine)) throw new LstmNerError(`combine must be ${COMBINE_MODES.join(" or ")}, got ${JSON.stringify(this.combine)}`);
    if (o.labels.length !== first.config.outputs) throw new LstmNerError(`the ensemble has ${o.labels.length} labels for ${first.config.outputs} outputs`);
    this.labels = o.labels;
    this.labelIndex = new Map(o.labels.map((l, i) => [l, i]));
    this.scheme = o.scheme;
    this.config = first.config;
    this.crf = new Crf(k, first.config.outputs, new Rng(0), "crf", { allowed: intersectAllowed(members.map((m) => m.crf!.allowed)) });
    this.named = members.flatMap((m, i) => m.params().map((p) => ({ ...p, name: `m${i}.${p.name}` })));
  }

  /** The members' parameters, named `m<i>.<name>`. */
  params(): Param[] {
    return this.named;
  }

  lossAndGrad(_batch: Batch): Loss {
    throw new LstmNerError("an ensemble is not trained: train its members and combine them");
  }

  loss(_batch: Batch): Loss {
    throw new LstmNerError("an ensemble is not trained: train its members and combine them");
  }

  predict(batch: Batch): Int32Array {
    return this.predictWithScores(batch).pred;
  }

  /**
   * "potentials": Viterbi over the mean emissions with the mean CRF potentials (no per-token probabilities: `prob` is null).
   * "vote": the span vote (see the class), with `prob` the vote share of each token's output (see {@link vote}).
   */
  predictWithScores(batch: Batch): Prediction {
    return this.combine === "vote" ? this.vote(batch) : this.meanPotentials(batch);
  }

  private meanPotentials(batch: Batch): Prediction {
    const n = this.members.length;
    let mean: Float32Array | null = null;
    for (const m of this.members) {
      const e = m.emissions(batch);
      if (mean === null) mean = e;
      else for (let i = 0; i < e.length; i++) mean[i]! += e[i]!;
    }
    for (let i = 0; i < mean!.length; i++) mean![i]! /= n;
    this.crf.params().forEach((p, j) => {
      p.value.fill(0);
      for (const m of this.members) {
        const v = m.crf!.params()[j]!.value;
        for (let i = 0; i < v.length; i++) p.value[i]! += v[i]! / n;
      }
    });
    return this.members[this.members.length - 1]!.decode(batch, mean!, this.crf);
  }

  /**
   * The span vote. `prob` is not a probability but the vote share of the
   * output at each token: inside a kept span, the fraction of members that
   * predict exactly that span (start, end and type); at an O token, the
   * fraction of members that put the token in none of their spans.
   */
  private vote(batch: Batch): Prediction {
    const n = this.members.length;
    const B = batch.size;
    // Each member's own prediction, as its own predict() gives it (−1 at pads).
    const paths = this.members.map((m) => m.decode(batch, m.emissions(batch)).pred);
    const pred = new Int32Array(batch.maxLen * B).fill(-1);
    const prob = new Float32Array(batch.maxLen * B);
    for (let b = 0; b < B; b++) {
      const len = batch.lengths[b]!;
      if (len === 0) continue;
      const votes = new Map<string, { chunk: Chunk; votes: number }>();
      const outside = new Int32Array(len).fill(n); // members leaving token t outside their spans
      for (const path of paths) {
        const tags = Array.from({ length: len }, (_, t) => this.labels[path[t * B + b]!]!);
        for (const c of chunks(tags, this.scheme)) {
          const key = `${c.start} ${c.end} ${c.type}`;
          const v = votes.get(key);
          if (v) v.votes++;
          else votes.set(key, { chunk: c, votes: 1 });
          for (let t = c.start; t < c.end; t++) outside[t]!--;
        }
      }
      const kept: { chunk: Chunk; votes: number }[] = [];
      const candidates = [...votes.values()].filter((v) => 2 * v.votes > n)
        .sort((x, y) => y.votes - x.votes || x.chunk.start - y.chunk.start || x.chunk.end - y.chunk.end || (x.chunk.type < y.chunk.type ? -1 : x.chunk.type > y.chunk.type ? 1 : 0));
      for (const v of candidates) if (kept.every((k) => v.chunk.end <= k.chunk.start || k.chunk.end <= v.chunk.start)) kept.push(v);
      kept.sort((x, y) => x.chunk.start - y.chunk.start);
      const tags = chunksToTags(kept.map((k) => k.chunk), len, this.scheme);
      for (let t = 0; t < len; t++) {
        pred[t * B + b] = this.labelIndex.get(tags[t]!)!;
        prob[t * B + b] = outside[t]! / n;
      }
      for (const k of kept) for (let t = k.chunk.start; t < k.chunk.end; t++) prob[t * B + b] = k.votes / n;
    }
    return { pred, prob };
  }

  /** Every member's BiLSTM in int16 for prediction (see `FeatureTagger.quantize`); members sharing a word table share its int8 copy. */
  quantize(o: QuantizeOptions = {}): void {
    const shared = o.shared ?? new WeakMap();
    for (const m of this.members) m.quantize({ ...o, shared });
  }

  /** Every member fills its own tagging memory (members with `docMemory`; a no-op otherwise). */
  fillMemory(batches: Iterable<Batch>): void {
    const all = [...batches];
    for (const m of this.members) m.fillMemory(all);
  }

  setTraining(on: boolean): void {
    for (const m of this.members) m.setTraining(on);
  }

  dispose(): void {
    for (const m of this.members) m.dispose();
    this.crf.dispose();
  }
}

/** Transitions every member allows (null when no member is constrained): a path one member forbids scores −∞ in the sum. */
function intersectAllowed(list: readonly (AllowedTransitions | null)[]): AllowedTransitions | null {
  const some = list.filter((a): a is AllowedTransitions => a !== null);
  if (some.length === 0) return null;
  const and = (pick: (a: AllowedTransitions) => Uint8Array): Uint8Array => {
    const out = pick(some[0]!).slice();
    for (const a of some.slice(1)) pick(a).forEach((v, i) => { out[i]! &= v; });
    return out;
  };
  return { numTags: some[0]!.numTags, transitions: and((a) => a.transitions), start: and((a) => a.start), end: and((a) => a.end) };
}
