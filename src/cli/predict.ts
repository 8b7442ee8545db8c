import { availableParallelism, freemem } from "node:os";
import { stat } from "node:fs/promises";
import cliProgress from "cli-progress";
import { cliKernels, type KernelCliOptions } from "./kernels.js";
import { load } from "../pipeline/load.js";
import { pageHead, PAGE_TAIL } from "../pipeline/displacy.js";
import { LstmNerError } from "../util/errors.js";
import { refuseOutputOverInput } from "../util/same-file.js";
import { formatFromName, openInput, type InputFormat } from "../predict/input.js";
import { openOutput, type PredictOutput } from "../predict/output.js";
import { TaggerPool, maxWorkers, type GroupTagger } from "../predict/pool.js";
import { LocalTagger, tagInOrder } from "../predict/run.js";
import type { PredictItem } from "../predict/items.js";
import type { TextEncodingName } from "../util/decode.js";

export interface PredictCliOptions extends KernelCliOptions {
  model: string;
  input?: string;
  inputFormat?: InputFormat;
  textField: string;
  encoding: TextEncodingName;
  format: "conll" | "jsonl" | "html";
  output?: string;
  workers?: number;
  progress: boolean;
}

export async function runPredict(texts: string[], o: PredictCliOptions): Promise<void> {
  if (texts.length > 0 && o.input) throw new LstmNerError("give texts as arguments or --input, not both");
  // --quantize / --relaxed-simd tag in this process (the worker pool does not take them yet).
  const inProcess = o.quantize === true || o.relaxedSimd === true;
  const workers = o.workers ?? (inProcess ? 1 : await defaultWorkers(o.model));
  if (!Number.isInteger(workers) || workers < 1) throw new LstmNerError(`--workers must be a positive integer, got ${workers}`);
  if (workers > maxWorkers()) throw new LstmNerError(`--workers must be at most ${maxWorkers()} (4 per core), got ${workers}`);
  if (inProcess && workers > 1) throw new LstmNerError("--quantize and --relaxed-simd work with --workers 1 only");
  if (o.output !== undefined) refuseOutputOverInput(o.output, "--output", [{ file: o.model, what: "--model" }]);
  const fromArgs = texts.length > 0;
  const input = fromArgs ? undefined
    : await openInput(o.input, { format: o.inputFormat ?? formatFromName(o.input ?? "") ?? "text", textField: o.textField, encoding: o.encoding ?? "utf8" });
  let out: PredictOutput | undefined;
  let tagger: GroupTagger | undefined;
  let bar: cliProgress.SingleBar | undefined;
  // Ctrl-C or a kill: remove the temporary output (an existing output stays as it was).
  // Installed before the temporary file can exist.
  const interrupted = (sig: NodeJS.Signals): void => {
    bar?.stop();
    void (out ? out.abort() : Promise.resolve()).finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    out = await openOutput(o.output, o.input === undefined ? {} : { input: o.input });
  } catch (e) {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    throw e;
  }
  // A few texts from the command line are not worth starting threads for (not
  // even the kernels' helper, unless --threads asks); a stream is tagged on
  // worker threads (even one), so this thread only reads and writes while they tag.
  const local = fromArgs || inProcess;
  const kernelOptions = fromArgs && o.threads === undefined ? { ...o, threads: 1 } : o;
  try {
    tagger = local
      ? new LocalTagger(await load(o.model, { kernels: await cliKernels(kernelOptions), quantize: o.quantize === true }), o.format)
      : await TaggerPool.start(o.model, { workers, format: o.format, kernels: o.kernels, ...(o.threads === undefined ? {} : { threads: o.threads }) });
    const items: AsyncIterable<PredictItem> = input ? input.items() : (async function* () {
      for (const text of texts) yield { kind: "text" as const, text };
    })();
    bar = o.progress && process.stderr.isTTY && input ? progressBar(input.size) : undefined;
    const started = Date.now();
    let docs = 0;
    let tokens = 0;
    if (o.format === "html") await out.write(pageHead("lstm-ner predict"));
    await tagInOrder(items, tagger, (s) => out.write(s), {
      inFlight: local ? 1 : 2 * workers,
      stopped: () => out.closed,
      onGroup: (g) => {
        if (!bar || !input) return;
        docs += g.docs;
        tokens += g.tokens;
        const s = Math.max(1e-3, (Date.now() - started) / 1000);
        bar.update(input.size === undefined ? docs : input.bytesRead(), { docs, dps: Math.round(docs / s), tps: Math.round(tokens / s) });
      },
    });
    if (o.format === "html") await out.write(PAGE_TAIL);
    await out.commit();
  } catch (e) {
    await out.abort();
    throw e;
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    bar?.stop();
    await tagger?.close();
  }
}

/** A bar over the input's bytes when its size is known (with an ETA), else a running count. */
function progressBar(size: number | undefined): cliProgress.SingleBar {
  const rates = "{docs} docs | {dps} docs/s | {tps} tokens/s";
  const bar = new cliProgress.SingleBar({
    format: size === undefined ? rates : `|{bar}| {percentage}% | ${rates} | ETA {eta_formatted}`,
    stream: process.stderr, hideCursor: true, etaBuffer: 20, fps: 5,
  }, cliProgress.Presets.shades_classic);
  bar.start(size ?? 0, 0, { docs: 0, dps: 0, tps: 0 });
  return bar;
}

/**
 * The cores, but no more workers than free memory holds. The model file is
 * held once, shared; each worker adds its own vocabulary, kernels and
 * working memory, and any weights not stored as float32 (converted per
 * worker): counted as the file's size plus 64 MB per worker (measured with
 * the 142 MB seed model: 65–130 MB per worker at its peak).
 */
async function defaultWorkers(model: string): Promise<number> {
  const size = await stat(model).then((s) => s.size, () => 0);
  const fit = size > 0 ? Math.floor((freemem() - size) / (size + (64 << 20))) : Infinity;
  return Math.max(1, Math.min(availableParallelism(), fit));
}
