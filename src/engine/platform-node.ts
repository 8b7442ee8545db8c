/**
 * The kernels in Node: the .wasm files of the package's build/ folder read
 * from disk, the helper thread a worker_threads Worker running worker.js next
 * to this module, relaxed SIMD switched on through V8's flag.
 */
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { setFlagsFromString } from "node:v8";
import { Worker } from "node:worker_threads";
import type { KernelPlatform } from "./platform.js";
import type { SpawnHelper } from "./threads.js";
import { relaxedSimdValidates } from "./wasm-load.js";

// One literal URL per file, so that a bundler targeting Node can see and copy each.
const FILES = {
  shared: new URL("../../../build/kernels.wasm", import.meta.url),
  single: new URL("../../../build/kernels-st.wasm", import.meta.url),
  sharedRelaxed: new URL("../../../build/kernels-relaxed.wasm", import.meta.url),
  singleRelaxed: new URL("../../../build/kernels-relaxed-st.wasm", import.meta.url),
};

/** Node's answers to {@link KernelPlatform}. */
export const nodePlatform: KernelPlatform = {
  wasmUrl: ({ shared, relaxedSimd }) => relaxedSimd ? (shared ? FILES.sharedRelaxed : FILES.singleRelaxed) : (shared ? FILES.shared : FILES.single),
  async read(source) {
    // A path or a file: URL is read from disk; anything else (https:, data:) is fetched.
    const url = source instanceof URL ? source : /^[a-z][a-z0-9+.-]+:/i.test(source) ? new URL(source) : null;
    if (url === null || url.protocol === "file:") return readFile(url ?? source);
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    return res.arrayBuffer();
  },
  fixHint: "the installed package is incomplete: reinstall lstm-ner (in a clone of its repository: npm run build:wasm)",
  async relaxedSimd() {
    // Node 20 validates relaxed SIMD only behind --experimental-wasm-relaxed-simd; V8 reads the flag at validation.
    if (relaxedSimdValidates()) return true;
    setFlagsFromString("--experimental-wasm-relaxed-simd");
    return relaxedSimdValidates();
  },
  spawner: () => nodeSpawner,
};

/** os.availableParallelism(): the threads this process may use. */
export function availableThreads(): number {
  return availableParallelism();
}

/** A worker_threads Worker running worker.js (the helper loop) next to this module. */
const nodeSpawner: SpawnHelper = (init) => {
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
