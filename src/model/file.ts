/**
 * Model files on disk (Node only). The model's file handling lives in
 * src/model/: this module reads and writes files; format.ts is the layout
 * (bytes ↔ {@link SavedModel}, also used by the browser through
 * `NerModel.fromBytes`); src/tensors/ is the container underneath.
 */
import type { Kernels } from "../engine/kernels.js";
import { LstmNerError } from "../util/errors.js";
import { writeFileAtomic } from "../util/atomic.js";
import { readAligned } from "../tensors/read-aligned.js";
import { encodeModel, parseModel, type SavedModel } from "./format.js";
import { NerModel } from "./ner.js";

/** Write a model file atomically (temporary file + rename): a crash never leaves half a model. */
export async function saveModel(file: string, model: SavedModel): Promise<void> {
  await writeFileAtomic(file, encodeModel(model));
}

/** Read and validate a model file; every problem is reported with the file name. */
export async function loadModel(file: string): Promise<SavedModel> {
  let bytes: Uint8Array;
  try {
    bytes = await readAligned(file);
  } catch (err) {
    throw new LstmNerError(`cannot read model file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file, cause: err });
  }
  return parseModel(bytes, file);
}

/** Load a model file written by {@link saveNerModel}. */
export async function loadNerModel(file: string, kernels: Kernels): Promise<NerModel> {
  return NerModel.fromSaved(await loadModel(file), kernels, file);
}

/** Write a model to one file, atomically; `training` records how it was made. */
export async function saveNerModel(file: string, model: NerModel, training: Record<string, unknown>): Promise<void> {
  await saveModel(file, model.toSaved(training));
}
