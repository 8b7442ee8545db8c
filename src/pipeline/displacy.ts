/**
 * displaCy-style entity HTML: the text with each entity in a coloured
 * `<mark>` followed by its label, as spaCy's `displacy.render(doc,
 * style="ent")` draws it. Self-contained (inline styles, no scripts) and
 * free of runtime imports, so the server can hand this very module to the
 * browser page, which renders with it.
 */
import type { Doc, DocJSON } from "./doc.js";

/**
 * displaCy's default entity colours (spaCy's `DEFAULT_LABEL_COLORS`), plus
 * CoNLL's PER in PERSON's colour. Labels without a colour (MISC, for one)
 * get {@link DEFAULT_COLOR}, as in displaCy.
 */
export const DEFAULT_COLORS: Readonly<Record<string, string>> = Object.freeze({
  PER: "#aa9cfc",
  PERSON: "#aa9cfc",
  ORG: "#7aecec",
  LOC: "#ff9561",
  GPE: "#feca74",
  NORP: "#c887fb",
  FAC: "#9cc9cc",
  EVENT: "#ffeb80",
  LAW: "#ff8197",
  LANGUAGE: "#ff8197",
  WORK_OF_ART: "#f0d0ff",
  PRODUCT: "#bfeeb7",
  DATE: "#bfe1d9",
  TIME: "#bfe1d9",
  MONEY: "#e4e7d2",
  QUANTITY: "#e4e7d2",
  ORDINAL: "#e4e7d2",
  CARDINAL: "#e4e7d2",
  PERCENT: "#e4e7d2",
});

/** displaCy's colour for labels it has none for. */
export const DEFAULT_COLOR = "#ddd";

/** Options of {@link render}. */
export interface RenderOptions {
  /** Only "ent" (entity view) is supported. */
  style?: "ent";
  /** Label → CSS colour, on top of {@link DEFAULT_COLORS}. */
  colors?: Record<string, string>;
  /** Only highlight these labels (default: all). */
  ents?: readonly string[];
  /** A whole HTML page rather than a fragment (default false). */
  page?: boolean;
  /** Page title (with `page`). */
  title?: string;
}

type DocLike = Doc | DocJSON;

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** A CSS colour is kept only if it cannot break out of the style attribute. */
function safeColor(c: string | undefined): string | undefined {
  return c !== undefined && /^[#a-zA-Z0-9(),.%\s-]{1,64}$/.test(c) ? c : undefined;
}

/** Text as HTML, with line breaks kept (displaCy writes `<br>` for them). */
function textHtml(s: string): string {
  return escapeHtml(s).replace(/\r?\n/g, "<br>");
}

/**
 * Entity HTML for one document or several (each in its own `<div
 * class="entities">`, or `<figure>` on a page). The library's public
 * `render` (displacy-api.ts) checks `opts.style` first; this module stays
 * free of imports, so it cannot throw an LstmNerError itself.
 */
export function render(docs: DocLike | readonly DocLike[], opts: RenderOptions = {}): string {
  const list: readonly DocLike[] = Array.isArray(docs) ? docs : [docs as DocLike];
  const colors: Record<string, string> = { ...DEFAULT_COLORS };
  for (const [label, c] of Object.entries(opts.colors ?? {})) {
    const ok = safeColor(c);
    if (ok !== undefined) colors[label.toUpperCase()] = ok;
  }
  const only = opts.ents ? new Set(opts.ents.map((e) => e.toUpperCase())) : undefined;
  const parts = list.map((d) => renderOne(d, colors, only));
  if (!opts.page) return parts.join("\n");
  return pageHead(opts.title) + parts.map(figure).join("") + PAGE_TAIL;
}

/** The start of a displaCy-style page, up to where the figures go (for writing a page piece by piece). */
export function pageHead(title = "lstm-ner"): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
</head>
<body style="font-size: 16px; font-family: -apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif, 'Apple Color Emoji', 'Segoe UI Emoji', 'Segoe UI Symbol'; padding: 4rem 2rem; direction: ltr">
`;
}

/** One rendered document as a page figure. */
export function figure(html: string): string {
  return `<figure style="margin-bottom: 6rem">\n${html}\n</figure>\n`;
}

/** The end of a page started with {@link pageHead}. */
export const PAGE_TAIL = "</body>\n</html>\n";

function renderOne(doc: DocLike, colors: Record<string, string>, only: Set<string> | undefined): string {
  const { text } = doc;
  let out = "";
  let pos = 0;
  for (const e of doc.ents) {
    const label = e.label;
    if (only && !only.has(label.toUpperCase())) continue;
    if (e.startChar < pos) continue; // overlapping spans cannot be drawn inline
    const color = colors[label.toUpperCase()] ?? DEFAULT_COLOR;
    const conf = e.confidence === undefined ? "" : ` title="${escapeHtml(`${label} ${(e.confidence * 100).toFixed(1)}%`)}"`;
    out += textHtml(text.slice(pos, e.startChar));
    out += `<mark class="entity" data-label="${escapeHtml(label)}"${conf} style="background: ${color}; padding: 0.45em 0.6em; margin: 0 0.25em; line-height: 1; border-radius: 0.35em;">`
      + `${textHtml(text.slice(e.startChar, e.endChar))}`
      + `<span style="font-size: 0.8em; font-weight: bold; line-height: 1; border-radius: 0.35em; vertical-align: middle; margin-left: 0.5rem">${escapeHtml(label)}</span></mark>`;
    pos = e.endChar;
  }
  out += textHtml(text.slice(pos));
  return `<div class="entities" style="line-height: 2.5; direction: ltr">${out}</div>`;
}
