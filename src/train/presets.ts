/**
 * Named training recipes. `seed` is the classroom exercise exactly: frozen
 * GloVe 50d, BiLSTM hidden 256, batch 32, Adam 1e-3, 10 epochs, per-token
 * log-softmax over labels + 1 outputs, plain shuffled batches.
 */
import type { Batching } from "./trainer.js";
import { LstmNerError } from "../util/errors.js";

/** A complete training recipe. */
export interface Preset {
  name: string;
  description: string;
  dataset: string;
  embeddings: string;
  trainableEmbeddings: boolean;
  hidden: number;
  bidirectional: boolean;
  batchSize: number;
  lr: number;
  epochs: number;
  batching: Batching;
  /** Extra output units beyond the labels (the exercise has one). */
  extraOutputs: number;
  patience: number;
}

export const PRESETS: Record<string, Preset> = {
  seed: {
    name: "seed",
    description: "the classroom exercise: frozen GloVe 50d, BiLSTM 256, batch 32, Adam 1e-3, 10 epochs",
    dataset: "conllpp",
    embeddings: "glove-wiki-gigaword-50",
    trainableEmbeddings: false,
    hidden: 256,
    bidirectional: true,
    batchSize: 32,
    lr: 1e-3,
    epochs: 10,
    batching: "plain",
    extraOutputs: 1,
    patience: 0,
  },
};

/** Look up a preset by name; the error lists the known ones. */
export function getPreset(name: string): Preset {
  const p = PRESETS[name];
  if (!p) throw new LstmNerError(`unknown preset ${JSON.stringify(name)} (known: ${Object.keys(PRESETS).join(", ")})`);
  return { ...p };
}
