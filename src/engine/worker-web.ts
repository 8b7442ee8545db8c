/**
 * The kernels' helper thread in a browser (a module Web Worker, bundled as
 * build/browser/kernels-helper.js): the loop of helper-loop.ts over the
 * shared memory that the first message brings. Says "exited" when it leaves.
 */
import { serveHelper } from "./helper-loop.js";
import type { HelperInit } from "./helper-protocol.js";

const scope = self as unknown as { onmessage: ((e: MessageEvent<HelperInit>) => void) | null; postMessage(m: unknown): void; close(): void };
scope.onmessage = (e) => {
  scope.onmessage = null;
  serveHelper(e.data, (m) => scope.postMessage(m));
  scope.postMessage("exited");
  scope.close();
};
