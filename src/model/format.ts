/**
 * The lstm-ner model file layout, independent of where the bytes live (this
 * module has no Node imports, so the browser build uses it as it is).
 */
import { LstmNerError } from "../util/errors.js";
import type { TagScheme } from "../data/types.js";
import { decodeSafetensors, encodeSafetensors, type Tensor } from "../tensors/safetensors.js";
import { aliasCount, decodeMatrix, decodeParam, decodeWords, encodeMatrix, encodeParam, encodeWords, storedDType, type Aliases, type StorageDType } from "../tensors/storage.js";
import { checkHeader, firstNonFinite } from "./validate.js";
import type { ModelConfig } from "./config.js";
import { upgradeConfig } from "./legacy.js";

/** Identifies lstm-ner model files inside the safetensors metadata. */
export const MODEL_FORMAT = "lstm-ner";
/**
 * Version of the layout below; bumped on any incompatible change. Version 2
 * adds F16/I8 embeddings and the pruned vocabulary's key table; files that use
 * neither are still written as version 1, so older readers keep reading them.
 */
export const MODEL_FORMAT_VERSION = 2;

/** How an ensemble combines its members' predictions (`ModelConfig.combine`, `lstm-ner ensemble --combine`). */
export { COMBINE_MODES as ENSEMBLE_COMBINE, type CombineMode as EnsembleCombine } from "../nn/ensemble-tagger.js";

/** Everything a model file holds. */
export interface SavedModel {
  config: ModelConfig;
  /** Output label names, id order (e.g. the conllpp order). */
  labels: string[];
  /** Tag scheme of `labels`, the one the model was trained in (metadata field "scheme"). */
  trainScheme: TagScheme;
  /** Vocabulary, row order of `embedding`; UNK and PAD rows follow the words. */
  words: string[];
  /** (words + 2) × embDim. */
  embedding: Float32Array;
  /** A pruned vocabulary's dropped words, each read as its nearest kept row. */
  aliases?: Aliases;
  /** How `embedding` is (to be) stored; float32 when absent. */
  embeddingDtype?: StorageDType;
  /** How the other weights are (to be) stored; float32 when absent. */
  paramsDtype?: "f32" | "f16";
  /** Trainable tensors by stable name. */
  params: Record<string, { shape: number[]; data: Float32Array }>;
  /** How the model was made (preset, hyper-parameters, seed, data, scores); free-form JSON. */
  training: Record<string, unknown>;
}

/** Serialise a model: the chunks of one safetensors file, in order. */
export function encodeModel(model: SavedModel): Uint8Array[] {
  const dtype = model.embeddingDtype ?? "f32";
  const tensors: Record<string, Tensor> = {
    ...encodeWords("vocab", model.words, model.aliases),
    ...encodeMatrix("embedding", model.embedding, model.words.length + 2, model.config.embDim, dtype),
  };
  const v2 = dtype !== "f32" || (model.paramsDtype ?? "f32") !== "f32" || aliasCount(model.aliases) > 0;
  const pd = model.paramsDtype ?? "f32";
  for (const [name, p] of Object.entries(model.params)) tensors[`param.${name}`] = encodeParam(p.shape, p.data, pd, `param.${name}`);
  const metadata = {
    format: MODEL_FORMAT,
    format_version: v2 ? "2" : "1",
    config: JSON.stringify(model.config),
    labels: JSON.stringify(model.labels),
    scheme: model.trainScheme,
    training: JSON.stringify(model.training),
  };
  return encodeSafetensors(tensors, metadata);
}

/** Parse a model file already in memory (the browser path). */
export function parseModel(buf: Uint8Array, file = "model"): SavedModel {
  const { tensors, metadata } = decodeSafetensors(buf, file);
  const bad = (why: string): LstmNerError => new LstmNerError(`not a valid lstm-ner model (${why})`, { file });
  if (metadata.format !== MODEL_FORMAT) {
    // The same container holds word vectors (embeddings/table.ts): say so when one is picked as a model.
    const hint = metadata.format === "lstm-ner-vectors" ? ": this is a word-vectors file (from lstm-ner vectors prune), not a model" : "";
    throw bad(`metadata "format" is ${JSON.stringify(metadata.format)}, expected "${MODEL_FORMAT}"${hint}`);
  }
  if (metadata.format_version !== "1" && metadata.format_version !== String(MODEL_FORMAT_VERSION)) {
    throw bad(`format version ${metadata.format_version} is not supported; this lstm-ner reads versions 1 to ${MODEL_FORMAT_VERSION}`);
  }
  const json = <T>(field: string): T => {
    try {
      return JSON.parse(metadata[field] ?? "") as T;
    } catch {
      throw bad(`metadata field "${field}" is missing or not JSON`);
    }
  };
  const scheme = metadata.scheme ?? "IOB2";
  const config = upgradeConfig(json<unknown>("config"), scheme, bad);
  const labels = json<string[]>("labels");
  const training = json<Record<string, unknown>>("training");
  checkHeader(config, labels, scheme, training, bad);
  for (const [name, t] of tensors) {
    const at = t.dtype === "F32" ? firstNonFinite(t.data as Float32Array) : -1;
    if (at >= 0) throw new LstmNerError(`damaged model file: tensor ${name} holds ${t.data[at]} at index ${at}`, { file });
  }
  const emb = decodeMatrix(tensors, "embedding", bad);
  const embAt = tensors.get("embedding.weight")?.dtype === "F32" ? -1 : firstNonFinite(emb.data);
  if (embAt >= 0) throw new LstmNerError(`damaged model file: the embedding holds ${emb.data[embAt]} at index ${embAt}`, { file });
  const { words, aliases } = decodeWords(tensors, "vocab", emb.shape[0]!, bad);
  if (emb.shape[0] !== words.length + 2 || emb.shape[1] !== config.embDim) {
    throw bad(`embedding.weight has shape [${emb.shape}], expected [${words.length + 2}, ${config.embDim}]`);
  }
  const params: SavedModel["params"] = {};
  for (const [name, t] of tensors) {
    if (!name.startsWith("param.")) continue;
    const data = decodeParam(t);
    if (!data) throw bad(`tensor ${name} must be F32 or F16`);
    // F16 weights: check the decoded values (F32 ones were checked above).
    const at = t.dtype === "F32" ? -1 : firstNonFinite(data);
    if (at >= 0) throw new LstmNerError(`damaged model file: tensor ${name} holds ${data[at]} at index ${at}`, { file });
    params[name.slice(6)] = { shape: t.shape, data };
  }
  return {
    config, labels, trainScheme: scheme as TagScheme, words, embedding: emb.data, params, training,
    ...(aliases ? { aliases } : {}), embeddingDtype: storedDType(tensors, "embedding") ?? "f32",
    paramsDtype: [...tensors].some(([n, t]) => n.startsWith("param.") && t.dtype === "F16") ? "f16" : "f32",
  };
}
