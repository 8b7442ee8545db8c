/** Reading and writing {@link NerModel}s as files (Node only; the browser uses {@link NerModel.fromBytes}). */
import type { Kernels } from "../engine/kernels.js";
import { NerModel } from "./ner.js";
import { loadModel, saveModel } from "./file.js";

/** Load a model file written by {@link saveNerModel}. */
export async function loadNerModel(file: string, kernels: Kernels): Promise<NerModel> {
  return NerModel.fromSaved(await loadModel(file), kernels, file);
}

/** Write a model to one file, atomically; `training` records how it was made. */
export async function saveNerModel(file: string, model: NerModel, training: Record<string, unknown>): Promise<void> {
  await saveModel(file, model.toSaved(training));
}
