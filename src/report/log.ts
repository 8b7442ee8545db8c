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
    const bad = checkEpochFields(o as Record<string, unknown>);
    if (bad) throw new LstmNerError(bad, where);
    out.push(o as EpochLine);
  });
  if (out.length === 0) throw new LstmNerError("the training log has no epochs", { file });
  return out;
}

/** The best epoch's line: the last one marked best (the trainer keeps that epoch's weights). */
export function bestEpoch(lines: readonly EpochLine[]): EpochLine {
  return [...lines].reverse().find((l) => l.best) ?? lines[lines.length - 1]!;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;

/** What is wrong with an epoch line's optional fields (each a number where the report prints one), or null. */
function checkEpochFields(o: Record<string, unknown>): string | null {
  for (const f of ["dev_f1", "dev_precision", "dev_recall"]) {
    if (o[f] !== undefined && o[f] !== null && typeof o[f] !== "number") return `field "${f}" must be a number or null`;
  }
  for (const f of ["train_seconds", "dev_f1_last", "lm_loss"]) if (o[f] !== undefined && typeof o[f] !== "number") return `field "${f}" must be a number`;
  if (o.best !== undefined && typeof o.best !== "boolean") return `field "best" must be true or false`;
  if (o.dev_per_type !== undefined) {
    if (!isObject(o.dev_per_type)) return `field "dev_per_type" must be an object`;
    for (const [t, s] of Object.entries(o.dev_per_type)) {
      if (!isObject(s)) return `dev_per_type[${JSON.stringify(t)}] must be an object`;
      for (const f of ["precision", "recall", "f1"]) if (typeof s[f] !== "number") return `dev_per_type[${JSON.stringify(t)}].${f} must be a number`;
      for (const f of ["gold", "pred", "correct"]) if (!isCount(s[f])) return `dev_per_type[${JSON.stringify(t)}].${f} must be a whole number ≥ 0`;
    }
  }
  if (o.dev_confusion !== undefined) {
    if (!isObject(o.dev_confusion)) return `field "dev_confusion" must be an object`;
    for (const [g, row] of Object.entries(o.dev_confusion)) {
      if (!isObject(row)) return `dev_confusion[${JSON.stringify(g)}] must be an object`;
      for (const [p, n] of Object.entries(row)) if (!isCount(n)) return `dev_confusion[${JSON.stringify(g)}][${JSON.stringify(p)}] must be a whole number ≥ 0`;
    }
  }
  return null;
}
