/**
 * lstm-ner's own vectors file: a safetensors file holding a (pruned) vector
 * table — `vectors.words`, `vectors.weight` as F32, F16 or I8 (+ `vectors.scale`)
 * and the dropped words' key → row table (`vectors.keys`, `vectors.key_rows`).
 * Small enough for a web page to fetch, and read by `--embeddings` like any
 * vectors file. Uses only the container code of model files (no Node imports).
 */
import { LstmNerError } from "../util/errors.js";
import { decodeSafetensors, encodeSafetensors } from "../tensors/safetensors.js";
import { decodeMatrix, decodeWords, encodeMatrix, encodeWords, type StorageDType } from "../tensors/storage.js";
import type { Vectors } from "./types.js";

/** Identifies vector files inside the safetensors metadata. */
export const VECTORS_FORMAT = "lstm-ner-vectors";

/** True when the first bytes look like a safetensors file (an 8-byte length below 4 GiB, then a JSON object). */
export function looksLikeSafetensors(head: Uint8Array): boolean {
  return head.length >= 9 && head[4] === 0 && head[5] === 0 && head[6] === 0 && head[7] === 0 && head[8] === 0x7b;
}

/** The chunks of a vectors file; `info` is stored as metadata (e.g. where the table came from). */
export function encodeVectorTable(v: Vectors, dtype: StorageDType, info: Record<string, string> = {}): Uint8Array[] {
  return encodeSafetensors({
    ...encodeWords("vectors", v.words, v.aliases),
    ...encodeMatrix("vectors", v.data, v.words.length, v.dim, dtype),
  }, { ...info, format: VECTORS_FORMAT, format_version: "1" });
}

/** Parse a vectors file written by {@link encodeVectorTable}; `file` names it in errors. */
export function parseVectorTable(buf: Uint8Array, file: string): Vectors {
  const { tensors, metadata } = decodeSafetensors(buf, file, "vectors file");
  const bad = (why: string): LstmNerError => new LstmNerError(`not a valid lstm-ner vectors file (${why})`, { file });
  if (metadata.format !== VECTORS_FORMAT) {
    throw bad(`metadata "format" is ${JSON.stringify(metadata.format)}, expected "${VECTORS_FORMAT}"${metadata.format === "lstm-ner" ? ": this is a model file" : ""}`);
  }
  if (metadata.format_version !== "1") throw bad(`format version ${metadata.format_version} is not supported`);
  const m = decodeMatrix(tensors, "vectors", bad);
  const { words, aliases } = decodeWords(tensors, "vectors", m.shape[0]!, bad);
  if (words.length !== m.shape[0]) throw bad(`${words.length} words for ${m.shape[0]} rows`);
  if (words.length === 0) throw bad("no vectors");
  return { words, dim: m.shape[1]!, data: m.data, ...(aliases ? { aliases } : {}) };
}
