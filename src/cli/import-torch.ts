import { cliKernels, type KernelCliOptions } from "./kernels.js";
import { loadVectors } from "../embeddings/registry.js";
import { importTorchModel, readTorchStateDict } from "../model/import-torch.js";
import { saveModel } from "../model/file.js";
import { NerModel } from "../model/ner.js";
import { checkHeader } from "../model/validate.js";
import { LstmNerError } from "../util/errors.js";
import { refuseOutputOverInput } from "../util/same-file.js";
import { VERSION } from "../version.js";

export interface ImportTorchCliOptions extends KernelCliOptions {
  vectors: string;
  out: string;
  tags?: string;
  fineTunedEmbedding?: boolean;
}

/** `lstm-ner import-torch`: the notebook's PyTorch state dict + its vectors → an lstm-ner model file. */
export async function runImportTorch(stateDict: string, o: ImportTorchCliOptions): Promise<void> {
  refuseOutputOverInput(o.out, "--out", [{ file: stateDict, what: "the state dict" }, { file: o.vectors, what: "--vectors" }]);
  const tags = o.tags?.split(",").map((t) => t.trim());
  if (tags !== undefined && (tags.length === 0 || tags.some((t) => t === ""))) throw new LstmNerError(`--tags must list the output classes' tags, comma-separated, got ${JSON.stringify(o.tags)}`);
  const state = await readTorchStateDict(stateDict);
  const vectors = await loadVectors(o.vectors);
  const saved = importTorchModel(state, vectors, {
    file: stateDict, ...(tags ? { tags } : {}), fineTunedEmbedding: o.fineTunedEmbedding === true,
    record: { embeddings: vectors.source, lstm_ner_version: VERSION },
  });
  // The checks a model file gets when it is read, before anything is written.
  checkHeader(saved.config, saved.labels, saved.trainScheme, saved.training, (why) => new LstmNerError(`the imported model is not valid (${why})`, { file: stateDict }));
  NerModel.fromSaved(saved, await cliKernels(o), stateDict);
  await saveModel(o.out, saved);
  const c = saved.config;
  process.stderr.write(`imported ${c.bidirectional ? "BiLSTM" : "LSTM"} hidden ${c.hidden}, ${c.outputs} outputs (${saved.labels.join(" ")}` +
    `${c.outputs > saved.labels.length ? ` + ${c.outputs - saved.labels.length} read as O` : ""}), ${saved.words.length} words × ${c.embDim} → ${o.out}\n`);
}
