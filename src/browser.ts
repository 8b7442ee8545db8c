/**
 * lstm-ner for browsers (`import { load } from "lstm-ner"` in a bundler that
 * targets the web; bundled into build/browser/lstm-ner.js): the tagging path
 * only — tokenizer, model file, WebAssembly kernels, pipeline and displacy —
 * with no Node modules. Training, scoring and the command line are in the
 * Node entry (src/index.ts).
 *
 * ```js
 * import { load, displacy } from "lstm-ner";
 * const nlp = await load("en");                      // or a URL, File/Blob or bytes
 * el.innerHTML = displacy.render(nlp("Hello my name is Ross."), { style: "ent" });
 * ```
 * @packageDocumentation
 */
export { load, loadKernels, type BrowserKernelOptions } from "./pipeline/browser.js";
export { Doc, Token, Span, type DocJSON, type TokenJSON, type SpanJSON, type EntIob } from "./pipeline/doc.js";
export { createNlp, nlpFromBytes, type Nlp, type NlpOptions, type PipeOptions } from "./pipeline/nlp.js";
export { displacy, render, escapeHtml, DEFAULT_COLORS, DEFAULT_COLOR, type RenderOptions } from "./pipeline/displacy-api.js";
export { tokenize, tokenizeSentences, splitSentences, type TextSpan } from "./data/tokenize.js";
export { NerModel } from "./model/ner.js";
export { LstmNerError } from "./util/errors.js";
export type { Kernels } from "./engine/kernels.js";
export { VERSION } from "./version.js";
