#!/usr/bin/env node
/**
 * The `lstm-ner` command: a thin shell over the library. It parses
 * arguments, prints progress and results, and turns library errors into one
 * clear line and a non-zero exit. Each command's module is imported when that
 * command runs, so a command loads only what it uses.
 */
import { Command, Option } from "commander";
import { LstmNerError } from "../util/errors.js";
import { parseStorageDType } from "../tensors/storage.js";
import { modelPath } from "../pipeline/packaged.js";
import { PRESETS } from "../train/presets.js";
import { TEXT_ENCODINGS } from "../util/decode.js";
import { VERSION } from "../version.js";
import { oneLine } from "./one-line.js";

const int = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new LstmNerError(`${name} must be an integer, got ${JSON.stringify(v)}`);
  return n;
};
const num = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new LstmNerError(`${name} must be a number, got ${JSON.stringify(v)}`);
  return n;
};

const collect = (v: string, prev: string[]): string[] => [...prev, v];
const encodingOption = (what: string): Option =>
  new Option("--encoding <enc>", `encoding of ${what}: utf8 (strict: invalid bytes are refused) or latin1`).choices(TEXT_ENCODINGS).default("utf8");

// Options several commands share.
const kernelsOption = (): Option => new Option("--kernels <kind>", "compute kernels").choices(["auto", "wasm", "reference"]).default("auto");
const threadsOption = (): Option => new Option("--threads <n>", "compute threads (1 or 2; default: 2 where the machine has two cores)").argParser(int("--threads"));
const QUANTIZE_HELP = "tag with int16 LSTM weights and an int8 word embedding (faster, less memory; predictions may differ at a few tokens)";
const RELAXED_HELP = "use the relaxed-SIMD kernels (fused multiply-add) where the runtime has them";

// Gold data: CoNLL columns or annotated JSON lines (text with character spans).
const dataFormatOption = (): Option => new Option("--input-format <fmt>", "gold data format: conll (token ... tag columns) or jsonl (text with character spans, as spaCy, Prodigy, doccano or Label Studio export; see docs/cli.md) (default: jsonl for *.jsonl[.gz], else conll)").choices(["conll", "jsonl"]);
const SKIP_BAD_SPANS_HELP = "JSON lines: leave out (and count) the records with a span off token boundaries, overlapping another or of an unknown type, instead of stopping at the first";

const MODEL_HELP = "model file, or en (the English model that comes with lstm-ner)";

const program = new Command();
// A usage error (unknown option, bad choice, missing argument) is one line like every other error, not the whole help.
program.name("lstm-ner").description("Train and run neural named-entity recognisers (BiLSTM) on CoNLL data with GloVe vectors.")
  .version(VERSION, "-V, --version", "print the version")
  .configureOutput({ outputError: (str, write) => write(`lstm-ner: ${str.trim().replace(/\s*\n\s*/g, " ")} (see --help)\n`) });

program.command("train").description("train a model and keep the best epoch on dev")
  .addOption(new Option("--preset <name>", "training recipe").choices(Object.keys(PRESETS)).default("seed"))
  .option("--dataset <name|dir>", "dataset name (conllpp) or a folder with *train*/*dev* files (default: the preset's)")
  .option("--data <dir>", "local folder holding the dataset files (no download)")
  .option("--train <file>", "training file, CoNLL or JSON lines (instead of a dataset)")
  .option("--dev <file>", "development file, CoNLL or JSON lines, evaluated after every epoch")
  .addOption(dataFormatOption())
  .option("--skip-bad-spans", SKIP_BAD_SPANS_HELP)
  .option("--embeddings <path|name>", "word vectors: a file, or a name such as glove-wiki-gigaword-50 (default: the preset's)")
  .option("--epochs <n>", "epochs", int("--epochs"))
  .option("--seed <n>", "random seed (shuffling and initialisation)", int("--seed"), 1)
  .option("--batch-size <n>", "sentences per batch", int("--batch-size"))
  .option("--lr <x>", "learning rate", num("--lr"))
  .option("--hidden <n>", "LSTM hidden size per direction", int("--hidden"))
  .option("--unidirectional", "forward LSTM only")
  .option("--trainable-embeddings", "fine-tune the word vectors")
  .addOption(new Option("--batching <kind>", "plain shuffled batches or length buckets").choices(["plain", "bucket"]))
  .option("--patience <n>", "stop after n epochs without a dev improvement (0 = never)", int("--patience"))
  .option("--set <key=value>", "override any preset field, e.g. --set optimizer=adam --set feature.inputDropout=0.3 (repeatable)", collect, [])
  .option("--out <file>", "model file to write (the best epoch; rewritten whenever dev improves)")
  .option("--log <file>", "JSON-lines log, one object per epoch (a new run starts it afresh; an existing one needs --overwrite)")
  .addOption(encodingOption("the CoNLL files"))
  .option("--report <file>", "HTML training report, rewritten after every epoch (default: the model file's name with .report.html)")
  .option("--no-report", "no HTML report")
  .option("--resume", "continue the interrupted run writing --out from its checkpoint (<out>.checkpoint), with its own settings")
  .option("--overwrite", "replace an existing --out (and its checkpoint) from another run")
  .addOption(kernelsOption()).addOption(threadsOption())
  .option("--relaxed-simd", "use the relaxed-SIMD kernels (fused multiply-add) where the runtime has them; results differ from the default kernels in the last bits")
  .addOption(new Option("--max-batches <n>", "stop each epoch after n batches (smoke runs)").argParser(int("--max-batches")).hideHelp())
  .option("--no-progress", "no progress bar")
  .action(async (o, cmd) => (await import("./train.js")).runTrain(o, cmd));

