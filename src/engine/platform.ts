/**
 * What loading the WebAssembly kernels needs from the runtime it runs in:
 * where the packaged .wasm files are, how to read one, whether relaxed SIMD
 * can be switched on, and how to start the helper thread. Node's answers are
 * in platform-node.ts, browsers' in platform-web.ts; each entry point passes
 * its own, so neither runtime's code (nor its file names) reaches the other's
 * bundle.
 */
import type { SpawnHelper } from "./threads.js";

/** Which compiled kernels module: shared memory (threads) or not, relaxed SIMD or not. */
export interface KernelsBuild {
  shared: boolean;
  relaxedSimd: boolean;
}

/** A runtime's way of finding, reading and threading the kernels. */
export interface KernelPlatform {
  /** The packaged module of a build, named relative to the module that says so (bundlers follow such URLs). */
  wasmUrl(build: KernelsBuild): URL;
  /** The bytes of a module at a URL or path (an Error to be wrapped with the file's name when it cannot). */
  read(source: URL | string): Promise<ArrayBuffer | ArrayBufferView>;
  /** What to do when a packaged file is missing or broken, appended to the error that names it. */
  readonly fixHint: string;
  /** True where relaxed SIMD validates, after switching it on where the runtime allows that. */
  relaxedSimd(): Promise<boolean>;
  /** How this runtime starts the kernels' helper thread (optionally from `helperUrl`), or null: one thread here. */
  spawner(helperUrl?: URL | string): SpawnHelper | null;
}
