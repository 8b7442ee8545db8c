/**
 * The browser training page (web/train.html): reads the files (pickers or
 * ?train=&dev=&vectors= URLs), starts the training worker and shows its
 * progress, live curves (the report's chart code), the best dev F1, tagging
 * and the model download. Browser only.
 */
import { devChart, lossChart, setDevData, type LineChart } from "../report/charts.js";
import { render } from "../pipeline/displacy-api.js";
import type { EpochLine } from "../report/log.js";
import type { FileData, FromWorker, ToWorker } from "./train-worker.js";
import { simdAvailable } from "../engine/wasm-load.js";

declare global {
  interface Window {
    /** The page's charts and last epoch lines, for tests and the curious. */
    lstmNerTraining?: { loss: LineChart; dev: LineChart; epochs: EpochLine[]; bestDevF1: number | null; done: boolean };
  }
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const worker = new Worker(new URL("./train-worker.js", import.meta.url), { type: "module" });
const send = (m: ToWorker, transfer: Transferable[] = []): void => worker.postMessage(m, transfer);

const loss = lossChart($("loss-chart"), "batches", false);
const dev = devChart($("dev-chart"));
const state = { loss, dev, epochs: [] as EpochLine[], bestDevF1: null as number | null, done: false };
window.lstmNerTraining = state;
const lossX: number[] = [];
const lossY: number[] = [];
let batchesBefore = 0;

const error = (text: string): void => {
  $("error").textContent = text;
};

// Say up front how training will run (the worker says again what it got).
$("mode").textContent = !simdAvailable()
  ? "This browser has no WebAssembly SIMD, which lstm-ner's fast kernels need: training will run on plain JavaScript kernels, many times slower."
  : crossOriginIsolated && params.get("threads") !== "1"
    ? "Cross-origin isolated: training will run on 2 threads (WebAssembly SIMD, shared memory)."
    : `Training will run on 1 thread (WebAssembly SIMD; ${crossOriginIsolated ? "one thread asked for" : "the page is not cross-origin isolated, so no shared memory"}).`;

if (params.has("preset")) ($("preset") as HTMLSelectElement).value = params.get("preset")!;
if (params.has("epochs")) ($("epochs") as HTMLInputElement).value = params.get("epochs")!;
const urls = ["train", "dev", "vectors"].filter((k) => params.has(k));
if (urls.length) $("urls").textContent = `from URLs: ${urls.map((k) => `${k} = ${params.get(k)}`).join(", ")}`;

/**
 * The largest file the page reads (MB; `?maxMB=` changes it). The worker holds
 * a file's bytes, its text and the parsed table at once, and a tab gets a few
 * GB at most: past this a tab may die instead of saying why.
 */
const MAX_MB = Number(params.get("maxMB")) > 0 ? Number(params.get("maxMB")) : 1024;

function tooLarge(name: string, bytes: number): Error {
  return new Error(`${name}: ${(bytes / 1e6).toFixed(1)} MB is too large to load in this page (the limit is ${MAX_MB} MB; ?maxMB= changes it)` +
    "; for word vectors, keep the rows you need with `lstm-ner vectors prune`");
}

/** Reads a file's bytes, naming it if the browser cannot allocate them. */
async function readAll(name: string, read: () => Promise<ArrayBuffer>): Promise<FileData> {
  try {
    return { name, bytes: await read() };
  } catch (err) {
    throw new Error(`${name}: cannot read it into memory (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** A picked file, else the URL parameter's file. */
async function file(kind: "train" | "dev" | "vectors"): Promise<FileData> {
  const picked = ($(`${kind}-file`) as HTMLInputElement).files?.[0];
  if (picked) {
    if (picked.size > MAX_MB * 1e6) throw tooLarge(picked.name, picked.size);
    return readAll(picked.name, () => picked.arrayBuffer());
  }
  const url = params.get(kind);
  if (!url) throw new Error(`pick a ${kind} file`);
  const name = url.split("/").pop() ?? url;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const size = Number(res.headers.get("Content-Length") ?? 0);
  if (size > MAX_MB * 1e6) {
    void res.body?.cancel();
    throw tooLarge(name, size);
  }
  return readAll(name, () => res.arrayBuffer());
}

$("train").onclick = async () => {
  error("");
  // Reset before reading the files: until this run ends, the page must not report the last run as done.
  state.epochs = [];
  state.done = false;
  try {
    const [train, devFile, vectors] = await Promise.all([file("train"), file("dev"), file("vectors")]);
    for (const id of ["train", "tag", "download"]) ($(id) as HTMLButtonElement).disabled = true;
    ($("stop") as HTMLButtonElement).disabled = false;
    lossX.length = 0;
    lossY.length = 0;
    batchesBefore = 0;
    const maxBatches = Number(params.get("batches") ?? 0) || undefined;
    send({
      type: "train", train, dev: devFile, vectors, preset: ($("preset") as HTMLSelectElement).value,
      epochs: Number(($("epochs") as HTMLInputElement).value), ...(maxBatches ? { maxBatches } : {}), set: params.getAll("set"),
      wasmUrl: new URL("./", import.meta.url).href, threads: params.get("threads") === "1" ? 1 : 2,
    }, [train.bytes, devFile.bytes, vectors.bytes]);
  } catch (err) {
    error(err instanceof Error ? err.message : String(err));
  }
};
$("stop").onclick = () => {
  send({ type: "stop" });
  $("status").textContent = "stopping after this batch ...";
};
$("tag").onclick = () => send({ type: "tag", text: ($("text") as HTMLTextAreaElement).value });
$("download").onclick = () => send({ type: "model" });

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case "status":
      $("status").textContent = m.text;
      break;
    case "ready":
      $("mode").textContent = `${m.kernels} kernels, ${m.threads} thread${m.threads === 1 ? "" : "s"} (${m.why}); ` +
        `${m.trainSentences} training and ${m.devSentences} dev sentences; ${m.parameters} trainable parameters`;
      $("status").textContent = "training ...";
      break;
    case "batch": {
      const p = $("progress") as HTMLProgressElement;
      p.max = m.batches;
      p.value = m.batch;
      $("progress-text").textContent = `epoch ${m.epoch}, batch ${m.batch}/${m.batches}, loss ${m.loss.toFixed(4)}`;
      $("tps").textContent = String(Math.round(m.tokensPerSecond));
      lossX.push(batchesBefore + m.batch);
      lossY.push(m.windowLoss);
      loss.setData(lossX, [lossY]);
      if (m.batch === m.batches) batchesBefore += m.batches;
      break;
    }
    case "epoch":
      state.epochs.push(m.line);
      setDevData(dev, state.epochs);
      $("status").textContent = `epoch ${m.line.epoch}: dev F1 ${m.line.dev_f1?.toFixed(2) ?? "–"}`;
      batchesBefore = lossX.length ? lossX[lossX.length - 1]! : 0;
      break;
    case "done":
      state.bestDevF1 = m.bestDevF1;
      state.done = true;
      $("f1").textContent = m.bestDevF1 === null ? "–" : m.bestDevF1.toFixed(2);
      $("best").textContent = `(epoch ${m.bestEpoch}${m.stopped ? "; stopped early" : ""})`;
      $("status").textContent = "done: tag a text or download the model";
      for (const id of ["train", "tag", "download"]) ($(id) as HTMLButtonElement).disabled = false;
      ($("stop") as HTMLButtonElement).disabled = true;
      break;
    case "tagged":
      $("result").innerHTML = render(m.doc);
      break;
    case "model": {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([m.bytes as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }));
      a.download = m.name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      break;
    }
    case "error":
      error(m.message);
      ($("train") as HTMLButtonElement).disabled = false;
      ($("stop") as HTMLButtonElement).disabled = true;
      if (state.epochs.length === 0) $("status").textContent = "";
      break;
  }
};
worker.onerror = (e) => error(`the training worker failed: ${e.message}`);
