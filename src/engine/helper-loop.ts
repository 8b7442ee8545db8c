/**
 * The loop of the kernels' helper thread, shared by its Node entry
 * (worker.ts, worker_threads) and its browser entry (worker-web.ts, a Web
 * Worker): a second instance of the WebAssembly kernels over the main
 * thread's shared memory, serving one call at a time through the control
 * block described in helper-protocol.ts.
 */
import { CONTROL, OP_EXIT, type HelperInit } from "./helper-protocol.js";
import { HELPER_OPS } from "./wasm-ops.js";

type Fn = (...args: number[]) => void;

/**
 * Links the module, says "ready" through `post`, then serves calls until the
 * exit opcode; returns then. A module that does not link is reported as
 * `{ error }` through `post` and returns at once.
 */
export function serveHelper({ module, memory, ctlOffset }: HelperInit, post: (m: unknown) => void): void {
  let exportsOf: Record<string, Fn>;
  try {
    exportsOf = new WebAssembly.Instance(module as WebAssembly.Module, { env: { memory: memory as WebAssembly.Memory } }).exports as unknown as Record<string, Fn>;
  } catch (e) {
    post({ error: (e as Error).message });
    return;
  }
  // Opcode → export, and how many of the control block's argument slots it takes.
  const ops = new Map(HELPER_OPS.map((d) => [d.op, { fn: exportsOf[d.fn]!, argc: d.fields.length }]));
  const ctl = new Int32Array(memory.buffer, ctlOffset, CONTROL.SLOTS);
  // Read the request counter before saying ready: the first request may come at once.
  let seen = Atomics.load(ctl, CONTROL.REQ);
  post("ready");
  for (;;) {
    Atomics.wait(ctl, CONTROL.REQ, seen);
    const req = Atomics.load(ctl, CONTROL.REQ);
    if (req === seen) continue;
    seen = req;
    const op = ctl[CONTROL.OP]!;
    if (op === OP_EXIT) break;
    const call = ops.get(op);
    let status = 0;
    if (call === undefined) {
      status = 1;
    } else {
      const args = Array.from(ctl.subarray(CONTROL.ARGS, CONTROL.ARGS + call.argc));
      try {
        call.fn(...args);
      } catch {
        status = 1;
      }
    }
    ctl[CONTROL.STATUS] = status;
    Atomics.store(ctl, CONTROL.DONE, req);
    Atomics.notify(ctl, CONTROL.DONE, 1);
  }
}
