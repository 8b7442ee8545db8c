import { LstmNerError } from "../util/errors.js";
import { startServer } from "../server/server.js";
import type { KernelCliOptions } from "./kernels.js";

export interface ServeCliOptions extends KernelCliOptions {
  model: string;
  port: number;
  host: string;
  maxBody: number;
  timeout: number;
  maxTokens: number;
  batchTokens: number;
  queue: number;
  maxConnections: number;
  allowHost: string[];
  healthDetails?: boolean;
}

/** Every serve option in range, else one error naming the flag (the library would name its own field). */
export function checkServeOptions(o: ServeCliOptions): void {
  const intIn = (flag: string, v: number, min: number, max: number, what: string): void => {
    if (!Number.isInteger(v) || v < min || v > max) throw new LstmNerError(`${flag} must be ${what} from ${min} to ${max}, got ${v}`);
  };
  intIn("--port", o.port, 0, 65535, "a port number");
  if (o.host.trim() === "") throw new LstmNerError("--host is empty");
  intIn("--max-body", o.maxBody, 1, 1 << 30, "a number of bytes");
  if (!Number.isFinite(o.timeout) || o.timeout <= 0 || o.timeout > 3600) {
    throw new LstmNerError(`--timeout must be a number of seconds above 0 and at most 3600 (0 would switch the timeout off), got ${o.timeout}`);
  }
  intIn("--max-tokens", o.maxTokens, 1, 10_000_000, "a number of tokens");
  intIn("--batch-tokens", o.batchTokens, 1, 1_000_000, "a number of tokens");
  intIn("--queue", o.queue, 1, 100_000, "a number of requests");
  intIn("--max-connections", o.maxConnections, 1, 1_000_000, "a number of connections");
  for (const h of o.allowHost) if (h.trim() === "" || /[\s/@?#]/u.test(h)) throw new LstmNerError(`--allow-host ${JSON.stringify(h)} is not a host name`);
}

/** `lstm-ner serve`: start the tagging thread with the model (errors go to the CLI's one-line handler), serve until SIGINT/SIGTERM. */
export async function runServe(o: ServeCliOptions): Promise<void> {
  checkServeOptions(o);
  const timeoutMs = o.timeout * 1000;
  const running = await startServer(o.model, {
    port: o.port, host: o.host, maxBodyBytes: o.maxBody, requestTimeoutMs: timeoutMs, headersTimeoutMs: Math.min(10_000, timeoutMs),
    maxTokens: o.maxTokens, batchTokens: o.batchTokens, maxQueue: o.queue, maxConnections: o.maxConnections,
    allowedHosts: o.allowHost, healthDetails: o.healthDetails === true, kernels: o.kernels,
    ...(o.threads === undefined ? {} : { threads: o.threads }), quantize: o.quantize === true,
  });
  process.stderr.write(`lstm-ner: serving ${o.model} at ${running.url}/ (${o.quantize === true ? "quantized; " : ""}POST /ner, GET /health; Ctrl-C stops)\n`);
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
