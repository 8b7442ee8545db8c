import { cliKernels, type KernelCliOptions } from "./kernels.js";
import { accessSync, appendFileSync, constants, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import { applyOverrides, checkPreset, getPreset } from "../train/presets.js";
import { train, type EpochRecord } from "../train/trainer.js";
import { loadCheckpoint, saveCheckpoint, type Checkpoint } from "../train/checkpoint.js";
import { acquireLock, type FileLock } from "../util/lock.js";
import { crc32c, crcHex } from "../util/crc32c.js";
import { describeFsError, removeStaleTemps, writeFileAtomic } from "../util/atomic.js";
import { labelsFound, loadDataset } from "../data/datasets.js";
import { formatOf, readGold, type DataFormat } from "./data-files.js";
import { CONLL_LABELS, type Sentence } from "../data/types.js";
import { detectScheme } from "../data/schemes.js";
import { loadVectors } from "../embeddings/registry.js";
import { architectureName, buildRecipe, trainOptions } from "../train/recipe.js";
import { saveNerModel } from "../model/file.js";
import { LstmNerError } from "../util/errors.js";
import { refuseOutputOverInput, type NamedInput } from "../util/same-file.js";
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
  /** Format of --train and --dev (default: by name). */
  inputFormat?: DataFormat;
  skipBadSpans?: boolean;
  report?: string | false;
  maxBatches?: number;
  progress: boolean;
  set: string[];
  /** Continue the run whose checkpoint is beside --out. */
  resume?: boolean;
  /** Replace an existing --out (and its checkpoint) from another run. */
  overwrite?: boolean;
}

/** Options that describe the run itself: stored in the checkpoint and taken from it by --resume. */
const RUN_OPTIONS = ["preset", "dataset", "data", "train", "dev", "embeddings", "epochs", "seed", "batchSize", "lr", "hidden",
  "unidirectional", "trainableEmbeddings", "batching", "patience", "maxBatches", "set", "encoding", "inputFormat", "skipBadSpans"] as const;
type RunOptions = Pick<TrainCliOptions, typeof RUN_OPTIONS[number]>;

/** Largest --hidden: 4 × 4096 × (4096 + inputs) float32 weights per direction is already over half a GB. */
const MAX_HIDDEN = 4096;

/** The checkpoint file of a run writing `out`. */
export const checkpointFile = (out: string): string => `${out}.checkpoint`;

const say = (line: string): void => {
  process.stderr.write(line + "\n");
};

/** The HTML report a run writes (null with --no-report). */
const reportFileOf = (o: Pick<TrainCliOptions, "report">, out: string): string | null =>
  o.report === false ? null : o.report ?? `${out.replace(/\.safetensors$/, "")}.report.html`;

/**
 * No output may replace an input or another file the run writes: --report dev.txt would overwrite the dev set, and
 * --log m.safetensors.checkpoint would be deleted with the checkpoint when the run ends.
 */
function refuseOutputsOverInputs(o: TrainCliOptions, out: string): void {
  const inputs: NamedInput[] = [{ file: o.train, what: "--train" }, { file: o.dev, what: "--dev" }, { file: o.embeddings, what: "--embeddings" }];
  const runFiles: NamedInput[] = [{ file: out, what: "--out" }, { file: checkpointFile(out), what: "checkpoint" }, { file: `${out}.lock`, what: "lock" }];
  const report = reportFileOf(o, out);
  refuseOutputOverInput(out, "--out", inputs);
  if (o.log) refuseOutputOverInput(o.log, "--log", [...inputs, ...runFiles, { file: report, what: "--report" }]);
  if (report !== null) refuseOutputOverInput(report, "--report", [...inputs, ...runFiles]);
}

export async function runTrain(opts: TrainCliOptions, cmd?: Command): Promise<void> {
  const started = performance.now();
  const out = path.resolve(opts.out ?? path.join("models", `${opts.preset}.safetensors`));
  const ckptFile = checkpointFile(out);
  // Outputs first: a bad --out must fail before minutes of loading, and never race another run.
  refuseOutputsOverInputs(opts, out);
  checkOutputs(out, opts.log);
  const lock = acquireLock(`${out}.lock`, `--out ${out}`);
  const release = (): void => lock.release();
  process.once("exit", release);
  try {
    await trainLocked(opts, cmd, out, ckptFile, lock, started);
  } finally {
    release();
    process.off("exit", release);
  }
}

