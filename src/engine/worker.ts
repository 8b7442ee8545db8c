/**
 * The kernels' helper thread (Node worker_threads): a second instance of the
 * WebAssembly kernels over the main thread's shared memory, serving one call
 * at a time through the control block described in threads.ts.
 */
import { parentPort, workerData } from "node:worker_threads";
import { CONTROL, OP_BACKWARD, OP_EXIT, OP_FORWARD } from "./threads.js";

interface Init {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctlOffset: number;
}

type Fn = (...args: number[]) => void;

const { module, memory, ctlOffset } = workerData as Init;
const port = parentPort!;
let exportsOf: Record<string, Fn>;
try {
  exportsOf = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Record<string, Fn>;
} catch (e) {
  port.postMessage({ error: (e as Error).message });
  process.exit(1);
}
const ops = new Map<number, Fn>([[OP_FORWARD, exportsOf.lstmSeqForward!], [OP_BACKWARD, exportsOf.lstmSeqBackward!]]);
const ctl = new Int32Array(memory.buffer, ctlOffset, CONTROL.SLOTS);
const args: number[] = new Array<number>(CONTROL.SLOTS - CONTROL.ARGS).fill(0);
// Read the request counter before saying ready: the first request may come at once.
let seen = Atomics.load(ctl, CONTROL.REQ);
port.postMessage("ready");
for (;;) {
  Atomics.wait(ctl, CONTROL.REQ, seen);
  const req = Atomics.load(ctl, CONTROL.REQ);
  if (req === seen) continue;
  seen = req;
  const op = ctl[CONTROL.OP]!;
  if (op === OP_EXIT) break;
  const fn = ops.get(op);
  let status = 0;
  if (fn === undefined) {
    status = 1;
  } else {
    for (let i = 0; i < args.length; i++) args[i] = ctl[CONTROL.ARGS + i]!;
    try {
      fn(...args);
    } catch {
      status = 1;
    }
  }
  ctl[CONTROL.STATUS] = status;
  Atomics.store(ctl, CONTROL.DONE, req);
  Atomics.notify(ctl, CONTROL.DONE, 1);
}
port.close();
