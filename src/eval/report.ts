/**
 * conlleval's text report, byte for byte, and a compact JSON summary.
 */
import type { Score } from "./conlleval.js";

/**
 * C's `printf("%.2f", x)` (which Perl's printf uses): the exact binary value
 * rounded to nearest, ties to even. `toFixed` breaks exact ties upwards, and
 * exact ties do happen for percentages (12.125 = 100 * 97 / 800).
 */
export function fixed2(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const eighths = Math.abs(x) * 8;
  // Only odd multiples of 1/8 (x.125, x.375, x.625, x.875) sit exactly halfway between two cents.
  if (Number.isInteger(eighths) && eighths % 2 === 1) {
    const cents = Math.abs(x) * 100; // exact: k + 0.5 with k < 2^53
    const lower = Math.floor(cents);
    const even = lower % 2 === 0 ? lower : lower + 1;
    const body = (even / 100).toFixed(2);
    return x < 0 ? `-${body}` : body;
  }
  return x.toFixed(2);
}

/** `%6.2f` */
function f62(x: number): string {
  return fixed2(x).padStart(6);
}

/**
 * The report conlleval prints for a score: totals, then one line per entity
 * type in sorted order whose trailing number is the count of *predicted*
 * chunks of that type. Lines end with "\n", as the script prints them.
 */
export function formatConllevalReport(score: Score): string {
  let out =
    `processed ${score.tokens} tokens with ${score.phrasesGold} phrases; ` +
    `found: ${score.phrasesPred} phrases; correct: ${score.correct}.\n`;
  // conlleval prints the totals line only when it saw tokens.
  if (score.tokens > 0) {
    out +=
      `accuracy: ${f62(score.accuracy)}%; precision: ${f62(score.precision)}%; ` +
      `recall: ${f62(score.recall)}%; FB1: ${f62(score.f1)}\n`;
  }
  const types = Object.keys(score.perType).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const type of types) {
    const t = score.perType[type]!;
    out +=
      `${type.padStart(17)}: precision: ${f62(t.precision)}%; recall: ${f62(t.recall)}%; ` +
      `FB1: ${f62(t.f1)}  ${t.pred}\n`;
  }
  return out;
}

/** Figures for one type in {@link ScoreJson}. */
export interface TypeScoreJson {
  precision: number;
  recall: number;
  f1: number;
  /** Gold chunks of this type. */
  support: number;
}

/** A score as JSON: percentages rounded to 2 decimals as conlleval prints them. */
export interface ScoreJson {
  precision: number;
  recall: number;
  f1: number;
  accuracy: number;
  tokens: number;
  per_type: Record<string, TypeScoreJson>;
}

function round2(x: number): number {
  return Number(fixed2(x));
}

/** A compact JSON-ready summary of a score (percentages rounded to 2 decimals). */
export function scoreToJson(score: Score): ScoreJson {
  // Own properties (Object.fromEntries), so a type named __proto__ stays a type.
  const perType: Record<string, TypeScoreJson> = Object.fromEntries(Object.entries(score.perType)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([type, t]) => [type, { precision: round2(t.precision), recall: round2(t.recall), f1: round2(t.f1), support: t.gold }]));
  return {
    precision: round2(score.precision),
    recall: round2(score.recall),
    f1: round2(score.f1),
    accuracy: round2(score.accuracy),
    tokens: score.tokens,
    per_type: perType,
  };
}