program.command("evaluate").description("score a model on a gold CoNLL or JSON-lines file (conlleval rules)")
  .requiredOption("--model <file|name>", MODEL_HELP)
  .requiredOption("--data <file>", "gold file: CoNLL, or JSON lines with character spans")
  .addOption(dataFormatOption())
  .option("--skip-bad-spans", SKIP_BAD_SPANS_HELP)
  .option("--json", "print one JSON object instead of the conlleval table")
  .addOption(encodingOption("the CoNLL file"))
  .addOption(kernelsOption()).addOption(threadsOption())
  .option("--quantize", QUANTIZE_HELP).option("--relaxed-simd", RELAXED_HELP)
  .action(async (o) => (await import("./evaluate.js")).runEvaluate(o));

program.command("convert").description("convert gold data between CoNLL and JSON lines with character spans (either way, or a JSON-lines export to spaCy's shape)")
  .argument("<input>", "CoNLL or JSON-lines file (.gz too)")
  .requiredOption("--out <file>", "file to write (*.jsonl[.gz]: JSON lines, else CoNLL; *.gz is gzipped)")
  .addOption(new Option("--from <fmt>", "input format (default: jsonl for *.jsonl[.gz], else conll)").choices(["conll", "jsonl"]))
  .addOption(new Option("--to <fmt>", "output format (default: by --out's name)").choices(["conll", "jsonl"]))
  .option("--skip-bad-spans", SKIP_BAD_SPANS_HELP)
  .addOption(encodingOption("the input"))
  .action(async (input, o) => (await import("./convert.js")).runConvert(input, o));

program.command("import-torch").description("turn the classroom notebook's PyTorch model (a state dict from torch.save, or safetensors) and its word vectors into an lstm-ner model file")
  .argument("<state-dict>", "torch.save(model.state_dict(), path) file (its pickle is read, never run), or a safetensors file of the same tensors")
  .requiredOption("--vectors <path|name>", "the word vectors the model's embedding was built from (GloVe text, …): its vocabulary, in file order")
  .requiredOption("--out <file>", "model file to write")
  .option("--tags <list>", "the output classes' tags in order, comma-separated (default: the notebook's O,B-PER,I-PER,B-ORG,I-ORG,B-LOC,I-LOC,B-MISC,I-MISC; an extra output reads as O)")
  .option("--fine-tuned-embedding", "the embedding was trained (--trainable): take its rows without comparing them to the vectors")
  .addOption(kernelsOption())
  .action(async (file, o) => (await import("./import-torch.js")).runImportTorch(file, o));

