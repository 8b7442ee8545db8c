import type { Worker as NodeWorker } from "node:worker_threads";
import { LstmNerError } from "../util/errors.js";

/** The opcode that stops the worker; the others are the calls in wasm-ops.ts. */
export const OP_EXIT = 9;

// Control block (Int32 slots in the shared memory).
const REQ = 0; // bumped by the main thread for each request
const DONE = 1; // set by the worker to the request number it finished
const STATUS = 2; // 0 ok, 1 the call threw (message posted)
const OP = 3;
const ARGS = 4;
const SLOTS = 32;

/**
 * A second thread running the same WebAssembly module over the same shared
 * memory, for one call at a time: the main thread writes an opcode and its
 * arguments (byte offsets and sizes) into a control block, wakes the worker
 * with Atomics.notify, does its own share of the work, then blocks in
 * Atomics.wait until the worker is done. No allocation and no message passing
 * per call; the worker is started once and reused. Node only (the main thread
 * of a browser may not block).
 */
export class Helper {
  /** Bytes of shared memory the control block needs. */
  static readonly CONTROL_BYTES = SLOTS * 4;
  private req = 0;

  private constructor(private readonly worker: NodeWorker, private readonly ctl: Int32Array) {}

  /**
   * Starts the worker (`worker.js` next to this module) and waits until its
   * instance is ready. `ctlOffset` is a block of {@link CONTROL_BYTES} in `memory`.
   */
  static async start(Worker: typeof NodeWorker, module: WebAssembly.Module, memory: WebAssembly.Memory, ctlOffset: number): Promise<Helper> {
    const ctl = new Int32Array(memory.buffer, ctlOffset, SLOTS);
    ctl.fill(0);
    let worker: NodeWorker;
    try {
      worker = new Worker(new URL("./worker.js", import.meta.url), {
        workerData: { module, memory, ctlOffset },
        execArgv: [], // the parent's flags (e.g. --input-type) may not apply to a worker file
      });
    } catch (e) {
      throw new LstmNerError(`cannot start the kernels' helper thread (${(e as Error).message})`, { cause: e });
    }
    await new Promise<void>((resolve, reject) => {
      const fail = (e: unknown): void => reject(new LstmNerError(`the kernels' helper thread failed to start (${e instanceof Error ? e.message : String(e)})`, { cause: e }));
      worker.once("error", fail);
      worker.once("exit", (code) => fail(new Error(`exited with code ${code}`)));
      worker.once("message", (m) => {
        worker.removeAllListeners("error");
        worker.removeAllListeners("exit");
        if (m === "ready") resolve();
        else fail(new Error(String((m as { error?: unknown }).error ?? m)));
      });
    });
    // An idle helper must not keep a process alive that has nothing else to do.
    worker.unref();
    return new Helper(worker, ctl);
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
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.ref(); // keep the process up until the worker has left
    this.ctl[OP] = OP_EXIT;
    Atomics.store(this.ctl, REQ, (this.req = (this.req + 1) | 0));
    Atomics.notify(this.ctl, REQ, 1);
    await exited;
  }
}

/** Control-block slot indices, for the worker. */
export const CONTROL = { REQ, DONE, STATUS, OP, ARGS, SLOTS } as const;
