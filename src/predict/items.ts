/**
 * What `predict` tags: texts (optionally with an id from JSON-lines input),
 * CoNLL sentences, and lines passed through in order (-DOCSTART-); and how a
 * group of them is tagged and rendered. Pure: used in-process and in the
 * worker threads of {@link TaggerPool}.
 */
import type { TagScheme } from "../data/types.js";
import type { Nlp } from "../pipeline/nlp.js";
import { Doc, type TokenOffset } from "../pipeline/doc.js";
import { escapeHtml, figure, render } from "../pipeline/displacy.js";

/** An id carried from JSON-lines input to the output. */
export type DocId = string | number;

/** One unit of `predict` input. */
export type PredictItem =
  | { kind: "text"; text: string; id?: DocId }
  | { kind: "conll"; lines: string[] }
  | { kind: "raw"; raw: string };

/** Output formats of `predict`. */
export type PredictFormat = "conll" | "jsonl" | "html";

/** A tagged group: its rendered output (in input order) and what it held. */
export interface TaggedGroup {
  out: string;
  docs: number;
  tokens: number;
}

/** Tag a group of items in one batch and render them, in order, in `format`. */
export function tagItems(nlp: Nlp, items: readonly PredictItem[], format: PredictFormat): TaggedGroup {
  const texts = items.flatMap((it) => (it.kind === "text" ? [it.text] : []));
  const textDocs = texts.length > 0 ? nlp.batch(texts) : [];
  const conll = items.flatMap((it) => (it.kind === "conll" ? [it] : []));
  const tokens = conll.map((it) => it.lines.map((l) => l.trim().split(/\s+/)[0]!));
  // Documents (for models with document context): -DOCSTART- lines separate them.
  const docIds: number[] = [];
  let docNo = 0;
  for (const it of items) {
    if (it.kind === "raw" && it.raw.startsWith("-DOCSTART-")) docNo++;
    else if (it.kind === "conll") docIds.push(docNo);
  }
  const tags = conll.length > 0 ? nlp.model.tag(tokens, docIds) : [];
  let t = 0;
  let c = 0;
  let docs = 0;
  let ntok = 0;
  let out = "";
  for (const it of items) {
    if (it.kind === "raw") {
      if (format === "conll") out += it.raw; // -DOCSTART- lines belong to CoNLL output only
      continue;
    }
    docs++;
    if (it.kind === "text") {
      const doc = textDocs[t++]!;
      ntok += doc.tokens.length;
      out += renderDoc(doc, format, it.id);
      continue;
    }
    const i = c++;
    ntok += it.lines.length;
    if (format === "conll") out += it.lines.map((l, j) => `${l.trimEnd()} ${tags[i]![j]}\n`).join("") + "\n";
    else out += renderDoc(conllDoc(tokens[i]!, tags[i]!, nlp.model.scheme as TagScheme), format, undefined);
  }
  return { out, docs, tokens: ntok };
}

function renderDoc(doc: Doc, format: PredictFormat, id: DocId | undefined): string {
  if (format === "jsonl") return JSON.stringify(id === undefined ? doc : { id, ...doc.toJSON() }) + "\n";
  if (format === "html") return (id === undefined ? "" : `<h3>${escapeHtml(String(id))}</h3>\n`) + figure(render(doc));
  // CoNLL-U's comment convention keeps the id without adding a column.
  const head = id === undefined ? "" : `# id = ${String(id).replace(/[\r\n]+/g, " ")}\n`;
  return head + doc.sents.map((s) => s.tokens.map((tok) => `${tok.text} ${tok.tag}\n`).join("") + "\n").join("");
}

/** A Doc for pre-tokenised CoNLL input: the tokens joined by single spaces. */
function conllDoc(tokens: readonly string[], tags: readonly string[], scheme: TagScheme): Doc {
  const offsets: TokenOffset[] = [];
  let pos = 0;
  for (const tok of tokens) {
    offsets.push({ start: pos, end: pos + tok.length });
    pos += tok.length + 1;
  }
  return Doc.fromTagged(tokens.join(" "), [offsets], [tags], scheme);
}
