import { promises as fs } from "node:fs";
import { LstmNerError } from "../util/errors.js";
import { writeFileAtomic } from "../util/atomic.js";
import { encodeModel, parseModel, type SavedModel } from "./format.js";

/** Write a model file atomically (temporary file + rename): a crash never leaves half a model. */
export async function saveModel(file: string, model: SavedModel): Promise<void> {
  await writeFileAtomic(file, encodeModel(model));
}

/** Read and validate a model file; every problem is reported with the file name. */
export async function loadModel(file: string): Promise<SavedModel> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(file);
  } catch (err) {
    throw new LstmNerError(`cannot read model file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file, cause: err });
  }
  return parseModel(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), file);
}
