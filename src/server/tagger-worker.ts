/**
 * The tagging thread (node:worker_threads): loads the model with its own
 * kernels instance and runs the {@link TagScheduler} one unit at a time,
 * giving its event loop a turn between units so cancellations arrive. The
 * main thread only does HTTP, so `/health` answers while this one works.
 *
 * Messages in: `{type: "tag", id, texts, many, client}`, `{type: "cancel", id}`,
 * `{type: "stats"}`. Out: `{type: "ready", info}` or `{type: "failed", error}`
 * once, then `{type: "done", id, outcome}` and `{type: "stats", stats}`.
 */
import { parentPort, workerData } from "node:worker_threads";
import { getKernels } from "../engine/index.js";
import { loadNerModel } from "../model/file.js";
import { NerModel } from "../model/ner.js";
import { LstmNerError } from "../util/errors.js";
import { TagScheduler } from "./schedule.js";
import type { ToWorker, WorkerInit } from "./tagger.js";
import { modelInfo } from "./info.js";

const port = parentPort!;
const init = workerData as WorkerInit;

let scheduler: TagScheduler | undefined;
try {
  const kernels = await getKernels(init.kernels, init.threads === undefined ? {} : { threads: init.threads });
  const model = typeof init.model === "string" ? await loadNerModel(init.model, kernels) : NerModel.fromBytes(init.model, kernels, init.name);
  if (init.quantize === true) model.quantize({ embedding: true });
  scheduler = new TagScheduler(model, init.limits, (id, outcome) => port.postMessage({ type: "done", id, outcome }));
  port.postMessage({ type: "ready", info: modelInfo(model, kernels.name) });
} catch (e) {
  // The thread then ends by itself (nothing listens), after the message is delivered.
  port.postMessage({ type: "failed", error: e instanceof LstmNerError ? e.message : `internal error: ${(e as Error).message}` });
}

if (scheduler !== undefined) serve(scheduler);

function serve(scheduler: TagScheduler): void {
  let running = false;
  const run = (): void => {
    running = scheduler.step();
    if (running) setImmediate(run);
  };
  port.on("message", (m: ToWorker) => {
    if (m.type === "tag") {
      scheduler.submit(m.id, m.texts, m.many, m.client);
      if (!running) {
        running = true;
        setImmediate(run);
      }
    } else if (m.type === "cancel") {
      scheduler.cancel(m.id);
    } else {
      port.postMessage({ type: "stats", stats: scheduler.stats });
    }
  });
}
