/**
 * The kernels in browsers: the .wasm files and the helper thread's script
 * (kernels-helper.js) fetched from beside the bundle that holds this module,
 * which is where build/browser keeps them and where Vite and webpack copy them
 * (they follow `new URL("…", import.meta.url)`); the helper a module Web
 * Worker, started only where this thread may block.
 */
import type { KernelPlatform } from "./platform.js";
import type { SpawnHelper } from "./threads.js";
import { relaxedSimdValidates } from "./wasm-load.js";

/** How long a helper may take to load and link before it counts as failed. */
const WEB_START_MS = 60_000;

/** Browsers' answers to {@link KernelPlatform}. */
export const webPlatform: KernelPlatform = {
  // Literal URLs, one per file: bundlers copy what they can see. The relaxed builds are not shipped to browsers.
  wasmUrl: ({ shared }) => shared ? new URL("./kernels.wasm", import.meta.url) : new URL("./kernels-st.wasm", import.meta.url),
  async read(source) {
    const res = await fetch(new URL(source, (globalThis as { location?: { href: string } }).location?.href));
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    return res.arrayBuffer();
  },
  fixHint: "serve the files of lstm-ner's build/browser folder (kernels-st.wasm, kernels.wasm, kernels-helper.js) beside your bundle " +
    "(Vite and webpack copy them; esbuild does not), or pass wasmUrl",
  relaxedSimd: () => Promise.resolve(relaxedSimdValidates()),
  spawner(helperUrl) {
    if (typeof Worker !== "function" || !mayBlock()) return null;
    return webSpawner(helperUrl ?? new URL("./kernels-helper.js", import.meta.url));
  },
};

/** True where Atomics.wait may suspend this thread (browsers forbid it on a page's main thread). */
function mayBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 0);
    return true;
  } catch {
    return false;
  }
}

/** A module Web Worker running `url` (the bundle of worker-web.ts), handed the module and shared memory by message. */
function webSpawner(url: URL | string): SpawnHelper {
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
        fail(new Error(`${String(url)}: ${e.message || "cannot load the script"}`));
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
