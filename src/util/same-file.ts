import { realpathSync, statSync } from "node:fs";
import * as path from "node:path";
import { LstmNerError } from "./errors.js";

/**
 * Same file? By resolved path, by real path (symlinks, `./a` vs `a`), or by
 * device and inode (hard links) when both exist.
 */
export function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    if (realpathSync(a) === realpathSync(b)) return true;
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false; // one of them does not exist (yet): not the same file
  }
}

/** A file a command reads, with the option (or argument) that names it. */
export interface NamedInput {
  /** The file; undefined, null, "" and "-" (standard input) are skipped. */
  file: string | undefined | null;
  /** How the user named it, e.g. "--model". */
  what: string;
}

/**
 * Refuse to write `out` over one of the command's inputs: a run would
 * otherwise replace (say) the model it read with its own output, losing the
 * original.
 * @throws LstmNerError naming `out` and the input option it collides with.
 */
export function refuseOutputOverInput(out: string, outWhat: string, inputs: readonly NamedInput[]): void {
  for (const { file, what } of inputs) {
    if (file === undefined || file === null || file === "" || file === "-") continue;
    if (sameFile(out, file)) throw new LstmNerError(`${outWhat} is the ${what} file, which would be overwritten; write to another file`, { file: out });
  }
}
