import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as path from "node:path";

/** The compiled CLI (dist/src/cli/main.js). */
export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/cli/main.js");

/** What a finished CLI run left: its exit code (-1 when it was killed) and its output as UTF-8. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** How to run the CLI: `home` becomes LSTM_NER_HOME (the vector cache), `input` its stdin, `nodeArgs` go to node before the script (e.g. `--import` a loader hook), `env` adds variables. */
export interface CliOptions {
  home?: string;
  env?: Record<string, string>;
  input?: string | Buffer;
  timeout?: number;
  nodeArgs?: readonly string[];
}

/** Runs the compiled CLI to the end, as a user would from a shell. */
export function runCli(args: readonly string[], opts: CliOptions = {}): CliRun {
  const env = { ...process.env, ...(opts.home === undefined ? {} : { LSTM_NER_HOME: opts.home }), ...opts.env };
  const r = spawnSync(process.execPath, [...(opts.nodeArgs ?? []), CLI, ...args], { input: opts.input, timeout: opts.timeout, env, maxBuffer: 1 << 28 });
  return { code: r.status ?? -1, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

/** Node arguments and environment that kill the CLI with SIGKILL at an exact write (see crash-at.ts). */
export function crashAt(file: string, when: "before-rename" | "after-write", nth = 1): Pick<CliOptions, "nodeArgs" | "env"> {
  const hook = path.join(path.dirname(fileURLToPath(import.meta.url)), "crash-at.js");
  return { nodeArgs: ["--import", pathToFileURL(hook).href], env: { LSTM_NER_TEST_CRASH: JSON.stringify({ file, when, nth }) } };
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

/** What `cliAs` found: the command that runs the CLI as that user, or why it cannot (a reason to skip the test). */
export type CliAs = { argv: string[]; skip?: undefined } | { argv?: undefined; skip: string };

/**
 * The CLI run as another (unprivileged) user through setpriv, for tests of permissions. The checkout may sit in a
 * folder that user cannot read (root's home, a `mktemp -d` folder, both mode 700); then the user runs a copy of what
 * the CLI needs (dist/src, the wasm kernels, package.json, the production packages) in a world-readable temporary
 * folder, so the test does not depend on where the repository was cloned.
 */
export function cliAs(uid: number): CliAs {
  if (process.getuid?.() !== 0 || !existsSync("/usr/bin/setpriv")) return { skip: "needs root and setpriv to run the CLI as an unprivileged user" };
  const argv = (cli: string) => ["/usr/bin/setpriv", `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", process.execPath, cli];
  if (spawnSync("/usr/bin/setpriv", [...argv(CLI).slice(1, 5), "-e", "0"]).status !== 0) return { skip: `user ${uid} cannot run ${process.execPath}` };
  const [cmd, ...args] = argv(CLI);
  if (spawnSync(cmd, [...args, "--help"]).status === 0) return { argv: argv(CLI) };
  return { argv: argv(path.join(readableCopy(), path.relative(ROOT, CLI))) };
}

const ROOT = path.resolve(path.dirname(CLI), "../../..");

/** A world-readable copy of what the compiled CLI needs at run time; returns its folder. */
function readableCopy(): string {
  const copy = mkdtempSync(path.join(tmpdir(), "lstm-ner-cli-copy-"));
  chmodSync(copy, 0o755);
  const put = (rel: string) => cpSync(path.join(ROOT, rel), path.join(copy, rel), { recursive: true });
  put("package.json");
  put("dist/src");
  for (const f of readdirSync(path.join(ROOT, "build")).filter((n) => n.endsWith(".wasm"))) put(path.join("build", f));
  // The production dependency closure, resolved as node does (nearest node_modules upwards); each top-level package
  // folder is copied whole, so anything npm nested inside it travels with it.
  const modules = path.join(ROOT, "node_modules");
  const copied = new Set<string>();
  const visit = (pkgDir: string): void => {
    const pkg = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      let dir: string | undefined;
      for (let d = pkgDir; dir === undefined && d.startsWith(ROOT); d = path.dirname(d)) {
        if (existsSync(path.join(d, "node_modules", name, "package.json"))) dir = path.join(d, "node_modules", name);
      }
      if (dir === undefined) continue; // an optional package not installed on this platform
      const rel = path.relative(modules, dir).split(path.sep);
      const top = path.join("node_modules", ...rel.slice(0, rel[0].startsWith("@") ? 2 : 1));
      if (!copied.has(dir)) {
        copied.add(dir);
        if (!copied.has(top)) {
          copied.add(top);
          put(top);
        }
        visit(dir);
      }
    }
  };
  visit(ROOT);
  return copy;
}
