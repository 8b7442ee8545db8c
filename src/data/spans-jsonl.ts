/**
 * Annotated JSON lines: one record per line, a text with character-offset
 * entity spans, as annotation tools export them. Read into the same
 * {@link Sentence}s as CoNLL (tokenised by the toolkit's tokenizer, tags in
 * IOB2), and written from them. The record shapes read:
 *
 * - spaCy / Prodigy: `{"text", "spans": [{"start", "end", "label"}]}`
 * - doccano (JSONL export): `{"text", "label": [[start, end, "TYPE"]]}`
 * - doccano (relation export): `{"text", "entities": [{"start_offset", "end_offset", "label"}]}`
 * - Label Studio (JSON-MIN export): `{"text", "label": [{"start", "end", "labels": ["TYPE"]}]}`
 *
 * Offsets count Unicode code points, as these tools (written in Python) do;
 * `end` is exclusive. Records Prodigy's answer marks rejected or ignored are
 * left out. A record's text may hold several sentences separated
 * by blank lines; the records are the documents (`Sentence.doc`) when any
 * record holds more than one sentence, as {@link formatSpansJsonl} writes a
 * CoNLL file with `-DOCSTART-` documents.
 */
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { writeFileAtomic } from "../util/atomic.js";
import type { TextEncodingName } from "../util/decode.js";
import { LstmNerError } from "../util/errors.js";
import { readText } from "../util/read-text.js";
import { chunks, chunksToTags, detectScheme } from "./schemes.js";
import { tokenize } from "./tokenize.js";
import type { Sentence } from "./types.js";

/** Options for {@link parseSpansJsonl} and {@link readSpansJsonl}. */
export interface SpansReadOptions {
  /** File name used in error messages (readSpansJsonl defaults it to the path). */
  file?: string;
  /** Entity types a span may name; absent: any. */
  types?: readonly string[];
  /** Leave out the records holding a bad span (counted in the result) instead of refusing the file. */
  skipBad?: boolean;
  /** The field holding the text (default "text"). */
  textField?: string;
  /** How {@link readSpansJsonl} decodes the file: strict `utf8` (default) or `latin1`. */
  encoding?: TextEncodingName;
}

/** What {@link parseSpansJsonl} read. */
export interface SpansReadResult {
  sentences: Sentence[];
  /** Records left out with `skipBad`, and the first reason (as the error would have said it). */
  skipped: { records: number; spans: number; first: string | null };
  /** Records Prodigy marked `"answer": "reject"` or `"ignore"`, left out (its database export keeps them). */
  rejected: number;
}

/** One span as a record gives it, offsets in code points. */
interface RawSpan {
  start: unknown;
  end: unknown;
  label: unknown;
}

