import { cliKernels, type KernelCliOptions } from "./kernels.js";
import * as path from "node:path";
import { load } from "../pipeline/load.js";
import { startServer } from "../server/server.js";

export interface ServeCliOptions extends KernelCliOptions {
  model: string;
  port: number;
  host: string;
  maxBody: number;
  timeout: number;
}

/** `lstm-ner serve`: load the model (errors go to the CLI's one-line handler), serve until SIGINT/SIGTERM. */
export async function runServe(o: ServeCliOptions): Promise<void> {
  const nlp = await load(o.model, { kernels: await cliKernels(o) });
  const running = await startServer(nlp, {
    port: o.port, host: o.host, maxBodyBytes: o.maxBody, requestTimeoutMs: o.timeout * 1000, modelName: path.basename(o.model),
  });
  process.stderr.write(`lstm-ner: serving ${o.model} at ${running.url}/ (POST /ner, GET /health; Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      void running.close().then(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