program.command("predict").description("tag texts (arguments, a file or stdin) or CoNLL input; streams any size")
  .requiredOption("--model <file|name>", MODEL_HELP)
  .option("--input <file>", "input file ('-' or omitted: standard input)")
  .addOption(new Option("--input-format <fmt>", "text: one text per line; conll: one token per line (first column); jsonl: one {\"id\":…,\"text\":…} per line (default: jsonl for *.jsonl[.gz], else text)").choices(["conll", "text", "jsonl"]))
  .option("--text-field <name>", "JSON-lines input: the field holding the text", "text")
  .addOption(new Option("--format <fmt>", "output: conll (token tag), jsonl (one Doc JSON per text), html (displaCy-style page)").choices(["conll", "jsonl", "html"]).default("conll"))
  .option("--output <file>", "output file (default: standard output); written to a temporary file and renamed on success; *.gz is gzipped (so is *.gz input)")
  .option("--workers <n>", "worker threads tagging in parallel, output kept in input order (default: the number of cores, fewer if free memory cannot hold one more worker)", int("--workers"))
  .option("--no-progress", "no progress bar (there is none anyway when standard error is not a terminal)")
  .addOption(encodingOption("the input"))
  .addOption(kernelsOption())
  .addOption(new Option("--threads <n>", "compute threads per worker (1 or 2; default: the cores shared out among the workers, at most 2)").argParser(int("--threads")))
  .option("--quantize", QUANTIZE_HELP).option("--relaxed-simd", RELAXED_HELP)
  .argument("[text...]", "texts to tag (instead of --input)")
  .action(async (texts, o) => (await import("./predict.js")).runPredict(texts, o));

program.command("serve").description("serve a model over HTTP: POST /ner, GET /health, and a web page at /")
  .option("--model <file|name>", MODEL_HELP, "en")
  .option("--port <n>", "TCP port (0: any free port)", int("--port"), 8080)
  .option("--host <addr>", "address to listen on", "127.0.0.1")
  .option("--max-body <bytes>", "largest request body; larger ones get 413", int("--max-body"), 1 << 20)
  .option("--timeout <s>", "seconds to receive a whole request; slower ones get 408", num("--timeout"), 30)
  .option("--max-tokens <n>", "most tokens per request (all its texts); more get 413", int("--max-tokens"), 20_000)
  .option("--batch-tokens <n>", "most tokens per network pass (bigger requests are cut, others served in between)", int("--batch-tokens"), 2048)
  .option("--queue <n>", "most requests being tagged or waiting; more get 503 with Retry-After", int("--queue"), 32)
  .option("--max-connections <n>", "most open connections", int("--max-connections"), 256)
  .option("--max-connections-per-client <n>", "most open connections from one client address; more get 429", int("--max-connections-per-client"), 16)
  .option("--drain-timeout <s>", "on SIGTERM or Ctrl-C, seconds to finish the requests in progress before stopping", num("--drain-timeout"), 20)
  .option("--allow-host <name>", "another name the Host header may give, e.g. behind a proxy (repeatable; DNS-rebinding guard)", collect, [])
  .option("--health-details", "GET /health also shows the model's recipe and file path, the limits and queue counters")
  .addOption(kernelsOption()).addOption(threadsOption())
  .option("--quantize", QUANTIZE_HELP)
  .action(async (o) => (await import("./serve.js")).runServe(o));

const redisOptions = (c: Command): Command => c
  .requiredOption("--redis <url>", "Redis URL, e.g. redis://127.0.0.1:6379")
  .requiredOption("--queue <name>", "queue name")
  .option("--connect-timeout <s>", "seconds to keep retrying the first connection to Redis", num("--connect-timeout"), 10);

redisOptions(program.command("worker").description("tag documents from a BullMQ queue on Redis (run any number, on any machines)"))
  .requiredOption("--model <file|name>", `${MODEL_HELP}; every worker of a queue must use the same one (checked by SHA-256)`)
  .option("--concurrency <k>", "jobs tagged at once, each on its own thread", int("--concurrency"), 1)
  .option("--max-tokens <n>", "documents with more tokens fail their job", int("--max-tokens"), 100_000)
  .option("--lock-duration <ms>", "a dead worker's jobs are taken again after about this long", int("--lock-duration"), 30_000)
  .addOption(kernelsOption())
  .addOption(new Option("--log-jobs", "print 'start <job>' and 'done <job>' lines").hideHelp())
  .action(async (o) => (await import("./queue.js")).runWorker(o));

redisOptions(program.command("enqueue").description("push a JSON-lines corpus ({\"id\":…,\"text\":…} per line; .gz too) onto a queue"))
  .argument("<input>", "JSON-lines file ('-': standard input)")
  .option("--batch <n>", "documents per job", int("--batch"), 64)
  .option("--text-field <name>", "the field holding the text", "text")
  .option("--resume", "finish the queue's enqueue that was killed or stopped by an error (give the same input)")
  .action(async (input, o) => (await import("./queue.js")).runEnqueue(input, o));

