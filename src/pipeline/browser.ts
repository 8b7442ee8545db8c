/**
 * Loading a pipeline in a browser: the kernels fetched from beside the bundle
 * (platform-web.ts), the model from a URL, a File/Blob, bytes, or by name
 * ("en", the English model that comes with the package, beside the bundle
 * too). The browser entry (src/browser.ts) exports this.
 */
import type { Kernels } from "../engine/kernels.js";
import { webPlatform } from "../engine/platform-web.js";
import { referenceKernels } from "../engine/reference.js";
import { linkWasmKernels } from "../engine/wasm.js";
import { sharedMemoryAvailable, simdAvailable } from "../engine/wasm-load.js";
import { NerModel } from "../model/ner.js";
import { LstmNerError } from "../util/errors.js";
import { createNlp, type Nlp, type NlpOptions } from "./nlp.js";

/** The models that come with the package, by name (a literal URL each, which Vite and webpack copy). */
const PACKAGED: Record<string, () => URL> = {
  en: () => new URL("./en.safetensors", import.meta.url),
};

/** Options of {@link loadKernels} and {@link load}. */
export interface BrowserKernelOptions {
  /**
   * "wasm" (an error if it cannot load), "reference" (plain JavaScript) or
   * "auto" (the default: WASM where the browser has WebAssembly SIMD, else
   * reference; a kernels file that cannot be fetched is an error naming it).
   */
  kernels?: Kernels | "auto" | "wasm" | "reference";
  /**
   * Where the kernels module is. Default: `kernels.wasm` (cross-origin
   * isolated pages, shared memory) or `kernels-st.wasm` beside this bundle.
   */
  wasmUrl?: string | URL;
}

let cached: Promise<Kernels> | undefined;

/** The compute kernels for this page (loaded once for the default options). */
export function loadKernels(o: BrowserKernelOptions = {}): Promise<Kernels> {
  const kind = o.kernels ?? "auto";
  if (typeof kind !== "string") return Promise.resolve(kind);
  if (kind === "reference" || (kind === "auto" && !simdAvailable())) return Promise.resolve(referenceKernels);
  const shared = sharedMemoryAvailable();
  const loading = (): Promise<Kernels> => linkWasmKernels(webPlatform, { shared, ...(o.wasmUrl === undefined ? {} : { wasm: o.wasmUrl }) });
  if (o.wasmUrl !== undefined) return loading();
  cached ??= loading();
  cached.catch(() => (cached = undefined)); // a file that could not be fetched may be there next time
  return cached;
}

/**
 * A pipeline from a model: the name of one that comes with the package
 * (`"en"`), a URL to fetch, a `File`/`Blob` (e.g. from a file picker), or the
 * file's bytes.
 * @throws LstmNerError when the file cannot be fetched or is not a model.
 */
export async function load(model: string | URL | Blob | ArrayBuffer | Uint8Array, opts: BrowserKernelOptions & NlpOptions = {}): Promise<Nlp> {
  // The kernels compile while the model downloads.
  const [kernels, { bytes, name }] = await Promise.all([loadKernels(opts), modelBytes(model)]);
  return createNlp(NerModel.fromBytes(bytes, kernels, name), opts);
}

async function modelBytes(model: string | URL | Blob | ArrayBuffer | Uint8Array): Promise<{ bytes: Uint8Array; name: string }> {
  if (model instanceof Uint8Array) return { bytes: model, name: "model" };
  if (model instanceof ArrayBuffer) return { bytes: new Uint8Array(model), name: "model" };
  if (typeof Blob !== "undefined" && model instanceof Blob) {
    return { bytes: new Uint8Array(await model.arrayBuffer()), name: (model as Blob & { name?: string }).name ?? "model" };
  }
  const packaged = typeof model === "string" && Object.hasOwn(PACKAGED, model);
  const url = packaged ? PACKAGED[model as string]!() : new URL(String(model), globalThis.location?.href);
  const hint = packaged ? `; serve ${model as string}.safetensors from lstm-ner's build/browser folder beside your bundle (Vite and webpack copy it; esbuild does not)` : "";
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new LstmNerError(`cannot fetch the model (${(e as Error).message})${hint}`, { file: url.href, cause: e });
  }
  if (!res.ok) throw new LstmNerError(`cannot fetch the model (HTTP ${res.status} ${res.statusText})${hint}`, { file: url.href });
  return { bytes: new Uint8Array(await res.arrayBuffer()), name: url.href };
}