/** A record shape: the field holding its spans and how to read one entry of it (undefined: not this shape). */
interface SpanShape {
  field: string;
  read(entry: unknown): RawSpan | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

// Tried in order; a field is read with the first shape whose entry reader accepts its entries.
const SHAPES: readonly SpanShape[] = [
  { field: "spans", read: (e) => (isObject(e) ? { start: e.start, end: e.end, label: e.label } : undefined) },
  { field: "label", read: (e) => (Array.isArray(e) ? { start: e[0], end: e[1], label: e[2] } : undefined) },
  {
    field: "label",
    read: (e) => (isObject(e) && Array.isArray(e.labels) ? { start: e.start, end: e.end, label: e.labels.length === 1 ? e.labels[0] : e.labels } : undefined),
  },
  { field: "entities", read: (e) => (isObject(e) ? { start: e.start_offset, end: e.end_offset, label: e.label } : undefined) },
];

const TYPE = /^[^\s]+$/u;
const PARAGRAPH_BREAK = /\n[^\S\n]*\n/u;

/**
 * Parse annotated JSON lines into sentences (tags in IOB2).
 * @throws LstmNerError naming the file and 1-based line for a line that is
 * not a JSON object, a text that is not a string, a span list of no known
 * shape, or a span that is out of range, does not fall on token boundaries,
 * overlaps another, crosses a blank line or names an unknown type (these
 * last, with `skipBad`, leave the record out instead); or a file without sentences.
 */
export function parseSpansJsonl(text: string, opts: SpansReadOptions = {}): SpansReadResult {
  const file = opts.file;
  const textField = opts.textField ?? "text";
  const known = opts.types === undefined ? undefined : new Set(opts.types);
  const lines = text.split("\n");
  if (lines.length > 0 && lines[0]!.startsWith("\uFEFF")) lines[0] = lines[0]!.slice(1);
  const records: Sentence[][] = [];
  const skipped: SpansReadResult["skipped"] = { records: 0, spans: 0, first: null };
  let annotated = false;
  let rejected = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.endsWith("\r") ? lines[i]!.slice(0, -1) : lines[i]!;
    if (raw.trim() === "") continue;
    const where = { file, line: i + 1 };
    let rec: unknown;
    try {
      rec = JSON.parse(raw);
    } catch (e) {
      throw new LstmNerError(`not valid JSON (${(e as Error).message})`, where);
    }
    if (!isObject(rec)) throw new LstmNerError("expected a JSON object per line", where);
    const body = rec[textField];
    if (typeof body !== "string") {
      if (isObject(rec.data) && Array.isArray(rec.annotations)) {
        throw new LstmNerError("this is Label Studio's full JSON export; export the project as JSON-MIN instead", where);
      }
      throw new LstmNerError(`field "${textField}" must be a string, got ${body === null ? "null" : typeof body}`, where);
    }
    if (typeof rec.answer === "string" && rec.answer !== "accept") {
      rejected++;
      continue;
    }
    const spans = spansOf(rec, where);
    if (spans !== null) annotated = true;
    try {
      records.push(recordSentences(body, spans ?? [], known));
    } catch (e) {
      if (!(e instanceof BadSpan) || opts.skipBad !== true) throw e instanceof BadSpan ? new LstmNerError(e.message, where) : e;
      skipped.records++;
      skipped.spans += e.count;
      skipped.first ??= `${file === undefined ? "" : `${file}:`}${i + 1}: ${e.message}`;
    }
  }
  if (records.length === 0 && skipped.records === 0 && rejected === 0) throw new LstmNerError(text.trim() === "" ? "empty file: no records" : "no records with text", { file });
  if (!annotated && records.length > 0) {
    throw new LstmNerError(`no record has entity spans (expected one of the fields ${[...new Set(SHAPES.map((s) => s.field))].join(", ")}; see docs/cli.md)`, { file });
  }
  const documents = records.some((r) => r.length > 1);
  const sentences: Sentence[] = [];
  records.forEach((r, d) => {
    for (const s of r) sentences.push(documents ? { ...s, doc: d } : s);
  });
  if (sentences.length === 0) throw new LstmNerError("no sentences (every text is empty or was skipped)", { file });
  return { sentences, skipped, rejected };
}

/** A span the text cannot take: refused, or with `skipBad` its record is left out. */
class BadSpan extends Error {
  constructor(message: string, readonly count = 1) {
    super(message);
  }
}

/** The record's spans in the first shape that fits (null: the record has none of the span fields). */
function spansOf(rec: Record<string, unknown>, where: { file: string | undefined; line: number }): RawSpan[] | null {
  for (const field of new Set(SHAPES.map((s) => s.field))) {
    const list = rec[field];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new LstmNerError(`field "${field}" must be a list of spans`, where);
    for (const shape of SHAPES.filter((s) => s.field === field)) {
      const read = list.map((e) => shape.read(e));
      if (read.every((r) => r !== undefined)) return read as RawSpan[];
    }
    throw new LstmNerError(`field "${field}": ${JSON.stringify(list.find((e) => SHAPES.every((s) => s.field !== field || s.read(e) === undefined))).slice(0, 80)} is not a span of a known shape (see docs/cli.md)`, where);
  }
  return null;
}

