import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { writeFileAtomic } from "../util/atomic.js";
import type { TextEncodingName } from "../util/decode.js";
import { readText } from "../util/read-text.js";
import { LstmNerError } from "../util/errors.js";
import type { Sentence } from "./types.js";

/** Options for {@link parseConll} and {@link readConll}. */
export interface ConllReadOptions {
  /** File name used in error messages (readConll defaults it to the path). */
  file?: string;
  /** If given, every tag must be one of these labels. */
  labels?: readonly string[];
  /** How {@link readConll} decodes the file: strict `utf8` (default) or `latin1`. */
  encoding?: TextEncodingName;
}

/** Options for {@link formatConll} and {@link writeConll}. */
export interface ConllWriteOptions {
  /** Predicted tags, one array per sentence, appended as a last column (conlleval's `token gold pred`). */
  predicted?: readonly (readonly string[])[];
}

const TAG_SHAPE = /^(?:O|[BIES]-\S+)$/;
const SEPARATOR = /[ \t]+/;
const BLANK = /^[ \t]*$/;

/**
 * Parse CoNLL text into sentences: one token per line, whitespace-separated
 * columns, the NER tag in the last column, blank lines and `-DOCSTART-`
 * lines between sentences (`-DOCSTART-` starts a new document: see
 * `Sentence.doc`). Works for 4-column CoNLL-2003 (`token POS chunk NER`)
 * and 2-column (`token NER`) files; columns between token and tag go to `extra`.
 *
 * @throws LstmNerError naming the file and 1-based line for a line with one
 * column, a column count that differs from the file's first token line, a
 * malformed tag, a tag not in `opts.labels`, or a file without sentences.
 */
export function parseConll(text: string, opts: ConllReadOptions = {}): Sentence[] {
  const file = opts.file;
  const known = opts.labels === undefined ? undefined : new Set(opts.labels);
  const lines = text.split("\n");
  // A BOM would otherwise glue itself to the first token.
  if (lines.length > 0 && lines[0]!.startsWith("\uFEFF")) lines[0] = lines[0]!.slice(1);

  const sentences: Sentence[] = [];
  let columns = 0;
  let columnsLine = 0;
  let tokens: string[] = [];
  let tags: string[] = [];
  let extra: string[][] = [];
  // -DOCSTART- lines seen before each sentence; turned into document numbers at the end.
  let marks = 0;
  const marksBefore: number[] = [];

  const flush = (): void => {
    if (tokens.length === 0) return;
    const sentence: Sentence = { tokens, tags };
    if (columns > 2) sentence.extra = extra;
    sentences.push(sentence);
    marksBefore.push(marks);
    tokens = [];
    tags = [];
    extra = Array.from({ length: Math.max(columns - 2, 0) }, () => []);
  };

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!.endsWith("\r") ? lines[i]!.slice(0, -1) : lines[i]!;
    if (BLANK.test(raw)) {
      flush();
      continue;
    }
    const fields = raw.trim().split(SEPARATOR);
    if (fields[0] === "-DOCSTART-") {
      flush();
      marks++;
      continue;
    }
    if (fields.length < 2) {
      throw new LstmNerError(`expected at least 2 columns (token and tag), found 1: '${raw.trim()}'`, { file, line: lineNo });
    }
    if (columns === 0) {
      columns = fields.length;
      columnsLine = lineNo;
      extra = Array.from({ length: columns - 2 }, () => []);
    } else if (fields.length !== columns) {
      throw new LstmNerError(`expected ${columns} columns (as on line ${columnsLine}), found ${fields.length}`, { file, line: lineNo });
    }
    const tag = fields[fields.length - 1]!;
    if (!TAG_SHAPE.test(tag)) {
      throw new LstmNerError(`invalid tag '${tag}' (expected O or B-/I-/E-/S- followed by a type)`, { file, line: lineNo });
    }
    if (known !== undefined && !known.has(tag)) {
      throw new LstmNerError(`unknown tag '${tag}' (known: ${[...known].join(", ")})`, { file, line: lineNo });
    }
    tokens.push(fields[0]!);
    tags.push(tag);
    for (let c = 1; c < columns - 1; c++) extra[c - 1]!.push(fields[c]!);
  }
  flush();
  if (marks > 0) {
    // Documents numbered 0, 1, … in order; empty ones (two markers in a row) get no number.
    let doc = -1;
    sentences.forEach((sentence, i) => {
      if (i === 0 || marksBefore[i] !== marksBefore[i - 1]) doc++;
      sentence.doc = doc;
    });
  }
  if (sentences.length === 0) {
    throw new LstmNerError(text.trim() === "" ? "empty file: no sentences" : "no sentences found (only -DOCSTART- or blank lines)", { file });
  }
  return sentences;
}

