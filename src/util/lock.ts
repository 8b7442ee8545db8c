import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { LstmNerError } from "./errors.js";
import { describeFsError, processAlive } from "./atomic.js";

/** A held lock; {@link release} removes its file. */
export interface FileLock {
  readonly file: string;
  release(): void;
}

/**
 * Take the lock `file` (created exclusively, holding this process's id), so
 * that two processes never write the same outputs. A lock left by a process
 * that is no longer running (kill -9, crash) is taken over.
 * @param what names the locked thing in the error ("--out model.safetensors").
 * @throws LstmNerError naming the process holding the lock, or the system error.
 */
export function acquireLock(file: string, what: string): FileLock {
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, "wx");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new LstmNerError(`cannot create lock file (${describeFsError(err)})`, { file, cause: err });
      }
      let holder = NaN;
      try {
        holder = Number.parseInt(readFileSync(file, "utf8"), 10);
      } catch {
        // vanished or unreadable: treat as stale and retry
      }
      if (holder !== process.pid && processAlive(holder)) {
        throw new LstmNerError(`${what} is in use by another lstm-ner process (pid ${holder}); if it is not running, delete this lock file`, { file });
      }
      rmSync(file, { force: true }); // stale: its process is gone
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    // Two processes taking over the same stale lock: only one may find its own id in it.
    if (readFileSync(file, "utf8").trim() !== String(process.pid)) continue;
    let held = true;
    return {
      file,
      release: () => {
        if (!held) return;
        held = false;
        try {
          if (readFileSync(file, "utf8").trim() === String(process.pid)) rmSync(file, { force: true });
        } catch {
          // already gone
        }
      },
    };
  }
  throw new LstmNerError(`${what}: could not take the lock (another process keeps taking it)`, { file });
}
