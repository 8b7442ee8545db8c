/**
 * What `/health` says about the model. By default only what a client needs:
 * labels, the lstm-ner version that trained it and its sizes — not the
 * training recipe, which holds absolute file paths of the machine that made
 * it. The details (scheme, architecture, recipe) are for an operator who
 * asks for them (`healthDetails`).
 */
import type { NerModel } from "../model/ner.js";

/** What the tagging thread reports about its model. */
export interface ModelInfo {
  /** Entity labels, in the scheme of the data (e.g. B-PER, I-PER, …). */
  labels: string[];
  /** lstm-ner version that trained the model, when its file says. */
  version: string | null;
  sizes: { vocabulary: number; embedding: number; hidden: number; outputs: number; parameters: number };
  details: { scheme: string; arch: string; bidirectional: boolean; kernels: string; quantized: boolean; config: Record<string, unknown>; training: Record<string, unknown> };
}

/** The model's info (computed in the tagging thread, sent once to the HTTP side). */
export function modelInfo(m: NerModel, kernels: string): ModelInfo {
  const { chars: _chars, ...config } = m.config;
  const v = m.training.lstm_ner_version;
  return {
    labels: m.dataLabels,
    version: typeof v === "string" ? v : null,
    sizes: { vocabulary: m.words.length, embedding: m.config.embDim, hidden: m.config.hidden, outputs: m.config.outputs, parameters: m.parameterCount() },
    details: { scheme: m.scheme, arch: m.config.arch, bidirectional: m.config.bidirectional, kernels, quantized: m.quantized, config: { ...config }, training: m.training },
  };
}
