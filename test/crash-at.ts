/**
 * A real kill -9 at an exact point of a CLI run, for crash tests: preloaded with
 * `node --import <this file>`, it reads LSTM_NER_TEST_CRASH = {"file", "when", "nth"} and sends
 * SIGKILL to its own process just before the nth rename onto `file` ("before-rename": the temporary is
 * complete, the target not yet replaced) or just after the nth write of `file` ("after-write": a rename
 * onto it or an append to it). Nothing else of the process is changed.
 */
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import * as path from "node:path";

interface Crash {
  file: string;
  when: "before-rename" | "after-write";
  nth: number;
}

const spec = process.env.LSTM_NER_TEST_CRASH;
if (spec) {
  const c = JSON.parse(spec) as Crash;
  const target = path.resolve(c.file);
  let writes = 0;
  const die = (): never => {
    process.kill(process.pid, "SIGKILL");
    throw new Error("unreachable");
  };
  const isTarget = (f: fs.PathLike | number): boolean => typeof f !== "number" && path.resolve(String(f)) === target;
  const rename = fs.promises.rename;
  fs.promises.rename = async (from: fs.PathLike, to: fs.PathLike): Promise<void> => {
    if (!isTarget(to)) return rename(from, to);
    if (c.when === "before-rename" && ++writes === c.nth) die();
    await rename(from, to);
    if (c.when === "after-write" && ++writes === c.nth) die();
  };
  const appendFileSync = fs.appendFileSync;
  fs.appendFileSync = (file: fs.PathOrFileDescriptor, data: string | Uint8Array, options?: fs.WriteFileOptions): void => {
    appendFileSync(file, data, options);
    if (c.when === "after-write" && isTarget(file as fs.PathLike) && ++writes === c.nth) die();
  };
  syncBuiltinESMExports();
}