/** One record's sentences: its text tokenised, split at blank lines, tagged from its spans (IOB2). */
function recordSentences(text: string, raw: readonly RawSpan[], known: ReadonlySet<string> | undefined): Sentence[] {
  const units = codeUnitOffsets(text);
  const tokens = tokenize(text);
  const startAt = new Map(tokens.map((t, i) => [t.start, i]));
  const endAt = new Map(tokens.map((t, i) => [t.end, i]));
  const count = [...text].length;
  const spans = raw.map((s) => {
    const name = `span [${String(s.start)}, ${String(s.end)}) ${JSON.stringify(s.label)}`;
    if (!Number.isInteger(s.start) || !Number.isInteger(s.end) || (s.start as number) < 0 || (s.end as number) > count || (s.start as number) >= (s.end as number)) {
      throw new BadSpan(`${name}: offsets must be whole numbers with 0 ≤ start < end ≤ ${count} (the text's length in characters)`);
    }
    if (typeof s.label !== "string" || !TYPE.test(s.label)) throw new BadSpan(`${name}: the label must be a type name without spaces`);
    const start = units(s.start as number);
    const end = units(s.end as number);
    const quoted = `${name} ${JSON.stringify(text.slice(start, end))}`;
    if (known !== undefined && !known.has(s.label)) throw new BadSpan(`${quoted}: unknown label (known: ${[...known].join(", ")})`);
    const first = startAt.get(start);
    const last = endAt.get(end);
    if (first === undefined || last === undefined) {
      const inside = tokens.filter((t) => t.end > start && t.start < end).map((t) => JSON.stringify(t.text)).join(" ");
      throw new BadSpan(`${quoted} does not fall on token boundaries (the tokens there: ${inside || "none"})`);
    }
    if (PARAGRAPH_BREAK.test(text.slice(start, end))) throw new BadSpan(`${quoted} crosses a blank line (a sentence break)`);
    return { name: quoted, type: s.label, start: first, end: last + 1 };
  }).sort((a, b) => a.start - b.start || a.end - b.end);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]!.start < spans[i - 1]!.end) throw new BadSpan(`${spans[i]!.name} overlaps ${spans[i - 1]!.name}`);
  }
  const tags = chunksToTags(spans, tokens.length, "IOB2");
  // Sentences: the tokens between blank lines.
  const sentences: Sentence[] = [];
  let from = 0;
  for (let i = 1; i <= tokens.length; i++) {
    if (i === tokens.length || PARAGRAPH_BREAK.test(text.slice(tokens[i - 1]!.end, tokens[i]!.start))) {
      if (i > from) sentences.push({ tokens: tokens.slice(from, i).map((t) => t.text), tags: tags.slice(from, i) });
      from = i;
    }
  }
  return sentences;
}

/** Code point offset → UTF-16 offset in `text` (the identity when the text has no characters beyond U+FFFF). */
function codeUnitOffsets(text: string): (cp: number) => number {
  if (!/[\uD800-\uDFFF]/.test(text)) return (cp) => cp;
  const at: number[] = [];
  let u = 0;
  for (const ch of text) {
    at.push(u);
    u += ch.length;
  }
  at.push(u);
  return (cp) => at[cp]!;
}

/**
 * Read an annotated JSON-lines file (strict UTF-8 unless `opts.encoding` is `latin1`; gzip-compressed if the name
 * ends in `.gz`). @throws LstmNerError as {@link parseSpansJsonl}, and when the file cannot be read.
 */
export async function readSpansJsonl(path: string, opts: SpansReadOptions = {}): Promise<SpansReadResult> {
  const file = opts.file ?? path;
  return parseSpansJsonl(await readText(path, { file, ...(opts.encoding === undefined ? {} : { encoding: opts.encoding }) }), { ...opts, file });
}

