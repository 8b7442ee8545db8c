import { promises as fs } from "node:fs";
import { cliKernels, type KernelCliOptions } from "./kernels.js";
import { readConll } from "../data/conll.js";
import { loadModel, saveModel } from "../model/file.js";
import { NerModel } from "../model/ner.js";
import { pruneModel } from "../model/prune-model.js";
import { parseStorageDType } from "../tensors/storage.js";
import type { SavedModel } from "../model/format.js";
import { evaluate } from "../eval/evaluate.js";
import { LstmNerError } from "../util/errors.js";
import { refuseOutputOverInput } from "../util/same-file.js";
import type { TextEncodingName } from "../util/decode.js";

/** Options of `lstm-ner export`. */
export interface ExportCliOptions extends KernelCliOptions {
  model: string;
  out: string;
  prune?: number;
  dtype: string;
  weights: string;
  words?: string[];
  dev?: string;
  /** Encoding of the --words and --dev CoNLL files. */
  encoding?: TextEncodingName;
}

/** Sizes as people read them. */
export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Every token of some CoNLL files (the words pruning must keep). */
export async function conllTokens(files: readonly string[], encoding: TextEncodingName = "utf8"): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) for (const s of await readConll(f, { encoding })) out.push(...s.tokens);
  return out;
}

export async function runExport(o: ExportCliOptions): Promise<void> {
  const dtype = parseStorageDType(o.dtype);
  const weights = o.weights === "f32" || o.weights === "f16" ? o.weights : null;
  if (!weights) throw new LstmNerError(`--weights must be f32 or f16, got ${JSON.stringify(o.weights)}`);
  refuseOutputOverInput(o.out, "--out", [{ file: o.model, what: "--model" }, ...(o.words ?? []).map((file) => ({ file, what: "--words" })), { file: o.dev, what: "--dev" }]);
  const kernels = await cliKernels(o);
  const before = (await fs.stat(o.model).catch(() => null))?.size;
  const saved = await loadModel(o.model);
  if (before === undefined) throw new LstmNerError("cannot read model file", { file: o.model });
  const out: string[] = [`${o.model}: ${mb(before)}, ${saved.words.length} words + ${saved.aliases?.keys.length ?? 0} keys, embedding ${saved.embeddingDtype ?? "f32"}`];
  let next: SavedModel = { ...saved, embeddingDtype: dtype, paramsDtype: weights };
  if (o.prune !== undefined) {
    if (!Number.isInteger(o.prune) || o.prune < 1) throw new LstmNerError(`--prune must be a positive number of vectors to keep, got ${o.prune}`);
    if (o.prune > saved.words.length) throw new LstmNerError(`--prune ${o.prune} is more than the model's ${saved.words.length} words`);
    const recorded = typeof saved.training.train === "string" ? saved.training.train : undefined;
    const files = o.words?.length ? o.words : recorded && (await exists(recorded)) ? [recorded] : [];
    if (files.length === 0) {
      throw new LstmNerError("--prune keeps every training word, so it needs the training data: give --words FILE (the model records no training file that exists here)");
    }
    next = { ...pruneModel(saved, o.prune, await conllTokens(files, o.encoding), kernels), embeddingDtype: dtype, paramsDtype: weights };
    out.push(`pruned: kept ${next.words.length} rows (the ${o.prune} most frequent + the words of ${files.join(", ")}); ` +
      `${next.aliases?.keys.length ?? 0} other words read their nearest kept row`);
  }
  await saveModel(o.out, next);
  const after = (await fs.stat(o.out)).size;
  out.push(`${o.out}: ${mb(after)}, embedding ${dtype}, weights ${weights} (${((100 * after) / before).toFixed(1)}% of the original)`);
  if (o.dev) {
    const f1 = async (m: SavedModel, name: string): Promise<number> => devF1(NerModel.fromSaved(m, kernels, name), o.dev!, o.encoding);
    const a = await f1(saved, o.model);
    const b = await f1(await loadModel(o.out), o.out);
    out.push(`dev F1 on ${o.dev}: ${a.toFixed(2)} → ${b.toFixed(2)} (${b - a >= 0 ? "+" : ""}${(b - a).toFixed(2)})`);
  }
  process.stdout.write(out.join("\n") + "\n");
}

async function devF1(model: NerModel, file: string, encoding: TextEncodingName = "utf8"): Promise<number> {
  return evaluate(model, await readConll(file, { labels: model.dataLabels, encoding }), model.encoder()).f1;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then((s) => s.isFile(), () => false);
}
