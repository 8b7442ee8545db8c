/**
 * Tagging on N worker threads. The model file is read once into a
 * SharedArrayBuffer, placed so that its word table is 4-byte aligned: every
 * worker's word table (most of the file) is then a view of that one copy,
 * not a copy of its own. Each worker has its own WebAssembly kernels
 * (holding the other weights, which are small) and what JavaScript cannot
 * share between threads (the vocabulary's strings and map). Groups are
 * handed to idle workers; {@link tagInOrder} keeps the output in input order.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { LstmNerError } from "../util/errors.js";
import { readAligned } from "../tensors/read-aligned.js";
import type { PredictFormat, PredictItem, TaggedGroup } from "./items.js";

/** Something that tags groups of items: a {@link TaggerPool}, or an in-process tagger. */
export interface GroupTagger {
  tag(items: PredictItem[]): Promise<TaggedGroup>;
  close(): Promise<void>;
}

/** @internal What a worker is started with. */
export interface WorkerData {
  /** The model file's bytes, a view of a SharedArrayBuffer. */
  model: Uint8Array;
  name: string;
  kernels: "auto" | "wasm" | "reference";
  threads: number;
}
/** @internal Main thread → worker. */
export interface WorkerRequest {
  seq: number;
  items: PredictItem[];
  format: PredictFormat;
}
/** @internal Worker → main thread. */
export type WorkerReply =
  | { kind: "ready" }
  | { kind: "failed"; message: string; user: boolean }
  | ({ kind: "done"; seq: number } & TaggedGroup)
  | { kind: "error"; seq: number; message: string; user: boolean };

/** Options of {@link TaggerPool.start}. */
export interface TaggerPoolOptions {
  /** Worker threads (≥ 1). */
  workers: number;
  format: PredictFormat;
  /** Kernels in each worker (default "auto"). */
  kernels?: "auto" | "wasm" | "reference";
  /** Kernel threads per worker, 1 or 2 (default {@link defaultThreads}: the cores shared out among the workers). */
  threads?: number;
}

interface Slot {
  worker: Worker;
  busy: { seq: number; resolve: (g: TaggedGroup) => void; reject: (e: Error) => void } | undefined;
}

/**
 * Kernel threads per worker when not given: the cores shared out among the
 * workers, at least 1 and at most 2 (the kernels use 1 or 2), so 1 worker on
 * 2 cores gets 2 threads and 2 workers get 1 each.
 */
export function defaultThreads(workers: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(2, Math.floor(cores / Math.max(1, workers))));
}

/**
 * Most worker threads a pool starts: 4 per core (at least 8). Each holds its
 * own vocabulary, kernels and working memory, so a mistyped --workers 1000000
 * would only exhaust memory.
 */
export function maxWorkers(cores = availableParallelism()): number {
  return Math.max(8, 4 * cores);
}

/**
 * Read a model file into shared memory, placed so that its word table is
 * 4-byte aligned (see `readAligned`): worker threads then parse it without
 * copying the table. Returns a view of the file's bytes in a SharedArrayBuffer.
 * @throws LstmNerError naming the file when it cannot be read.
 */
