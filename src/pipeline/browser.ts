/**
 * The browser build's entry point (bundled by scripts/build-browser.mjs into
 * build/browser/lstm-ner.js): the inference path only — tokenizer, model
 * file parsing, WASM kernels, pipeline and displacy — with no Node modules.
 *
 * ```js
 * import { load, displacy } from "./lstm-ner.js";
 * const nlp = await load("model.safetensors");       // URL, File/Blob or bytes
 * el.innerHTML = displacy.render(nlp("Hello my name is Ross."), { style: "ent" });
 * ```
 */
import type { Kernels } from "../engine/kernels.js";
import { referenceKernels } from "../engine/reference.js";
import { loadWasmKernels, sharedMemoryAvailable } from "../engine/wasm.js";
import { NerModel } from "../model/ner.js";
import { LstmNerError } from "../util/errors.js";
import { createNlp, type Nlp, type NlpOptions } from "./nlp.js";

export { Doc, Token, Span, type DocJSON, type TokenJSON, type SpanJSON, type EntIob } from "./doc.js";
export { createNlp, nlpFromBytes, type Nlp, type NlpOptions, type PipeOptions } from "./nlp.js";
export { displacy, render, escapeHtml, DEFAULT_COLORS, DEFAULT_COLOR, type RenderOptions } from "./displacy-api.js";
export { tokenize, tokenizeSentences, splitSentences, type TextSpan } from "../data/tokenize.js";
export { NerModel } from "../model/ner.js";
export { LstmNerError } from "../util/errors.js";
export type { Kernels } from "../engine/kernels.js";

/** Options of {@link loadKernels} and {@link load}. */
export interface BrowserKernelOptions {
  /** "wasm" (fail if it cannot load), "reference" (plain JS) or "auto" (WASM, else reference; the default). */
  kernels?: Kernels | "auto" | "wasm" | "reference";
  /**
   * Where the kernels module is. Default: `kernels.wasm` (cross-origin
   * isolated pages, shared memory) or `kernels-st.wasm` next to this bundle.
   */
  wasmUrl?: string | URL;
}

let cached: Promise<Kernels> | undefined;

/** The compute kernels for this page (loaded once for the default options). */
export function loadKernels(o: BrowserKernelOptions = {}): Promise<Kernels> {
  const kind = o.kernels ?? "auto";
  if (typeof kind !== "string") return Promise.resolve(kind);
  if (kind === "reference") return Promise.resolve(referenceKernels);
  const shared = sharedMemoryAvailable();
  const wasm = o.wasmUrl ?? new URL(shared ? "./kernels.wasm" : "./kernels-st.wasm", import.meta.url);
  const loading = (): Promise<Kernels> => loadWasmKernels({ wasm, shared });
  if (kind === "wasm") return loading();
  if (o.wasmUrl !== undefined) return loading().catch((): Kernels => referenceKernels);
  cached ??= loading().catch((): Kernels => referenceKernels);
  return cached;
}

/**
 * A pipeline from a model: a URL to fetch, a `File`/`Blob` (e.g. from a file
 * picker), or the file's bytes.
 * @throws LstmNerError when the file cannot be fetched or is not a model.
 */
export async function load(model: string | URL | Blob | ArrayBuffer | Uint8Array, opts: BrowserKernelOptions & NlpOptions = {}): Promise<Nlp> {
  const kernels = await loadKernels(opts);
  let name = "model";
  let bytes: Uint8Array;
  if (model instanceof Uint8Array) bytes = model;
  else if (model instanceof ArrayBuffer) bytes = new Uint8Array(model);
  else if (typeof Blob !== "undefined" && model instanceof Blob) {
    name = (model as Blob & { name?: string }).name ?? name;
    bytes = new Uint8Array(await model.arrayBuffer());
  } else {
    const url = new URL(String(model), globalThis.location?.href);
    name = url.href;
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new LstmNerError(`cannot fetch the model (${(e as Error).message})`, { file: name, cause: e });
    }
    if (!res.ok) throw new LstmNerError(`cannot fetch the model (HTTP ${res.status} ${res.statusText})`, { file: name });
    bytes = new Uint8Array(await res.arrayBuffer());
  }
  return createNlp(NerModel.fromBytes(bytes, kernels, name), opts);
}
