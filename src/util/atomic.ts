import { promises as fs } from "node:fs";
import * as path from "node:path";
import { LstmNerError } from "./errors.js";

/**
 * This process's start time (ms since the epoch, whole). With the pid it names
 * the writer of a temporary file: a pid can be reused (in a container every
 * run may be pid 1), the pair practically cannot.
 */
const ORIGIN = Math.floor(performance.timeOrigin);
let sequence = 0;

/** Temporary names are `<target>.<pid>.<process start ms>.<n>.tmp`; older versions wrote `<target>.<pid>.<ms>.tmp`. */
const TEMP_NAME = /^(.+)\.(\d+)\.(\d+)\.\d+\.tmp$/;
const OLD_TEMP_NAME = /^(.+)\.(\d+)\.\d+\.tmp$/;

/** The temporary file {@link writeFileAtomic} writes before renaming it to `file`. */
export function temporaryPath(file: string): string {
  return `${file}.${process.pid}.${ORIGIN}.${sequence++}.tmp`;
}

/**
 * Write a file so that readers only ever see the old or the complete new
 * contents: write to a temporary file beside it, then rename over it. A crash
 * leaves at most a stray `.tmp` file, never a half-written target; the next
 * write of the same file removes those of dead writers first (a killed
 * `export` of a large model would otherwise leave a full-size copy for good).
 * @throws LstmNerError naming `file` and the system error (ENOSPC, EACCES…); the temporary file is removed.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string | Iterable<Uint8Array>): Promise<void> {
  const tmp = temporaryPath(file);
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await removeStaleTemps(file);
    const handle = await fs.open(tmp, "w");
    try {
      if (typeof data === "string" || data instanceof Uint8Array) {
        await handle.writeFile(data);
      } else {
        for (const chunk of data) await handle.write(chunk);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    if (err instanceof LstmNerError) throw err;
    throw new LstmNerError(`cannot write file (${describeFsError(err)})`, { file, cause: err });
  }
}

/** "ENOSPC: no space left on device" from a Node file-system error. */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== "string") return String(err);
  const why = (e.message ?? "").replace(/^\w+: /, "").replace(/,.*$/, "");
  return why ? `${e.code}: ${why}` : e.code;
}

/** Options of {@link removeStaleTemporaries}. */
export interface StaleTemporaryOptions {
  /** Only temporaries of this file name (a base name in the folder); default: all. */
  target?: string;
  /**
   * A temporary of a live process other than this one is removed only when
   * it has not been written for this long (the pid may belong to another
   * program by now). Default one hour.
   */
  maxAgeMs?: number;
}

/** Whether a process with this id is running (on this machine). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Remove the temporaries that {@link writeFileAtomic} left in `dir` when its
 * writer died (kill -9, power loss): those whose writer pid is gone, those of
 * an earlier process that had this process's pid, and those not written to
 * for `maxAgeMs`. A live writer's temporary is left alone, so this is safe
 * to run while another process saves. Missing folders and files that vanish
 * meanwhile are fine. Returns the paths removed.
 *
 * Liveness is judged by this machine's process table, so a folder shared
 * with other hosts or containers (other pid namespaces) is not protected;
 * there an interrupted write only costs the writer its rename.
 */
export async function removeStaleTemporaries(dir: string, opts: StaleTemporaryOptions = {}): Promise<string[]> {
  const maxAge = opts.maxAgeMs ?? 3_600_000;
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    const old = m === null ? OLD_TEMP_NAME.exec(name) : null;
    const target = m?.[1] ?? old?.[1];
    if (target === undefined || (opts.target !== undefined && target !== opts.target)) continue;
    const pid = Number(m?.[2] ?? old![2]);
    // The old format's second number is a write time, not a process start: treat it as another incarnation.
    const origin = m === null ? -1 : Number(m[3]);
    const file = path.join(dir, name);
    let stale: boolean;
    if (pid === process.pid) stale = origin !== ORIGIN;
    else if (!processAlive(pid)) stale = true;
    else {
      try {
        stale = Date.now() - (await fs.stat(file)).mtimeMs > maxAge;
      } catch {
        continue;
      }
    }
    if (!stale) continue;
    try {
      await fs.rm(file);
      removed.push(file);
    } catch {
      // gone already, or not ours to remove: nothing to clean
    }
  }
  return removed;
}

/** {@link removeStaleTemporaries} for the temporaries of one file (`<file>.<pid>….tmp` beside it). */
export function removeStaleTemps(file: string, opts: Omit<StaleTemporaryOptions, "target"> = {}): Promise<string[]> {
  return removeStaleTemporaries(path.dirname(file), { ...opts, target: path.basename(file) });
}