export async function readShared(file: string): Promise<Uint8Array> {
  try {
    return await readAligned(file, { shared: true });
  } catch (err) {
    throw new LstmNerError(`cannot read model file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { file, cause: err });
  }
}

/** A copy of a model file's bytes in shared memory (a file written by this version has its tensors aligned as they are). */
function shareBytes(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(b.length));
  out.set(b);
  return out;
}

const asError = (m: { message: string; user: boolean }): Error => (m.user ? new LstmNerError(m.message) : new Error(m.message));

/** N worker threads tagging groups of items. */
export class TaggerPool implements GroupTagger {
  private readonly queue: { items: PredictItem[]; resolve: (g: TaggedGroup) => void; reject: (e: Error) => void }[] = [];
  private seq = 0;
  private failure: Error | undefined;

  private constructor(private readonly slots: Slot[], private readonly format: PredictFormat) {}

  /**
   * Start `workers` threads on a model file (its path, or its bytes: used as
   * they are when in shared memory, else copied there once) and wait until
   * all have loaded it.
   * @throws LstmNerError when the model cannot be read or loaded.
   */
  static async start(model: string | SharedArrayBuffer | Uint8Array, opts: TaggerPoolOptions): Promise<TaggerPool> {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new LstmNerError(`workers must be a positive integer, got ${opts.workers}`);
    if (opts.workers > maxWorkers()) throw new LstmNerError(`workers must be at most ${maxWorkers()} (4 per core), got ${opts.workers}`);
    const threads = opts.threads ?? defaultThreads(opts.workers);
    if (threads !== 1 && threads !== 2) throw new LstmNerError(`threads must be 1 or 2, got ${threads}`);
    const name = typeof model === "string" ? model : "model";
    // Bytes not in shared memory are copied there once (each worker would get its own copy otherwise).
    const bytes = typeof model === "string" ? await readShared(model)
      : model instanceof SharedArrayBuffer ? new Uint8Array(model)
        : model.buffer instanceof SharedArrayBuffer ? model : shareBytes(model);
    const data: WorkerData = { model: bytes, name, kernels: opts.kernels ?? "auto", threads };
    const slots: Slot[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < opts.workers; i++) {
      const worker = new Worker(new URL("./tag-worker.js", import.meta.url), { workerData: data, execArgv: [] });
      slots.push({ worker, busy: undefined });
      ready.push(new Promise<void>((resolve, reject) => {
        worker.once("message", (m: WorkerReply) => (m.kind === "ready" ? resolve() : reject(m.kind === "failed" ? asError(m) : new Error(`unexpected ${m.kind}`))));
        worker.once("error", reject);
        worker.once("exit", (code) => reject(new Error(`tagging worker exited with code ${code} while loading the model`)));
      }));
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      await Promise.all(slots.map((s) => s.worker.terminate()));
      throw e;
    }
    const pool = new TaggerPool(slots, opts.format);
    for (const s of slots) pool.listen(s);
    return pool;
  }

  /** Why the pool stopped working (a thread died, or it was closed), if it did. */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** Number of worker threads. */
  get size(): number {
    return this.slots.length;
  }

  /** Tag a group on the next idle worker. */
  tag(items: PredictItem[]): Promise<TaggedGroup> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      this.dispatch();
    });
  }

  /** Stop the workers (pending groups are rejected). */
  async close(): Promise<void> {
    this.fail(new LstmNerError("the tagging pool was closed"));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private listen(slot: Slot): void {
    const { worker } = slot;
    for (const ev of ["message", "error", "exit"]) worker.removeAllListeners(ev);
    worker.on("message", (m: WorkerReply) => {
      const job = slot.busy;
      if (!job || (m.kind !== "done" && m.kind !== "error") || m.seq !== job.seq) return;
      slot.busy = undefined;
      if (m.kind === "done") job.resolve({ out: m.out, docs: m.docs, tokens: m.tokens });
      else job.reject(asError(m));
      this.dispatch();
    });
    const died = (e: Error): void => this.fail(e);
    worker.on("error", died);
    worker.on("exit", (code) => died(new Error(`a tagging worker exited unexpectedly (code ${code})`)));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.busy) continue;
      const job = this.queue.shift()!;
      const seq = ++this.seq;
      slot.busy = { seq, resolve: job.resolve, reject: job.reject };
      const req: WorkerRequest = { seq, items: job.items, format: this.format };
      slot.worker.postMessage(req);
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const s of this.slots) {
      s.busy?.reject(this.failure);
      s.busy = undefined;
      s.worker.removeAllListeners("exit");
    }
    for (const j of this.queue.splice(0)) j.reject(this.failure);
  }
}
