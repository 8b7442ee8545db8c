/** The spaCy-style pipeline (Node): `load`, `nlp(text)` → Doc, `displacy.render`. */
export { Doc, Token, Span, type DocJSON, type TokenJSON, type SpanJSON, type EntIob, type TokenOffset } from "./doc.js";
export { createNlp, nlpFromBytes, type Nlp, type NlpOptions, type PipeOptions } from "./nlp.js";
export { load, type LoadOptions } from "./load.js";
export { displacy, render, escapeHtml, DEFAULT_COLORS, DEFAULT_COLOR, type RenderOptions } from "./displacy-api.js";
