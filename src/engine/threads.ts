import type { Worker as NodeWorker } from "node:worker_threads";
import { CONTROL, OP_EXIT, type HelperInit } from "./helper-protocol.js";
import { nodeWorkerThreads } from "./wasm-load.js";
import { LstmNerError } from "../util/errors.js";

const { REQ, DONE, STATUS, OP, ARGS, SLOTS } = CONTROL;

/** How long a browser helper may take to load and link before the kernels stay single-threaded. */
const WEB_START_MS = 60_000;

/** A started helper thread, whichever runtime made it. */
export interface HelperThread {
  /** Resolves when the loop said "ready"; rejects on an error, or an exit before it. */
  readonly ready: Promise<void>;
  /** Lets an idle helper not keep the process alive (Node; nothing to do in browsers). */
  unref(): void;
  /** Resolves when the thread has left its loop (call before sending the exit opcode). */
  whenExited(): Promise<void>;
}

/** Starts a helper thread running helper-loop.ts with `init`. */
export type SpawnHelper = (init: HelperInit) => HelperThread;

/** Node: a worker_threads Worker running worker.js next to this module. */
export function nodeSpawner(Worker: typeof NodeWorker): SpawnHelper {
  return (init) => {
    const worker = new Worker(new URL("./worker.js", import.meta.url), {
      workerData: init,
      execArgv: [], // the parent's flags (e.g. --input-type) may not apply to a worker file
    });
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    const ready = new Promise<void>((resolve, reject) => {
      const onError = (e: unknown): void => fail(e);
      const onExit = (code: number): void => fail(new Error(`exited with code ${code}`));
      const fail = (e: unknown): void => {
        off();
        reject(e);
      };
      const off = (): void => {
        worker.off("error", onError).off("exit", onExit);
      };
      worker.once("error", onError).once("exit", onExit).once("message", (m) => {
        off();
        if (m === "ready") resolve();
        else reject(new Error(String((m as { error?: unknown }).error ?? m)));
      });
    });
    return {
      ready,
      unref: () => worker.unref(),
      whenExited: () => {
        worker.ref(); // keep the process up until the worker has left
        return exited;
      },
    };
  };
}

/**
 * Browsers: a module Web Worker running `url` (build/browser/kernels-helper.js,
 * the bundle of worker-web.ts), handed the module and shared memory by message.
 */
export function webSpawner(url: URL | string): SpawnHelper {
  return (init) => {
    const worker = new Worker(url, { type: "module" });
    let exit!: () => void;
    const exited = new Promise<void>((resolve) => (exit = resolve));
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`${String(url)} did not start within ${WEB_START_MS / 1000} s`)), WEB_START_MS);
      const fail = (e: Error): void => {
        clearTimeout(timer);
        worker.terminate();
        reject(e);
      };
      worker.onerror = (e) => {
        e.preventDefault();
        fail(new Error(e.message || `cannot load ${String(url)}`));
      };
      worker.onmessage = (e: MessageEvent<unknown>) => {
        if (e.data === "ready") {
          clearTimeout(timer);
          resolve();
        } else if (e.data === "exited") exit();
        else fail(new Error(String((e.data as { error?: unknown }).error ?? e.data)));
      };
    });
    worker.postMessage(init);
    return { ready, unref: () => undefined, whenExited: () => exited };
  };
}

/**
 * How this runtime starts a helper thread: Node's worker_threads; in a
 * browser, a Web Worker from `webUrl` — only where this thread may block in
 * Atomics.wait (a worker, not a page's main thread); else null (one thread).
 */
export async function helperSpawner(webUrl?: URL | string): Promise<SpawnHelper | null> {
  const wt = await nodeWorkerThreads();
  if (wt !== null) return nodeSpawner(wt.Worker);
  if (typeof Worker !== "function" || !mayBlock()) return null;
  return webSpawner(webUrl ?? new URL("./kernels-helper.js", import.meta.url));
}

/** True where Atomics.wait may suspend this thread (browsers forbid it on a page's main thread). */
function mayBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A second thread running the same WebAssembly module over the same shared
 * memory, for one call at a time: the main thread writes an opcode and its
 * arguments (byte offsets and sizes) into a control block, wakes the worker
 * with Atomics.notify, does its own share of the work, then blocks in
 * Atomics.wait until the worker is done. No allocation and no message passing
 * per call; the worker is started once and reused. The thread is a Node
 * worker_threads Worker or a browser Web Worker (see {@link helperSpawner});
 * the calling thread must be one that may block.
 */
export class Helper {
  /** Bytes of shared memory the control block needs. */
  static readonly CONTROL_BYTES = SLOTS * 4;
  private req = 0;

  private constructor(private readonly thread: HelperThread, private readonly ctl: Int32Array) {}

  /**
   * Starts the thread with `spawn` and waits until its instance is ready.
   * `ctlOffset` is a block of {@link CONTROL_BYTES} in `memory`.
   */
  static async start(spawn: SpawnHelper, module: WebAssembly.Module, memory: WebAssembly.Memory, ctlOffset: number): Promise<Helper> {
    const ctl = new Int32Array(memory.buffer, ctlOffset, SLOTS);
    ctl.fill(0);
    let thread: HelperThread;
    try {
      thread = spawn({ module, memory, ctlOffset });
    } catch (e) {
      throw new LstmNerError(`cannot start the kernels' helper thread (${(e as Error).message})`, { cause: e });
    }
    try {
      await thread.ready;
    } catch (e) {
      throw new LstmNerError(`the kernels' helper thread failed to start (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
    // An idle helper must not keep a process alive that has nothing else to do.
    thread.unref();
    return new Helper(thread, ctl);
  }

  /**
   * Runs export `op` with `args` on the helper while `mine` runs here; returns
   * when both are done. An error in either is thrown after both finished (the
   * helper writes into memory the caller owns, so it must not be abandoned).
   */
  run(op: number, args: readonly number[], mine: () => void): void {
    const { ctl } = this;
    if (args.length > SLOTS - ARGS) throw new LstmNerError(`helper: too many arguments (${args.length})`);
    for (let i = 0; i < args.length; i++) ctl[ARGS + i] = args[i]! | 0;
    ctl[OP] = op;
    ctl[STATUS] = 0;
    const req = (this.req = (this.req + 1) | 0);
    Atomics.store(ctl, REQ, req);
    Atomics.notify(ctl, REQ, 1);
    let mineError: unknown = null;
    try {
      mine();
    } catch (e) {
      mineError = e;
    }
    for (;;) {
      const done = Atomics.load(ctl, DONE);
      if (done === req) break;
      Atomics.wait(ctl, DONE, done);
    }
    if (mineError !== null) throw mineError;
    if (ctl[STATUS] !== 0) {
      // Arguments are checked before the call, so this is a bug (a trap in the module), not bad input.
      throw new LstmNerError("the kernels' helper thread failed: the WebAssembly call trapped");
    }
  }

  /** Asks the worker to leave its loop and waits for it to exit. */
  async stop(): Promise<void> {
    const exited = this.thread.whenExited();
    this.ctl[OP] = OP_EXIT;
    Atomics.store(this.ctl, REQ, (this.req = (this.req + 1) | 0));
    Atomics.notify(this.ctl, REQ, 1);
    await exited;
  }
}
