import type { Kernels } from "../engine/kernels.js";
import { Rng } from "../util/random.js";
import { LstmNerError } from "../util/errors.js";
import type { Param } from "./param.js";
import type { Batch } from "./batch.js";
import type { Loss, Prediction, QuantizeOptions, Tagger, TaggerSizes } from "./tagger-common.js";
import { Crf } from "./crf.js";
import type { FeatureTagger } from "./feature-tagger.js";

/**
 * Several CRF feature taggers (e.g. the same recipe trained with different
 * seeds) predicting as one: the members' emission scores and CRF potentials
 * (transitions, start, end) are averaged and decoded by Viterbi, i.e. the
 * best path under the sum of the members' path scores (a product of
 * experts). Parameters are the members' under `m0.`, `m1.`, …; an ensemble
 * only predicts (train its members, then combine them).
 */
export class EnsembleTagger implements Tagger {
  readonly config: TaggerSizes;
  private readonly crf: Crf;
  private readonly named: Param[];

  constructor(k: Kernels, readonly members: readonly FeatureTagger[]) {
    const first = members[0];
    if (first === undefined || members.length < 2) throw new LstmNerError(`an ensemble needs at least 2 members, got ${members.length}`);
    if (members.some((m) => m.crf === null)) throw new LstmNerError("an ensemble combines CRF taggers (output \"crf\")");
    this.config = first.config;
    this.crf = new Crf(k, first.config.outputs, new Rng(0), "crf", { allowed: first.crf!.allowed });
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

  /** Viterbi over the mean emissions with the mean CRF potentials (no per-token probabilities). */
  predictWithScores(batch: Batch): Prediction {
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
    // Every member scored the same batch, so any member's layout (centre spans) is the mean's.
    return this.members[this.members.length - 1]!.decode(batch, mean!, this.crf);
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
