import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as path from "node:path";

/** The compiled CLI (dist/src/cli/main.js). */
export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/cli/main.js");

/** What a finished CLI run left: its exit code (-1 when it was killed) and its output as UTF-8. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** How to run the CLI: `home` becomes LSTM_NER_HOME (the vector cache), `input` its stdin, `nodeArgs` go to node before the script (e.g. `--import` a loader hook). */
export interface CliOptions {
  home?: string;
  input?: string | Buffer;
  timeout?: number;
  nodeArgs?: readonly string[];
}

/** Runs the compiled CLI to the end, as a user would from a shell. */
export function runCli(args: readonly string[], opts: CliOptions = {}): CliRun {
  const env = opts.home === undefined ? process.env : { ...process.env, LSTM_NER_HOME: opts.home };
  const r = spawnSync(process.execPath, [...(opts.nodeArgs ?? []), CLI, ...args], { input: opts.input, timeout: opts.timeout, env, maxBuffer: 1 << 28 });
  return { code: r.status ?? -1, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

/** Absolute path of a file in test/fixtures (tests run from dist/test). */
export function fixture(name: string): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../test/fixtures", name);
}

/** The chunks (as `encodeSafetensors` returns them) joined into one byte array. */
export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
