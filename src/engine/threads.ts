import { CONTROL, OP_EXIT, type HelperInit } from "./helper-protocol.js";
import type { WasmMemory, WasmModule } from "./wasm-types.js";
import { LstmNerError } from "../util/errors.js";

const { REQ, DONE, STATUS, OP, ARGS, SLOTS } = CONTROL;

/** A started helper thread, whichever runtime made it. */
export interface HelperThread {
  /** Resolves when the loop said "ready"; rejects on an error, or an exit before it. */
  readonly ready: Promise<void>;
  /** Lets an idle helper not keep the process alive (Node; nothing to do in browsers). */
  unref(): void;
  /** Resolves when the thread has left its loop (call before sending the exit opcode). */
  whenExited(): Promise<void>;
}

/** Starts a helper thread running helper-loop.ts with `init` (see platform-node.ts and platform-web.ts). */
export type SpawnHelper = (init: HelperInit) => HelperThread;

/**
 * A second thread running the same WebAssembly module over the same shared
 * memory, for one call at a time: the main thread writes an opcode and its
 * arguments (byte offsets and sizes) into a control block, wakes the worker
 * with Atomics.notify, does its own share of the work, then blocks in
 * Atomics.wait until the worker is done. No allocation and no message passing
 * per call; the worker is started once and reused. The thread is a Node
 * worker_threads Worker or a browser Web Worker (see KernelPlatform.spawner);
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
  static async start(spawn: SpawnHelper, module: WasmModule, memory: WasmMemory, ctlOffset: number): Promise<Helper> {
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
