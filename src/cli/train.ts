import { cliKernels, type KernelCliOptions } from "./kernels.js";
import { appendFileSync, mkdirSync } from "node:fs";
import * as path from "node:path";
import cliProgress from "cli-progress";
import { applyOverrides, checkPreset, getPreset } from "../train/presets.js";
import { train, type EpochRecord } from "../train/trainer.js";
import { loadDataset } from "../data/datasets.js";
import { readConll } from "../data/conll.js";
import { CONLL_LABELS, type Sentence } from "../data/types.js";
import { detectScheme } from "../data/schemes.js";
import { loadVectors } from "../embeddings/registry.js";
import { architectureName, buildRecipe, trainOptions } from "../train/recipe.js";
import { saveNerModel } from "../model/file.js";
import { LstmNerError } from "../util/errors.js";
import type { TextEncodingName } from "../util/decode.js";
import { labelsFromSentences } from "./labels.js";
import { VERSION } from "../version.js";
import { epochLine, type EpochLine } from "../report/log.js";
import { writeTrainingReport } from "../report/report-node.js";

/** Options of `lstm-ner train` as commander hands them over. */
export interface TrainCliOptions extends KernelCliOptions {
  preset: string;
  dataset?: string;
  data?: string;
  train?: string;
  dev?: string;
  embeddings?: string;
  epochs?: number;
  seed: number;
  batchSize?: number;
  lr?: number;
  hidden?: number;
  unidirectional?: boolean;
  trainableEmbeddings?: boolean;
  batching?: "plain" | "bucket";
  patience?: number;
  out?: string;
  log?: string;
  encoding: TextEncodingName;
  report?: string | false;
  maxBatches?: number;
  progress: boolean;
  set: string[];
}

const say = (line: string): void => {
  process.stderr.write(line + "\n");
};

