/**
 * The HTTP side's handle on the tagging thread ({@link ./tagger-worker.ts}):
 * starts it, sends it requests, drops requests whose client went away, and
 * starts a new thread if one dies (its requests get 500).
 */
import { Worker } from "node:worker_threads";
import { LstmNerError } from "../util/errors.js";
import type { ModelInfo } from "./info.js";
import type { Outcome, SchedulerOptions, SchedulerStats } from "./schedule.js";

/** What the tagging thread starts from. */
export interface WorkerInit {
  /** A model file path, or the bytes of one. */
  model: string | Uint8Array;
  /** Name used in errors about model bytes. */
  name: string;
  kernels: "auto" | "wasm" | "reference";
  threads?: number;
  /** Tag with the quantized model (see `NerModel.quantize`). */
  quantize?: boolean;
  limits: SchedulerOptions;
  /** Heap limit of the thread in MB (model weights live outside it); a thread over it is stopped and replaced. */
  heapMb?: number;
}

/** Messages to the tagging thread. */
export type ToWorker =
  | { type: "tag"; id: number; texts: string[]; many: boolean; client: string }
  | { type: "cancel"; id: number }
  | { type: "stats" };

type FromWorker =
  | { type: "ready"; info: ModelInfo }
  | { type: "failed"; error: string }
  | { type: "done"; id: number; outcome: Outcome }
  | { type: "stats"; stats: SchedulerStats };

/** A request handed to the tagger. */
export interface TagJob {
  /** Settles with the answer; never rejects. */
  readonly result: Promise<Outcome>;
  /** Drop the request (its client went away). */
  cancel(): void;
}

/** The tagging thread, seen from the HTTP side. */
export class Tagger {
  private worker!: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, (o: Outcome) => void>();
  private statsWaiters: ((s: SchedulerStats) => void)[] = [];
  private closed = false;
  private restarting: Promise<void> | null = null;
  private broken: string | null = null;

  private constructor(private readonly init: WorkerInit, readonly info: ModelInfo) {}

  /**
   * Start the thread and load the model in it.
   * @throws LstmNerError when the model cannot be loaded (missing, corrupt).
   */
  static async start(init: WorkerInit): Promise<Tagger> {
    const { worker, info } = await spawn(init);
    const t = new Tagger(init, info);
    t.attach(worker);
    return t;
  }

  /** Requests sent and not yet answered. */
  get queued(): number {
    return this.pending.size;
  }

  /** Why requests cannot be taken now (a dead thread being replaced, or one that could not be), or null when they can. */
  get unavailable(): string | null {
    if (this.closed) return "the server is shutting down";
    if (this.restarting !== null) return "the tagging thread is restarting";
    return this.broken;
  }

  /** Send texts to tag; `client` names who sent them (turns go round clients). */
  tag(texts: string[], many: boolean, client = ""): TagJob {
    const id = this.nextId++;
    const result = new Promise<Outcome>((resolve) => this.pending.set(id, resolve));
    this.post({ type: "tag", id, texts, many, client });
    return {
      result,
      cancel: () => {
        if (this.pending.delete(id)) this.post({ type: "cancel", id });
      },
    };
  }

  /** The thread's counters (zeros while no thread is up). */
  stats(): Promise<SchedulerStats> {
    if (this.unavailable !== null) return Promise.resolve({ queued: 0, passes: 0, tokensTagged: 0, done: 0, refused: 0, cancelled: 0 });
    return new Promise((resolve) => {
      this.statsWaiters.push(resolve);
      this.post({ type: "stats" });
    });
  }

  /** Stop the thread; unanswered requests get 503. */
  async close(): Promise<void> {
    this.closed = true;
    this.failAll(503, "the server is shutting down");
    await this.worker.terminate();
  }

  private post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private attach(worker: Worker): void {
    this.worker = worker;
    worker.on("message", (m: FromWorker) => {
      if (m.type === "done") {
        const resolve = this.pending.get(m.id);
        this.pending.delete(m.id);
        resolve?.(m.outcome);
      } else if (m.type === "stats") {
        this.statsWaiters.shift()?.(m.stats);
      }
    });
    // A thread that dies (out of memory, a crash) takes its requests with it; start another.
    worker.once("exit", (code) => {
      if (this.closed) return;
      this.failAll(500, `internal error: the tagging thread stopped (exit code ${code})`);
      this.restarting = spawn(this.init).then(({ worker: w }) => {
        this.restarting = null;
        this.attach(w);
      }, (e: unknown) => {
        this.restarting = null;
        this.broken = `the tagging thread stopped and could not be restarted (${e instanceof Error ? e.message : String(e)})`;
      });
    });
    worker.on("error", () => undefined); // followed by "exit"
  }

  private failAll(status: number, error: string): void {
    for (const resolve of this.pending.values()) resolve({ status, error });
    this.pending.clear();
    for (const w of this.statsWaiters) w({ queued: 0, passes: 0, tokensTagged: 0, done: 0, refused: 0, cancelled: 0 });
    this.statsWaiters = [];
  }
}

async function spawn(init: WorkerInit): Promise<{ worker: Worker; info: ModelInfo }> {
  const worker = new Worker(new URL("./tagger-worker.js", import.meta.url), {
    workerData: init, execArgv: [],
    ...(init.heapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: init.heapMb } }),
  });
  const listeners: { error?: (e: Error) => void; exit?: (code: number) => void; message?: (m: FromWorker) => void } = {};
  try {
    const info = await new Promise<ModelInfo>((resolve, reject) => {
      listeners.error = (e) => reject(new LstmNerError(`the tagging thread failed to start (${e.message})`));
      listeners.exit = (code) => reject(new LstmNerError(`the tagging thread failed to start (exit code ${code})`));
      listeners.message = (m) => {
        if (m.type === "ready") resolve(m.info);
        else reject(new LstmNerError(m.type === "failed" ? m.error : `the tagging thread failed to start (${m.type})`));
      };
      worker.on("error", listeners.error).on("exit", listeners.exit).on("message", listeners.message);
    });
    // Only ours: removeAllListeners would also drop Node's own (the port's ref counting).
    worker.off("error", listeners.error!).off("exit", listeners.exit!).off("message", listeners.message!);
    return { worker, info };
  } catch (e) {
    await worker.terminate();
    throw e;
  }
}
