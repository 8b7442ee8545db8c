/**
 * The kernels' helper thread in Node (worker_threads): the loop of
 * helper-loop.ts over the main thread's shared memory.
 */
import { parentPort, workerData } from "node:worker_threads";
import { serveHelper } from "./helper-loop.js";
import type { HelperInit } from "./helper-protocol.js";

const port = parentPort!;
serveHelper(workerData as HelperInit, (m) => port.postMessage(m));
port.close();