/** --out must be a file name in a folder that can be written; so must --log. */
function checkOutputs(out: string, log: string | undefined): void {
  for (const [file, option] of [[out, "--out"], ...(log ? [[path.resolve(log), "--log"]] : [])] as [string, string][]) {
    let isDir = false;
    try {
      isDir = statSync(file).isDirectory();
    } catch {
      // does not exist yet: fine
    }
    if (isDir) throw new LstmNerError(`${option} ${file} is a directory; give a file name`);
    try {
      mkdirSync(path.dirname(file), { recursive: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === "EEXIST" || code === "ENOTDIR" ? "part of the path is a file, not a folder" : describeFsError(err);
      throw new LstmNerError(`${option}: cannot create its folder (${why})`, { file: path.dirname(file), cause: err });
    }
    try {
      accessSync(path.dirname(file), constants.W_OK);
    } catch (err) {
      throw new LstmNerError(`${option}: cannot write in this folder (${describeFsError(err)})`, { file: path.dirname(file), cause: err });
    }
  }
  if (log && existsSync(log)) {
    try {
      accessSync(log, constants.W_OK); // fail early if the log cannot be written (a new one is created at the first epoch)
    } catch (err) {
      throw new LstmNerError(`--log: cannot write (${describeFsError(err)})`, { file: log, cause: err });
    }
  }
}

/** Remove the temporaries a killed run left beside `files`, and say so. */
async function removeTempsOf(files: readonly string[]): Promise<void> {
  const stale = (await Promise.all(files.map((f) => removeStaleTemps(f)))).flat();
  if (stale.length) say(`removed ${stale.length} temporary file${stale.length === 1 ? "" : "s"} left by an interrupted run: ${stale.map((f) => path.basename(f)).join(", ")}`);
}

async function trainLocked(opts: TrainCliOptions, cmd: Command | undefined, out: string, ckptFile: string, lock: FileLock, started: number): Promise<void> {
  let resume: Checkpoint | null = null;
  let o = opts;
  if (opts.resume) {
    if (!existsSync(ckptFile)) throw new LstmNerError(`--resume: no checkpoint to continue (the run finished, or never completed an epoch)`, { file: ckptFile });
    resume = await loadCheckpoint(ckptFile);
    const given = RUN_OPTIONS.filter((k) => cmd?.getOptionValueSource(k) === "cli");
    if (given.length) {
      throw new LstmNerError(`--resume continues the run with its own settings; drop ${given.map((k) => "--" + k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())).join(", ")}`);
    }
    // Without --log, the run keeps writing the log it was started with.
    const log = opts.log ?? (typeof resume.run.log === "string" ? resume.run.log : undefined);
    o = { ...opts, ...(resume.run.cli as RunOptions), ...(log !== undefined ? { log } : {}) };
    if (opts.log === undefined && log !== undefined) {
      refuseOutputsOverInputs(o, out);
      checkOutputs(out, log);
    }
    say(`resuming from ${ckptFile}: epoch ${resume.state.epoch}` + (resume.state.batch ? `, batch ${resume.state.batch + 1}` : "") +
      ` (${resume.state.records.length} epoch${resume.state.records.length === 1 ? "" : "s"} done)`);
  } else if (!opts.overwrite) {
    if (existsSync(ckptFile)) throw new LstmNerError(`--out has a checkpoint of an unfinished run: continue it with --resume, or start over with --overwrite`, { file: ckptFile });
    if (existsSync(out)) throw new LstmNerError(`--out exists (from another run): pass --overwrite to replace it, or choose another --out`, { file: out });
    if (opts.log && existsSync(opts.log) && statSync(opts.log).size > 0) {
      throw new LstmNerError(`--log exists (from another run): pass --overwrite to replace it, or choose another --log`, { file: opts.log });
    }
  } else if (existsSync(ckptFile)) {
    // Starting over: a later --resume must not continue the discarded run.
    rmSync(ckptFile, { force: true });
    say(`--overwrite: discarded the checkpoint of an unfinished run (${ckptFile})`);
  }
  const runCli: RunOptions = Object.fromEntries(RUN_OPTIONS.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as RunOptions;
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
  // Name where a bad value came from: the option, or the --set that put it in the recipe.
  const from = (flag: string, field: "epochs" | "batchSize" | "hidden"): string => (o[field] !== undefined ? flag : `--set ${field}`);
  if (cfg.epochs < 1) throw new LstmNerError(`${from("--epochs", "epochs")} must be at least 1`);
  if (cfg.batchSize < 1) throw new LstmNerError(`${from("--batch-size", "batchSize")} must be at least 1`);
  if (cfg.hidden < 1) throw new LstmNerError(`${from("--hidden", "hidden")} must be at least 1`);
  // Far above any useful size; larger ones died allocating the weights with an internal error.
  if (cfg.hidden > MAX_HIDDEN) throw new LstmNerError(`${from("--hidden", "hidden")} must be at most ${MAX_HIDDEN}, got ${cfg.hidden}`);
  // The generator takes 32 bits (seed >>> 0): --seed -1 or 4294967296 would silently repeat another seed's run.
  if (!(o.seed >= 0 && o.seed <= 0xffffffff)) throw new LstmNerError(`--seed must be a whole number from 0 to 4294967295, got ${o.seed}`);
  checkPreset(cfg, "recipe"); // --lr, --patience and every other field of the resolved recipe
  const reportFile = reportFileOf(o, out);
  // A kill can land while any of these is being replaced.
  await removeTempsOf([out, ckptFile, ...(reportFile ? [reportFile] : []), ...(o.log ? [o.log] : [])]);

  // Data: explicit files, or a dataset by name or folder.
  let trainSet: Sentence[];
  let devSet: Sentence[] | null = null;
  let labels: string[];
  let dataDesc: Record<string, string | null>;
  if (o.train) {
    const gold = { encoding: o.encoding, skipBadSpans: o.skipBadSpans === true, ...(o.inputFormat ? { format: o.inputFormat } : {}) };
    trainSet = await readGold(o.train, gold);
    // A JSON-lines dev file may name only the types the training data has (a CoNLL one is read as before).
    devSet = o.dev ? await readGold(o.dev, { ...gold, ...(formatOf(o.dev, o.inputFormat) === "jsonl" ? { labels: labelsFound(trainSet) } : {}) }) : null;
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
  // A resumed run keeps the first process's record, so its model file is the same byte for byte.
  const training = resume ? resume.run.training as Record<string, unknown> : {
    preset: preset.name, recipe: cfg, overrides: o.set, seed: o.seed, kernels: kernels.name,
    lstm_ner_version: VERSION, embeddings: vectors.source, ...dataDesc,
  };
  if (resume && cfg.feature?.docMemory === true) say("note: the document memory is not kept in checkpoints: it starts empty again and refills as the sentences are trained on, so the resumed run differs slightly from an uninterrupted one");
  if (resume && training.kernels !== kernels.name) say(`note: the run started with ${String(training.kernels)} kernels and continues with ${kernels.name}; the last bits of the weights may differ from an uninterrupted run`);
  if (o.log && resume) {
    // The log holds exactly the epochs of the checkpoint (a kill may have come between a log line and its checkpoint).
    await writeFileAtomic(o.log, resume.state.records.map((r) => JSON.stringify(epochLine(r, null)) + "\n").join(""));
  }
  // A new run's log holds its own epochs only: its first epoch replaces the file (an old run's, with --overwrite),
  // so a run that fails before it leaves no empty log behind and an old one untouched.
  let logStarted = resume !== null;

  // Ctrl-C: finish the current batch, write a checkpoint, stop. A second Ctrl-C quits at once
  // (the checkpoint on disk is then the previous one: checkpoints are replaced atomically).
  let stopRequested = false;
  const onSigint = (): void => {
    if (stopRequested) {
      lock.release();
      process.exit(130);
    }
    stopRequested = true;
    bar?.stop();
    say("stopping after this batch: writing a checkpoint (Ctrl-C again quits at once) ...");
  };
  process.on("SIGINT", onSigint);
  const bar = o.progress && process.stderr.isTTY
    ? new cliProgress.SingleBar({
      format: "epoch {epoch}/{epochs} |{bar}| {value}/{total} batches | loss {loss} | {tps} tok/s | ETA {eta_formatted}",
      stream: process.stderr, hideCursor: true, etaBuffer: 50,
    }, cliProgress.Presets.shades_classic)
    : null;
  let barEpoch = 0;
  const lines: EpochLine[] = resume ? resume.state.records.map((r) => epochLine(r, null)) : [];
  // What the run reads, as checksums: a resumed run on changed data or vectors would quietly be another run.
  const inputs = {
    train: sentencesCrc(trainSet), dev: devSet ? sentencesCrc(devSet) : null,
    vectors: crcHex(crc32c(new Uint8Array(vectors.data.buffer, vectors.data.byteOffset, vectors.data.byteLength), crc32c(new TextEncoder().encode(vectors.words.join("\n"))))),
  };
  if (resume) {
    const was = resume.run.inputs as Record<string, unknown> | undefined;
    const names = { train: "training data", dev: "dev data", vectors: "word vectors" };
    const changed = (Object.keys(inputs) as (keyof typeof inputs)[]).filter((k) => was?.[k] !== inputs[k]).map((k) => names[k]);
    if (changed.length) {
      throw new LstmNerError(`--resume: the ${changed.join(" and ")} ${changed.length === 1 ? "differs" : "differ"} from what the run started with; resuming needs the same`, { file: ckptFile });
    }
  }
  const run = { cli: runCli, training, inputs, ...(o.log ? { log: path.resolve(o.log) } : {}) };
  const result = await train(model, optimizer, trainSet, devSet, model.encoder(), {
    ...trainOptions(cfg, o.seed),
    ...(o.maxBatches ? { maxBatches: o.maxBatches } : {}),
    ...(resume ? { resume: resume.state } : {}),
    shouldStop: () => stopRequested,
    onCheckpoint: async (state) => {
      await saveCheckpoint(ckptFile, { state, run });
    },
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
      // The model first: "saved" is said only once the file is in place.
      if (r.best) await saveNerModel(out, model, { ...training, best_epoch: r.epoch, dev_f1: line.dev_f1 });
      if (o.log) {
        try {
          if (logStarted) appendFileSync(o.log, JSON.stringify(line) + "\n");
          else await writeFileAtomic(o.log, JSON.stringify(line) + "\n");
          logStarted = true;
        } catch (err) {
          throw new LstmNerError(`cannot write log (${describeFsError(err)})`, { file: o.log, cause: err });
        }
      }
      if (reportFile) await writeTrainingReport(lines, reportFile, path.basename(out));
      say(`epoch ${r.epoch}: loss ${line.loss}${line.lm_loss === undefined ? "" : ` (char LM ${line.lm_loss})`}, ${line.train_tokens_per_s} tokens/s, ${line.train_seconds} s` +
        (r.dev_f1 === null ? "" : `, dev F1 ${line.dev_f1}`) + (line.dev_f1_last === undefined ? "" : ` averaged (${line.dev_f1_last} alone)`) +
        (r.best ? ` (best so far: saved to ${out})` : ""));
    },
  });
  process.off("SIGINT", onSigint);
  if (result.stopped) {
    say(`stopped: checkpoint written to ${ckptFile}; continue with: lstm-ner train --resume --out ${out}`);
    process.exitCode = 130;
    return;
  }
  // The model file from the best weights (which the checkpoint holds until now): an interrupted run may have died
  // between its checkpoint and its model, and a resumed one need not find a best epoch of its own to save.
  const bestLine = lines.find((l) => l.epoch === result.bestEpoch);
  if (!bestLine) throw new LstmNerError(`no epoch finished, so there is no model to write; the checkpoint stays`, { file: ckptFile });
  await saveNerModel(out, model, { ...training, best_epoch: bestLine.epoch, dev_f1: bestLine.dev_f1 });
  rmSync(ckptFile, { force: true }); // the run is complete and its model on disk: nothing to resume
  say(`done: best epoch ${result.bestEpoch}` + (result.bestDevF1 === null ? "" : `, dev F1 ${result.bestDevF1.toFixed(2)}`) + `; model written to ${out}` +
    (reportFile ? `; report: ${reportFile}` : "") + `; ${((performance.now() - started) / 60000).toFixed(1)} min in all`);
}

/** CRC-32C of sentences' tokens and tags, as 8 hex digits. */
function sentencesCrc(sentences: readonly Sentence[]): string {
  const enc = new TextEncoder();
  let crc = 0;
  for (const s of sentences) crc = crc32c(enc.encode(`${s.tokens.join(" ")}\t${s.tags.join(" ")}\n`), crc);
  return crcHex(crc);
}