/** The record a group of sentences becomes: their tokens joined by spaces, sentences by a blank line. */
interface RecordText {
  text: string;
  spans: { start: number; end: number; label: string }[];
  /** The tokens' UTF-16 offsets in `text`. */
  tokens: { start: number; end: number }[];
}

/** One record per document (`Sentence.doc`), or per sentence when there are no documents. */
function toRecords(sentences: readonly Sentence[]): RecordText[] {
  const scheme = detectScheme(sentences.map((s) => s.tags));
  const records: RecordText[] = [];
  let rec: RecordText | null = null;
  let cps = 0;
  let lastDoc: number | undefined;
  sentences.forEach((s, si) => {
    if (s.tokens.length !== s.tags.length) throw new LstmNerError(`${s.tokens.length} tokens but ${s.tags.length} tags`, { file: `sentence ${si}` });
    if (s.tokens.length === 0) return;
    if (rec === null || s.doc === undefined || s.doc !== lastDoc) {
      rec = { text: "", spans: [], tokens: [] };
      records.push(rec);
      cps = 0;
    } else {
      rec.text += "\n\n";
      cps += 2;
    }
    lastDoc = s.doc;
    const r: RecordText = rec;
    const starts: number[] = [];
    const ends: number[] = [];
    s.tokens.forEach((t, i) => {
      if (i > 0) {
        r.text += " ";
        cps++;
      }
      starts.push(cps);
      r.tokens.push({ start: r.text.length, end: r.text.length + t.length });
      r.text += t;
      cps += [...t].length;
      ends.push(cps);
    });
    for (const c of chunks(s.tags, scheme)) r.spans.push({ start: starts[c.start]!, end: ends[c.end - 1]!, label: c.type });
  });
  return records;
}

/**
 * Format sentences as annotated JSON lines in spaCy/Prodigy's shape, `{"text", "spans": [{"start", "end",
 * "label"}]}` (offsets in code points): one record per document (`Sentence.doc`, its sentences separated by a
 * blank line), or per sentence when there are no documents. Tokens are joined by single spaces; the tags may be in
 * any scheme (read as conlleval does). {@link parseSpansJsonl} gives the sentences back, tags in IOB2, except
 * where the toolkit's tokenizer splits a token differently (see {@link retokenized}); other CoNLL columns are not kept.
 */
export function formatSpansJsonl(sentences: readonly Sentence[]): string {
  return toRecords(sentences).map(({ text, spans }) => JSON.stringify({ text, spans }) + "\n").join("");
}

/**
 * How many tokens of `sentences` the toolkit's tokenizer reads differently
 * in the text {@link formatSpansJsonl} writes (tokens it splits, such as
 * `'s` → `'` `s` or `+0.5` → `+` `0.5`), and in how many sentences.
 */
export function retokenized(sentences: readonly Sentence[]): { tokens: number; changed: number; sentences: number } {
  let tokens = 0;
  let changed = 0;
  for (const rec of toRecords(sentences)) {
    const found = new Set(tokenize(rec.text).map((t) => `${t.start}:${t.end}`));
    tokens += rec.tokens.length;
    changed += rec.tokens.filter((t) => !found.has(`${t.start}:${t.end}`)).length;
  }
  const changedSentences = sentences.filter((s) => tokenize(s.tokens.join(" ")).length !== s.tokens.length).length;
  return { tokens, changed, sentences: changedSentences };
}

/** Write sentences as annotated JSON lines, atomically (gzip-compressed if the name ends in `.gz`). */
export async function writeSpansJsonl(path: string, sentences: readonly Sentence[]): Promise<void> {
  const text = formatSpansJsonl(sentences);
  await writeFileAtomic(path, path.endsWith(".gz") ? await promisify(gzip)(Buffer.from(text, "utf8")) : text);
}

/** Whether a file name says annotated JSON lines (`.jsonl`, `.jsonl.gz`). */
export const isJsonlName = (file: string): boolean => /\.jsonl(\.gz)?$/i.test(file);
