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
  maxConnectionsPerClient: number;
  drainTimeout: number;
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
  intIn("--max-connections-per-client", o.maxConnectionsPerClient, 1, 1_000_000, "a number of connections");
  if (!Number.isFinite(o.drainTimeout) || o.drainTimeout < 0 || o.drainTimeout > 3600) {
    throw new LstmNerError(`--drain-timeout must be a number of seconds from 0 to 3600, got ${o.drainTimeout}`);
  }
  for (const h of o.allowHost) if (h.trim() === "" || /[\s/@?#]/u.test(h)) throw new LstmNerError(`--allow-host ${JSON.stringify(h)} is not a host name`);
}

/**
 * `lstm-ner serve`: start the tagging thread with the model (errors go to the
 * CLI's one-line handler), serve until SIGINT/SIGTERM, then drain: stop
 * accepting, finish the requests in progress (at most --drain-timeout
 * seconds; a second signal stops at once) and return, so the exit code is 0.
 */
export async function runServe(o: ServeCliOptions): Promise<void> {
  checkServeOptions(o);
  const timeoutMs = o.timeout * 1000;
  const running = await startServer(o.model, {
    port: o.port, host: o.host, maxBodyBytes: o.maxBody, requestTimeoutMs: timeoutMs, headersTimeoutMs: Math.min(10_000, timeoutMs),
    maxTokens: o.maxTokens, batchTokens: o.batchTokens, maxQueue: o.queue, maxConnections: o.maxConnections,
    maxConnectionsPerClient: o.maxConnectionsPerClient,
    allowedHosts: o.allowHost, healthDetails: o.healthDetails === true, kernels: o.kernels,
    ...(o.threads === undefined ? {} : { threads: o.threads }), quantize: o.quantize === true,
  });
  process.stderr.write(`lstm-ner: serving ${o.model} at ${running.url}/ (${o.quantize === true ? "quantized; " : ""}POST /ner, GET /health; Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => {
    const now = (): void => {
      process.off("SIGINT", now);
      process.off("SIGTERM", now);
      process.stderr.write("lstm-ner: stopping at once\n");
      void running.close().then(resolve);
    };
    const drain = (): void => {
      process.off("SIGINT", drain);
      process.off("SIGTERM", drain);
      process.on("SIGINT", now);
      process.on("SIGTERM", now);
      process.stderr.write(`lstm-ner: stopping: finishing the requests in progress (at most ${o.drainTimeout} s; a second signal stops at once)\n`);
      void running.drain(o.drainTimeout * 1000).then((cut) => {
        if (!process.listeners("SIGTERM").includes(now)) return; // stopped at once meanwhile
        process.off("SIGINT", now);
        process.off("SIGTERM", now);
        process.stderr.write(cut === 0 ? "lstm-ner: stopped\n" : `lstm-ner: stopped; ${cut} requests were still in progress after --drain-timeout (${o.drainTimeout} s)\n`);
        resolve();
      });
    };
    process.on("SIGINT", drain);
    process.on("SIGTERM", drain);
  });
}
