import { promises as fs } from "node:fs";
import { cliKernels, type KernelCliOptions } from "./kernels.js";
import { conllTokens, mb } from "./export.js";
import { loadVectors } from "../embeddings/registry.js";
import { pruneVectors } from "../embeddings/prune.js";
import { encodeVectorTable } from "../embeddings/table.js";
import { parseStorageDType } from "../tensors/storage.js";
import { writeFileAtomic } from "../util/atomic.js";
import { LstmNerError } from "../util/errors.js";
import { refuseOutputOverInput } from "../util/same-file.js";
import type { TextEncodingName } from "../util/decode.js";

/** Options of `lstm-ner vectors prune`. */
export interface VectorsPruneCliOptions extends KernelCliOptions {
  keep: number;
  words: string[];
  dtype: string;
  out: string;
  /** Encoding of the --words CoNLL files. */
  encoding?: TextEncodingName;
}

export async function runVectorsPrune(file: string, o: VectorsPruneCliOptions): Promise<void> {
  const dtype = parseStorageDType(o.dtype);
  if (!Number.isInteger(o.keep) || o.keep < 1) throw new LstmNerError(`--keep must be a positive number of vectors, got ${o.keep}`);
  refuseOutputOverInput(o.out, "--out", [{ file, what: "vectors" }, ...o.words.map((w) => ({ file: w, what: "--words" }))]);
  const tokens = await conllTokens(o.words, o.encoding);
  const t0 = performance.now();
  const v = await loadVectors(file);
  if (o.keep > v.words.length) throw new LstmNerError(`--keep ${o.keep} is more than the ${v.words.length} vectors of ${v.source}`);
  const kernels = await cliKernels(o);
  const pruned = pruneVectors(v, o.keep, tokens, kernels);
  await writeFileAtomic(o.out, encodeVectorTable(pruned, dtype, { source: v.source, kept_most_frequent: String(o.keep) }));
  const before = (await fs.stat(v.source.split("!")[0]!)).size;
  const after = (await fs.stat(o.out)).size;
  process.stdout.write([
    `${v.source}: ${mb(before)}, ${v.words.length} × ${v.dim}`,
    `kept ${pruned.words.length} rows (the ${o.keep} most frequent${o.words.length ? ` + the words of ${o.words.join(", ")}` : ""}); ` +
      `${pruned.aliases.keys.length} other words read their nearest kept row`,
    `${o.out}: ${mb(after)}, ${dtype} (${((100 * after) / before).toFixed(1)}% of the original; ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  ].join("\n") + "\n");
}