redisOptions(program.command("collect").description("wait for a queue's jobs and write their results as JSON lines, in enqueue order, each document once (exit 1 unless every enqueued document is there)"))
  .option("--out <file>", "output file (default: standard output); *.gz is gzipped")
  .option("--no-wait", "collect what is done now instead of waiting for every job")
  .action(async (o) => (await import("./queue.js")).runCollect(o));
program.command("report").description("render a training log (train --log) as a self-contained HTML report with curves and dev tables")
  .argument("<log>", "JSON-lines training log")
  .requiredOption("--out <file>", "HTML file to write")
  .action(async (log, o) => (await import("./report.js")).runReport(log, o));

program.command("export").description("write a smaller copy of a model: pruned vocabulary, float16 or int8 embedding")
  .requiredOption("--model <file|name>", MODEL_HELP)
  .requiredOption("--out <file>", "model file to write")
  .option("--prune <n>", "keep the n most frequent vectors plus every training word; other words read their nearest kept vector", int("--prune"))
  .option("--dtype <type>", "storage type of the embedding: f32, f16 or i8", (v: string) => parseStorageDType(v), "f32")
  .option("--weights <type>", "storage type of the other weights: f32 or f16", "f32")
  .option("--words <conll...>", "training data whose words --prune keeps (default: the training file the model records)")
  .option("--dev <file>", "gold CoNLL file: print dev F1 before and after")
  .addOption(encodingOption("the --words and --dev CoNLL files"))
  .addOption(kernelsOption()).addOption(threadsOption())
  .action(async (o) => (await import("./export.js")).runExport(o));

program.command("vectors").description("work with word-vector files")
  .command("prune").description("keep the n most frequent vectors plus the words of some CoNLL files, mapping every other word to its nearest kept vector")
  .argument("<file>", "vectors file (GloVe, word2vec, ...) or a known name")
  .requiredOption("--keep <n>", "most frequent vectors to keep", int("--keep"))
  .option("--words <conll...>", "CoNLL files whose words are all kept", [])
  .option("--dtype <type>", "storage type: f32, f16 or i8", (v: string) => parseStorageDType(v), "f32")
  .requiredOption("--out <file>", "vectors file to write (lstm-ner's safetensors layout; --embeddings reads it)")
  .addOption(encodingOption("the --words CoNLL files"))
  .addOption(kernelsOption()).addOption(threadsOption())
  .action(async (file, o) => (await import("./vectors.js")).runVectorsPrune(file, o));

program.command("ensemble").description("combine CRF models with the same labels and input (e.g. seeds 1-3, or other switches) into one model file that averages their CRF potentials or votes on their entities")
  .requiredOption("--out <file>", "the ensemble's model file")
  .option("--combine <how>", "potentials (averaged emissions and CRF potentials, one Viterbi) or vote (entities more than half of the members predict)", "potentials")
  .argument("<model...>", "member model files (at least 2), or en")
  .addOption(kernelsOption()).addOption(threadsOption())
  .action(async (models: string[], o) => {
    const { parseCombine, runEnsemble } = await import("./ensemble.js");
    return runEnsemble(models.map(modelPath), { ...o, combine: parseCombine(o.combine) });
  });

// --threads is on every command: check it once, before any command runs; --model names "en" or a file.
program.hook("preAction", (_program, command) => {
  const { threads, model } = command.opts() as { threads?: number; model?: unknown };
  if (threads !== undefined && threads !== 1 && threads !== 2) throw new LstmNerError(`--threads must be 1 or 2, got ${threads}`);
  if (typeof model === "string") command.setOptionValue("model", modelPath(model));
});

try {
  await program.parseAsync(process.argv);
  // Stops the kernels' helper threads, if the command started any.
  await (await import("../engine/index.js")).disposeKernels();
} catch (err) {
  if (err instanceof LstmNerError) {
    process.stderr.write(`lstm-ner: error: ${oneLine(err.message)}\n`);
  } else if (process.env.LSTM_NER_DEBUG) {
    process.stderr.write(`lstm-ner: internal error:\n${(err as Error).stack ?? String(err)}\n`);
  } else {
    process.stderr.write(`lstm-ner: internal error: ${oneLine((err as Error).message ?? String(err))} (set LSTM_NER_DEBUG=1 for details)\n`);
  }
  process.exitCode = 1;
}
