/**
 * Shared set-up of the pipeline, server and browser tests: a small model
 * trained in-process on the synthetic toy corpus (a few seconds), saved to a
 * temporary file.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { getKernels } from "../src/engine/index.js";
import type { Vectors } from "../src/embeddings/types.js";
import { parseConll } from "../src/data/conll.js";
import { CONLL_LABELS } from "../src/data/types.js";
import { NerModel } from "../src/model/ner.js";
import { saveNerModel } from "../src/model/ner-node.js";
import { train } from "../src/train/trainer.js";
import { toyConll, toyGlove } from "./toy-corpus.js";

/** The compiled CLI (dist/src/cli/main.js). */
export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/cli/main.js");

/** GloVe text → vectors, for the toy file only. */
function parseGlove(text: string): Vectors {
  const rows = text.trim().split("\n").map((l) => l.split(" "));
  const dim = rows[0]!.length - 1;
  const data = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => r.slice(1).forEach((v, j) => { data[i * dim + j] = Number(v); }));
  return { words: rows.map((r) => r[0]!), dim, data };
}

let cached: Promise<{ file: string; model: NerModel }> | undefined;

/**
 * A BiLSTM trained on the toy corpus until it tags it well, and its model
 * file. Trained once per test process.
 */
export function toyModel(): Promise<{ file: string; model: NerModel }> {
  cached ??= (async () => {
    const kernels = await getKernels("auto");
    const model = NerModel.create(kernels, {
      vectors: parseGlove(toyGlove(12, 3)), labels: CONLL_LABELS, scheme: "IOB2", hidden: 16,
      bidirectional: true, outputs: CONLL_LABELS.length + 1, trainableEmbeddings: false, seed: 7,
    });
    const trainSet = parseConll(toyConll(240, 1));
    const dev = parseConll(toyConll(60, 2));
    await train(model, model.optimizer(0.02), trainSet, dev, model.encoder(), { epochs: 6, batchSize: 8, seed: 7, batching: "plain" });
    const file = path.join(mkdtempSync(path.join(tmpdir(), "lstm-ner-pipeline-")), "toy.safetensors");
    await saveNerModel(file, model, { preset: "toy" });
    return { file, model };
  })();
  return cached;
}

/** A text the toy model tags as PER, LOC, ORG (in that order). */
export const TOY_TEXT = "John Smith lives in London and works for Microsoft.";
