/**
 * A worker thread of {@link TaggerPool}: loads the model from the shared
 * bytes (its float32 word table stays a view of them) onto its own kernels,
 * then tags groups as asked.
 */
import { parentPort, workerData } from "node:worker_threads";
import { getKernels } from "../engine/index.js";
import { NerModel } from "../model/ner.js";
import { createNlp, type Nlp } from "../pipeline/nlp.js";
import { LstmNerError } from "../util/errors.js";
import { tagItems, type PredictFormat, type PredictItem } from "./items.js";
import type { WorkerData, WorkerReply, WorkerRequest } from "./pool.js";

const port = parentPort!;
const data = workerData as WorkerData;

const reply = (m: WorkerReply): void => port.postMessage(m);
const describe = (e: unknown): { message: string; user: boolean } =>
  ({ message: e instanceof Error ? e.message : String(e), user: e instanceof LstmNerError });

let nlp: Nlp;
try {
  const kernels = await getKernels(data.kernels, { threads: data.threads });
  nlp = createNlp(NerModel.fromBytes(data.model, kernels, data.name));
  reply({ kind: "ready" });
} catch (e) {
  reply({ kind: "failed", ...describe(e) });
  process.exit(0);
}

port.on("message", (m: WorkerRequest) => {
  try {
    const g = tagItems(nlp, m.items as PredictItem[], m.format as PredictFormat);
    reply({ kind: "done", seq: m.seq, ...g });
  } catch (e) {
    reply({ kind: "error", seq: m.seq, ...describe(e) });
  }
});