export async function runTrain(o: TrainCliOptions): Promise<void> {
  const started = performance.now();
  const preset = applyOverrides(getPreset(o.preset), o.set);
  const cfg = {
    ...preset,
    epochs: o.epochs ?? preset.epochs,
    batchSize: o.batchSize ?? preset.batchSize,
    lr: o.lr ?? preset.lr,
    hidden: o.hidden ?? preset.hidden,
    bidirectional: o.unidirectional ? false : preset.bidirectional,
    trainableEmbeddings: o.trainableEmbeddings ?? preset.trainableEmbeddings,
    batching: o.batching ?? preset.batching,
    patience: o.patience ?? preset.patience,
  };
  if (cfg.epochs < 1) throw new LstmNerError("--epochs must be at least 1");
  if (cfg.batchSize < 1) throw new LstmNerError("--batch-size must be at least 1");
  if (cfg.hidden < 1) throw new LstmNerError("--hidden must be at least 1");
  checkPreset(cfg, "recipe"); // --lr, --patience and every other field of the resolved recipe
  const out = o.out ?? path.join("models", `${preset.name}.safetensors`);
  const reportFile = o.report === false ? null : o.report ?? `${out.replace(/\.safetensors$/, "")}.report.html`;

  // Data: explicit files, or a dataset by name or folder.
  let trainSet: Sentence[];
  let devSet: Sentence[] | null = null;
  let labels: string[];
  let dataDesc: Record<string, string | null>;
  if (o.train) {
    trainSet = await readConll(o.train, { encoding: o.encoding });
    devSet = o.dev ? await readConll(o.dev, { encoding: o.encoding }) : null;
    labels = labelsFromSentences([...trainSet, ...(devSet ?? [])], CONLL_LABELS);
    dataDesc = { train: o.train, dev: o.dev ?? null };
  } else {
    if (o.dev) throw new LstmNerError("--dev needs --train (or use --dataset for both)");
    const name = o.dataset ?? preset.dataset;
    say(`loading dataset ${name}${o.data ? ` from ${o.data}` : ""} ...`);
    const ds = await loadDataset(name, { encoding: o.encoding, ...(o.data ? { dir: o.data } : {}) });
    trainSet = ds.train;
    devSet = ds.validation;
    labels = [...ds.labels];
    dataDesc = { dataset: ds.name, train: ds.files.train, dev: ds.files.validation };
  }
  say(`train: ${trainSet.length} sentences, dev: ${devSet?.length ?? 0} sentences, labels: ${labels.join(" ")}`);

  const embName = o.embeddings ?? preset.embeddings;
  say(`loading word vectors ${embName} ...`);
  const t0 = performance.now();
  const vectors = await loadVectors(embName);
  if (vectors.notice) say(`note: ${vectors.notice}`);
  say(`word vectors: ${vectors.words.length} × ${vectors.dim} from ${vectors.source} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  const kernels = await cliKernels(o);
  const { model, optimizer } = buildRecipe(kernels, cfg, {
    vectors, labels, scheme: detectScheme(trainSet.map((s) => s.tags)), trainTokens: trainSet.map((s) => s.tokens), seed: o.seed,
  });
  say(`model: ${architectureName(cfg)} hidden ${cfg.hidden}, ${model.parameterCount()} trainable parameters, kernels: ${kernels.name}`);
  // Everything needed to repeat the run: the resolved recipe, the seed, the data and vectors used.
  const training = {
    preset: preset.name, recipe: cfg, overrides: o.set, seed: o.seed, kernels: kernels.name,
    lstm_ner_version: VERSION, embeddings: vectors.source, ...dataDesc,
  };

  if (o.log) {
    mkdirSync(path.dirname(path.resolve(o.log)), { recursive: true });
    appendFileSync(o.log, ""); // fail early if the log cannot be written
  }
  const bar = o.progress && process.stderr.isTTY
    ? new cliProgress.SingleBar({
      format: "epoch {epoch}/{epochs} |{bar}| {value}/{total} batches | loss {loss} | {tps} tok/s | ETA {eta_formatted}",
      stream: process.stderr, hideCursor: true, etaBuffer: 50,
    }, cliProgress.Presets.shades_classic)
    : null;
  let barEpoch = 0;
  const lines: EpochLine[] = [];
  const result = await train(model, optimizer, trainSet, devSet, model.encoder(), {
    ...trainOptions(cfg, o.seed),
    ...(o.maxBatches ? { maxBatches: o.maxBatches } : {}),
    onBatch: (p) => {
      if (!bar) return;
      const payload = { epoch: p.epoch, epochs: cfg.epochs, loss: p.loss.toFixed(4), tps: Math.round(p.tokensPerSecond) };
      if (barEpoch !== p.epoch) {
        barEpoch = p.epoch;
        bar.start(p.batches, p.batch, payload);
      } else {
        bar.update(p.batch, payload);
      }
    },
    onEpoch: async (r: EpochRecord, dev) => {
      bar?.stop();
      const line = epochLine(r, dev);
      lines.push(line);
      if (o.log) appendFileSync(o.log, JSON.stringify(line) + "\n");
      if (reportFile) await writeTrainingReport(lines, reportFile, path.basename(out));
      say(`epoch ${r.epoch}: loss ${line.loss}, ${line.train_tokens_per_s} tokens/s, ${line.train_seconds} s` +
        (r.dev_f1 === null ? "" : `, dev F1 ${line.dev_f1}`) + (line.dev_f1_last === undefined ? "" : ` averaged (${line.dev_f1_last} alone)`) + (r.best ? " (best so far: saved)" : ""));
      if (r.best) await saveNerModel(out, model, { ...training, best_epoch: r.epoch, dev_f1: line.dev_f1 });
    },
  });
  say(`done: best epoch ${result.bestEpoch}` + (result.bestDevF1 === null ? "" : `, dev F1 ${result.bestDevF1.toFixed(2)}`) + `; model written to ${out}` +
    (reportFile ? `; report: ${reportFile}` : "") + `; ${((performance.now() - started) / 60000).toFixed(1)} min in all`);
}

