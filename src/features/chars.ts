/**
 * The char CNN (Ma & Hovy 2016) as a block of the BiLSTM input: each token's
 * characters → embeddings → convolution → max over the word (`CharCnn`).
 * Spec field `chars`: { dim, filters, window }, or null for none.
 */
import type { FeatureMaker, InputFeature } from "../nn/feature-layer.js";
import { CharCnn } from "../nn/charcnn.js";
import { charData, charsOf } from "./char-ids.js";
import { registerFeature } from "./kind.js";
import { checkObject } from "./spec.js";

declare module "./spec.js" {
  interface FeatureFields {
    /** Char CNN: char embedding size, filters (features per word), window; null turns it off. */
    chars: { dim: number; filters: number; window: number } | null;
  }
}

/** The char CNN feature (parameters `char.emb`, `char.conv.w`, `char.conv.b`). */
export const charCnn = registerFeature({
  field: "chars",
  optional: false,
  label: "CNN",
  readsChars: true,
  on: (spec) => spec.chars !== null,
  check: (spec, prefix, fail) => {
    if (spec.chars !== null) checkObject(spec.chars, { dim: "positive", filters: "positive", window: "positive" }, `${prefix}chars.`, fail);
  },
  data: (env) => charData(env.chars),
  input: (env): FeatureMaker<InputFeature> => {
    const o = env.spec.chars!;
    return {
      width: o.filters,
      draws: "first",
      build: (k, rng): InputFeature => {
        const cnn = new CharCnn(k, env.chars, rng, "char", o);
        const n = (b: { maxLen: number; size: number }): number => b.maxLen * b.size;
        return {
          width: o.filters,
          trainable: true,
          check: (batch) => void charsOf(batch, "char features"),
          forward: (batch) => cnn.forward(charsOf(batch, "char features"), n(batch), true),
          forwardInto: (batch, _pass, dst, stride, col, rows) => {
            const chars = charsOf(batch, "char features");
            cnn.forward(chars, rows === null ? n(batch) : rows.length, false, { dst, stride, col, ...(rows !== null ? { rows } : {}) });
          },
          backward: (grad) => cnn.backward(grad),
          params: () => cnn.params(),
          quantize: () => undefined,
          dispose: () => cnn.dispose(),
        };
      },
    };
  },
});
