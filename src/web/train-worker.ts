/**
 * The browser training page's Web Worker: parses the CoNLL and vectors files
 * it is given, builds the preset's model on the WebAssembly kernels and runs
 * the same trainer as `lstm-ner train`, posting progress; then tags texts
 * and hands out the model file. The page never freezes, since all of this
 * runs here. Messages: see {@link ToWorker} and {@link FromWorker}.
 */
import { parseConll } from "../data/conll.js";
import { detectScheme } from "../data/schemes.js";
import { CONLL_LABELS, type Sentence } from "../data/types.js";
import type { Vectors } from "../embeddings/types.js";
import { looksLikeSafetensors, parseVectorTable } from "../embeddings/table.js";
import { TextVectorParser } from "../embeddings/text.js";
import type { Kernels } from "../engine/kernels.js";
import { referenceKernels } from "../engine/reference.js";
import { webPlatform } from "../engine/platform-web.js";
import { linkWasmKernels, sharedMemoryAvailable, simdAvailable } from "../engine/wasm.js";
import { encodeModel } from "../model/format.js";
import type { NerModel } from "../model/ner.js";
import { createNlp } from "../pipeline/nlp.js";
import type { DocJSON } from "../pipeline/doc.js";
import { epochLine, type EpochLine } from "../report/log.js";
import { applyOverrides, getPreset } from "../train/presets.js";
import { buildRecipe, trainOptions } from "../train/recipe.js";
import { train } from "../train/trainer.js";
import { decodeBytes } from "../util/decode.js";
import { LstmNerError } from "../util/errors.js";

/** A file handed to the worker. */
export interface FileData {
  name: string;
  bytes: ArrayBuffer;
}

/** Messages the page sends. */
export type ToWorker =
  | { type: "train"; train: FileData; dev: FileData; vectors: FileData; preset: string; epochs: number; maxBatches?: number; seed?: number; wasmUrl: string;
    /** Kernel threads wanted (1 or 2; default 2): 2 runs only where the page is cross-origin isolated. */
    threads?: number;
    /** Preset overrides, `key=value` as `lstm-ner train --set` takes them. */
    set?: string[] }
  | { type: "stop" }
  | { type: "tag"; text: string }
  | { type: "model" };

/** Messages the worker sends. */
export type FromWorker =
  | { type: "status"; text: string }
  | { type: "ready"; kernels: string; threads: number; why: string; trainSentences: number; devSentences: number; parameters: number }
  | { type: "batch"; epoch: number; batch: number; batches: number; loss: number; windowLoss: number; tokensPerSecond: number }
  | { type: "epoch"; line: EpochLine }
  | { type: "done"; bestEpoch: number; bestDevF1: number | null; stopped: boolean }
  | { type: "tagged"; doc: DocJSON }
  | { type: "model"; bytes: Uint8Array; name: string }
  | { type: "error"; message: string };

const post = (m: FromWorker, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(m, transfer);

let stop: AbortController | null = null;
let model: NerModel | null = null;
/** The last training's kernels: their helper thread is stopped when the next training starts. */
let lastKernels: Kernels | null = null;
let training: Record<string, unknown> = {};

/** Batches between yields to the event loop (to read a Stop message). */
const YIELD_MS = 100;

self.onmessage = (e: MessageEvent<ToWorker>): void => {
  const m = e.data;
  const run = async (): Promise<void> => {
    if (m.type === "train") await runTraining(m);
    else if (m.type === "stop") stop?.abort();
    else if (m.type === "tag") {
      if (!model) throw new LstmNerError("train a model first");
      post({ type: "tagged", doc: createNlp(model)(m.text).toJSON() });
    } else if (m.type === "model") {
      if (!model) throw new LstmNerError("train a model first");
      const chunks = encodeModel(model.toSaved(training));
      const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let o = 0;
      for (const c of chunks) {
        bytes.set(c, o);
        o += c.length;
      }
      post({ type: "model", bytes, name: `${String(training.preset)}-browser.safetensors` }, [bytes.buffer]);
    }
  };
  run().catch((err: unknown) => post({ type: "error", message: err instanceof Error ? err.message : String(err) }));
};

/** A CoNLL file's sentences; bytes that are not UTF-8 are refused with the line and byte offset, as in Node. */
function conll(f: FileData): Sentence[] {
  return parseConll(decodeBytes(new Uint8Array(f.bytes), f.name), { file: f.name });
}

/** Vectors from lstm-ner's vectors file, or GloVe/word2vec text (gzip-compressed or not). */
async function vectors(f: FileData): Promise<Vectors> {
  let bytes = new Uint8Array(f.bytes);
  if (looksLikeSafetensors(bytes)) return parseVectorTable(bytes, f.name);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
    } catch {
      throw new LstmNerError("truncated or corrupt gzip data", { file: f.name });
    }
  }
  const parser = new TextVectorParser(f.name, true);
  parser.push(bytes);
  return parser.finish();
}

