/**
 * The word embedding as the first block of the BiLSTM input: each token's row
 * of the word table (fine-tuned or frozen). Every model has it; its data is
 * the batch's word ids.
 */
import type { InputFeature, FeatureMaker } from "../nn/feature-layer.js";
import { Embedding } from "../nn/embedding.js";
import type { BuildEnv } from "./kind.js";

/** The word embedding feature of a model (parameter `embedding.weight` when trainable). */
export function wordEmbedding(env: BuildEnv): FeatureMaker<InputFeature> {
  const { table, rows, dim, trainable } = env.words;
  return {
    width: dim,
    draws: "first",
    build: (k): InputFeature => {
      const embedding = new Embedding(k, table, rows, dim, { trainable });
      return {
        width: dim,
        trainable,
        check: () => undefined, // the ids are checked by every tagger's batch check and by the lookup
        forward: (batch) => embedding.forward(batch.ids, batch.maxLen * batch.size),
        forwardInto: (batch, _pass, dst, stride, col, rows) =>
          embedding.forwardInto(batch.ids, rows === null ? batch.maxLen * batch.size : rows.length, dst, stride, col, rows),
        backward: (grad) => embedding.backward(grad),
        params: () => embedding.params(),
        quantize: (o) => {
          if (o.embedding === true) embedding.quantize(o.shared);
        },
        dispose: () => embedding.dispose(),
      };
    },
  };
}
