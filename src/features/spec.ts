/**
 * The one spec of the BiLSTM-CNN-CRF model: what a preset's `feature` holds,
 * what `--set feature.<field>` edits, what `NerModel.create` takes and what
 * a model file stores as `config.tagger`, field for field. The tagger's own
 * fields are declared here; each feature file declares its own field by
 * adding it to {@link FeatureFields}:
 *
 *   declare module "./spec.js" { interface FeatureFields { casingDim: number } }
 */
import type { TagScheme } from "../data/types.js";

/** The features' fields of {@link TaggerSpec}, one (or more) per feature file in src/features/. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface FeatureFields {}

/** Settings of the BiLSTM-CNN-CRF model (see src/features/ for its features' fields). */
export interface TaggerSpec extends FeatureFields {
  /** Dropout on the BiLSTM input, the concatenated features. */
  inputDropout: number;
  /** Dropout on the BiLSTM output (and between stacked layers). */
  outputDropout: number;
  /** A linear-chain CRF or a per-token softmax over the labels. */
  output: "crf" | "softmax";
  /** Scheme the model is trained in (BIOES is the usual choice); tags are read and written in the data's scheme. */
  trainScheme: TagScheme;
  /** Forbid the CRF transitions the scheme does not allow. */
  constrained: boolean;
  /** Stacked BiLSTM layers (default 1), with dropout at `outputDropout`'s rate between them. */
  layers?: number;
}

/** What a spec's own fields may hold (the features check theirs). */
export type FieldRule = "count" | "positive" | "fraction" | "nonneg" | "rate" | "boolean" | "string" | readonly string[];

/** The tagger's own fields and their rules; `layers` may be absent. */
export const TAGGER_FIELDS: Readonly<Record<Exclude<keyof TaggerSpec, keyof FeatureFields>, FieldRule>> = {
  inputDropout: "fraction", outputDropout: "fraction", output: ["crf", "softmax"], trainScheme: ["IOB1", "IOB2", "BIOES"],
  constrained: "boolean", layers: "positive",
};

/**
 * Check one value against a rule; `fail` gets the reason with the field named.
 * Numbers must be finite; "count" and "positive" whole numbers ≥ 0 and ≥ 1, "rate" > 0.
 */
export function checkValue(v: unknown, rule: FieldRule, field: string, fail: (why: string) => Error): void {
  const got = v === undefined ? "nothing" : JSON.stringify(v);
  const bad = (what: string): never => {
    throw fail(`${field} must be ${what}, got ${got}`);
  };
  if (Array.isArray(rule)) {
    if (typeof v !== "string" || !rule.includes(v)) bad(`one of ${rule.join(", ")}`);
  } else if (rule === "boolean") {
    if (typeof v !== "boolean") bad("true or false");
  } else if (rule === "string") {
    if (typeof v !== "string") bad("a string");
  } else {
    const whole = rule === "count" || rule === "positive";
    if (typeof v !== "number" || !Number.isFinite(v)) bad(whole ? `a whole number ≥ ${rule === "count" ? 0 : 1}` : "a number");
    const n = v as number;
    if (rule === "count" && !(Number.isInteger(n) && n >= 0)) bad("a whole number ≥ 0");
    if (rule === "positive" && !(Number.isInteger(n) && n >= 1)) bad("a whole number ≥ 1");
    if (rule === "fraction" && !(n >= 0 && n < 1)) bad("a number in [0, 1)");
    if (rule === "nonneg" && !(n >= 0)) bad("a number ≥ 0");
    if (rule === "rate" && !(n > 0)) bad("a number > 0");
  }
}

/** Check an object's fields against rules (absent ones pass when listed `optional`); unknown fields are refused. */
export function checkObject(obj: unknown, rules: Readonly<Record<string, FieldRule>>, prefix: string, fail: (why: string) => Error,
  optional: readonly string[] = []): Record<string, unknown> {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw fail(`${prefix.slice(0, -1)} must be an object, got ${JSON.stringify(obj)}`);
  const rec = obj as Record<string, unknown>;
  for (const k of Object.keys(rec)) if (!Object.hasOwn(rules, k)) throw fail(`unknown field ${prefix}${k}`);
  for (const [k, rule] of Object.entries(rules)) if (rec[k] !== undefined || !optional.includes(k)) checkValue(rec[k], rule, prefix + k, fail);
  return rec;
}
