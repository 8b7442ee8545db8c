/** Loading a pipeline from a model file in Node (the browser uses {@link nlpFromBytes}). */
import { getKernels } from "../engine/index.js";
import type { Kernels } from "../engine/kernels.js";
import { loadNerModel } from "../model/file.js";
import { NerModel } from "../model/ner.js";
import { createNlp, type Nlp, type NlpOptions } from "./nlp.js";
import { modelPath } from "./packaged.js";

/** Options of {@link load}. */
export interface LoadOptions extends NlpOptions {
  /** Kernels to run on, or which kind to load (default "auto": WASM when it loads, else the reference kernels). */
  kernels?: Kernels | "auto" | "wasm" | "reference";
  /**
   * Tag with int16 LSTM weights and, for a model this call loads (a path or
   * bytes, not a NerModel passed in, which stays trainable and savable), an
   * int8 word embedding ({@link NerModel.quantize}): faster and smaller,
   * predictions may differ at a few tokens. Default false.
   */
  quantize?: boolean;
}

/**
 * `const nlp = await load("en")`, then `nlp(text)` → Doc.
 * Takes the name of a model that comes with the package ("en"), a model
 * file path, the bytes of one, or a model already in memory.
 * @throws LstmNerError for a missing, unreadable or invalid model file.
 */
export async function load(model: string | Uint8Array | NerModel, opts: LoadOptions = {}): Promise<Nlp> {
  const k = opts.kernels;
  const kernels = k === undefined || typeof k === "string" ? await getKernels(k ?? "auto") : k;
  const m = model instanceof NerModel ? model
    : typeof model === "string" ? await loadNerModel(modelPath(model), kernels)
      : NerModel.fromBytes(model, kernels);
  if (opts.quantize === true) m.quantize({ embedding: !(model instanceof NerModel) });
  return createNlp(m, opts);
}
