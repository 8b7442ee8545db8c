/**
 * A character language model trained with the tagger (Liu et al. 2018) as a
 * block of the BiLSTM input (`CharLm`): its word features come from a char
 * BiLSTM over the sentence, and in training its LM losses join the tagger's
 * as an auxiliary loss. Spec field `charLM`: its settings (fields left out
 * take their defaults), null or absent for none; it reads the char vocabulary.
 */
import type { FeatureMaker, InputFeature } from "../nn/feature-layer.js";
import { CHAR_LM_DEFAULTS, CharLm, lmClassesOf, resolveCharLmConfig, type CharLmConfig } from "../nn/char-language-model.js";
import { LM_SOFTMAXES } from "../nn/lm-softmax.js";
import { charData, charsOf } from "./char-ids.js";
import { registerFeature } from "./kind.js";
import { checkObject } from "./spec.js";

declare module "./spec.js" {
  interface FeatureFields {
    /**
     * The char LM's settings (see `CharLmConfig`); fields left out take their defaults; null or absent: off. Needs
     * `chars`.
     */
    charLM?: Partial<CharLmConfig> | null;
  }
}

/** The char LM as a block of the BiLSTM input, with the layer itself (for tests and tools that look inside). */
export interface CharLmFeature extends InputFeature {
  readonly lm: CharLm;
}

/** The char LM feature (parameters `charlm.*`; its LM head `charlm.lm.*` only in training, never in a model file). */
export const charLm = registerFeature({
  field: "charLM",
  optional: true,
  label: "char LM",
  readsChars: true,
  on: (spec) => spec.charLM !== undefined && spec.charLM !== null,
  check: (spec, prefix, fail) => {
    if (spec.charLM === undefined || spec.charLM === null) return;
    if (typeof spec.charLM !== "object" || Array.isArray(spec.charLM)) throw fail(`${prefix}charLM must be an object or null, got ${JSON.stringify(spec.charLM)}`);
    checkObject(spec.charLM, { dim: "positive", hidden: "positive", lmWeight: "nonneg", vocab: "positive", dropout: "fraction", softmax: LM_SOFTMAXES },
      `${prefix}charLM.`, fail, Object.keys(CHAR_LM_DEFAULTS));
    if (spec.chars === null) throw fail(`${prefix}charLM needs ${prefix}chars (the char LM reads the char vocabulary)`);
  },
  resolve: (spec) => resolveCharLmConfig(spec.charLM!),
  data: (env) => charData(env.chars),
  input: (env): FeatureMaker<CharLmFeature> => {
    const config = resolveCharLmConfig(env.spec.charLM!);
    // Training: the LM's classes are the training words' rows of the word table (lowercased, digits
    // normalised as the tagger reads them); it then builds its LM head. Loaded for tagging: no head.
    const t = env.training;
    const classes = t === null ? null : lmClassesOf(t.rows(), env.words.rows, config.vocab, t.skip);
    return {
      width: 2 * config.hidden,
      // Built last (and its LM head last of all), so the same seed gives a model with and without the
      // head (training / loaded for tagging) the same other weights.
      draws: "last",
      build: (k, rng, dropout): CharLmFeature => {
        const lm = new CharLm(k, env.chars, config, rng, classes, dropout());
        const what = "a char language model";
        return {
          lm,
          width: lm.width,
          trainable: true,
          check: (batch) => void charsOf(batch, what),
          // The LM targets are the batch's word rows.
          forward: (batch, pass) => lm.forward(charsOf(batch, what), batch.ids, batch.maxLen, batch.size, batch.lengths,
            { dropout: pass.dropout, keep: pass.keep, lm: pass.aux }),
          forwardInto: (batch, pass, dst, stride, col, rows) => {
            const n = batch.maxLen * batch.size;
            const f = lm.forward(charsOf(batch, what), batch.ids, batch.maxLen, batch.size, batch.lengths, { dropout: pass.dropout, keep: false, lm: pass.aux });
            // Its features are computed for all T·B words; copy the rows asked for into their columns.
            const w = lm.width;
            const m = rows === null ? n : rows.length;
            for (let r = 0; r < m; r++) {
              const s = rows === null ? r : rows[r]!;
              dst.set(f.subarray(s * w, (s + 1) * w), r * stride + col);
            }
          },
          backward: (grad) => lm.backward(grad),
          auxLoss: () => (lm.lastLoss === null ? null : { weighted: lm.weightedLoss, raw: lm.lastLoss.fwd + lm.lastLoss.bwd }),
          params: () => lm.params(),
          stored: () => lm.params().filter((p) => !p.name.startsWith("charlm.lm.")),
          quantize: () => lm.quantize(),
          dispose: () => lm.dispose(),
        };
      },
    };
  },
});