/**
 * The fastest kernels this browser runs, and why: WebAssembly SIMD on two
 * threads (a helper Web Worker over shared memory) where the page is
 * cross-origin isolated, on one thread where it is not, and the plain
 * JavaScript kernels where WebAssembly SIMD is missing.
 */
async function kernelsFor(wasmUrl: string, want: number): Promise<{ kernels: Kernels; why: string }> {
  if (!simdAvailable()) {
    return { kernels: referenceKernels, why: "this browser has no WebAssembly SIMD, which lstm-ner's fast kernels need: plain JavaScript kernels, many times slower" };
  }
  const shared = sharedMemoryAvailable();
  const link = (threads: number): Promise<Kernels> => linkWasmKernels(webPlatform, {
    wasm: new URL(shared ? "kernels.wasm" : "kernels-st.wasm", wasmUrl), shared, threads, helperUrl: new URL("kernels-helper.js", wasmUrl),
  });
  const message = (err: unknown): string => err instanceof Error ? err.message : String(err);
  try {
    if (shared && want === 2) {
      try {
        return { kernels: await link(2), why: "cross-origin isolated: a helper Web Worker shares the WebAssembly memory" };
      } catch (err) {
        return { kernels: await link(1), why: `cross-origin isolated, but the kernels' helper Web Worker did not start (${message(err)})` };
      }
    }
    const why = !shared ? "the page is not cross-origin isolated, so no shared memory for a second thread" : "cross-origin isolated; one thread asked for";
    return { kernels: await link(1), why };
  } catch (err) {
    return { kernels: referenceKernels, why: `the WebAssembly kernels did not load (${message(err)}): plain JavaScript kernels, many times slower` };
  }
}

async function runTraining(m: Extract<ToWorker, { type: "train" }>): Promise<void> {
  model = null;
  post({ type: "status", text: "reading the data ..." });
  const trainSet = conll(m.train);
  const devSet = conll(m.dev);
  const found = new Set([...trainSet, ...devSet].flatMap((s) => s.tags));
  const labels = [...found].every((t) => CONLL_LABELS.includes(t)) ? [...CONLL_LABELS] : [...found].sort();
  post({ type: "status", text: `reading the word vectors (${(m.vectors.bytes.byteLength / 1e6).toFixed(1)} MB) ...` });
  const v = await vectors(m.vectors);
  await (lastKernels as { dispose?: () => Promise<void> } | null)?.dispose?.();
  const { kernels, why } = await kernelsFor(m.wasmUrl, m.threads ?? 2);
  lastKernels = kernels;
  const preset = applyOverrides(getPreset(m.preset), [...(m.set ?? []), `epochs=${m.epochs}`]);
  const seed = m.seed ?? 1;
  const recipe = buildRecipe(kernels, preset, {
    vectors: v, labels, scheme: detectScheme(trainSet.map((s) => s.tags)), trainTokens: trainSet.map((s) => s.tokens), seed,
  });
  training = { preset: preset.name, recipe: preset, seed, kernels: kernels.name, train: m.train.name, dev: m.dev.name, embeddings: m.vectors.name, trained_in: "browser" };
  post({
    type: "ready", kernels: kernels.name, threads: (kernels as { threads?: number }).threads ?? 1, why, trainSentences: trainSet.length, devSentences: devSet.length,
    parameters: recipe.model.parameterCount(),
  });
  stop = new AbortController();
  let lastYield = performance.now();
  let prev = { epoch: 0, batch: 0, sum: 0 };
  const result = await train(recipe.model, recipe.optimizer, trainSet, devSet, recipe.model.encoder(), {
    ...trainOptions(preset, seed),
    ...(m.maxBatches ? { maxBatches: m.maxBatches } : {}),
    signal: stop.signal,
    onBatch: (p) => {
      const now = performance.now();
      if (now - lastYield < YIELD_MS && p.batch !== p.batches) return;
      // Mean loss of the batches since the last report (the trainer gives the epoch's running mean).
      if (p.epoch !== prev.epoch) prev = { epoch: p.epoch, batch: 0, sum: 0 };
      const sum = p.loss * p.batch;
      post({ type: "batch", epoch: p.epoch, batch: p.batch, batches: p.batches, loss: p.loss, windowLoss: (sum - prev.sum) / (p.batch - prev.batch), tokensPerSecond: p.tokensPerSecond });
      prev = { epoch: p.epoch, batch: p.batch, sum };
      lastYield = now;
      return new Promise((r) => setTimeout(r, 0)); // read any Stop message
    },
    onEpoch: (r, dev) => post({ type: "epoch", line: epochLine(r, dev) }),
  });
  stop = null;
  model = recipe.model;
  training = { ...training, best_epoch: result.bestEpoch, dev_f1: result.bestDevF1 };
  post({ type: "done", bestEpoch: result.bestEpoch, bestDevF1: result.bestDevF1, stopped: result.stopped });
}