/**
 * Read a CoNLL file (strict UTF-8 unless `opts.encoding` is `latin1`;
 * gzip-compressed if the name ends in `.gz`).
 * @throws LstmNerError if the file cannot be read, is not valid UTF-8 (naming
 * the line and byte offset), or is malformed (see {@link parseConll}).
 */
export async function readConll(path: string, opts: ConllReadOptions = {}): Promise<Sentence[]> {
  const file = opts.file ?? path;
  return parseConll(await readText(path, { file, ...(opts.encoding === undefined ? {} : { encoding: opts.encoding }) }), { ...opts, file });
}

/**
 * Format sentences as CoNLL text: space-separated columns `token extra... tag
 * [pred]`, a blank line after each sentence (as CoNLL-2003 files end).
 * `parseConll(formatConll(s))` gives back `s`, and text that is already in
 * this canonical form (single spaces, LF, one blank line after every
 * sentence, `-DOCSTART-` lines in CoNLL-2003's form) comes back byte for
 * byte. Sentences with a `doc` get a `-DOCSTART-` line before each new document. Empty sentences are skipped.
 *
 * @throws LstmNerError (naming the sentence) if arrays have mismatched
 * lengths or a token/tag contains whitespace and so cannot be written.
 */
export function formatConll(sentences: readonly Sentence[], opts: ConllWriteOptions = {}): string {
  const predicted = opts.predicted;
  if (predicted !== undefined && predicted.length !== sentences.length) {
    throw new LstmNerError(`predicted has ${predicted.length} sentences but there are ${sentences.length}`, { file: "predicted" });
  }
  const out: string[] = [];
  let lastDoc: number | undefined;
  sentences.forEach((s, si) => {
    const where = { file: `sentence ${si}` };
    const n = s.tokens.length;
    if (s.tags.length !== n) throw new LstmNerError(`${n} tokens but ${s.tags.length} tags`, where);
    const pred = predicted?.[si];
    if (pred !== undefined && pred.length !== n) throw new LstmNerError(`${n} tokens but ${pred.length} predicted tags`, where);
    const extra = s.extra ?? [];
    for (const col of extra) {
      if (col.length !== n) throw new LstmNerError(`${n} tokens but an extra column has ${col.length} values`, where);
    }
    if (n === 0) return;
    if (s.doc !== undefined && s.doc !== lastDoc) {
      // CoNLL-2003's marker, with a placeholder in every extra column.
      out.push(["-DOCSTART-", ...extra.map(() => "-X-"), "O"].join(" ") + "\n\n");
      lastDoc = s.doc;
    }
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const fields = [s.tokens[i]!, ...extra.map((col) => col[i]!), s.tags[i]!];
      if (pred !== undefined) fields.push(pred[i]!);
      for (const f of fields) {
        if (f === "" || /\s/.test(f)) throw new LstmNerError(`token ${i}: field '${f}' is empty or contains whitespace`, where);
      }
      lines.push(fields.join(" "));
    }
    out.push(lines.join("\n") + "\n\n");
  });
  return out.join("");
}

/** Write sentences as a CoNLL file atomically (gzip-compressed if the name ends in `.gz`). */
export async function writeConll(path: string, sentences: readonly Sentence[], opts: ConllWriteOptions = {}): Promise<void> {
  const text = formatConll(sentences, opts);
  const data = path.endsWith(".gz") ? await promisify(gzip)(Buffer.from(text, "utf8")) : text;
  await writeFileAtomic(path, data);
}
