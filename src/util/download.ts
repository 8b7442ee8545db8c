import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { LstmNerError } from "./errors.js";

/** Options for {@link download}. */
export interface DownloadOptions {
  /** Expected SHA-256 (hex) of the file; verified before the file is kept. */
  sha256?: string;
  /** Called after each received chunk; `total` is the Content-Length if the server sent one. */
  onProgress?: (received: number, total: number | undefined) => void;
  /** The fetch to use (defaults to the global one). */
  fetch?: typeof fetch;
  /** Give up when no bytes arrive for this long (milliseconds; default 60000). */
  timeoutMs?: number;
}

/** A failed download: `url` could not be fetched, for the reason in `reason`. */
export class DownloadError extends LstmNerError {
  readonly url: string;
  readonly reason: string;
  constructor(url: string, reason: string, cause?: unknown) {
    super(`could not fetch ${url}: ${reason}`, { cause });
    this.url = url;
    this.reason = reason;
  }
}

/** Downloads under way in this process, by destination, so two callers share one. */
const inFlight = new Map<string, Promise<string>>();

/**
 * Download `url` to `dest` unless `dest` already exists. The body is streamed
 * to `dest + ".part"` (never held in memory), checked against `sha256` when
 * given, and only then renamed to `dest`, so `dest` is either absent or
 * complete. Redirects are followed.
 *
 * @returns `dest`
 * @throws DownloadError (an LstmNerError) when the server cannot be reached,
 * answers with an error status, drops the connection, stalls for `timeoutMs`,
 * or sends a file whose checksum does not match.
 */
export function download(url: string, dest: string, opts: DownloadOptions = {}): Promise<string> {
  const key = path.resolve(dest);
  const running = inFlight.get(key);
  if (running !== undefined) return running;
  const job = fetchTo(url, key, opts).finally(() => inFlight.delete(key));
  inFlight.set(key, job);
  return job;
}

async function fetchTo(url: string, dest: string, opts: DownloadOptions): Promise<string> {
  if (await exists(dest)) return dest;
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error(`no data for ${timeoutMs} ms`)), timeoutMs);
  };
  arm();
  try {
    let res: Response;
    try {
      res = await (opts.fetch ?? fetch)(url, { redirect: "follow", signal: controller.signal });
    } catch (err) {
      throw new DownloadError(url, describe(err, controller.signal), err);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new DownloadError(url, `HTTP ${res.status}${res.statusText === "" ? "" : " " + res.statusText}`);
    }
    const lengthHeader = res.headers.get("content-length");
    // With Content-Encoding the header counts compressed bytes, not what we receive.
    const total = lengthHeader !== null && res.headers.get("content-encoding") === null ? Number(lengthHeader) : undefined;
    const hash = createHash("sha256");
    let received = 0;
    const handle = await fs.open(part, "w");
    try {
      const reader = res.body?.getReader();
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array> | undefined;
        try {
          chunk = await reader?.read();
        } catch (err) {
          throw new DownloadError(url, `connection lost after ${received} bytes (${describe(err, controller.signal)})`, err);
        }
        if (chunk === undefined || chunk.done) break;
        arm();
        hash.update(chunk.value);
        await handle.write(chunk.value);
        received += chunk.value.byteLength;
        opts.onProgress?.(received, total);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (total !== undefined && Number.isFinite(total) && received !== total) {
      throw new DownloadError(url, `received ${received} of ${total} bytes`);
    }
    const actual = hash.digest("hex");
    if (opts.sha256 !== undefined && actual !== opts.sha256.toLowerCase()) {
      throw new DownloadError(url, `checksum mismatch: expected sha256 ${opts.sha256.toLowerCase()}, got ${actual}`);
    }
    await fs.rename(part, dest);
    return dest;
  } catch (err) {
    await fs.rm(part, { force: true });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** A readable reason, following `cause` chains (fetch hides the real one there). */
function describe(err: unknown, signal: AbortSignal): string {
  if (signal.aborted && signal.reason instanceof Error) return `timed out: ${signal.reason.message}`;
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && depth < 4; depth++) {
    if (e instanceof Error) {
      const code = (e as Error & { code?: unknown }).code;
      parts.push(typeof code === "string" && !e.message.includes(code) ? `${e.message} (${code})` : e.message);
      e = e.cause;
    } else {
      parts.push(String(e));
      e = undefined;
    }
  }
  return parts.filter((p) => p !== "").join(": ");
}
