/** Worker entry: hash the file named by `workerData` off the main thread (see hashFileInBackground). */
import { parentPort, workerData } from "node:worker_threads";
import { hashFile } from "./cache.js";

hashFile(workerData as string).then(
  (r) => parentPort!.postMessage(r),
  (e: unknown) => parentPort!.postMessage({ error: e instanceof Error ? e.message : String(e) }),
);
