/**
 * The public displaCy API: the renderer of displacy.ts with its options
 * checked. displacy.ts has no imports (the server hands that very module to
 * its page), so the check that throws an LstmNerError lives here.
 */
import { LstmNerError } from "../util/errors.js";
import { render as renderHtml, DEFAULT_COLORS, DEFAULT_COLOR, type RenderOptions } from "./displacy.js";
import type { Doc, DocJSON } from "./doc.js";

export { escapeHtml, DEFAULT_COLORS, DEFAULT_COLOR, type RenderOptions } from "./displacy.js";

/**
 * Entity HTML for one document or several (each in its own `<div
 * class="entities">`, or `<figure>` on a page), as displaCy draws it.
 * @throws LstmNerError for a style other than "ent".
 */
export function render(docs: Doc | DocJSON | readonly (Doc | DocJSON)[], opts: RenderOptions = {}): string {
  if (opts.style !== undefined && opts.style !== "ent") {
    throw new LstmNerError(`displacy: unsupported style ${JSON.stringify(opts.style)} (only "ent")`);
  }
  return renderHtml(docs, opts);
}

/** The renderer, spaCy-style: `displacy.render(doc, { style: "ent" })`. */
export const displacy = { render, DEFAULT_COLORS, DEFAULT_COLOR };
