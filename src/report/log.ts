/**
 * The training log: one JSON object per epoch (JSON lines), as `lstm-ner
 * train --log` writes it and the HTML report reads it. No Node imports.
 */
import type { Score, TypeScore } from "../eval/conlleval.js";
import type { EpochRecord } from "../train/trainer.js";
import { LstmNerError } from "../util/errors.js";

/** Dev figures of one entity type, as the scorer gives them, with percentages rounded to 2 decimals. */
export type TypeLine = TypeScore;

/** One line of the log: the trainer's epoch record plus dev details. Percentages are rounded to 2 decimals. */
export interface EpochLine extends Omit<EpochRecord, "dev_f1_last"> {
  /** With checkpoint averaging: dev F1 of this epoch's own weights (dev_f1 is the averaged weights'). */
  dev_f1_last?: number;
  /** Per entity type on dev (absent in logs of older versions). */
  dev_per_type?: Record<string, TypeLine>;
  /** Entity-type confusion on dev, as in {@link Score.confusion}. */
  dev_confusion?: Record<string, Record<string, number>>;
}

/** Round to `digits` decimals. */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The log line of an epoch. */
export function epochLine(r: EpochRecord, dev: Score | null): EpochLine {
  const pct = (x: number | null): number | null => (x === null ? null : round(x, 2));
  const line: EpochLine = {
    epoch: r.epoch, loss: round(r.loss, 5), train_seconds: round(r.train_seconds, 2),
    train_tokens_per_s: Math.round(r.train_tokens_per_s), dev_f1: pct(r.dev_f1),
    dev_precision: pct(r.dev_precision), dev_recall: pct(r.dev_recall), best: r.best,
    ...(r.dev_f1_last != null ? { dev_f1_last: round(r.dev_f1_last, 2) } : {}),
    ...(r.lm_loss !== undefined ? { lm_loss: round(r.lm_loss, 5) } : {}),
  };
  if (dev) {
    line.dev_per_type = Object.fromEntries(Object.entries(dev.perType).map(([t, s]) => [t, {
      precision: round(s.precision, 2), recall: round(s.recall, 2), f1: round(s.f1, 2), gold: s.gold, pred: s.pred, correct: s.correct,
    }]));
    line.dev_confusion = dev.confusion;
  }
  return line;
}

/**
 * Parse a training log; `file` names it in errors.
 * @throws LstmNerError naming the file and line of a line that is not an epoch object.
 */
export function parseTrainingLog(text: string, file: string): EpochLine[] {
  const out: EpochLine[] = [];
  text.split("\n").forEach((raw, i) => {
    if (raw.trim() === "") return;
    const where = { file, line: i + 1 };
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      throw new LstmNerError("not a JSON object (is this a training log written by --log?)", where);
    }
    const o = v as Partial<EpochLine>;
    if (typeof v !== "object" || v === null || !Number.isInteger(o.epoch) || typeof o.loss !== "number" || typeof o.train_tokens_per_s !== "number") {
      throw new LstmNerError("not an epoch of a training log (needs epoch, loss and train_tokens_per_s)", where);
    }
    out.push(o as EpochLine);
  });
  if (out.length === 0) throw new LstmNerError("the training log has no epochs", { file });
  return out;
}

/** The best epoch's line: the last one marked best (the trainer keeps that epoch's weights). */
export function bestEpoch(lines: readonly EpochLine[]): EpochLine {
  return [...lines].reverse().find((l) => l.best) ?? lines[lines.length - 1]!;
}
