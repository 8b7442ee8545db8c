import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { LstmNerError } from "../util/errors.js";

/**
 * SHA-256 of a file's bytes (hex), streamed. Workers compare the model's
 * with the one recorded on the queue, so all results come from one model.
 * @throws LstmNerError naming the file when it cannot be read.
 */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch (err) {
    throw new LstmNerError(`cannot read model file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file, cause: err });
  }
  return hash.digest("hex");
}
