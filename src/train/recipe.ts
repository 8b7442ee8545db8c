/**
 * A preset → the model and optimiser it describes, and the trainer's options:
 * the one place that maps recipe fields to architecture and training
 * settings (the CLI and every bench go through here).
 */
import type { Kernels } from "../engine/kernels.js";
import type { Vectors } from "../embeddings/types.js";
import type { TagScheme } from "../data/types.js";
import { NerModel } from "../model/ner.js";
import { createOptimizer, type Optimizer } from "./optimizer.js";
import { checkPreset, type Preset } from "./presets.js";
import type { TrainOptions } from "./trainer.js";
import { featuresOf } from "../features/check.js";

/** What a recipe is applied to: the data and the word vectors. */
export interface RecipeInputs {
  vectors: Vectors;
  /** The data's label names. */
  labels: readonly string[];
  /** The data's tag scheme. */
  scheme: TagScheme;
  /** Training sentences' tokens (the char vocabulary and `extendVocab` come from them). */
  trainTokens: readonly (readonly string[])[];
  /** Seeds the weight initialisation. */
  seed: number;
}

/** A new model and its optimiser, as a preset describes them. */
export interface Recipe {
  model: NerModel;
  optimizer: Optimizer;
}

/**
 * Build the preset's model and optimiser.
 * @throws LstmNerError for a bad preset field, or one the architecture would ignore (see `checkPreset`).
 */
export function buildRecipe(kernels: Kernels, preset: Preset, inputs: RecipeInputs): Recipe {
  const p = checkPreset(preset);
  const model = NerModel.create(kernels, {
    vectors: inputs.vectors,
    labels: inputs.labels,
    scheme: inputs.scheme,
    hidden: p.hidden,
    bidirectional: p.bidirectional,
    trainableEmbeddings: p.trainableEmbeddings,
    seed: inputs.seed,
    normalizeDigits: p.normalizeDigits,
    trainTokens: inputs.trainTokens,
    extendVocab: p.extendVocab,
    ...(p.feature ? { feature: p.feature } : { outputs: inputs.labels.length + p.extraOutputs }),
  });
  const optimizer = createOptimizer(kernels, model.params(), {
    kind: p.optimizer, lr: p.lr, momentum: p.momentum, lrDecay: p.lrDecay, clipNorm: p.clipNorm,
  });
  return { model, optimizer };
}

/** The trainer's options from a preset (`seed` drives shuffling). */
export function trainOptions(preset: Preset, seed: number): TrainOptions {
  return {
    epochs: preset.epochs, batchSize: preset.batchSize, seed, batching: preset.batching, patience: preset.patience,
    ...(preset.averageLast > 1 ? { averageLast: preset.averageLast } : {}),
  };
}

/**
 * A short name of the preset's architecture, e.g. "BiLSTM-CNN-CRF (BIOES)", "2-layer BiLSTM-CNN-CRF (BIOES) + char LM"
 * or "BiLSTM".
 */
export function architectureName(preset: Preset): string {
  const f = preset.feature;
  if (!f) return preset.bidirectional ? "BiLSTM" : "LSTM";
  const on = featuresOf(f);
  const extras = on.filter((k) => k.label !== undefined && k.label !== "CNN").map((k) => ` + ${k.label}`).join("");
  return `${(f.layers ?? 1) > 1 ? `${f.layers}-layer ` : ""}BiLSTM${on.some((k) => k.label === "CNN") ? "-CNN" : ""}-${f.output.toUpperCase()} (${f.trainScheme})${extras}`;
}
