/**
 * Where `predict` writes: a file that only appears (or is replaced) once the
 * run succeeded, or standard output. A failed run leaves an existing output
 * file as it was; a write error names the output; a closed pipe
 * (`predict | head`) just stops the run.
 */
import { createWriteStream, promises as fs } from "node:fs";
import { once } from "node:events";
import { createGzip } from "node:zlib";
import type { Writable } from "node:stream";
import { LstmNerError } from "../util/errors.js";
import { removeStaleTemps, temporaryPath } from "../util/atomic.js";
import { sameFile } from "../util/same-file.js";

/** An output being written. */
export interface PredictOutput {
  /** The output's name in messages ("<stdout>" for standard output). */
  readonly file: string;
  /** True once the reader went away (EPIPE on a pipe): stop, this is not an error. */
  readonly closed: boolean;
  /** Write, waiting while the stream is full. @throws LstmNerError naming the output. */
  write(s: string): Promise<void>;
  /** Finish: flush, and for a file move it into place. @throws LstmNerError naming the output. */
  commit(): Promise<void>;
  /** Give up: remove the temporary file (an existing output is untouched). */
  abort(): Promise<void>;
}

/** Options of {@link openOutput}. */
export interface OpenOutputOptions {
  /** Gzip the output (default: when the file name ends in .gz). */
  gzip?: boolean;
  /** The input file, refused as the output. */
  input?: string;
}

/**
 * Open `file` (undefined or "-": `stdout`) for writing. A regular file is
 * written to a temporary file beside it and renamed over it by
 * {@link PredictOutput.commit}; a device or pipe (/dev/null, a FIFO) is written directly.
 * @throws LstmNerError when the output is the input or cannot be created.
 */
export async function openOutput(file: string | undefined, opts: OpenOutputOptions = {}, stdout: Writable = process.stdout): Promise<PredictOutput> {
  if (file === undefined || file === "-") return streamOutput("<stdout>", stdout, false, undefined, opts.gzip ?? false);
  if (opts.input !== undefined && opts.input !== "-" && sameFile(file, opts.input)) {
    throw new LstmNerError("the output is the input file; write to another file", { file });
  }
  const fail = (err: unknown): LstmNerError =>
    new LstmNerError(`cannot write output (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file, cause: err });
  let direct = false;
  try {
    const st = await fs.stat(file);
    if (st.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    direct = !st.isFile();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw fail(err);
  }
  if (!direct) await removeStaleTemps(file); // left by a killed run
  const target = direct ? file : temporaryPath(file);
  const stream = createWriteStream(target, { flags: "w" });
  try {
    await Promise.race([once(stream, "open"), once(stream, "error").then(([e]) => { throw e; })]);
  } catch (err) {
    throw fail(err);
  }
  return streamOutput(file, stream, true, direct ? undefined : target, opts.gzip ?? /\.gz$/i.test(file));
}

function streamOutput(file: string, sink: Writable, own: boolean, tmp: string | undefined, gzip: boolean): PredictOutput {
  let error: LstmNerError | undefined;
  let closed = false;
  let gz: Writable | undefined;
  const out: Writable = gzip ? (gz = createGzip()) : sink;
  // Standard output is never ended (Node does not allow closing it); a file is.
  if (gz) gz.pipe(sink, { end: own });
  const onError = (e: NodeJS.ErrnoException): void => {
    if (!own && e.code === "EPIPE") {
      closed = true;
      return;
    }
    error ??= new LstmNerError(`cannot write output (${e.code ?? e.message})`, { file, cause: e });
  };
  sink.on("error", onError);
  gz?.on("error", onError);
  // Wait for "drain", or give up when the stream failed (it never drains then).
  const drained = (): Promise<void> => new Promise((resolve) => {
    const done = (): void => {
      out.off("drain", done);
      sink.off("error", done);
      sink.off("close", done);
      resolve();
    };
    out.once("drain", done);
    sink.once("error", done);
    sink.once("close", done);
  });
  const check = (): void => {
    if (error) throw error;
  };
  const removeTmp = async (): Promise<void> => {
    if (tmp) await fs.rm(tmp, { force: true });
  };
  return {
    file,
    get closed() {
      return closed;
    },
    async write(s) {
      check();
      if (closed) return;
      if (!out.write(s)) await drained();
      check();
    },
    async commit() {
      check();
      if (closed) return;
      if (own || gz) {
        // A file is done at its "finish"; gzip to stdout once gzip has emitted its last bytes.
        const ended: Writable | NodeJS.ReadableStream = own ? sink : gz!;
        const finished = new Promise<void>((resolve) => {
          ended.once(own ? "finish" : "end", resolve);
          sink.once("error", () => resolve());
          sink.once("close", () => resolve());
        });
        out.end();
        await finished;
      }
      try {
        check();
        if (tmp) await fs.rename(tmp, file).catch((e: unknown) => { throw new LstmNerError(`cannot write output (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { file, cause: e }); });
      } catch (e) {
        await removeTmp();
        throw e;
      }
    },
    async abort() {
      if (own) {
        sink.destroy();
        await removeTmp();
      }
    },
  };
}
