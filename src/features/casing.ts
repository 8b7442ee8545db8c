/**
 * The casing embedding (Reimers & Gurevych 2017) as a block of the BiLSTM
 * input: each token's casing class (numeric, all lower, initial upper, …)
 * looked up in a small trainable table (`CasingEmbedding`).
 * Spec field `casingDim`: the embedding's width, 0 for none.
 */
import { LstmNerError } from "../util/errors.js";
import type { Batch } from "../nn/batch.js";
import type { FeatureMaker, InputFeature, TokenData } from "../nn/feature-layer.js";
import { CasingEmbedding } from "../nn/casing-embedding.js";
import { registerFeature } from "./kind.js";
import { checkValue } from "./spec.js";

declare module "./spec.js" {
  interface FeatureFields {
    /** Casing embedding size; 0 turns it off. */
    casingDim: number;
  }
}

/**
 * Casing classes of Reimers & Gurevych (2017), in id order. `padding` (id 0)
 * is for pad positions and never receives a gradient.
 */
export const CASING_CLASSES: readonly string[] = [
  "padding", "numeric", "mainly_numeric", "all_lower", "all_upper", "initial_upper", "contains_digit", "other",
];

/** Id of the `padding` casing class. */
export const CASING_PAD = 0;

const isDigit = (c: string): boolean => c >= "0" && c <= "9";
const isLower = (c: string): boolean => c !== c.toUpperCase() && c === c.toLowerCase();
const isUpper = (c: string): boolean => c !== c.toLowerCase() && c === c.toUpperCase();

/**
 * The casing class id of a token, decided in this order (Reimers & Gurevych's):
 * all digits → numeric; more than half digits → mainly_numeric; all cased
 * letters lower (and at least one) → all_lower; all upper → all_upper; first
 * character upper → initial_upper; any digit → contains_digit; else other.
 * Letters are Unicode-aware (É counts as upper); digits are ASCII 0-9.
 */
export function casingId(token: string): number {
  if (token.length === 0) return 7;
  let digits = 0;
  let lower = 0;
  let upper = 0;
  let chars = 0;
  for (const c of token) {
    chars++;
    if (isDigit(c)) digits++;
    else if (isLower(c)) lower++;
    else if (isUpper(c)) upper++;
  }
  if (digits === chars) return 1;
  if (digits / chars > 0.5) return 2;
  if (lower > 0 && upper === 0) return 3;
  if (upper > 0 && lower === 0) return 4;
  const first = token.codePointAt(0)!;
  if (isUpper(String.fromCodePoint(first))) return 5;
  if (digits > 0) return 6;
  return 7;
}

/** The `casing` per-token data: a class id per token, T·B in a batch ({@link CASING_PAD} at pads). */
export const casingData: TokenData<Int32Array, Int32Array> = {
  key: "casing",
  encode: (sentences) => sentences.map((tokens) => Int32Array.from(tokens, casingId)),
  collate: (items, batch) => {
    const { size: B, maxLen: T, lengths } = batch;
    const out = new Int32Array(T * B).fill(CASING_PAD);
    items.forEach((c, b) => {
      if (c.length !== lengths[b]) throw new LstmNerError(`batch item ${b}: casing classes for ${c.length} tokens, the batch has ${lengths[b]}`);
      for (let t = 0; t < c.length; t++) out[t * B + b] = c[t]!;
    });
    return out;
  },
};

/** The batch's casing classes, checked. */
function casingOf(batch: Batch): Int32Array {
  const c = batch.inputs?.casing as Int32Array | undefined;
  if (c === undefined) throw new LstmNerError("batch.inputs.casing is missing (the model has casing features)");
  const n = batch.maxLen * batch.size;
  if (c.length !== n) throw new LstmNerError(`batch.inputs.casing has ${c.length} values, expected maxLen×size = ${n}`);
  return c;
}

/** The casing feature (parameter `casing.weight`). */
export const casing = registerFeature({
  field: "casingDim",
  optional: false,
  on: (spec) => spec.casingDim > 0,
  check: (spec, prefix, fail) => checkValue(spec.casingDim, "count", `${prefix}casingDim`, fail),
  data: () => casingData,
  input: (env): FeatureMaker<InputFeature> => {
    const dim = env.spec.casingDim;
    return {
      width: dim,
      draws: "first",
      build: (k, rng): InputFeature => {
        const table = new CasingEmbedding(k, CASING_CLASSES.length, dim, rng, "casing");
        return {
          width: dim,
          trainable: true,
          check: (batch) => void casingOf(batch),
          forward: (batch) => table.forward(casingOf(batch), batch.maxLen * batch.size),
          forwardInto: (batch, _pass, dst, stride, col, rows) =>
            table.forwardInto(casingOf(batch), rows === null ? batch.maxLen * batch.size : rows.length, dst, stride, col, rows),
          backward: (grad) => table.backward(grad),
          params: () => table.params(),
          quantize: () => undefined,
          dispose: () => table.dispose(),
        };
      },
    };
  },
});
